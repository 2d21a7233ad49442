//! Aggregates over the service's own tables, for the status page and the
//! metrics' database gauges: counts only, never personal data.

use serde::Serialize;
use sqlx::PgPool;

/// Leads received in a window, by how they ended.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Totals {
    pub received: i64,
    pub enriched: i64,
    pub nobody_found: i64,
    pub failed: i64,
    pub in_progress: i64,
    /// enriched / (enriched + nobody_found + failed); `null` before any ended.
    pub success_share: Option<f64>,
    pub google_ads: i64,
    /// Leads the reconciliation sweep caught (no webhook had brought them,
    /// or their contacts changed unannounced).
    pub reconciled: i64,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Queue {
    pub ready: i64,
    pub scheduled: i64,
    pub running: i64,
    pub dead: i64,
    pub oldest_ready_seconds: f64,
}

/// One provider over the last 24 h (from the ledger).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProviderHealth {
    pub provider: String,
    pub calls: i64,
    pub errors: i64,
    pub cache_hits: i64,
    pub credits: i64,
    pub paused: bool,
}

/// Leads received in the last `hours`, by how they ended.
pub async fn totals(pool: &PgPool, hours: i32) -> Result<Totals, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT count(*) AS "received!",
                count(*) FILTER (WHERE state = 'completed' AND outcome = 'enriched') AS "enriched!",
                count(*) FILTER (WHERE state = 'completed' AND outcome = 'nobody_found') AS "nobody!",
                count(*) FILTER (WHERE state = 'failed') AS "failed!",
                count(*) FILTER (WHERE state IN ('pending', 'processing')) AS "progress!"
           FROM enrich.leads WHERE created_at > now() - make_interval(hours => $1)"#,
        hours
    )
    .fetch_one(pool)
    .await?;
    let (received, enriched, nobody, failed, progress) = (
        row.received,
        row.enriched,
        row.nobody,
        row.failed,
        row.progress,
    );
    let google_ads: i64 = sqlx::query_scalar!("SELECT count(*) AS \"n!\" FROM enrich.google_ads_leads WHERE received_at > now() - make_interval(hours => $1)", hours)
    .fetch_one(pool)
    .await?;
    let reconciled: i64 = sqlx::query_scalar!("SELECT count(*) AS \"n!\" FROM enrich.webhook_events WHERE source = 'reconcile' AND received_at > now() - make_interval(hours => $1)", hours)
    .fetch_one(pool)
    .await?;
    let ended = enriched + nobody + failed;
    Ok(Totals {
        received,
        enriched,
        nobody_found: nobody,
        failed,
        in_progress: progress,
        success_share: (ended > 0).then(|| enriched as f64 / ended as f64),
        google_ads,
        reconciled,
    })
}

/// The job queue now.
pub async fn queue(pool: &PgPool) -> Result<Queue, sqlx::Error> {
    sqlx::query_as!(
        Queue,
        r#"SELECT count(*) FILTER (WHERE state = 'queued' AND run_at <= now()) AS "ready!",
                count(*) FILTER (WHERE state = 'queued' AND run_at > now()) AS "scheduled!",
                count(*) FILTER (WHERE state = 'running') AS "running!",
                count(*) FILTER (WHERE state = 'dead') AS "dead!",
                coalesce(extract(epoch FROM now() - min(run_at) FILTER (WHERE state = 'queued' AND run_at <= now())), 0)::float8
                  AS "oldest_ready_seconds!"
           FROM enrich.jobs"#
    )
    .fetch_one(pool)
    .await
}

/// Each paid provider over the last 24 hours.
pub async fn providers(pool: &PgPool) -> Result<Vec<ProviderHealth>, sqlx::Error> {
    sqlx::query_as!(
        ProviderHealth,
        r#"SELECT p.provider AS "provider!",
                count(c.*) FILTER (WHERE c.outcome <> 'hit') AS "calls!",
                count(c.*) FILTER (WHERE c.outcome = 'error') AS "errors!",
                count(c.*) FILTER (WHERE c.outcome = 'hit') AS "cache_hits!",
                coalesce(sum(c.credits), 0)::int8 AS "credits!",
                EXISTS (SELECT 1 FROM enrich.provider_pauses z WHERE z.provider = p.provider AND z.paused_until > now())
                  AS "paused!"
           FROM (VALUES ('diretrix'), ('work_api')) AS p(provider)
           LEFT JOIN enrich.provider_calls c ON c.provider = p.provider AND c.created_at > now() - interval '24 hours'
          GROUP BY p.provider ORDER BY p.provider"#
    )
    .fetch_all(pool)
    .await
}

/// Leads received per hour over the last 24 hours, oldest first.
pub async fn per_hour(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!("SELECT count(l.lead_id) AS \"n!\"
           FROM generate_series(date_trunc('hour', now()) - interval '23 hours', date_trunc('hour', now()), interval '1 hour') AS h(start)
           LEFT JOIN enrich.leads l ON l.created_at >= h.start AND l.created_at < h.start + interval '1 hour'
          GROUP BY h.start ORDER BY h.start")
    .fetch_all(pool)
    .await
}

/// Open (not done) jobs by state.
pub async fn open_jobs(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT state, count(*) AS "n!" FROM enrich.jobs WHERE state <> 'done' GROUP BY 1 ORDER BY 1"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.state, r.n)).collect())
}

/// Provider calls and credits by provider, module and outcome, from the daily
/// rollup the ledger's trigger keeps (migration 27), not from the ledger itself.
pub async fn provider_usage(
    pool: &PgPool,
) -> Result<Vec<(String, String, String, i64, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT provider, module, outcome, sum(calls)::int8 AS "calls!", sum(credits)::int8 AS "credits!"
           FROM enrich.provider_usage_daily GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.provider, r.module, r.outcome, r.calls, r.credits))
        .collect())
}

/// Jobs ready to run now, and how long the oldest of them has waited (s).
pub async fn ready_queue(pool: &PgPool) -> Result<(i64, f64), sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT count(*) AS "ready!", coalesce(extract(epoch FROM now() - min(run_at)), 0)::float8 AS "oldest!"
           FROM enrich.jobs WHERE state = 'queued' AND run_at <= now()"#
    )
    .fetch_one(pool)
    .await?;
    Ok((row.ready, row.oldest))
}

/// Leads not completed, by state and step.
pub async fn open_leads(pool: &PgPool) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT state, step, count(*) AS "n!" FROM enrich.leads WHERE state <> 'completed' GROUP BY 1, 2 ORDER BY 1, 2"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.state, r.step, r.n)).collect())
}
