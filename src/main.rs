use std::process::ExitCode;

use clap::Parser;
use credd::config::{Cli, Command, LogFormat};
use tracing_subscriber::EnvFilter;

/// mimalloc rather than glibc's malloc (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("CREDD_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let result = match cli.command {
        Command::Serve(args) => credd::server::serve(*args).await,
        Command::Migrate(args) => credd::server::migrate(&args).await.map(|()| println!("migrations are up to date")),
        Command::Wallet(command) => credd::server::wallet(command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("credd: {error}");
            ExitCode::FAILURE
        }
    }
}
