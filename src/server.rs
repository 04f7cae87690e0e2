//! Wiring: open the store, load keys, make sure the administrator exists, then run
//! the HTTP server and the worker until SIGINT or SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use chrono::TimeDelta;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::app_store::AppStore;
use crate::auth::Tokens;
use crate::config::Delivery;
use crate::config::ServeArgs;
use crate::crypto::MasterKey;
use crate::http::{self, AppState, wire::Links};
use crate::jobs::{Jobs, Worker};
use crate::notify::{Channel, Senders, Smtp, Webhook};
use crate::service::bootstrap::{BootstrapCredentials, Origin};
use crate::service::{Credd, Settings};

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
        let settings = Settings {
            public_base: public_base.clone(),
            pairing_lifetime: chrono::TimeDelta::seconds(i64::from(args.pairing_lifetime_seconds)),
            mailbox_ttl: chrono::TimeDelta::seconds(i64::from(args.mailbox_ttl_seconds)),
        };
        let wake_worker = Arc::new(Notify::new());
        let credd = Credd {
            store,
            tokens,
            master_key,
            senders: Arc::new(senders(args)?),
            settings: Arc::new(settings),
            wake_worker: Arc::clone(&wake_worker),
            client_throttle: Arc::default(),
            attempt_locks: Arc::default(),
            metrics: Arc::default(),
        };
        credd.ensure_bootstrap(&bootstrap).await.map_err(|e| format!("cannot create the administrator: {e}"))?;
        let state = AppState { credd, links: Links::new(public_base) };
        Ok((Self { state, wake_worker }, bootstrap, origin))
    }
}

/// The channels configured for email and for phone messages.
fn senders(args: &ServeArgs) -> Result<Senders, BoxError> {
    let channel = |delivery: Delivery, what: &str| -> Result<Channel, BoxError> {
        Ok(match delivery {
            Delivery::Outbox => Channel::OutboxOnly,
            Delivery::Smtp if what == "phone" => {
                return Err("phone messages cannot go by SMTP: use outbox or webhook".into());
            }
            Delivery::Smtp => {
                let url = args.smtp_url.as_deref().ok_or("--email-delivery smtp needs --smtp-url (CREDD_SMTP_URL)")?;
                Channel::Smtp(Smtp::new(url, &args.smtp_from)?)
            }
            Delivery::Webhook => {
                let url = args.webhook_url.clone().ok_or("webhook delivery needs --webhook-url (CREDD_WEBHOOK_URL)")?;
                let secret = args
                    .webhook_secret
                    .as_deref()
                    .ok_or("webhook delivery needs --webhook-secret (CREDD_WEBHOOK_SECRET)")?;
                Channel::Webhook(Webhook::new(url, secret)?)
            }
        })
    };
    Ok(Senders { email: channel(args.email_delivery, "email")?, phone: channel(args.phone_delivery, "phone")? })
}

pub async fn serve(args: ServeArgs) -> Result<(), BoxError> {
    let store =
        AppStore::open(&args.database.database_url, args.database.database_max_connections, args.migrate).await?;
    let (app, bootstrap, origin) = App::build(store.clone(), &args).await?;
    announce(&bootstrap, &origin);

    let listener =
        TcpListener::bind(args.listen).await.map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    tracing::info!(listen = %args.listen, public_url = %args.public_base(), "credd is serving");

    let stop = CancellationToken::new();
    let tasks = TaskTracker::new();
    let jobs = Jobs { credd: app.state.credd.clone() };
    tasks.spawn(
        Worker::new(store.clone(), jobs, Arc::clone(&app.wake_worker), Arc::clone(&app.state.credd.metrics))
            .concurrency(args.worker_concurrency)
            .lease(TimeDelta::seconds(args.job_lease_seconds.into()))
            .retention(args.retention())
            .run(stop.clone()),
    );

    let router = http::router(app.state, args.body_limit_bytes);
    let shutdown = stop.clone();
    let header_read_timeout = Duration::from_secs(args.header_read_timeout_seconds);
    serve_connections(listener, router, header_read_timeout, async move {
        shutdown_signal().await;
        shutdown.cancel();
    })
    .await;
    tasks.close();
    tasks.wait().await;
    store.close().await;
    tracing::info!("credd stopped");
    Ok(())
}

/// Serves HTTP/1.1 and HTTP/2 on every accepted connection until `shutdown`, then
/// lets the requests in progress finish. Unlike `axum::serve` it closes a connection
/// whose request headers do not arrive within `header_read_timeout` (and an idle
/// keep-alive one), so slow clients cannot hold connections open without end, and it
/// gives each request its peer's address as [`ConnectInfo`].
async fn serve_connections(
    listener: TcpListener,
    router: axum::Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut connections = auto::Builder::new(TokioExecutor::new());
    connections.http1().timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        tracing::trace!(%peer, "connection accepted");
        let service = router.clone().map_request(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let connection =
            connections.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
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

/// `credd wallet …`: the wallet simulator over HTTP.
pub async fn wallet(command: crate::config::WalletCommand) -> Result<(), BoxError> {
    use crate::config::WalletCommand;
    use crate::wallet_client::{self, Http};
    crate::crypto::install_tls_provider();
    let http = Http(reqwest::Client::new());
    match command {
        WalletCommand::Pair { link, file, instance_id } => {
            if file.exists() {
                return Err(format!("{} already holds a wallet; choose another --file", file.display()).into());
            }
            let wallet = wallet_client::pair(&http, &link, &instance_id).await?;
            crate::crypto::write_private_file(&file, &serde_json::to_vec_pretty(&wallet)?)?;
            let status = wallet_client::status(&http, &wallet).await?;
            println!(
                "paired wallet {} ({}); key and token saved to {}",
                wallet.wallet_id,
                status["status"],
                file.display()
            );
        }
        WalletCommand::Status { file } => {
            println!("{}", serde_json::to_string_pretty(&wallet_client::status(&http, &saved_wallet(&file)?).await?)?);
        }
        WalletCommand::Credentials { file } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&wallet_client::credentials(&http, &saved_wallet(&file)?).await?)?
            );
        }
        WalletCommand::Accept { id, file } => {
            println!("{}", wallet_client::act(&http, &saved_wallet(&file)?, &id, "ACCEPT").await?);
        }
        WalletCommand::Reject { id, file } => {
            println!("{}", wallet_client::act(&http, &saved_wallet(&file)?, &id, "REJECT").await?);
        }
    }
    Ok(())
}

fn saved_wallet(file: &std::path::Path) -> Result<crate::wallet_client::PairedWallet, BoxError> {
    Ok(serde_json::from_slice(&std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?)?)
}

pub async fn migrate(args: &crate::config::DatabaseArgs) -> Result<(), BoxError> {
    let store = AppStore::open(&args.database_url, args.database_max_connections, true).await?;
    store.close().await;
    Ok(())
}
