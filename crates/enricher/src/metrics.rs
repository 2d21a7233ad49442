//! Prometheus metrics (text exposition format), hand-rolled: a few counters
//! kept in memory plus gauges read from the database at scrape time. Labels
//! carry provider names and states only — never personal data.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

use sqlx::PgPool;

/// In-process counters.
#[derive(Debug, Default)]
pub struct Metrics {
    provider_pauses: Mutex<BTreeMap<&'static str, u64>>,
    jobs: Mutex<BTreeMap<&'static str, u64>>,
    webhooks: Mutex<BTreeMap<&'static str, u64>>,
    auth_failures: Mutex<BTreeMap<&'static str, u64>>,
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

fn bump(map: &Mutex<BTreeMap<&'static str, u64>>, key: &'static str) {
    *map.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(key)
        .or_default() += 1;
}

impl Metrics {
    /// A provider refused our credentials/credits and paused the jobs.
    pub fn provider_paused(&self, provider: &'static str) {
        bump(&self.provider_pauses, provider);
    }

    /// A job ended an attempt with `outcome` (completed, retrying, paused, dead…).
    pub fn job(&self, outcome: &'static str) {
        bump(&self.jobs, outcome);
    }

    /// A request was refused for its credentials (`missing`, `invalid`, `scope`).
    pub fn auth_failure(&self, reason: &'static str) {
        bump(&self.auth_failures, reason);
    }

    /// A webhook event was accepted, ignored as a duplicate, or refused.
    pub fn webhook(&self, decision: &'static str) {
        bump(&self.webhooks, decision);
    }
}

fn counter(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    map: &Mutex<BTreeMap<&'static str, u64>>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (k, v) in map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
    {
        let _ = writeln!(out, "{name}{{{label}=\"{k}\"}} {v}");
    }
}

/// The exposition text: counters, then gauges from the database.
pub async fn render(pool: &PgPool) -> Result<String, sqlx::Error> {
    let m = &*METRICS;
    let mut out = String::new();
    counter(
        &mut out,
        "c2s_enrich_provider_pauses_total",
        "Times a provider refused our token or credits.",
        "provider",
        &m.provider_pauses,
    );
    counter(
        &mut out,
        "c2s_enrich_job_outcomes_total",
        "Job attempts by outcome.",
        "outcome",
        &m.jobs,
    );
    counter(
        &mut out,
        "c2s_enrich_webhook_events_total",
        "C2S webhook events by decision.",
        "decision",
        &m.webhooks,
    );
    let jobs: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, count(*) FROM enrich.jobs GROUP BY 1 ORDER BY 1")
            .fetch_all(pool)
            .await?;
    let _ = writeln!(
        out,
        "# HELP c2s_enrich_jobs Jobs by state.\n# TYPE c2s_enrich_jobs gauge"
    );
    for (state, n) in jobs {
        let _ = writeln!(out, "c2s_enrich_jobs{{state=\"{state}\"}} {n}");
    }
    let calls: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT provider, outcome, count(*), coalesce(sum(credits), 0) FROM enrich.provider_calls GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await?;
    let _ = writeln!(out, "# HELP c2s_enrich_provider_calls Provider calls recorded in the ledger, by outcome (hit = free).\n# TYPE c2s_enrich_provider_calls gauge");
    for (provider, outcome, n, _) in &calls {
        let _ = writeln!(
            out,
            "c2s_enrich_provider_calls{{provider=\"{provider}\",outcome=\"{outcome}\"}} {n}"
        );
    }
    let _ = writeln!(out, "# HELP c2s_enrich_provider_credits Credits spent, by provider.\n# TYPE c2s_enrich_provider_credits gauge");
    let mut credits: BTreeMap<&str, i64> = BTreeMap::new();
    for (provider, _, _, c) in &calls {
        *credits.entry(provider.as_str()).or_default() += c;
    }
    for (provider, c) in credits {
        let _ = writeln!(
            out,
            "c2s_enrich_provider_credits{{provider=\"{provider}\"}} {c}"
        );
    }
    let paused: Vec<String> = sqlx::query_scalar(
        "SELECT provider FROM enrich.provider_pauses WHERE paused_until > now() ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    let _ = writeln!(out, "# HELP c2s_enrich_provider_paused 1 while a provider is paused.\n# TYPE c2s_enrich_provider_paused gauge");
    for p in paused {
        let _ = writeln!(out, "c2s_enrich_provider_paused{{provider=\"{p}\"}} 1");
    }
    let _ = writeln!(
        out,
        "# HELP c2s_enrich_start_time_seconds Process start.\n# TYPE c2s_enrich_start_time_seconds gauge\nc2s_enrich_start_time_seconds {}",
        m.started.load(Ordering::Relaxed)
    );
    Ok(out)
}
