//! The load driver: N workers, each with its own connection, for a warm-up and then a
//! measured window. Closed loop by default (each worker sends its next request when the
//! last one is answered); open loop with a rate (request `i` is due at `i / rate`,
//! and its latency counts from when it was due, so a server that falls behind shows it
//! instead of slowing the generator down).
//!
//! Every non-2xx answer and every transport failure is an error, counted over the whole
//! run (warm-up included) and sampled with its body: errors are never dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use crate::http::{Conn, Req, Target};

/// A small deterministic generator (SplitMix64) for picking ids; one per worker.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Builds request number `i` (unique across workers) of a scenario.
pub trait Scenario: Send + Sync {
    fn request(&self, i: u64, rng: &mut Rng) -> Req;
}

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub concurrency: usize,
    pub warmup: Duration,
    pub measure: Duration,
    /// Open loop at this many requests per second (warm-up included).
    pub rate: Option<f64>,
    /// Keep the `id` of every successful answer's JSON body (up to this many).
    pub collect_ids: usize,
}

/// What a run measured.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Requests started in the measured window.
    pub measured: u64,
    /// Requests per second over the measured window.
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Every error of the run, warm-up included.
    pub errors: u64,
    /// Every 2xx of the run, warm-up included (what a delivery check waits for).
    pub successes: u64,
    /// Open loop: requests due in the run that were not sent by its end because
    /// every connection was still waiting for the server.
    pub not_sent: u64,
    pub error_samples: Vec<String>,
    pub ids: Vec<String>,
}

const MAX_SAMPLES: usize = 5;

struct Shared {
    next: AtomicU64,
    errors: AtomicU64,
    successes: AtomicU64,
    samples: Mutex<Vec<String>>,
    ids: Mutex<Vec<String>>,
}

impl Shared {
    fn error(&self, sample: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut samples = self.samples.lock().expect("samples lock");
        let key: String = sample.chars().take(120).collect();
        if samples.len() < MAX_SAMPLES && !samples.iter().any(|s| s.starts_with(&key)) {
            samples.push(sample);
        }
    }
}

struct WorkerResult {
    histogram: Histogram<u64>,
    measured: u64,
    last_done: Instant,
}

fn new_histogram() -> Histogram<u64> {
    // Microseconds, 1 µs to 10 min, 3 significant digits.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

#[allow(clippy::too_many_arguments)]
async fn worker(
    index: usize,
    target: Target,
    scenario: Arc<dyn Scenario>,
    shared: Arc<Shared>,
    options: LoadOptions,
    start: Instant,
    warm_end: Instant,
    end: Instant,
) -> WorkerResult {
    let mut conn = Conn::new(target);
    let mut rng = Rng::new(index as u64 + 1);
    let mut histogram = new_histogram();
    let (mut measured, mut last_done) = (0, warm_end);
    loop {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        let began = match options.rate {
            Some(rate) => {
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                // Behind and out of time: what was not sent by the end is reported
                // as not sent, not sent late.
                if due >= end || Instant::now() >= end {
                    break;
                }
                tokio::time::sleep_until(due).await;
                due
            }
            None => Instant::now(),
        };
        if began >= end {
            break;
        }
        let request = scenario.request(i, &mut rng);
        let answer = conn.send(&request).await;
        let done = Instant::now();
        match answer {
            Ok(answer) if answer.is_success() => {
                shared.successes.fetch_add(1, Ordering::Relaxed);
                if options.collect_ids > 0
                    && let Some(id) = answer.json()["id"].as_str()
                {
                    let mut ids = shared.ids.lock().expect("ids lock");
                    if ids.len() < options.collect_ids {
                        ids.push(id.to_owned());
                    }
                }
            }
            Ok(answer) => {
                shared.error(format!("{} {} -> {}: {}", request.method, request.path, answer.status, answer.text()))
            }
            Err(failure) => {
                shared.error(format!("{} {} -> {failure}", request.method, request.path));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        if began >= warm_end {
            let micros = done.saturating_duration_since(began).as_micros().max(1) as u64;
            histogram.saturating_record(micros);
            measured += 1;
            last_done = last_done.max(done);
        }
    }
    WorkerResult { histogram, measured, last_done }
}

/// Runs `scenario` against `target` and measures it.
pub async fn run(target: &Target, scenario: Arc<dyn Scenario>, options: &LoadOptions) -> Outcome {
    let shared = Arc::new(Shared {
        next: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        successes: AtomicU64::new(0),
        samples: Mutex::new(Vec::new()),
        ids: Mutex::new(Vec::new()),
    });
    let start = Instant::now();
    let warm_end = start + options.warmup;
    let end = warm_end + options.measure;
    let handles: Vec<_> = (0..options.concurrency)
        .map(|index| {
            tokio::spawn(worker(
                index,
                target.clone(),
                Arc::clone(&scenario),
                Arc::clone(&shared),
                options.clone(),
                start,
                warm_end,
                end,
            ))
        })
        .collect();
    let mut histogram = new_histogram();
    let (mut measured, mut last_done) = (0, warm_end);
    for handle in handles {
        let result = handle.await.expect("a load worker panicked");
        histogram.add(&result.histogram).expect("histograms with the same bounds add");
        measured += result.measured;
        last_done = last_done.max(result.last_done);
    }
    let window = last_done.saturating_duration_since(warm_end).as_secs_f64().max(options.measure.as_secs_f64());
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    let shared = Arc::try_unwrap(shared).unwrap_or_else(|_| panic!("workers are done"));
    let sent = shared.errors.load(Ordering::Relaxed) + shared.successes.load(Ordering::Relaxed);
    let due = options.rate.map_or(0, |rate| (rate * (options.warmup + options.measure).as_secs_f64()).ceil() as u64);
    Outcome {
        measured,
        rps: measured as f64 / window,
        p50_ms: ms(0.50),
        p99_ms: ms(0.99),
        max_ms: histogram.max() as f64 / 1000.0,
        errors: shared.errors.into_inner(),
        successes: shared.successes.into_inner(),
        not_sent: due.saturating_sub(sent),
        error_samples: shared.samples.into_inner().expect("samples lock"),
        ids: shared.ids.into_inner().expect("ids lock"),
    }
}
