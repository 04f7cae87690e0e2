//! The bench's tool: `run` drives one scenario and appends its measurement
//! to a results file, `setup` seeds credd through its API, `seed-wallets` bulk-loads
//! wallets into credd's database, `lookup` reads one number back for `bench/run`, and
//! `report` turns the results into the table of BENCHMARKS.md. It never prints a secret
//! or a token.

mod http;
mod idle;
mod load;
mod report;
mod scenarios;
mod seed;
mod setup;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};

use crate::http::Target;
use crate::scenarios::Context;

#[derive(Debug, Parser)]
#[command(name = "loadgen", about = "credd's benchmark: load generator, seeders and report")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Drive one scenario and append its measurement to the results file.
    Run(RunArgs),
    /// Seed a running credd through its API; write the context file (mode 0600).
    Setup(SetupCli),
    /// Insert N wallets of the context's bulk user straight into credd's database.
    SeedWallets(SeedCli),
    /// Wait until credd's worker has no due job (between scenarios).
    WaitIdle(WaitIdleArgs),
    /// Print one number from the results file (for bench/run).
    Lookup(LookupArgs),
    /// Print the results table and write BENCHMARKS.md.
    Report(ReportArgs),
}

/// Where a measurement goes and how it is labelled in the table.
#[derive(Debug, Args)]
struct Row {
    /// JSON-lines file the measurement is appended to.
    #[arg(long)]
    results: PathBuf,
    /// `sqlite` or `postgres`.
    #[arg(long)]
    backend: String,
    /// `baseline` or `credd`.
    #[arg(long, default_value = "credd")]
    server: String,
    /// `base`, `10k` or `1M`: the wallets in the table when measured.
    #[arg(long, default_value = "base")]
    step: String,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    row: Row,
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// One of: json, insert, read, token, wallet-read, wallet-list, wallet-create,
    /// credential-create, user-create, device-create.
    #[arg(long)]
    scenario: String,
    /// What `setup` wrote (credd scenarios).
    #[arg(long)]
    context: Option<PathBuf>,
    /// The user to act on instead of the scenario's default: an id, or `holder`,
    /// `delivery`, `creator` or `bulk` (the users `setup` made).
    #[arg(long)]
    user: Option<String>,
    /// A JSON array of ids to pick from (rows, wallets, or users).
    #[arg(long)]
    ids: Option<PathBuf>,
    /// Write the `id` of every created resource here (a JSON array).
    #[arg(long)]
    ids_out: Option<PathBuf>,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Measured seconds, after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Open loop at this many requests per second instead of closed loop.
    #[arg(long)]
    rate: Option<f64>,
    /// The server's process id: its peak RSS during the run is reported.
    #[arg(long)]
    pid: Option<u32>,
    /// After the load, wait until every created credential is in this wallet's mailbox
    /// (the simulator's file) and report how long that took.
    #[arg(long)]
    await_mailbox: Option<PathBuf>,
    #[arg(long, default_value_t = 300.0)]
    delivery_timeout: f64,
    /// credd's database: watch deliveries there (a count per 50 ms) instead of reading
    /// the whole mailbox over and over; the mailbox is still read once at the end.
    #[arg(long)]
    database_url: Option<String>,
    /// Makes created usernames unique across runs.
    #[arg(long, default_value = "run")]
    tag: String,
}

#[derive(Debug, Args)]
struct SetupCli {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// credd's binary, for `credd wallet pair`.
    #[arg(long)]
    credd_bin: PathBuf,
    /// Where the wallet files go.
    #[arg(long)]
    work_dir: PathBuf,
    #[arg(long, env = "CREDD_BOOTSTRAP_ENVIRONMENT_ID")]
    admin_environment_id: String,
    #[arg(long, env = "CREDD_BOOTSTRAP_CLIENT_ID")]
    admin_client_id: String,
    /// Only from the environment, never on a command line.
    #[arg(env = "CREDD_BOOTSTRAP_CLIENT_SECRET", hide_env_values = true, hide = true)]
    admin_client_secret: String,
    /// The context file to write.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct SeedCli {
    #[command(flatten)]
    row: Row,
    /// credd's database: `sqlite://…` or `postgres://…`.
    #[arg(long)]
    database_url: String,
    #[arg(long)]
    context: PathBuf,
    #[arg(long)]
    count: u64,
    #[arg(long, default_value_t = 50_000)]
    batch: u64,
    /// Write this many of the bulk user's wallet ids, picked at random, to --sample-out.
    #[arg(long, default_value_t = 1000)]
    sample: u32,
    #[arg(long)]
    sample_out: PathBuf,
}

