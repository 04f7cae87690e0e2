//! The results table: each credd scenario beside the baseline of the same backend,
//! measured in the same run, with the performance targets marked met or not met per row.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

/// Reads the JSON-lines results file.
pub fn read_results(path: &Path) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("{}: {e}", path.display())))
        .collect()
}

const READ_P99_MS: f64 = 20.0;
const WRITE_P99_MS: f64 = 50.0;
const RSS_MIB: f64 = 150.0;
const DELIVERY_S: f64 = 5.0;
const SCALE_FACTOR: f64 = 1.25;

fn num(record: &Value, field: &str) -> f64 {
    record[field].as_f64().unwrap_or(f64::NAN)
}

fn text<'a>(record: &'a Value, field: &str) -> &'a str {
    record[field].as_str().unwrap_or_default()
}

fn is_delivery_check(record: &Value) -> bool {
    record["scenario"] == "credential-create" && !record["rate"].is_null()
}

/// The scenario's name in the table.
fn label(record: &Value) -> String {
    let name = match text(record, "scenario") {
        "json" => "baseline: small JSON, no storage",
        "insert" => "baseline: one insert",
        "read" => "baseline: one primary-key read",
        "token" => "token issue (client credentials)",
        "wallet-read" => "read one wallet",
        "wallet-list" => "list a user's wallets (first page)",
        "wallet-create" => "create wallet + email",
        "credential-create" if is_delivery_check(record) => {
            let not_sent = record["notSent"].as_u64().unwrap_or(0);
            let behind =
                if not_sent > 0 { format!(" ({not_sent} not sent: credd fell behind)") } else { String::new() };
            return format!("delivery check: credentials due at {:.0}/s, open loop{behind}", num(record, "rate"));
        }
        "credential-create" => "create credential with data",
        "user-create" => "create user",
        "device-create" => "create WhatsApp device",
        other => other,
    };
    match text(record, "step") {
        "base" | "" => name.to_owned(),
        step => format!("{name} @ {step} wallets"),
    }
}

/// The baseline scenario a credd scenario is compared with.
fn baseline_of(scenario: &str) -> Option<&'static str> {
    match scenario {
        "token" => Some("json"),
        "wallet-read" | "wallet-list" => Some("read"),
        "wallet-create" | "credential-create" | "user-create" | "device-create" => Some("insert"),
        _ => None,
    }
}

fn is_read(scenario: &str) -> bool {
    matches!(scenario, "token" | "wallet-read" | "wallet-list")
}

struct Check {
    name: String,
    met: bool,
}

fn check(name: impl Into<String>, met: bool) -> Check {
    Check { name: name.into(), met }
}

fn find<'a>(records: &'a [Value], backend: &str, server: &str, scenario: &str, step: &str) -> Option<&'a Value> {
    records.iter().rev().find(|r| {
        r["kind"] == "load"
            && r["backend"] == backend
            && r["server"] == server
            && r["scenario"] == scenario
            && r["step"] == step
            && !is_delivery_check(r)
    })
}

/// This row's performance targets.
fn checks(records: &[Value], record: &Value) -> Vec<Check> {
    let (backend, scenario, step) = (text(record, "backend"), text(record, "scenario"), text(record, "step"));
    if record["server"] != "credd" {
        return Vec::new();
    }
    let mut out = Vec::new();
    let ratio = ratio(records, record);
    if is_delivery_check(record) {
        let delivery = &record["delivery"];
        let kept = num(record, "rps") >= 0.95 * num(record, "rate") && record["notSent"].as_u64().unwrap_or(0) == 0;
        out.push(check("created at the rate", kept));
        let on_time =
            delivery["complete"] == true && delivery["seconds"].as_f64().unwrap_or(f64::INFINITY) <= DELIVERY_S;
        out.push(check(format!("all delivered ≤ {DELIVERY_S} s after the end"), on_time));
    } else {
        match (scenario, ratio) {
            ("wallet-read", Some(r)) => out.push(check("≥ 0.5× read", r >= 0.5)),
            ("wallet-create", Some(r)) => {
                out.push(check("≥ 0.6× insert", r >= 0.6));
                if backend == "sqlite" {
                    out.push(check("stretch: > 1× insert", r > 1.0));
                }
            }
            _ => {}
        }
        let p99 = num(record, "p99Ms");
        if is_read(scenario) {
            out.push(check(format!("p99 ≤ {READ_P99_MS} ms"), p99 <= READ_P99_MS));
        } else {
            out.push(check(format!("p99 ≤ {WRITE_P99_MS} ms"), p99 <= WRITE_P99_MS));
        }
        if step == "1M"
            && matches!(scenario, "wallet-read" | "wallet-list")
            && let Some(at_10k) = find(records, backend, "credd", scenario, "10k")
        {
            let growth = num(at_10k, "rps") / num(record, "rps");
            out.push(check(format!("cost ≤ {SCALE_FACTOR}× of 10k ({growth:.2}×)"), growth <= SCALE_FACTOR));
        }
    }
    if let Some(rss) = record["peakRssMib"].as_f64() {
        out.push(check(format!("RSS ≤ {RSS_MIB} MiB"), rss <= RSS_MIB));
    }
    out
}

