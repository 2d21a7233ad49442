//! `/health/live` (the process answers), `/health/ready` (it can do its job:
//! database reachable, migrations current, worker loops alive when this
//! process runs them) and `/health`, the earlier service's path, as an alias
//! of readiness. No personal data, no credentials: safe to expose.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use super::state::AppState;

/// Longest a readiness check waits for the database.
const DB_CHECK_LIMIT: Duration = Duration::from_secs(2);

/// A worker loop silent for longer than this is considered stuck.
pub const WORKER_SILENCE_LIMIT: Duration = Duration::from_secs(60);

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Check {
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub version: &'static str,
    pub database: Check,
    pub migrations: Check,
    pub worker: Check,
}

#[utoipa::path(get, path = "/health/live", tag = "operations",
    description = "The process answers (restart it if not).",
    responses((status = 200, description = "`{status: ok, version}`", body = Live)))]
pub async fn live() -> Json<Live> {
    Json(Live {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// The process answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Live {
    /// Always `ok`.
    pub status: &'static str,
    /// The service's version.
    pub version: &'static str,
}

/// The three checks, each bounded in time.
// Longer than 70 lines on purpose: The three readiness checks, each bounded in time, in one place.
pub async fn readiness(state: &AppState) -> Readiness {
    let db = tokio::time::timeout(DB_CHECK_LIMIT, crate::db::ping(&state.pool)).await;
    let database = match db {
        Ok(Ok(_)) => Check {
            ok: true,
            detail: "reachable".into(),
        },
        Ok(Err(e)) => Check {
            ok: false,
            detail: format!("unreachable: {}", short(&e.to_string())),
        },
        Err(_) => Check {
            ok: false,
            detail: format!("no answer within {} s", DB_CHECK_LIMIT.as_secs()),
        },
    };
    let migrations = if database.ok {
        match tokio::time::timeout(DB_CHECK_LIMIT, crate::db::migrate::status(&state.pool)).await {
            Ok(Ok(all)) => {
                let pending = all.iter().filter(|m| !m.applied).count();
                Check {
                    ok: pending == 0,
                    detail: if pending == 0 {
                        format!("{} applied", all.len())
                    } else {
                        format!("{pending} pending: run `c2s-enrich migrate`")
                    },
                }
            }
            Ok(Err(e)) => Check {
                ok: false,
                detail: format!("cannot read: {}", short(&e.to_string())),
            },
            Err(_) => Check {
                ok: false,
                detail: "no answer in time".into(),
            },
        }
    } else {
        Check {
            ok: false,
            detail: "database unreachable".into(),
        }
    };
    let worker = match &state.worker {
        None => Check {
            ok: true,
            detail: "not run by this process".into(),
        },
        Some(h) => match h.silent_for() {
            None => Check {
                ok: false,
                detail: "not started yet".into(),
            },
            Some(d) if d > WORKER_SILENCE_LIMIT => Check {
                ok: false,
                detail: format!("silent for {} s", d.as_secs()),
            },
            Some(d) => Check {
                ok: true,
                detail: format!("alive ({} ms ago)", d.as_millis()),
            },
        },
    };
    let ok = database.ok && migrations.ok && worker.ok;
    Readiness {
        status: if ok { "ready" } else { "not_ready" },
        version: env!("CARGO_PKG_VERSION"),
        database,
        migrations,
        worker,
    }
}

#[utoipa::path(get, path = "/health/ready", tag = "operations",
    description = "Ready to work: database reachable, migrations current, worker loops alive (when this process runs them).",
    responses((status = 200, description = "Ready", body = Readiness),
              (status = 503, description = "Not ready; each check says why", body = Readiness)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let r = readiness(&state).await;
    let code = if r.status == "ready" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(r))
}

/// Errors from the driver can be long; the first line is enough here.
fn short(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(160)
        .collect()
}

/// The earlier service's health path: the same answer as `/health/ready`.
#[utoipa::path(get, path = "/health", tag = "operations",
    description = "Alias of `/health/ready` (the earlier service's path).",
    responses((status = 200, description = "Ready", body = Readiness),
              (status = 503, description = "Not ready", body = Readiness)))]
pub async fn alias(state: State<AppState>) -> (StatusCode, Json<Readiness>) {
    ready(state).await
}
