//! Prometheus metrics (text exposition format), hand-rolled: a few counters
//! kept in memory plus gauges read from the database at scrape time. Labels
//! carry provider names and states only — never personal data.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

use sqlx::PgPool;

/// Upper bounds (seconds) of the latency histograms' buckets.
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// One histogram series: cumulative bucket counts, sum and count.
#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.buckets[i] += 1;
            }
        }
        self.sum += secs;
        self.count += 1;
    }
}

/// Series keyed by their rendered label set (`a="x",b="y"`). Label values are
/// static names, route templates and outcome kinds — never request data.
type Labeled<T> = Mutex<BTreeMap<String, T>>;

fn labels(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace(['\\', '"', '\n'], "_")))
        .collect::<Vec<_>>()
        .join(",")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// In-process counters.
#[derive(Debug, Default)]
pub struct Metrics {
    http_requests: Labeled<u64>,
    http_duration: Labeled<Histogram>,
    provider_requests: Labeled<u64>,
    provider_duration: Labeled<Histogram>,
    step_duration: Labeled<Histogram>,
    ledger_lookups: Labeled<u64>,
    events: Labeled<u64>,
    provider_pauses: Labeled<u64>,
    jobs: Labeled<u64>,
    webhooks: Labeled<u64>,
    auth_failures: Labeled<u64>,
    started: AtomicU64,
}

/// The process's metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let m = Metrics::default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    m.started.store(now, Ordering::Relaxed);
    m
});

/// Adds one to the series with these labels.
fn count(map: &Labeled<u64>, pairs: &[(&str, &str)]) {
    *lock(map).entry(labels(pairs)).or_default() += 1;
}

impl Metrics {
    /// An HTTP request finished (`route` is the matched template).
    pub fn http(&self, method: &str, route: &str, status: u16, secs: f64) {
        let status = status.to_string();
        count(
            &self.http_requests,
            &[("method", method), ("route", route), ("status", &status)],
        );
        lock(&self.http_duration)
            .entry(labels(&[("method", method), ("route", route)]))
            .or_default()
            .observe(secs);
    }

    /// One HTTP exchange with a provider (each retry counts).
    pub fn provider_request(&self, provider: &str, operation: &str, outcome: &str, secs: f64) {
        count(
            &self.provider_requests,
            &[
                ("provider", provider),
                ("operation", operation),
                ("outcome", outcome),
            ],
        );
        lock(&self.provider_duration)
            .entry(labels(&[("provider", provider), ("operation", operation)]))
            .or_default()
            .observe(secs);
    }

    /// A pipeline step finished (successfully or not).
    pub fn step(&self, step: &str, outcome: &str, secs: f64) {
        lock(&self.step_duration)
            .entry(labels(&[("step", step), ("outcome", outcome)]))
            .or_default()
            .observe(secs);
    }

    /// A ledger lookup: `paid` (the provider was called), `hit` (free).
    pub fn ledger(&self, provider: &str, module: &str, result: &str) {
        count(
            &self.ledger_lookups,
            &[
                ("provider", provider),
                ("module", module),
                ("result", result),
            ],
        );
    }

    /// Something the pipeline did: `note_posted`, `c2s_lead_created`, `store_error`…
    pub fn event(&self, event: &str) {
        count(&self.events, &[("event", event)]);
    }

    /// A provider refused our credentials/credits and paused the jobs.
    pub fn provider_paused(&self, provider: &str) {
        count(&self.provider_pauses, &[("provider", provider)]);
    }

    /// A job ended an attempt with `outcome` (completed, retrying, paused, dead…).
    pub fn job(&self, outcome: &str) {
        count(&self.jobs, &[("outcome", outcome)]);
    }

    /// A request was refused for its credentials (`missing`, `invalid`, `scope`).
    pub fn auth_failure(&self, reason: &str) {
        count(&self.auth_failures, &[("reason", reason)]);
    }

    /// A webhook event was accepted, ignored as a duplicate, or refused.
    pub fn webhook(&self, decision: &str) {
        count(&self.webhooks, &[("decision", decision)]);
    }
}

/// How long the database gauges of one scrape serve the next ones.
const GAUGE_CACHE: std::time::Duration = std::time::Duration::from_secs(5);