fn ratio(records: &[Value], record: &Value) -> Option<f64> {
    let base = baseline_of(text(record, "scenario"))?;
    let baseline = find(records, text(record, "backend"), "baseline", base, "base")?;
    Some(num(record, "rps") / num(baseline, "rps"))
}

fn delivery_cell(record: &Value) -> String {
    let delivery = &record["delivery"];
    if delivery.is_null() {
        return String::new();
    }
    let (created, delivered) = (delivery["created"].as_u64().unwrap_or(0), delivery["delivered"].as_u64().unwrap_or(0));
    let seconds = delivery["seconds"].as_f64().unwrap_or(f64::NAN);
    let rate = delivery["perSecond"].as_f64().map(|r| format!(" (~{r:.0}/s)")).unwrap_or_default();
    let rss = delivery["peakRssMib"]
        .as_f64()
        .map(|r| format!("; RSS {r:.0} MiB while the mailbox was read"))
        .unwrap_or_default();
    if delivery["complete"] == true {
        format!("{created} in +{seconds:.1} s{rate}{rss}")
    } else {
        format!("{delivered} of {created} after +{seconds:.0} s{rate}{rss}")
    }
}

/// One line for the progress log.
pub fn one_line(record: &Value) -> String {
    let mut line = format!(
        "{:<9} {:<8} {:<48} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
        text(record, "backend"),
        text(record, "server"),
        label(record),
        num(record, "rps"),
        num(record, "p50Ms"),
        num(record, "p99Ms"),
        record["errors"],
    );
    if let Some(rss) = record["peakRssMib"].as_f64() {
        let _ = write!(line, "  peak RSS {rss:.0} MiB");
    }
    let delivery = delivery_cell(record);
    if !delivery.is_empty() {
        let _ = write!(line, "  delivered {delivery} (one mailbox read: {:.0} ms)", num(&record["delivery"], "pollMs"));
    }
    line
}

fn machine() -> String {
    let arch = std::process::Command::new("uname")
        .arg("-m")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| std::env::consts::ARCH.to_owned());
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown CPU");
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    format!("{arch}, {cpus} CPUs (nproc), {model}, {:.1} GiB memory", mem_kib / 1024.0 / 1024.0)
}

fn table(records: &[Value]) -> String {
    let mut out = String::from(
        "| scenario | backend | req/s | p50 ms | p99 ms | errors | vs baseline | peak RSS MiB | delivered | targets |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---|---|\n",
    );
    for record in records.iter().filter(|r| r["kind"] == "load") {
        let versus = match (ratio(records, record), baseline_of(text(record, "scenario"))) {
            (Some(r), Some(base)) => format!("{r:.2}× {base}"),
            _ => String::new(),
        };
        let rss = record["peakRssMib"].as_f64().map(|r| format!("{r:.0}")).unwrap_or_default();
        let targets: Vec<String> = checks(records, record)
            .into_iter()
            .map(|c| format!("{}: {}", c.name, if c.met { "met" } else { "**not met**" }))
            .collect();
        let errors = record["errors"].as_u64().unwrap_or(0);
        let errors = if errors > 0 { format!("**{errors}**") } else { "0".to_owned() };
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.2} | {:.2} | {errors} | {versus} | {rss} | {} | {} |",
            label(record),
            text(record, "backend"),
            num(record, "rps"),
            num(record, "p50Ms"),
            num(record, "p99Ms"),
            delivery_cell(record),
            targets.join("; "),
        );
    }
    out
}

/// Whether a row's check (by its name) belongs to a target.
type Selects = dyn Fn(&Value, &str) -> bool;

