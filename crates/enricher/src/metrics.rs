//! Prometheus metrics through `prometheus-client` (the Prometheus project's
//! Rust client: registry, metric types and the OpenMetrics text encoding): a
//! few counters and histograms kept in memory, plus gauges read from the
//! database at scrape time. Labels carry provider names, route templates and
//! outcome kinds only — never personal data.

use std::sync::LazyLock;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sqlx::PgPool;

mod database;

pub use database::DbGauges;
use database::{database_gauges, register_database};

/// The media type of the exposition (OpenMetrics text, which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds (seconds) of the latency histograms' buckets.
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// A series' labels, in order: static names, route templates and outcome
/// kinds — never request data.
type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn latency() -> Histogram {
    Histogram::new(BUCKETS)
}

type Counters = Family<Labels, Counter>;
type Latencies = Family<Labels, Histogram, fn() -> Histogram>;

/// In-process counters and histograms (shared with every scrape's registry).
#[derive(Debug)]
pub struct Metrics {
    http_requests: Counters,
    http_duration: Latencies,
    provider_requests: Counters,
    provider_duration: Latencies,
    step_duration: Latencies,
    ledger_lookups: Counters,
    events: Counters,
    provider_pauses: Counters,
    jobs: Counters,
    webhooks: Counters,
    reconciled: Counters,
    budget_refusals: Counters,
    auth_failures: Counters,
    sql_statements: Counters,
    started: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let latencies = || Latencies::new_with_constructor(latency as fn() -> Histogram);
        Self {
            http_requests: Counters::default(),
            http_duration: latencies(),
            provider_requests: Counters::default(),
            provider_duration: latencies(),
            step_duration: latencies(),
            ledger_lookups: Counters::default(),
            events: Counters::default(),
            provider_pauses: Counters::default(),
            jobs: Counters::default(),
            webhooks: Counters::default(),
            reconciled: Counters::default(),
            budget_refusals: Counters::default(),
            auth_failures: Counters::default(),
            sql_statements: Counters::default(),
            started: Gauge::default(),
        }
    }
}

/// The process's metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let m = Metrics::default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    m.started.set(i64::try_from(now).unwrap_or(i64::MAX));
    m
});

/// Adds one to the series with these labels.
fn count(family: &Counters, pairs: &[(&str, &str)]) {
    family.get_or_create(&labels(pairs)).inc();
}

impl Metrics {
    /// An HTTP request finished (`route` is the matched template).
    pub fn http(&self, method: &str, route: &str, status: u16, secs: f64) {
        let status = status.to_string();
        count(
            &self.http_requests,
            &[("method", method), ("route", route), ("status", &status)],
        );
        self.http_duration
            .get_or_create(&labels(&[("method", method), ("route", route)]))
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
        self.provider_duration
            .get_or_create(&labels(&[("provider", provider), ("operation", operation)]))
            .observe(secs);
    }

    /// A pipeline step finished (successfully or not).
    pub fn step(&self, step: &str, outcome: &str, secs: f64) {
        self.step_duration
            .get_or_create(&labels(&[("step", step), ("outcome", outcome)]))
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

    /// One SQL statement sent, by where in the work (`telemetry::Phase`).
    pub fn sql_statement(&self, phase: &str) {
        count(&self.sql_statements, &[("phase", phase)]);
    }

    /// Statements counted so far in `phase` (tests).
    #[cfg(test)]
    pub fn sql_statements_seen(&self, phase: &str) -> u64 {
        self.sql_statements
            .get_or_create(&labels(&[("phase", phase)]))
            .get()
    }

    /// A webhook event was accepted, ignored as a duplicate, or refused.
    pub fn webhook(&self, decision: &str) {
        count(&self.webhooks, &[("decision", decision)]);
    }

    /// The reconciliation sweep recorded a lead no webhook had brought
    /// (`reason` `unseen`) or whose contacts had changed (`contacts`).
    pub fn reconciled(&self, reason: &str) {
        count(&self.reconciled, &[("reason", reason)]);
    }

    /// A paid call was not made: it would have passed a credit budget.
    pub fn budget_refused(&self, provider: &str, period: &str, spender: &str) {
        count(
            &self.budget_refusals,
            &[
                ("provider", provider),
                ("period", period),
                ("spender", spender),
            ],
        );
    }
}

/// How long the database gauges of one scrape serve the next ones.
const GAUGE_CACHE: std::time::Duration = std::time::Duration::from_secs(5);

/// The last database gauges read (a scrape storm costs one query set per
/// [`GAUGE_CACHE`]).
#[derive(Debug, Default)]
pub struct GaugeCache(tokio::sync::Mutex<Option<(std::time::Instant, DbGauges)>>);

/// The exposition text: the in-process counters, and the database gauges
/// from `cache` when fresh.
pub async fn render_cached(pool: &PgPool, cache: &GaugeCache) -> Result<String, sqlx::Error> {
    let gauges = {
        let mut slot = cache.0.lock().await;
        match slot.as_ref() {
            Some((at, g)) if at.elapsed() < GAUGE_CACHE => g.clone(),
            _ => {
                let g = database_gauges(pool).await?;
                *slot = Some((std::time::Instant::now(), g.clone()));
                g
            }
        }
    };
    Ok(exposition(&gauges))
}

/// The exposition text, every gauge read now.
pub async fn render(pool: &PgPool) -> Result<String, sqlx::Error> {
    Ok(exposition(&database_gauges(pool).await?))
}

/// A gauge family holding `series`.
fn gauges(series: &[(Labels, i64)]) -> Family<Labels, Gauge> {
    let family = Family::<Labels, Gauge>::default();
    for (l, v) in series {
        family.get_or_create(l).set(*v);
    }
    family
}

/// Every metric, registered in a registry of this scrape (the in-process
/// families are shared, not copied) and encoded.
fn exposition(db: &DbGauges) -> String {
    let mut r = Registry::default();
    register_process(&mut r, &METRICS);
    register_database(&mut r, db);
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, &r);
    out
}

