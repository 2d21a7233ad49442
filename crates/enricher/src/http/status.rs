//! The status page (`/`, self-contained HTML, no external assets) and the
//! figures behind it (`GET /api/v1/status`): aggregates only — counts, shares,
//! provider health, data-quality checks — never a name, CPF, phone or e-mail.
//! Both are public, like `/health`; put them behind the proxy's auth if the
//! volumes themselves are sensitive.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sqlx::PgPool;

use super::auth::authorize;
use super::error::ApiError;
use super::AppState;

const PAGE: &str = include_str!("assets/status.html");

/// Data-quality checks scan whole tables: run at most this often.
const DQ_CACHE: Duration = Duration::from_secs(300);

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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DqCheck {
    pub name: String,
    pub violations: i64,
    pub passed: bool,
}

/// Everything the status page shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Status {
    pub generated_at: chrono::DateTime<chrono::Utc>,
    pub version: &'static str,
    pub last_24h: Totals,
    pub last_7d: Totals,
    pub queue: Queue,
    pub providers: Vec<ProviderHealth>,
    /// Leads received per hour over the last 24 hours, oldest first (24 values).
    pub leads_per_hour: Vec<i64>,
    pub data_quality: Vec<DqCheck>,
    pub data_quality_checked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `false`: C2S webhooks are accepted unsigned (no `WEBHOOK_SECRET`).
    pub webhooks_signed: bool,
}

/// When the checks last ran (monotonic and wall clock) and what they found.
type DqEntry = (Instant, chrono::DateTime<chrono::Utc>, Vec<DqCheck>);

/// Cached data-quality results (the checks scan whole tables).
#[derive(Debug, Default)]
pub struct DqCache(tokio::sync::Mutex<Option<DqEntry>>);

/// The status figures are public: however often they are asked for, they
/// are computed at most once per this.
const STATUS_CACHE: Duration = Duration::from_secs(10);

/// The last figures computed, and the right to compute them: one request
/// at a time computes; while it does, the others get the last figures (or,
/// before there are any, wait for it).
#[derive(Debug, Default)]
pub struct StatusCache {
    last: std::sync::Mutex<Option<(Instant, Status)>>,
    computing: tokio::sync::Mutex<()>,
}

impl StatusCache {
    fn get(&self, fresh_only: bool) -> Option<Status> {
        let last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        last.as_ref()
            .filter(|(at, _)| !fresh_only || at.elapsed() < STATUS_CACHE)
            .map(|(_, s)| s.clone())
    }

    fn put(&self, status: &Status) {
        *self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((Instant::now(), status.clone()));
    }
}

async fn totals(pool: &PgPool, hours: i32) -> Result<Totals, sqlx::Error> {
    let (received, enriched, nobody, failed, progress): (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*),
                count(*) FILTER (WHERE state = 'completed' AND outcome = 'enriched'),
                count(*) FILTER (WHERE state = 'completed' AND outcome = 'nobody_found'),
                count(*) FILTER (WHERE state = 'failed'),
                count(*) FILTER (WHERE state IN ('pending', 'processing'))
           FROM enrich.leads WHERE created_at > now() - make_interval(hours => $1)",
    )
    .bind(hours)
    .fetch_one(pool)
    .await?;
    let google_ads: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM enrich.google_ads_leads WHERE received_at > now() - make_interval(hours => $1)",
    )
    .bind(hours)
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
    })
}

async fn queue(pool: &PgPool) -> Result<Queue, sqlx::Error> {
    let (ready, scheduled, running, dead, oldest): (i64, i64, i64, i64, f64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 'queued' AND run_at <= now()),
                count(*) FILTER (WHERE state = 'queued' AND run_at > now()),
                count(*) FILTER (WHERE state = 'running'),
                count(*) FILTER (WHERE state = 'dead'),
                coalesce(extract(epoch FROM now() - min(run_at) FILTER (WHERE state = 'queued' AND run_at <= now())), 0)::float8
           FROM enrich.jobs",
    )
    .fetch_one(pool)
    .await?;
    Ok(Queue {
        ready,
        scheduled,
        running,
        dead,
        oldest_ready_seconds: oldest,
    })
}

async fn providers(pool: &PgPool) -> Result<Vec<ProviderHealth>, sqlx::Error> {
    let rows: Vec<(String, i64, i64, i64, i64, bool)> = sqlx::query_as(
        "SELECT p.provider,
                count(c.*) FILTER (WHERE c.outcome <> 'hit'),
                count(c.*) FILTER (WHERE c.outcome = 'error'),
                count(c.*) FILTER (WHERE c.outcome = 'hit'),
                coalesce(sum(c.credits), 0)::int8,
                EXISTS (SELECT 1 FROM enrich.provider_pauses z WHERE z.provider = p.provider AND z.paused_until > now())
           FROM (VALUES ('diretrix'), ('work_api')) AS p(provider)
           LEFT JOIN enrich.provider_calls c ON c.provider = p.provider AND c.created_at > now() - interval '24 hours'
          GROUP BY p.provider ORDER BY p.provider",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(provider, calls, errors, cache_hits, credits, paused)| ProviderHealth {
                provider,
                calls,
                errors,
                cache_hits,
                credits,
                paused,
            },
        )
        .collect())
}

