//! The command line. Every flag can also be set through the environment variable
//! named beside it, so deployments configure credd without arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::TimeDelta;
use clap::{Args, Parser, Subcommand, ValueEnum};
use domain::job::Retention;
use url::Url;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(name = "credd", version, about = "A self-hostable credentials service that speaks the PingOne Platform API")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log lines as human-readable text, or as one JSON object each (for log shippers).
    #[arg(long, global = true, env = "CREDD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server and its background worker.
    Serve(Box<ServeArgs>),
    /// Apply the database migrations and exit.
    Migrate(DatabaseArgs),
    /// A simulated wallet app, for staging and tests.
    #[command(subcommand)]
    Wallet(WalletCommand),
}

#[derive(Debug, Subcommand)]
pub enum WalletCommand {
    /// Pair a new wallet with a pairing link (the `qrUrl`, or the `appOpen` link).
    Pair {
        link: String,
        /// Where to keep the wallet's key and token (written with mode 0600).
        #[arg(long, default_value = "credd-wallet.json")]
        file: PathBuf,
        /// The wallet app installation id to report.
        #[arg(long, default_value = "credd-wallet-simulator")]
        instance_id: String,
    },
    /// Show the paired wallet as credd sees it.
    Status {
        #[arg(long, default_value = "credd-wallet.json")]
        file: PathBuf,
    },
    /// List the credentials offered to the wallet, with their signed JWTs.
    Credentials {
        #[arg(long, default_value = "credd-wallet.json")]
        file: PathBuf,
    },
    /// Accept an offered credential.
    Accept {
        id: String,
        #[arg(long, default_value = "credd-wallet.json")]
        file: PathBuf,
    },
    /// Reject an offered credential.
    Reject {
        id: String,
        #[arg(long, default_value = "credd-wallet.json")]
        file: PathBuf,
    },
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

    /// How long a wallet's pairing session lasts, in seconds.
    #[arg(long, env = "CREDD_PAIRING_LIFETIME_SECONDS", default_value_t = 86_400)]
    pub pairing_lifetime_seconds: u32,

    /// How long a delivered credential waits in a wallet's mailbox before it is
    /// wiped uncollected, in seconds.
    #[arg(long, env = "CREDD_MAILBOX_TTL_SECONDS", default_value_t = 7 * 86_400)]
    pub mailbox_ttl_seconds: u32,

    /// How long a claimed job stays reserved for the instance that claimed it. A job not
    /// finished by then (its instance crashed, say) is run again by any instance.
    #[arg(long, env = "CREDD_JOB_LEASE_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub job_lease_seconds: u32,

    /// How long a finished job is kept, in seconds, counted from when it finished;
    /// 0 keeps them forever.
    #[arg(long, env = "CREDD_JOB_RETENTION_SECONDS", default_value_t = 86_400)]
    pub job_retention_seconds: u32,

    /// How long a sent notification stays readable in the outbox (the notifications
    /// API), in seconds; 0 keeps them forever.
    #[arg(long, env = "CREDD_NOTIFICATION_RETENTION_SECONDS", default_value_t = 7 * 86_400)]
    pub notification_retention_seconds: u32,

    /// How long a job that gave up (dead) and a notification that could not be
    /// delivered are kept, for an operator to look into, in seconds; 0 keeps them forever.
    #[arg(long, env = "CREDD_FAILURE_RETENTION_SECONDS", default_value_t = 30 * 86_400)]
    pub failure_retention_seconds: u32,

    /// How long a pairing session that expired without a pairing attempt is kept after
    /// its expiry, in seconds; then its link answers 404 instead of 400. 0 keeps them forever.
    #[arg(long, env = "CREDD_PAIRING_RETENTION_SECONDS", default_value_t = 7 * 86_400)]
    pub pairing_retention_seconds: u32,

    /// Background jobs (deliveries, notifications) run at once by this instance. A job
    /// mostly waits for its write to commit, so many cheap loops keep the writer busy:
    /// on SQLite, credentials arriving at 1,500/s for 30 s were all delivered 8.5 s after
    /// the last with 16, 1 s after with 64.
    #[arg(long, env = "CREDD_WORKER_CONCURRENCY", default_value_t = 64)]
    pub worker_concurrency: usize,

    /// Where email goes: `outbox` (kept for the notifications API only), `smtp`, or `webhook`.
    #[arg(long, env = "CREDD_EMAIL_DELIVERY", value_enum, default_value_t = Delivery::Outbox)]
    pub email_delivery: Delivery,

    /// Where SMS, voice and WhatsApp messages go: `outbox` or `webhook`.
    #[arg(long, env = "CREDD_PHONE_DELIVERY", value_enum, default_value_t = Delivery::Outbox)]
    pub phone_delivery: Delivery,

    /// SMTP server for email delivery: `smtp://host:port` or `smtps://user:password@host`.
    #[arg(long, env = "CREDD_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Sender address of emails.
    #[arg(long, env = "CREDD_SMTP_FROM", default_value = "credd <no-reply@credd.localhost>")]
    pub smtp_from: String,

    /// URL that webhook deliveries are POSTed to.
    #[arg(long, env = "CREDD_WEBHOOK_URL")]
    pub webhook_url: Option<Url>,

    /// Shared secret that signs webhook deliveries (at least 16 characters).
    #[arg(long, env = "CREDD_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "CREDD_BODY_LIMIT_BYTES", default_value_t = 1024 * 1024)]
    pub body_limit_bytes: usize,

    /// Seconds a client may take to send a request's headers, and an idle keep-alive
    /// connection may wait for its next request, before the connection is closed.
    #[arg(long, env = "CREDD_HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout_seconds: u64,
}

/// A notification channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Delivery {
    Outbox,
    Smtp,
    Webhook,
}

impl ServeArgs {
    /// What the worker prunes, and after how long.
    pub fn retention(&self) -> Retention {
        let age = |seconds: u32| (seconds > 0).then(|| TimeDelta::seconds(seconds.into()));
        Retention {
            done_jobs: age(self.job_retention_seconds),
            sent_notifications: age(self.notification_retention_seconds),
            failures: age(self.failure_retention_seconds),
            expired_pairing_sessions: age(self.pairing_retention_seconds),
        }
    }

    /// The public base URL without a trailing slash.
    pub fn public_base(&self) -> String {
        match &self.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }
}
