//! Prometheus metrics: counters and histograms that requests, jobs and notifications
//! update as they happen, and gauges read at scrape time (the job queue, the sizes of
//! the tables that grow and of the database, the database pools), rendered in the
//! OpenMetrics text format.
//!
//! Each app owns its registry (no global recorder), so the apps one test process
//! starts keep their own counts. Labels carry route templates, job kinds, delivery
//! methods and outcomes only: never an id, an address, a secret or a raw path.

use std::time::Duration;

use domain::job::{JobOutcome, JobQueue};
use domain::store::{PoolUsage, StorageUsage};
use domain::time::Timestamp;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// OpenMetrics 1.0 text, which Prometheus scrapes (and asks for first).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

const PREFIX: &str = "credd";

/// Prometheus' default buckets, 5 ms to 10 s: requests and jobs both take
/// milliseconds when healthy and seconds when a database or a sender is slow.
const DURATION_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

type Histograms<Labels> = Family<Labels, Histogram, fn() -> Histogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotificationLabels {
    method: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TableLabels {
    table: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    backend: &'static str,
    pool: &'static str,
}

/// How a notification's delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationOutcome {
    Sent,
    /// Failed; the job tries again.
    Retried,
    /// Failed for the last time: the notification is `FAILED`.
    Failed,
}

impl NotificationOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Retried => "retried",
            Self::Failed => "failed",
        }
    }
}

/// The metrics one credd process keeps.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: Histograms<RouteLabels>,
    jobs: Family<JobLabels, Counter>,
    job_duration: Histograms<KindLabels>,
    notifications: Family<NotificationLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let requests = Family::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let request_duration = Histograms::new_with_constructor(duration_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request, by method and route template",
            Unit::Seconds,
            request_duration.clone(),
        );
        let jobs = Family::default();
        registry.register("jobs", "Background job attempts, by kind and outcome", jobs.clone());
        let job_duration = Histograms::new_with_constructor(duration_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "job_duration",
            "Time a background job attempt ran, by kind",
            Unit::Seconds,
            job_duration.clone(),
        );
        let notifications = Family::default();
        registry.register(
            "notifications",
            "Notification delivery attempts, by delivery method and outcome",
            notifications.clone(),
        );
        Self { registry, requests, request_duration, jobs, job_duration, notifications }
    }
}

impl Metrics {
    /// An answered request. `route` is the router's template (`/v1/environments/{environment_id}`),
    /// never the path the client sent.
    pub fn request(&self, method: &'static str, route: &str, status: u16, took: Duration) {
        let route = route.to_owned();
        self.request_duration.get_or_create(&RouteLabels { method, route: route.clone() }).observe(took.as_secs_f64());
        self.requests.get_or_create(&RequestLabels { method, route, status }).inc();
    }

    /// A settled job attempt: `succeeded`, `retried` or `dead`.
    pub fn job(&self, kind: &str, outcome: &JobOutcome, took: Duration) {
        let outcome = match outcome {
            JobOutcome::Done => "succeeded",
            JobOutcome::Retry { .. } => "retried",
            JobOutcome::Dead { .. } => "dead",
        };
        self.job_duration.get_or_create(&KindLabels { kind: kind.to_owned() }).observe(took.as_secs_f64());
        self.jobs.get_or_create(&JobLabels { kind: kind.to_owned(), outcome }).inc();
    }

    /// A notification's delivery attempt; `method` is its delivery method (`Email`, `SMS`, …).
    pub fn notification(&self, method: &'static str, outcome: NotificationOutcome) {
        self.notifications.get_or_create(&NotificationLabels { method, outcome: outcome.label() }).inc();
    }

    /// The exposition: what was counted so far, then the gauges read for this scrape.
    /// Without `queue` or `storage` (the database did not answer) their gauges are
    /// left out rather than shown stale.
    pub fn render(
        &self,
        queue: Option<&JobQueue>,
        storage: Option<&StorageUsage>,
        pools: &[PoolUsage],
        now: Timestamp,
    ) -> String {
        let mut scraped = Registry::with_prefix(PREFIX);
        if let Some(queue) = queue {
            let depth = Family::<QueueLabels, Gauge>::default();
            for (state, count) in [("due", queue.due), ("running", queue.running), ("scheduled", queue.scheduled)] {
                depth.get_or_create(&QueueLabels { state }).set(count);
            }
            scraped.register(
                "job_queue_depth",
                "Unfinished background jobs: due (waiting for a worker), running, scheduled (for later)",
                depth,
            );
            let age = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
            let waited = queue.oldest_due.map_or(0.0, |run_at| (now - run_at).as_seconds_f64().max(0.0));
            age.set(waited);
            scraped.register_with_unit(
                "job_queue_oldest_due_age",
                "How long the longest-waiting due job has waited (0 when none is due)",
                Unit::Seconds,
                age,
            );
        }
        if let Some(storage) = storage {
            register_storage(&mut scraped, storage);
        }
        type Reading = fn(&PoolUsage) -> u32;
        let pool_gauges: [(&str, &str, Reading); 3] = [
            ("db_pool_connections", "Open database connections, busy or idle, by pool", |p| p.size),
            ("db_pool_idle_connections", "Idle database connections, by pool", |p| p.idle),
            ("db_pool_max_connections", "The most connections a pool opens", |p| p.max),
        ];
        for (name, help, value) in pool_gauges {
            let family = Family::<PoolLabels, Gauge>::default();
            for pool in pools {
                family
                    .get_or_create(&PoolLabels { backend: pool.backend, pool: pool.pool })
                    .set(i64::from(value(pool)));
            }
            scraped.register(name, help, family);
        }

        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode_registry(&mut text, &self.registry)
            .and_then(|()| encode_registry(&mut text, &scraped))
            .and_then(|()| encode_eof(&mut text));
        text
    }
}

/// The sizes retention keeps in check: rows of the tables that grow with use, and the
/// database with (on SQLite) the free space it has not given back yet.
fn register_storage(registry: &mut Registry, storage: &StorageUsage) {
    let rows = Family::<TableLabels, Gauge>::default();
    for (table, count) in [
        ("jobs", storage.jobs),
        ("notifications", storage.notifications),
        ("pairing_sessions", storage.pairing_sessions),
    ] {
        rows.get_or_create(&TableLabels { table }).set(count);
    }
    registry.register(
        "table_rows",
        "Rows of the tables that grow with use and that retention prunes (an estimate on Postgres)",
        rows,
    );
    let size = Gauge::<i64>::default();
    size.set(storage.database_bytes);
    registry.register_with_unit("database_size", "Size of the database", Unit::Bytes, size);
    if let Some(free_bytes) = storage.free_bytes {
        let free = Gauge::<i64>::default();
        free.set(free_bytes);
        registry.register_with_unit(
            "database_free",
            "Free pages in the SQLite file, not yet given back to the file system",
            Unit::Bytes,
            free,
        );
    }
}