/// The in-process families: counters and histograms the service updates.
// Longer than 70 lines on purpose: one registration (name, help, family) per family of `Metrics`, in its order; split, the list would be read in two places.
fn register_process(r: &mut Registry, m: &Metrics) {
    // Counters are registered without `_total`: the encoder adds it.
    r.register(
        "c2s_enrich_provider_pauses",
        "Times a provider refused our token or credits",
        m.provider_pauses.clone(),
    );
    r.register(
        "c2s_enrich_job_outcomes",
        "Job attempts by outcome",
        m.jobs.clone(),
    );
    r.register(
        "c2s_enrich_webhook_events",
        "Webhook events by decision (C2S and Google Ads)",
        m.webhooks.clone(),
    );
    r.register(
        "c2s_enrich_budget_refusals",
        "Paid calls not made because they would have passed a provider's daily or monthly credit budget (for that spender's share)",
        m.budget_refusals.clone(),
    );
    r.register(
        "c2s_enrich_reconciled_leads",
        "Leads the reconciliation sweep recorded because no webhook had brought them (unseen) or their contacts changed (contacts)",
        m.reconciled.clone(),
    );
    r.register(
        "c2s_enrich_auth_failures",
        "API requests refused for their credentials, by reason (missing, invalid, scope)",
        m.auth_failures.clone(),
    );
    r.register(
        "c2s_enrich_sql_statements",
        "SQL statements sent, by phase: a pipeline step (lead, discover, dossier, store, note, create), run (a lead's state between steps), job (queue bookkeeping), request (HTTP handlers), other",
        m.sql_statements.clone(),
    );
    r.register(
        "c2s_enrich_start_time_seconds",
        "Process start",
        m.started.clone(),
    );
    r.register(
        "c2s_enrich_http_requests",
        "HTTP requests by route template, method and status",
        m.http_requests.clone(),
    );
    r.register(
        "c2s_enrich_http_request_duration_seconds",
        "HTTP request latency by route template",
        m.http_duration.clone(),
    );
    r.register(
        "c2s_enrich_provider_requests",
        "HTTP exchanges with providers (retries included) by outcome",
        m.provider_requests.clone(),
    );
    r.register(
        "c2s_enrich_provider_request_duration_seconds",
        "Provider HTTP latency",
        m.provider_duration.clone(),
    );
    r.register(
        "c2s_enrich_step_duration_seconds",
        "Pipeline step latency by step and outcome",
        m.step_duration.clone(),
    );
    r.register(
        "c2s_enrich_ledger_lookups",
        "Paid-lookup requests by result: paid (provider called) or hit (answered free from the ledger)",
        m.ledger_lookups.clone(),
    );
    r.register(
        "c2s_enrich_events",
        "Pipeline events: note_posted, c2s_lead_created, store_error",
        m.events.clone(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_keeps_the_series_names_and_labels() {
        METRICS.http("POST", "/api/v1/webhooks/c2s", 202, 0.02);
        METRICS.job("completed");
        let text = exposition(&DbGauges {
            ready_jobs: 3,
            oldest_ready_seconds: 1.5,
            overdue_requests: 2,
            ..DbGauges::default()
        });
        for needle in [
            "# TYPE c2s_enrich_http_requests counter\n",
            "c2s_enrich_http_requests_total{method=\"POST\",route=\"/api/v1/webhooks/c2s\",status=\"202\"} ",
            "c2s_enrich_http_request_duration_seconds_bucket{le=\"0.025\",method=\"POST\",route=\"/api/v1/webhooks/c2s\"} ",
            "c2s_enrich_job_outcomes_total{outcome=\"completed\"} ",
            "c2s_enrich_queue_ready_jobs 3\n",
            "c2s_enrich_queue_oldest_ready_seconds 1.5\n",
            "c2s_enrich_subject_requests_overdue 2\n",
            // One period at the end of the help text, not two.
            "# HELP c2s_enrich_job_outcomes Job attempts by outcome.\n",
        ] {
            assert!(text.contains(needle), "{needle} in\n{text}");
        }
        assert!(!text.contains("..\n"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
