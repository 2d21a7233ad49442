//! Synchronous runs (manual and Make.com triggers) and a lead's state, for API
//! keys with the `enrich` scope.

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::auth::authorize;
use super::error::ApiError;
use super::AppState;
use crate::domain::lead::LeadId;
use crate::pipeline::run::RunError;
use crate::pipeline::worker::{release_lead, take_lead, ENRICH_LEAD};
use crate::store::jobs::{self, NewJob};

fn lead_id(raw: &str) -> Result<LeadId, ApiError> {
    LeadId::parse(raw).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// `POST /api/v1/c2s/enrich/{lead_id}?force=true`
#[utoipa::path(post, path = "/api/v1/c2s/enrich/{lead_id}", tag = "leads",
    description = "Scope: `enrich`. Runs the lead now and answers its outcome (the earlier service's fields). A lead already processed answers from its record without provider calls unless `force=true`.",
    params(("lead_id" = String, Path, description = "C2S lead id, 32 hex characters"),
           ("force" = Option<bool>, Query, description = "Run again even if already processed")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Outcome: success, lead_id, masked cpfs, same_person, message_sent, stored_in_db, entity_ids, status, timings", body = serde_json::Value),
        (status = 400, description = "Not a lead id", body = super::openapi::ErrorBody),
        (status = 404, description = "C2S does not know the lead", body = super::openapi::ErrorBody),
        (status = 409, description = "The lead is being processed right now", body = super::openapi::ErrorBody),
        (status = 503, description = "A provider or the pipeline is unavailable; a job was queued", body = super::openapi::ErrorBody),
        (status = 401, description = "Missing or unknown API key", body = super::openapi::ErrorBody),
        (status = 403, description = "The key lacks the scope", body = super::openapi::ErrorBody),
        (status = 429, description = "Rate limited (per key / per client IP); see Retry-After", body = super::openapi::ErrorBody)))]
pub async fn enrich(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, None, "enrich").await?;
    run_sync(
        &state,
        &lead_id(&raw)?,
        q.get("force").is_some_and(|f| f == "true"),
    )
    .await
}

/// `GET /api/v1/leads/process?id=…&api_key=…` (Make.com)
#[utoipa::path(get, path = "/api/v1/leads/process", tag = "leads",
    description = "Scope: `enrich`. Make.com's GET trigger: same as `POST /api/v1/c2s/enrich/{lead_id}`; the key may come as `?api_key=` (weaker: URLs are logged).",
    params(("id" = String, Query, description = "C2S lead id"),
           ("api_key" = Option<String>, Query, description = "API key (Make.com only)"),
           ("force" = Option<bool>, Query, description = "Run again even if already processed")),
    security(("bearer" = []), ("api_key" = []), ("api_key_query" = [])),
    responses(
        (status = 200, description = "Outcome (as the manual trigger)", body = serde_json::Value),
        (status = 400, description = "Missing or bad id", body = super::openapi::ErrorBody),
        (status = 404, description = "C2S does not know the lead", body = super::openapi::ErrorBody),
        (status = 409, description = "The lead is being processed right now", body = super::openapi::ErrorBody),
        (status = 503, description = "Unavailable; a job was queued", body = super::openapi::ErrorBody),
        (status = 401, description = "Missing or unknown API key", body = super::openapi::ErrorBody),
        (status = 403, description = "The key lacks the scope", body = super::openapi::ErrorBody),
        (status = 429, description = "Rate limited (per key / per client IP); see Retry-After", body = super::openapi::ErrorBody)))]
pub async fn process(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    authorize(
        &state,
        &headers,
        q.get("api_key").map(String::as_str),
        "enrich",
    )
    .await?;
    let raw = q
        .get("id")
        .ok_or_else(|| ApiError::BadRequest("query parameter id is required".into()))?;
    run_sync(
        &state,
        &lead_id(raw)?,
        q.get("force").is_some_and(|f| f == "true"),
    )
    .await
}

/// `GET /api/v1/leads/{lead_id}`: processing state, attempts, last error, outcome.
#[utoipa::path(get, path = "/api/v1/leads/{lead_id}", tag = "leads",
    description = "Scope: `enrich`. A lead's processing state: step, attempts, last error, outcome, note status.",
    params(("lead_id" = String, Path, description = "C2S lead id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The lead's state", body = serde_json::Value),
        (status = 400, description = "Not a lead id", body = super::openapi::ErrorBody),
        (status = 404, description = "Never seen", body = super::openapi::ErrorBody),
        (status = 401, description = "Missing or unknown API key", body = super::openapi::ErrorBody),
        (status = 403, description = "The key lacks the scope", body = super::openapi::ErrorBody),
        (status = 429, description = "Rate limited (per key / per client IP); see Retry-After", body = super::openapi::ErrorBody)))]
pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, None, "enrich").await?;
    let id = lead_id(&raw)?;
    match describe(&state, &id).await? {
        Some(v) => Ok(Json(v)),
        None => Err(ApiError::NotFound("no record of this lead".into())),
    }
}

/// A lead's recorded state.
#[derive(Debug, sqlx::FromRow)]
struct LeadState {
    state: String,
    step: String,
    outcome: Option<String>,
    note_status: String,
    last_error: Option<String>,
    context: Value,
    attempts: i64,
}

async fn describe(state: &AppState, id: &LeadId) -> Result<Option<Value>, ApiError> {
    let row: Option<LeadState> = sqlx::query_as(
        "SELECT l.state, l.step, l.outcome, l.note_status, l.last_error, l.context,
                coalesce((SELECT max(attempts) FROM enrich.jobs j WHERE j.lead_id = l.lead_id), 0)::bigint AS attempts
           FROM enrich.leads l WHERE l.lead_id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(&state.pool)
    .await?;
    Ok(row.map(|r| {
        let LeadState { state: st, step, outcome, note_status: note, last_error, context, attempts } = r;
        let persons = context["discovery"]["persons"].as_array().cloned().unwrap_or_default();
        let cpfs: Vec<String> = persons
            .iter()
            .filter_map(|p| p[0].as_str().and_then(|c| brazil::Cpf::parse(c).ok()).map(|c| c.masked()))
            .collect();
        let same_person = persons.len() == 1 && persons[0][1] == "phone_and_email";
        // How sure we are each presented person is the lead (issue 11), and
        // the contacts whose owner was not shown (no personal data).
        let identity: Vec<Value> = context["discovery"]["identities"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|i| json!({"confidence": i["confidence"], "reasons": i["reasons"], "household": !i["household"].is_null()}))
                    .collect()
            })
            .unwrap_or_default();
        let unconfirmed: Vec<Value> = context["discovery"]["unshown"]
            .as_array()
            .map(|list| list.iter().map(|u| u["contact"].clone()).collect())
            .unwrap_or_default();
        json!({
            "identity": identity, "unconfirmed_contacts": unconfirmed,
            "lead_id": id.as_str(), "status": st, "step": step, "outcome": outcome,
            "success": st == "completed", "cpfs": cpfs, "same_person": same_person,
            "message_sent": note == "sent", "stored_in_db": context["entity_ids"].as_array().is_some_and(|a| !a.is_empty()),
            "entity_ids": context["entity_ids"], "attempts": attempts, "last_error": last_error,
        })
    }))
}

async fn run_sync(state: &AppState, id: &LeadId, force: bool) -> Result<Json<Value>, ApiError> {
    let pipeline = state
        .pipeline
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("providers are not configured".into()))?;
    let started = Instant::now();
    if let Some(done) = describe(state, id)
        .await?
        .filter(|d| d["status"] == "completed")
    {
        if !force {
            // Already processed: the recorded outcome, nothing paid again.
            return Ok(Json(with_timing(done, started)));
        }
        // Re-run from the start; lookups come from the ledger, the note stays sent.
        sqlx::query("UPDATE enrich.leads SET step = 'lead', state = 'pending' WHERE lead_id = $1")
            .bind(id.as_str())
            .execute(&state.pool)
            .await?;
    }
    let holder = format!("api-{}", uuid::Uuid::new_v4().simple());
    if !take_lead(
        &state.pool,
        id,
        &holder,
        std::time::Duration::from_secs(120),
    )
    .await?
    {
        return Err(ApiError::Conflict(
            "this lead is being processed right now; try again shortly".into(),
        ));
    }
    let result = pipeline.process(id).await;
    release_lead(&state.pool, id, &holder).await?;
    match result {
        Ok(_) => {
            let done = describe(state, id).await?.unwrap_or_default();
            Ok(Json(with_timing(done, started)))
        }
        Err(RunError::LeadNotFound) => {
            Err(ApiError::NotFound("C2S does not know this lead".into()))
        }
        Err(e @ (RunError::Retryable(_) | RunError::Paused { .. } | RunError::Deferred { .. })) => {
            let key = format!("retry:{}:{}", id.as_str(), uuid::Uuid::new_v4().simple());
            let job = NewJob {
                kind: ENRICH_LEAD,
                job_key: Some(&key),
                lead_id: Some(id.as_str()),
                payload: json!({ "lead_id": id.as_str() }),
                max_attempts: 8,
            };
            jobs::enqueue(&state.pool, &job).await?;
            Err(ApiError::Unavailable(format!(
                "{e}; the lead was queued and will be retried"
            )))
        }
        Err(e) => Err(ApiError::Unavailable(e.to_string())),
    }
}

fn with_timing(mut v: Value, started: Instant) -> Value {
    v["timings"] = json!({ "total_ms": started.elapsed().as_millis() as u64 });
    v
}