/// The performance targets, one line each, met or not per backend.
fn summary(records: &[Value]) -> String {
    let backends: Vec<&str> = {
        let mut seen: Vec<&str> = Vec::new();
        for r in records {
            let b = text(r, "backend");
            if !b.is_empty() && !seen.contains(&b) {
                seen.push(b);
            }
        }
        seen
    };
    let groups: [(&str, &Selects); 7] = [
        ("read one wallet ≥ 0.5× the bare primary-key read", &|r, c| {
            r["scenario"] == "wallet-read" && c.starts_with('≥')
        }),
        ("create wallet ≥ 0.6× the bare insert", &|r, c| r["scenario"] == "wallet-create" && c.starts_with('≥')),
        ("delivery keeps up: at 0.5× the insert rate for 30 s, all delivered ≤ 5 s after the end", &|r, _| {
            is_delivery_check(r)
        }),
        ("p99 ≤ 20 ms for reads, ≤ 50 ms for writes (32 connections)", &|r, c| {
            !is_delivery_check(r) && c.starts_with("p99")
        }),
        ("reads and first-page lists at 1M wallets within 1.25× of 10k", &|_, c| c.starts_with("cost")),
        ("peak RSS under load ≤ 150 MiB", &|_, c| c.starts_with("RSS")),
        ("stretch (SQLite): creates faster than the bare insert", &|_, c| c.starts_with("stretch")),
    ];
    let mut out = format!("| target | {} |\n|---|{}\n", backends.join(" | "), "---|".repeat(backends.len()));
    for (name, selects) in groups {
        let mut cells = Vec::new();
        for backend in &backends {
            let mut measured = 0;
            let mut failed = Vec::new();
            for record in records.iter().filter(|r| r["kind"] == "load" && r["backend"] == *backend) {
                for c in checks(records, record) {
                    if selects(record, &c.name) {
                        measured += 1;
                        if !c.met {
                            failed.push(label(record));
                        }
                    }
                }
            }
            cells.push(match (measured, failed.is_empty()) {
                (0, _) => "not measured".to_owned(),
                (_, true) => "met".to_owned(),
                (_, false) => {
                    failed.dedup();
                    format!("**not met**: {}", failed.join(", "))
                }
            });
        }
        let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
    }
    out
}

fn errors_section(records: &[Value]) -> String {
    let mut out = String::new();
    for record in records.iter().filter(|r| r["errors"].as_u64().unwrap_or(0) > 0) {
        let _ = writeln!(out, "- {} ({}): {} errors", label(record), text(record, "backend"), record["errors"]);
        for sample in record["errorSamples"].as_array().into_iter().flatten() {
            let sample: String = sample.as_str().unwrap_or_default().chars().take(500).collect();
            let _ = writeln!(out, "  - `{}`", sample.replace('`', "'"));
        }
    }
    if out.is_empty() { "None: every request of every run answered 2xx.\n".to_owned() } else { out }
}

fn seeding_section(records: &[Value]) -> String {
    let mut out = String::new();
    for r in records.iter().filter(|r| r["kind"] == "seed") {
        let (inserted, seconds) = (num(r, "inserted"), num(r, "seconds"));
        let _ = writeln!(
            out,
            "- {}: {inserted:.0} wallets in {seconds:.1} s ({:.0} rows/s), {} for the bulk user",
            text(r, "backend"),
            inserted / seconds.max(1e-9),
            r["total"],
        );
    }
    out
}

pub fn report(results: &Path, out: &Path, subject: &str, settings: &str) -> Result<(), String> {
    let records = read_results(results)?;
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    let table = table(&records);
    let summary = summary(&records);
    let mut doc = String::from("# Benchmarks\n\n");
    let _ = writeln!(
        doc,
        "Written by `bench/run` on {date}{}.\n",
        if subject.is_empty() { String::new() } else { format!(", {subject}") }
    );
    let _ = writeln!(doc, "- Machine: {}; the load generator runs on the same machine.", machine());
    let loads: Vec<f64> = records
        .iter()
        .flat_map(|r| r["loadAverage"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_f64())
        .collect();
    if !loads.is_empty() {
        let (low, high) = loads.iter().fold((f64::INFINITY, 0.0_f64), |(l, h), &v| (l.min(v), h.max(v)));
        let _ = writeln!(
            doc,
            "- One-minute load average around the scenarios: {low:.1} to {high:.1} (with the load generator \
             and the server on 2 CPUs about 2 is expected; well above that, other work shared the machine)."
        );
    }
    if !settings.is_empty() {
        let _ = writeln!(doc, "- Settings: {settings}.");
    }
    let _ = writeln!(
        doc,
        "- Each credd scenario is compared with the baseline server (`bench/baseline`: axum + sqlx, \
         credd's SQLite pragmas and pools) measured in the same run on the same backend: reads with \
         `read`, creates with `insert`, the token with `json`. Peak RSS is credd's `VmHWM` during \
         that scenario (reset before it).\n"
    );
    doc.push_str(&table);
    doc.push_str("\n## Targets\n\n");
    doc.push_str(&summary);
    doc.push_str("\n## Errors\n\n");
    doc.push_str(&errors_section(&records));
    let seeding = seeding_section(&records);
    if !seeding.is_empty() {
        doc.push_str("\n## Bulk seeding (straight into the database, not through HTTP)\n\n");
        doc.push_str(&seeding);
    }
    doc.push_str("\n## Reproduce\n\n```sh\nbench/run                      # both backends, 10k and 1M wallets\nBENCH_BACKENDS=sqlite BENCH_SCALE=10k BENCH_SECONDS=5 bench/run   # a quick one\n```\n");
    std::fs::write(out, &doc).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("{table}\n{summary}");
    Ok(())
}
