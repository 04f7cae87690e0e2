//! Wiring: open the store, load keys, make sure the administrator exists, then run
//! the HTTP server and the worker until SIGINT or SIGTERM.

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app_store::AppStore;
use crate::auth::Tokens;
use crate::config::ServeArgs;
use crate::crypto::MasterKey;
use crate::http::{self, AppState, wire::Links};
use crate::jobs::{Jobs, Worker};
use crate::service::Credd;
use crate::service::bootstrap::{BootstrapCredentials, Origin};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything a running credd is made of, before it listens.
pub struct App {
    pub state: AppState,
    pub wake_worker: Arc<Notify>,
}

impl App {
    /// Builds the services over an open store.
    pub async fn build(store: AppStore, args: &ServeArgs) -> Result<(Self, BootstrapCredentials, Origin), BoxError> {
        let master_key = Arc::new(MasterKey::load(args.master_key.as_deref(), &args.data_dir)?);
        let (bootstrap, origin) = BootstrapCredentials::load(
            args.bootstrap_environment_id,
            args.bootstrap_client_id,
            args.bootstrap_client_secret.clone(),
            &args.data_dir,
        )?;
        let public_base = args.public_base();
        let tokens = Arc::new(Tokens::new(
            store.clone(),
            Arc::clone(&master_key),
            public_base.clone(),
            args.token_lifetime_seconds,
            bootstrap.environment_id,
        ));
        let credd = Credd { store, tokens, master_key };
        credd.ensure_bootstrap(&bootstrap).await.map_err(|e| format!("cannot create the administrator: {e}"))?;
        let state = AppState { credd, links: Links::new(public_base) };
        Ok((Self { state, wake_worker: Arc::new(Notify::new()) }, bootstrap, origin))
    }
}

pub async fn serve(args: ServeArgs) -> Result<(), BoxError> {
    let store =
        AppStore::open(&args.database.database_url, args.database.database_max_connections, args.migrate).await?;
    let (app, bootstrap, origin) = App::build(store.clone(), &args).await?;
    announce(&bootstrap, &origin);

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    tracing::info!(listen = %args.listen, public_url = %args.public_base(), "credd is serving");

    let stop = CancellationToken::new();
    let tasks = TaskTracker::new();
    tasks.spawn(Worker::new(store.clone(), Jobs, Arc::clone(&app.wake_worker)).run(stop.clone()));

    let router = http::router(app.state, args.body_limit_bytes);
    let shutdown = stop.clone();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            shutdown.cancel();
        })
        .await?;
    tasks.close();
    tasks.wait().await;
    store.close().await;
    tracing::info!("credd stopped");
    Ok(())
}

/// Tells the operator how to get in. The secret is shown only when it was just
/// generated, and goes to stdout, never to the logs.
fn announce(bootstrap: &BootstrapCredentials, origin: &Origin) {
    match origin {
        Origin::Generated(path) => {
            println!(
                "credd generated the administrator's credentials and saved them to {} (mode 0600):",
                path.display()
            );
            println!("  environment id: {}", bootstrap.environment_id);
            println!("  client id:      {}", bootstrap.client_id);
            println!("  client secret:  {}", bootstrap.client_secret);
            println!("This is the only time the secret is printed.");
        }
        Origin::Saved(path) => tracing::info!(
            environment_id = %bootstrap.environment_id,
            client_id = %bootstrap.client_id,
            "administrator credentials are in {}", path.display()
        ),
        Origin::Configured => tracing::info!(
            environment_id = %bootstrap.environment_id,
            client_id = %bootstrap.client_id,
            "administrator credentials come from the configuration"
        ),
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
}

pub async fn migrate(args: &crate::config::DatabaseArgs) -> Result<(), BoxError> {
    let store = AppStore::open(&args.database_url, args.database_max_connections, true).await?;
    store.close().await;
    Ok(())
}