async fn per_hour(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(l.lead_id)
           FROM generate_series(date_trunc('hour', now()) - interval '23 hours', date_trunc('hour', now()), interval '1 hour') AS h(start)
           LEFT JOIN enrich.leads l ON l.created_at >= h.start AND l.created_at < h.start + interval '1 hour'
          GROUP BY h.start ORDER BY h.start",
    )
    .fetch_all(pool)
    .await
}

/// The figures, data quality from a cache refreshed every five minutes.
pub async fn collect(state: &AppState) -> Result<Status, sqlx::Error> {
    let pool = &state.pool;
    let (dq, dq_at) = {
        let mut cache = state.dq_cache.0.lock().await;
        let stale = cache
            .as_ref()
            .is_none_or(|(at, _, _)| at.elapsed() > DQ_CACHE);
        if stale {
            let report = crate::ops::dq::run(pool).await?;
            let checks = report
                .checks
                .iter()
                .map(|c| DqCheck {
                    name: c.name.to_owned(),
                    violations: c.violations,
                    passed: c.passed,
                })
                .collect();
            *cache = Some((Instant::now(), chrono::Utc::now(), checks));
        }
        cache
            .as_ref()
            .map(|(_, at, c)| (c.clone(), Some(*at)))
            .unwrap_or_default()
    };
    Ok(Status {
        generated_at: chrono::Utc::now(),
        version: env!("CARGO_PKG_VERSION"),
        last_24h: totals(pool, 24).await?,
        last_7d: totals(pool, 24 * 7).await?,
        queue: queue(pool).await?,
        providers: providers(pool).await?,
        leads_per_hour: per_hour(pool).await?,
        data_quality: dq,
        data_quality_checked_at: dq_at,
        webhooks_signed: state.webhook_secret.is_some(),
    })
}

/// Pipeline totals, queue, provider health, data quality: aggregates only.
#[utoipa::path(get, path = "/api/v1/status", tag = "operations",
    description = "Public, aggregates only; computed at most every 10 s (`generated_at` tells when).",
    responses((status = 200, description = "The status page's figures", body = Status),
              (status = 500, description = "Database error", body = super::error::ErrorBody)))]
pub async fn status_json(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    let cache = &state.status_cache;
    if let Some(fresh) = cache.get(true) {
        return Ok(Json(fresh));
    }
    let _turn = match cache.computing.try_lock() {
        Ok(turn) => turn,
        Err(_) => {
            if let Some(last) = cache.get(false) {
                // Someone is computing: the last figures meanwhile.
                return Ok(Json(last));
            }
            let turn = cache.computing.lock().await;
            if let Some(fresh) = cache.get(true) {
                return Ok(Json(fresh));
            }
            turn
        }
    };
    let status = collect(&state).await?;
    cache.put(&status);
    Ok(Json(status))
}

/// The status page: HTML that loads `/api/v1/status` and refreshes itself.
#[utoipa::path(get, path = "/", tag = "operations",
    responses((status = 200, description = "Self-contained HTML page", content_type = "text/html")))]
pub async fn page() -> Response {
    (
        // `Html` sets the content type.
        [(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
        )],
        Html(PAGE),
    )
        .into_response()
}

/// `c2s-enrich dq` over HTTP (`admin`): the full data-quality report, fresh.
#[utoipa::path(get, path = "/api/v1/admin/data-quality", tag = "operations",
    description = "Scope: `admin`. `c2s-enrich dq` over HTTP: every hard rule's violations, enrichment coverage, address confidence, orphans, table sizes; `passed` is false when any rule is violated.",
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, description = "Data-quality report (scope: admin); `passed` is false when any hard rule is violated", body = serde_json::Value),
              (status = 401, description = "Missing or unknown key", body = super::error::ErrorBody),
              (status = 403, description = "The key lacks the admin scope", body = super::error::ErrorBody),
              (status = 429, description = "Rate limited", body = super::error::ErrorBody)))]
pub async fn data_quality(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&state, &headers, None, "admin").await?;
    let report = crate::ops::dq::run(&state.pool).await?;
    let mut body = serde_json::to_value(&report).map_err(|e| ApiError::Internal(Box::new(e)))?;
    body["passed"] = serde_json::Value::Bool(report.passed());
    Ok(Json(body))
}