#[derive(Debug, Args)]
struct WaitIdleArgs {
    /// credd's database: `sqlite://…` or `postgres://…`.
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 600)]
    timeout_seconds: u64,
}

#[derive(Debug, Args)]
struct LookupArgs {
    #[arg(long)]
    results: PathBuf,
    #[arg(long)]
    backend: String,
    #[arg(long)]
    server: String,
    #[arg(long)]
    scenario: String,
    #[arg(long, default_value = "rps")]
    field: String,
}

#[derive(Debug, Args)]
struct ReportArgs {
    #[arg(long)]
    results: PathBuf,
    /// The markdown file to write (BENCHMARKS.md).
    #[arg(long)]
    out: PathBuf,
    /// What was measured (e.g. the commit), shown in the header.
    #[arg(long, default_value = "")]
    subject: String,
    /// How it was run (durations, connections), shown in the header.
    #[arg(long, default_value = "")]
    settings: String,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes `value` to `path`, readable by the owner only.
fn write_private(path: &Path, value: &Value) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(value.to_string().as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

fn append_result(path: &Path, value: &Value) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    writeln!(file, "{value}").map_err(|e| format!("{}: {e}", path.display()))
}

/// Resets the process's peak RSS (`VmHWM`), so the next read is this run's peak.
fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// The one-minute load average: other work on the machine shows here.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn run(args: RunArgs) -> Result<(), String> {
    let target = Target::parse(&args.base_url)?;
    let context: Option<Context> = args.context.as_deref().map(read_json).transpose()?;
    let ids: Vec<String> = args.ids.as_deref().map(read_json).transpose()?.unwrap_or_default();
    let inputs = scenarios::Inputs { context, user: args.user.clone(), ids, tag: args.tag.clone() };
    let scenario = scenarios::build(&args.scenario, inputs)?;
    let options = load::LoadOptions {
        concurrency: args.concurrency.max(1),
        warmup: Duration::from_secs_f64(args.warmup),
        measure: Duration::from_secs_f64(args.seconds),
        rate: args.rate,
        collect_ids: if args.ids_out.is_some() { 1_000_000 } else { 0 },
    };
    // Delivery is watched in credd's database when given (cheap), else through the
    // mailbox; either way the mailbox is read through the wallet API at the end.
    let mut counter = match (&args.await_mailbox, &args.database_url) {
        (Some(_), Some(url)) => Some(idle::DeliveredCounter::open(url).await?),
        _ => None,
    };
    let (mut before, mut counted_before, mut wallet_id) = (0, 0, String::new());
    if let Some(file) = &args.await_mailbox {
        before = setup::mailbox_size(&target, file).await?;
        wallet_id = setup::wallet_id(file)?;
        if let Some(counter) = counter.as_mut() {
            counted_before = counter.delivered(&wallet_id).await?;
        }
    }
    let load_before = load_average();
    let rss_reset = args.pid.map(reset_peak_rss);
    let load_start = tokio::time::Instant::now();
    let outcome = load::run(&target, scenario, &options).await;
    let load_end = tokio::time::Instant::now();
    // Under load only: the mailbox read below makes credd build one big answer.
    let rss = args.pid.and_then(peak_rss_mib);

    let mut delivery = Value::Null;
    if let Some(file) = &args.await_mailbox {
        let deadline = load_end + Duration::from_secs_f64(args.delivery_timeout);
        let mut polls = 0_u32;
        let seen = loop {
            let seen = match counter.as_mut() {
                Some(counter) => counter.delivered(&wallet_id).await?.saturating_sub(counted_before),
                None => setup::mailbox_size(&target, file).await?.saturating_sub(before),
            };
            polls += 1;
            if seen >= outcome.successes || tokio::time::Instant::now() >= deadline {
                break seen;
            }
            tokio::time::sleep(Duration::from_millis(if counter.is_some() { 50 } else { 250 })).await;
        };
        let waited = load_end.elapsed().as_secs_f64();
        let per_second = seen as f64 / load_start.elapsed().as_secs_f64().max(1e-9);
        let read_started = tokio::time::Instant::now();
        let in_mailbox = setup::mailbox_size(&target, file).await?.saturating_sub(before);
        delivery = json!({
            "created": outcome.successes,
            "delivered": seen,
            "inMailbox": in_mailbox,
            "seconds": waited,
            "complete": seen >= outcome.successes && in_mailbox >= outcome.successes,
            "watchedIn": if counter.is_some() { "database" } else { "mailbox" },
            "polls": polls,
            "pollMs": read_started.elapsed().as_secs_f64() * 1000.0,
            // Creating and delivering overlap: the mean delivery rate since the load began.
            "perSecond": per_second,
        });
    }
    if let Some(delivery) = delivery.as_object_mut() {
        delivery.insert("peakRssMib".into(), json!(args.pid.and_then(peak_rss_mib)));
    }
    if let Some(out) = &args.ids_out {
        std::fs::write(out, serde_json::to_string(&outcome.ids).expect("strings serialize"))
            .map_err(|e| format!("{}: {e}", out.display()))?;
    }
    let record = json!({
        "kind": "load",
        "backend": args.row.backend,
        "server": args.row.server,
        "step": args.row.step,
        "scenario": args.scenario,
        "concurrency": options.concurrency,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "rate": args.rate,
        "requests": outcome.measured,
        "rps": outcome.rps,
        "p50Ms": outcome.p50_ms,
        "p99Ms": outcome.p99_ms,
        "maxMs": outcome.max_ms,
        "errors": outcome.errors,
        "successes": outcome.successes,
        "notSent": outcome.not_sent,
        "errorSamples": outcome.error_samples,
        "peakRssMib": rss,
        "peakRssPerRun": rss_reset.unwrap_or(false),
        "delivery": delivery,
        "loadAverage": [load_before, load_average()],
    });
    append_result(&args.row.results, &record)?;
    eprintln!("{}", report::one_line(&record));
    for sample in &outcome.error_samples {
        eprintln!("    error: {}", sample.chars().take(400).collect::<String>());
    }
    Ok(())
}

