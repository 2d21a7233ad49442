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

use super::auth::authorize;
use super::error::ApiError;
use super::figures::{DqCheck, Status};
use super::state::AppState;
use crate::store::rollups;

const PAGE: &str = include_str!("assets/status.html");

/// Data-quality checks scan whole tables: run at most this often.
const DQ_CACHE: Duration = Duration::from_secs(300);

/// The data-quality report, at most [`DQ_CACHE`] old (the status page
/// shows its checks, the console all of it): one run at a time, the others
/// wait for it and share it.
pub async fn quality_report(
    state: &AppState,
) -> Result<
    (
        chrono::DateTime<chrono::Utc>,
        std::sync::Arc<crate::ops::dq::Report>,
    ),
    sqlx::Error,
> {
    let mut cache = state.dq_cache.0.lock().await;
    if let Some((at, wall, report)) = cache.as_ref() {
        if at.elapsed() <= DQ_CACHE {
            return Ok((*wall, report.clone()));
        }
    }
    let report = std::sync::Arc::new(crate::ops::dq::run(&state.pool).await?);
    let wall = chrono::Utc::now();
    *cache = Some((Instant::now(), wall, report.clone()));
    Ok((wall, report))
}

/// The figures, data quality from a cache refreshed every five minutes.
pub async fn collect(state: &AppState) -> Result<Status, sqlx::Error> {
    let pool = &state.pool;
    let (dq_at, report) = quality_report(state).await?;
    let dq = report
        .checks
        .iter()
        .map(|c| DqCheck {
            name: c.name.to_owned(),
            violations: c.violations,
            passed: c.passed,
        })
        .collect();
    Ok(Status {
        generated_at: chrono::Utc::now(),
        version: env!("CARGO_PKG_VERSION"),
        last_24h: rollups::totals(pool, 24).await?,
        last_7d: rollups::totals(pool, 24 * 7).await?,
        queue: rollups::queue(pool).await?,
        providers: rollups::providers(pool).await?,
        budgets: match &state.pipeline {
            Some(p) => crate::store::ledger::budget_state(pool, p.ledger.budgets()).await?,
            None => Vec::new(),
        },
        leads_per_hour: rollups::per_hour(pool).await?,
        data_quality: dq,
        data_quality_checked_at: Some(dq_at),
        webhooks_signed: state.webhook_secret.is_some(),
    })
}

/// Pipeline totals, queue, provider health, data quality: aggregates only.
#[utoipa::path(get, path = "/api/v1/status", tag = "operations",
    description = "Public, aggregates only; computed at most every 10 s (`generated_at` tells when).",
    responses((status = 200, description = "The status page's figures", body = Status),
              (status = 500, description = "Database error", body = super::error::ErrorBody)))]
pub async fn status_json(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    Ok(Json(cached(&state).await?))
}

/// The figures at most 10 s old, computed by one request at a time (the
/// others get the last figures meanwhile, or wait for the first ones).
pub async fn cached(state: &AppState) -> Result<Status, sqlx::Error> {
    let cache = &state.status_cache;
    if let Some(fresh) = cache.get(true) {
        return Ok(fresh);
    }
    let _turn = match cache.computing.try_lock() {
        Ok(turn) => turn,
        Err(_) => {
            if let Some(last) = cache.get(false) {
                // Someone is computing: the last figures meanwhile.
                return Ok(last);
            }
            let turn = cache.computing.lock().await;
            if let Some(fresh) = cache.get(true) {
                return Ok(fresh);
            }
            turn
        }
    };
    let status = collect(state).await?;
    cache.put(&status);
    Ok(status)
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
    responses((status = 200, description = "Data-quality report (scope: admin); `passed` is false when any hard rule is violated", body = DataQuality),
              (status = 401, description = "Missing or unknown key", body = super::error::ErrorBody),
              (status = 403, description = "The key lacks the admin scope", body = super::error::ErrorBody),
              (status = 429, description = "Rate limited", body = super::error::ErrorBody)))]
pub async fn data_quality(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Json<DataQuality>, ApiError> {
    authorize(&state, &headers, None, "admin").await?;
    let report = crate::ops::dq::run(&state.pool).await?;
    Ok(Json(DataQuality {
        passed: report.passed(),
        report,
    }))
}

/// The data-quality report, and whether every hard rule holds.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DataQuality {
    #[serde(flatten)]
    pub report: crate::ops::dq::Report,
    /// `false` when any hard rule is violated.
    pub passed: bool,
}
