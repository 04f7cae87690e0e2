//! The benchmark's baseline: the raw cost of credd's kind of work on credd's own stack
//! (axum 0.8, tokio, sqlx 0.9), with nothing of credd in it. Three routes:
//!
//! - `GET /json`: a small JSON object, no storage;
//! - `POST /insert`: one bare insert of a row (a UUIDv7 id, the ~200-byte JSON body as
//!   text, a timestamp), answering `201 {"id"}`;
//! - `GET /read/{id}`: one primary-key read of such a row.
//!
//! SQLite is opened exactly as credd's `SqliteStore::connect` opens it, and memory comes
//! from credd's allocator (mimalloc), so the ratios compare like with like; Postgres gets
//! a pool of 16, credd's default. It must never grow anything credd does not do per
//! request: it is the floor, not a competitor.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use clap::Parser;
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(name = "baseline", about = "The bench's baseline server: no-storage JSON, one insert, one primary-key read")]
struct Args {
    /// `sqlite://path/to/file.db` (created if missing) or `postgres://…`.
    #[arg(long, env = "BASELINE_DATABASE_URL")]
    database_url: String,

    /// Address to listen on.
    #[arg(long, env = "BASELINE_LISTEN", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
}

/// The storage, opened the way credd opens it.
#[derive(Clone)]
enum Db {
    Sqlite { writer: SqlitePool, reader: SqlitePool },
    Postgres(PgPool),
}

const SQLITE_TABLE: &str = "CREATE TABLE IF NOT EXISTS baseline_rows (
    id         TEXT PRIMARY KEY NOT NULL,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT";

const POSTGRES_TABLE: &str = "CREATE TABLE IF NOT EXISTS baseline_rows (
    id         UUID PRIMARY KEY,
    body       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
)";

impl Db {
    async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        if url.starts_with("sqlite:") {
            // Mirrors crates/store-sqlite `SqliteStore::connect`: keep the two in step.
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("secure_delete", "ON")
                .row_buffer_size(1001); // credd's: its largest page and one
            // credd's pools skip sqlx's ping before each acquire (busy Postgres ones too).
            let pool = |connections| SqlitePoolOptions::new().max_connections(connections).test_before_acquire(false);
            let writer = pool(1).connect_with(options.clone()).await?;
            sqlx::query(SQLITE_TABLE).execute(&writer).await?;
            let reader = pool(8).connect_with(options.read_only(true)).await?;
            Ok(Self::Sqlite { writer, reader })
        } else {
            let pool = PgPoolOptions::new().max_connections(16).test_before_acquire(false).connect(url).await?;
            sqlx::query(POSTGRES_TABLE).execute(&pool).await?;
            Ok(Self::Postgres(pool))
        }
    }

    async fn close(&self) {
        match self {
            Self::Sqlite { writer, reader } => {
                writer.close().await;
                reader.close().await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// A database failure: 500 with the cause, so the load generator reports it.
struct Failure(sqlx::Error);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "code": "UNEXPECTED_ERROR", "message": self.0.to_string() })))
            .into_response()
    }
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        Self(error)
    }
}

async fn small_json() -> Json<Value> {
    Json(json!({ "id": "0196f1c2-7a44-7d1e-9b1a-3f5e2d7c8a90", "name": "baseline", "status": "ACTIVE" }))
}

fn now() -> DateTime<Utc> {
    let t = Utc::now();
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

async fn insert(State(db): State<Db>, Json(body): Json<Value>) -> Result<(StatusCode, Json<Value>), Failure> {
    let (id, text, created_at) = (Uuid::now_v7(), body.to_string(), now());
    match &db {
        Db::Sqlite { writer, .. } => {
            sqlx::query("INSERT INTO baseline_rows (id, body, created_at) VALUES (?1, ?2, ?3)")
                .bind(id.hyphenated().to_string())
                .bind(text)
                .bind(created_at)
                .execute(writer)
                .await?;
        }
        Db::Postgres(pool) => {
            sqlx::query("INSERT INTO baseline_rows (id, body, created_at) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(text)
                .bind(created_at)
                .execute(pool)
                .await?;
        }
    }
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

async fn read(State(db): State<Db>, Path(id): Path<String>) -> Result<Response, Failure> {
    let Ok(id) = Uuid::parse_str(&id) else {
        return Ok((StatusCode::BAD_REQUEST, Json(json!({ "code": "INVALID_REQUEST" }))).into_response());
    };
    let row: Option<(String, DateTime<Utc>)> = match &db {
        Db::Sqlite { reader, .. } => {
            sqlx::query_as("SELECT body, created_at FROM baseline_rows WHERE id = ?1")
                .bind(id.hyphenated().to_string())
                .fetch_optional(reader)
                .await?
        }
        Db::Postgres(pool) => {
            sqlx::query_as("SELECT body, created_at FROM baseline_rows WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        }
    };
    Ok(match row {
        Some((body, created_at)) => {
            let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            Json(json!({ "id": id, "createdAt": created_at.to_rfc3339(), "body": body })).into_response()
        }
        None => (StatusCode::NOT_FOUND, Json(json!({ "code": "NOT_FOUND" }))).into_response(),
    })
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler can be installed");
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let db = Db::connect(&args.database_url).await?;
    let app = Router::new()
        .route("/json", get(small_json))
        .route("/insert", post(insert))
        .route("/read/{id}", get(read))
        .with_state(db.clone());
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    eprintln!("baseline listening on {}", args.listen);
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    db.close().await;
    Ok(())
}
