//! The command line. Every flag can also be set through the environment variable
//! named beside it, so deployments configure credd without arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use url::Url;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(name = "credd", version, about = "A self-hostable credentials service that speaks the PingOne Platform API")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server and its background worker.
    Serve(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate(DatabaseArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://path/to/file.db` (created with its folder if missing) or `postgres://…`.
    #[arg(long, env = "CREDD_DATABASE_URL", default_value = "sqlite://./credd-data/credd.db")]
    pub database_url: String,

    /// Connections to keep per pool (Postgres; SQLite uses one writer and 8 readers).
    #[arg(long, env = "CREDD_DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Address to listen on.
    #[arg(long, env = "CREDD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Base URL clients use to reach credd, for absolute `_links`; defaults to
    /// `http://<listen address>`.
    #[arg(long, env = "CREDD_PUBLIC_URL")]
    pub public_url: Option<Url>,

    /// Folder for generated keys and the bootstrap credentials.
    #[arg(long, env = "CREDD_DATA_DIR", default_value = "./credd-data")]
    pub data_dir: PathBuf,

    /// Apply migrations at start on Postgres too (SQLite always migrates itself).
    #[arg(long, env = "CREDD_MIGRATE")]
    pub migrate: bool,

    /// Master key (32 bytes, base64) that seals private keys and payloads at rest, and
    /// keys the hashes of secrets. Generated into the data directory when unset; every
    /// instance on one Postgres database must use the same one.
    #[arg(long, env = "CREDD_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,

    /// Id of the administrator environment created at first start.
    #[arg(long, env = "CREDD_BOOTSTRAP_ENVIRONMENT_ID")]
    pub bootstrap_environment_id: Option<Uuid>,

    /// Client id of the administrator worker application.
    #[arg(long, env = "CREDD_BOOTSTRAP_CLIENT_ID")]
    pub bootstrap_client_id: Option<Uuid>,

    /// Client secret of the administrator worker application.
    #[arg(long, env = "CREDD_BOOTSTRAP_CLIENT_SECRET", hide_env_values = true)]
    pub bootstrap_client_secret: Option<String>,

    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, env = "CREDD_TOKEN_LIFETIME_SECONDS", default_value_t = 3600)]
    pub token_lifetime_seconds: u32,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "CREDD_BODY_LIMIT_BYTES", default_value_t = 1024 * 1024)]
    pub body_limit_bytes: usize,
}

impl ServeArgs {
    /// The public base URL without a trailing slash.
    pub fn public_base(&self) -> String {
        match &self.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }
}