/// The last database gauges rendered (a scrape storm costs one query set
/// per [`GAUGE_CACHE`]).
#[derive(Debug, Default)]
pub struct GaugeCache(tokio::sync::Mutex<Option<(std::time::Instant, String)>>);

/// The exposition text: the in-process counters, and the database gauges
/// from `cache` when fresh.
pub async fn render_cached(pool: &PgPool, cache: &GaugeCache) -> Result<String, sqlx::Error> {
    let gauges = {
        let mut slot = cache.0.lock().await;
        match slot.as_ref() {
            Some((at, text)) if at.elapsed() < GAUGE_CACHE => text.clone(),
            _ => {
                let mut text = String::new();
                database_gauges(&mut text, pool).await?;
                *slot = Some((std::time::Instant::now(), text.clone()));
                text
            }
        }
    };
    let mut out = counters();
    out.push_str(&gauges);
    Ok(out)
}

/// The exposition text, every gauge read now.
pub async fn render(pool: &PgPool) -> Result<String, sqlx::Error> {
    let mut out = counters();
    database_gauges(&mut out, pool).await?;
    Ok(out)
}

/// The in-process counters and histograms.
fn counters() -> String {
    let m = &*METRICS;
    let mut out = String::new();
    labeled_counter(
        &mut out,
        "c2s_enrich_provider_pauses_total",
        "Times a provider refused our token or credits.",
        &m.provider_pauses,
    );
    labeled_counter(
        &mut out,
        "c2s_enrich_job_outcomes_total",
        "Job attempts by outcome.",
        &m.jobs,
    );
    labeled_counter(
        &mut out,
        "c2s_enrich_webhook_events_total",
        "Webhook events by decision (C2S and Google Ads).",
        &m.webhooks,
    );
    labeled_counter(
        &mut out,
        "c2s_enrich_auth_failures_total",
        "API requests refused for their credentials, by reason (missing, invalid, scope).",
        &m.auth_failures,
    );
    let _ = writeln!(
        out,
        "# HELP c2s_enrich_start_time_seconds Process start.\n# TYPE c2s_enrich_start_time_seconds gauge\nc2s_enrich_start_time_seconds {}",
        m.started.load(Ordering::Relaxed)
    );
    labeled_counter(
        &mut out,
        "c2s_enrich_http_requests_total",
        "HTTP requests by route template, method and status.",
        &m.http_requests,
    );
    histogram(
        &mut out,
        "c2s_enrich_http_request_duration_seconds",
        "HTTP request latency by route template.",
        &m.http_duration,
    );
    labeled_counter(
        &mut out,
        "c2s_enrich_provider_requests_total",
        "HTTP exchanges with providers (retries included) by outcome.",
        &m.provider_requests,
    );
    histogram(
        &mut out,
        "c2s_enrich_provider_request_duration_seconds",
        "Provider HTTP latency.",
        &m.provider_duration,
    );
    histogram(
        &mut out,
        "c2s_enrich_step_duration_seconds",
        "Pipeline step latency by step and outcome.",
        &m.step_duration,
    );
    labeled_counter(&mut out, "c2s_enrich_ledger_lookups_total", "Paid-lookup requests by result: paid (provider called) or hit (answered free from the ledger).", &m.ledger_lookups);
    labeled_counter(
        &mut out,
        "c2s_enrich_events_total",
        "Pipeline events: note_posted, c2s_lead_created, store_error.",
        &m.events,
    );
    out
}