async fn setup_command(args: SetupCli) -> Result<(), String> {
    let target = Target::parse(&args.base_url)?;
    let setup_args = setup::SetupArgs {
        target,
        credd_bin: args.credd_bin,
        work_dir: args.work_dir,
        admin_environment_id: args.admin_environment_id,
        admin_client_id: args.admin_client_id,
        admin_client_secret: args.admin_client_secret,
    };
    let context = setup::setup(&setup_args).await?;
    write_private(&args.out, &serde_json::to_value(&context).expect("the context serializes"))?;
    eprintln!(
        "setup: environment {}, paired wallets {} and {}, credential type {}",
        context.environment_id, context.holder.wallet_id, context.delivery_holder.wallet_id, context.credential_type_id
    );
    Ok(())
}

async fn seed_command(args: SeedCli) -> Result<(), String> {
    let context: Context = read_json(&args.context)?;
    let seed_args = seed::SeedArgs {
        database_url: args.database_url,
        environment_id: context.environment_id,
        user_id: context.bulk_user_id,
        wallet_application_id: context.wallet_application_id,
        count: args.count,
        batch: args.batch,
        sample: args.sample,
    };
    let seeded = seed::seed(&seed_args).await?;
    std::fs::write(&args.sample_out, serde_json::to_string(&seeded.sample).expect("strings serialize"))
        .map_err(|e| format!("{}: {e}", args.sample_out.display()))?;
    let record = json!({
        "kind": "seed",
        "backend": args.row.backend,
        "step": args.row.step,
        "inserted": seeded.inserted,
        "total": seeded.total,
        "seconds": seeded.seconds,
    });
    append_result(&args.row.results, &record)?;
    eprintln!(
        "seeded {} wallets in {:.1} s ({:.0} rows/s); the bulk user now has {}",
        seeded.inserted,
        seeded.seconds,
        seeded.inserted as f64 / seeded.seconds.max(1e-9),
        seeded.total
    );
    Ok(())
}

fn lookup(args: LookupArgs) -> Result<(), String> {
    let records = report::read_results(&args.results)?;
    let found = records
        .iter()
        .rev()
        .find(|r| {
            r["kind"] == "load"
                && r["backend"] == *args.backend
                && r["server"] == *args.server
                && r["scenario"] == *args.scenario
        })
        .ok_or_else(|| {
            format!("no {} {} {} result in {}", args.backend, args.server, args.scenario, args.results.display())
        })?;
    println!("{}", found[&args.field]);
    Ok(())
}

#[tokio::main]
async fn main() {
    let result = match Cli::parse().command {
        Command::Run(args) => run(args).await,
        Command::Setup(args) => setup_command(args).await,
        Command::SeedWallets(args) => seed_command(args).await,
        Command::WaitIdle(args) => {
            idle::wait_idle(&args.database_url, Duration::from_secs(args.timeout_seconds)).await.map(|(waited, due)| {
                if due > 0 {
                    eprintln!("waited {waited:.1} s for credd's worker to finish {due} due jobs");
                }
            })
        }
        Command::Lookup(args) => lookup(args),
        Command::Report(args) => report::report(&args.results, &args.out, &args.subject, &args.settings),
    };
    if let Err(error) = result {
        eprintln!("loadgen: {error}");
        std::process::exit(1);
    }
}
