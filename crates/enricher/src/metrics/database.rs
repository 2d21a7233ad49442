//! The gauges read from the database at scrape time: open work, the
//! provider usage rollup, pauses, the queue.

use std::collections::BTreeMap;

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sqlx::PgPool;

use super::{gauges, labels, Labels};
use crate::store::rollups;

/// One reading of the database gauges.
#[derive(Debug, Clone, Default)]
pub struct DbGauges {
    pub(super) jobs: Vec<(Labels, i64)>,
    pub(super) provider_calls: Vec<(Labels, i64)>,
    pub(super) provider_credits: Vec<(Labels, i64)>,
    pub(super) provider_paused: Vec<(Labels, i64)>,
    pub(super) ready_jobs: i64,
    pub(super) oldest_ready_seconds: f64,
    pub(super) leads: Vec<(Labels, i64)>,
    /// Data subjects' requests open past their 15-day deadline.
    pub(super) overdue_requests: i64,
}

/// The gauges read from the database at scrape time.
pub(super) fn register_database(r: &mut Registry, db: &DbGauges) {
    for (name, help, series) in [
        (
            "c2s_enrich_jobs",
            "Open jobs by state (queued, running, dead)",
            &db.jobs,
        ),
        (
            "c2s_enrich_provider_calls",
            "Lookups recorded in the ledger by provider, module and outcome (found/not_found/error were calls; hit = answered free)",
            &db.provider_calls,
        ),
        (
            "c2s_enrich_provider_credits",
            "Credits spent, by provider and module",
            &db.provider_credits,
        ),
        (
            "c2s_enrich_provider_paused",
            "1 while a provider is paused (jobs wait for its cool-down)",
            &db.provider_paused,
        ),
        (
            "c2s_enrich_leads",
            "Leads not completed, by state and step",
            &db.leads,
        ),
    ] {
        r.register(name, help, gauges(series));
    }
    let ready = Gauge::<i64>::default();
    ready.set(db.ready_jobs);
    r.register(
        "c2s_enrich_queue_ready_jobs",
        "Jobs ready to run now (queue depth)",
        ready,
    );
    let overdue = Gauge::<i64>::default();
    overdue.set(db.overdue_requests);
    r.register(
        "c2s_enrich_subject_requests_overdue",
        "Data subjects' requests (LGPD) still open past their 15-day deadline",
        overdue,
    );
    let oldest = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
    oldest.set(db.oldest_ready_seconds);
    r.register(
        "c2s_enrich_queue_oldest_ready_seconds",
        "How long the oldest ready job has waited",
        oldest,
    );
}

/// Gauges read from the database: open work, the provider usage rollup,
/// pauses, the queue.
pub(super) async fn database_gauges(pool: &PgPool) -> Result<DbGauges, sqlx::Error> {
    // Open work only (small sets, by partial indexes): finished jobs and
    // completed leads are counted by `job_outcomes_total` and the status page.
    let jobs = rollups::open_jobs(pool).await?;
    let jobs = ["queued", "running", "dead"]
        .into_iter()
        .map(|state| {
            let n = jobs.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
            (labels(&[("state", state)]), n)
        })
        .collect();
    let calls = rollups::provider_usage(pool).await?;
    let provider_calls = calls
        .iter()
        .map(|(p, m, o, n, _)| {
            (
                labels(&[("provider", p), ("module", m), ("outcome", o)]),
                *n,
            )
        })
        .collect();
    let mut credits: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for (provider, module, _, _, c) in &calls {
        *credits
            .entry((provider.as_str(), module.as_str()))
            .or_default() += c;
    }
    let provider_credits = credits
        .into_iter()
        .map(|((p, m), c)| (labels(&[("provider", p), ("module", m)]), c))
        .collect();
    let paused = crate::store::pauses::paused_now(pool).await?;
    let provider_paused = ["c2s", "diretrix", "work_api"]
        .into_iter()
        .map(|p| {
            (
                labels(&[("provider", p)]),
                i64::from(paused.iter().any(|x| x == p)),
            )
        })
        .collect();
    let (ready_jobs, oldest_ready_seconds) = rollups::ready_queue(pool).await?;
    let steps = rollups::open_leads(pool).await?;
    let leads = steps
        .iter()
        .map(|(state, step, n)| (labels(&[("state", state), ("step", step)]), *n))
        .collect();
    let overdue_requests = crate::store::subjects::overdue_count(pool).await?;
    Ok(DbGauges {
        overdue_requests,
        jobs,
        provider_calls,
        provider_credits,
        provider_paused,
        ready_jobs,
        oldest_ready_seconds,
        leads,
    })
}