/// Gauges read from the database: open work, the provider usage rollup,
/// pauses, the queue.
async fn database_gauges(out: &mut String, pool: &PgPool) -> Result<(), sqlx::Error> {
    // Open work only (small sets, by partial indexes): finished jobs and
    // completed leads are counted by `job_outcomes_total` and the status page.
    let jobs: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, count(*) FROM enrich.jobs WHERE state <> 'done' GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    let _ = writeln!(
        out,
        "# HELP c2s_enrich_jobs Open jobs by state (queued, running, dead).\n# TYPE c2s_enrich_jobs gauge"
    );
    for state in ["queued", "running", "dead"] {
        let n = jobs.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "c2s_enrich_jobs{{state=\"{state}\"}} {n}");
    }
    // From the daily rollup the ledger's trigger keeps (migration 27), not
    // from the ledger itself.
    let calls: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT provider, module, outcome, sum(calls)::int8, sum(credits)::int8
           FROM enrich.provider_usage_daily GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .fetch_all(pool)
    .await?;
    let _ = writeln!(out, "# HELP c2s_enrich_provider_calls Lookups recorded in the ledger by provider, module and outcome (found/not_found/error were calls; hit = answered free).\n# TYPE c2s_enrich_provider_calls gauge");
    for (provider, module, outcome, n, _) in &calls {
        let _ = writeln!(
            out,
            "c2s_enrich_provider_calls{{provider=\"{provider}\",module=\"{module}\",outcome=\"{outcome}\"}} {n}"
        );
    }
    let _ = writeln!(out, "# HELP c2s_enrich_provider_credits Credits spent, by provider and module.\n# TYPE c2s_enrich_provider_credits gauge");
    let mut credits: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for (provider, module, _, _, c) in &calls {
        *credits
            .entry((provider.as_str(), module.as_str()))
            .or_default() += c;
    }
    for ((provider, module), c) in credits {
        let _ = writeln!(
            out,
            "c2s_enrich_provider_credits{{provider=\"{provider}\",module=\"{module}\"}} {c}"
        );
    }
    let paused: Vec<String> = sqlx::query_scalar(
        "SELECT provider FROM enrich.provider_pauses WHERE paused_until > now() ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    let _ = writeln!(out, "# HELP c2s_enrich_provider_paused 1 while a provider is paused (jobs wait for its cool-down).\n# TYPE c2s_enrich_provider_paused gauge");
    for p in ["c2s", "diretrix", "work_api"] {
        let _ = writeln!(
            out,
            "c2s_enrich_provider_paused{{provider=\"{p}\"}} {}",
            u8::from(paused.iter().any(|x| x == p))
        );
    }
    queue_gauges(out, pool).await
}

fn labeled_counter(out: &mut String, name: &str, help: &str, map: &Labeled<u64>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (k, v) in lock(map).iter() {
        let _ = writeln!(out, "{name}{{{k}}} {v}");
    }
}

fn histogram(out: &mut String, name: &str, help: &str, map: &Labeled<Histogram>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    for (k, h) in lock(map).iter() {
        for (le, n) in BUCKETS.iter().zip(h.buckets) {
            let _ = writeln!(out, "{name}_bucket{{{k},le=\"{le}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{{k},le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "{name}_sum{{{k}}} {}", h.sum);
        let _ = writeln!(out, "{name}_count{{{k}}} {}", h.count);
    }
}

/// Queue depth, the oldest ready job's wait, unfinished leads by step.
async fn queue_gauges(out: &mut String, pool: &PgPool) -> Result<(), sqlx::Error> {
    let (ready, oldest): (i64, f64) = sqlx::query_as(
        "SELECT count(*), coalesce(extract(epoch FROM now() - min(run_at)), 0)::float8
           FROM enrich.jobs WHERE state = 'queued' AND run_at <= now()",
    )
    .fetch_one(pool)
    .await?;
    let _ = writeln!(out, "# HELP c2s_enrich_queue_ready_jobs Jobs ready to run now (queue depth).\n# TYPE c2s_enrich_queue_ready_jobs gauge\nc2s_enrich_queue_ready_jobs {ready}");
    let _ = writeln!(out, "# HELP c2s_enrich_queue_oldest_ready_seconds How long the oldest ready job has waited.\n# TYPE c2s_enrich_queue_oldest_ready_seconds gauge\nc2s_enrich_queue_oldest_ready_seconds {oldest}");
    let steps: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT state, step, count(*) FROM enrich.leads WHERE state <> 'completed' GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await?;
    let _ = writeln!(
        out,
        "# HELP c2s_enrich_leads Leads not completed, by state and step.\n# TYPE c2s_enrich_leads gauge"
    );
    for (state, step, n) in steps {
        let _ = writeln!(
            out,
            "c2s_enrich_leads{{state=\"{state}\",step=\"{step}\"}} {n}"
        );
    }
    Ok(())
}
