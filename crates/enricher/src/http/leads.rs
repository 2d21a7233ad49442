//! Synchronous runs (manual and Make.com triggers) and a lead's state, for API
//! keys with the `enrich` scope.

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::authorize;
use super::error::ApiError;
use super::state::AppState;
use crate::domain::identity::{Contact, Via};
use crate::domain::lead::LeadId;
use crate::pipeline::sync::{self, RunEnd, SyncRun, SyncState};
use crate::pipeline::worker::JobOutcome;
use crate::pipeline::RunContext;
use crate::store::leads;

fn lead_id(raw: &str) -> Result<LeadId, ApiError> {
    LeadId::parse(raw).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// `POST /api/v1/c2s/enrich/{lead_id}?force=true`
#[utoipa::path(post, path = "/api/v1/c2s/enrich/{lead_id}", tag = "leads",
    description = "Scope: `enrich`. Runs the lead now (as a queued job, in a task of its own: a client that leaves does not stop it) and answers its outcome (the earlier service's fields) when it ends within `SYNC_WAIT_SECS`, else 202 with the lead's status URL. A lead already processed answers from its record without provider calls unless `force=true`.",
    params(("lead_id" = String, Path, description = "C2S lead id, 32 hex characters"),
           ("force" = Option<bool>, Query, description = "Run again even if already processed")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Outcome: success, lead_id, masked cpfs, same_person, message_sent, stored_in_db (how many persons were stored), entity_ids, status, timings", body = LeadView),
        (status = 202, description = "Not done within the wait (`SYNC_WAIT_SECS`), or another run of the lead is under way: queued or running; `status_url` tells when it is done", body = Accepted),
        (status = 400, description = "Not a lead id", body = super::error::ErrorBody),
        (status = 404, description = "C2S does not know the lead", body = super::error::ErrorBody),
        (status = 503, description = "A provider or the pipeline is unavailable; a job was queued", body = super::error::ErrorBody),
        (status = 401, description = "Missing or unknown API key", body = super::error::ErrorBody),
        (status = 403, description = "The key lacks the scope", body = super::error::ErrorBody),
        (status = 429, description = "Rate limited (per key / per client IP); see Retry-After", body = super::error::ErrorBody)))]
pub async fn enrich(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<(StatusCode, Json<SyncAnswer>), ApiError> {
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
        (status = 200, description = "Outcome (as the manual trigger)", body = LeadView),
        (status = 202, description = "Not done within the wait, or another run is under way (as the manual trigger)", body = Accepted),
        (status = 400, description = "Missing or bad id", body = super::error::ErrorBody),
        (status = 404, description = "C2S does not know the lead", body = super::error::ErrorBody),
        (status = 503, description = "Unavailable; a job was queued", body = super::error::ErrorBody),
        (status = 401, description = "Missing or unknown API key", body = super::error::ErrorBody),
        (status = 403, description = "The key lacks the scope", body = super::error::ErrorBody),
        (status = 429, description = "Rate limited (per key / per client IP); see Retry-After", body = super::error::ErrorBody)))]
pub async fn process(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<(StatusCode, Json<SyncAnswer>), ApiError> {
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
        (status = 200, description = "The lead's state", body = LeadView),
        (status = 400, description = "Not a lead id", body = super::error::ErrorBody),
        (status = 404, description = "Never seen", body = super::error::ErrorBody),
        (status = 401, description = "Missing or unknown API key", body = super::error::ErrorBody),
        (status = 403, description = "The key lacks the scope", body = super::error::ErrorBody),
        (status = 429, description = "Rate limited (per key / per client IP); see Retry-After", body = super::error::ErrorBody)))]
pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Json<LeadView>, ApiError> {
    authorize(&state, &headers, None, "enrich").await?;
    let id = lead_id(&raw)?;
    match describe(&state, &id).await? {
        Some(v) => Ok(Json(v)),
        None => Err(ApiError::NotFound("no record of this lead".into())),
    }
}

/// A lead's processing state and outcome: the earlier service's fields
/// (`success`, `cpfs`, `same_person`, `message_sent`, `stored_in_db`,
/// `entity_ids`) and ours. No personal data: CPFs are masked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LeadView {
    pub lead_id: String,
    /// `pending`, `processing`, `completed` or `failed`.
    pub status: String,
    /// The step the run is at or ended at: `lead`, `discover`, `dossier`,
    /// `store`, `note`, `done`.
    pub step: String,
    /// How it ended (e.g. `enriched`, `nobody_found`), once it has.
    pub outcome: Option<String>,
    /// The run completed.
    pub success: bool,
    /// The presented persons' CPFs, masked (`***.982.247-**`).
    pub cpfs: Vec<String>,
    /// One person, found by both the phone and the e-mail.
    pub same_person: bool,
    /// The note was posted on the lead.
    pub message_sent: bool,
    /// How many persons were stored in the customer database (the earlier
    /// service's post-deployment check is `stored_in_db > 0`).
    pub stored_in_db: usize,
    /// Their `core.entities` ids.
    pub entity_ids: Vec<Uuid>,
    /// Attempts of the lead's jobs (the most of any).
    pub attempts: i64,
    pub last_error: Option<String>,
    /// How sure we are that each presented person is the lead (same order as
    /// `cpfs`).
    pub identity: Vec<IdentityView>,
    /// The contacts (`phone`, `email`) whose registered owner was not
    /// presented (below the minimum confidence).
    pub unconfirmed_contacts: Vec<String>,
    /// The lead tier and why (LGPD art. 20: the automated assessment,
    /// explained); none until the note is decided or when nobody is presented.
    pub tier: Option<TierView>,
    /// Set on the synchronous triggers' answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timings: Option<Timings>,
}

/// How sure we are that a presented person is the lead.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IdentityView {
    /// `confirmed`, `probable` or `unconfirmed`.
    pub confidence: String,
    /// The evidence's largest weights, in English.
    pub reasons: String,
    /// Found through a household contact (a relative's phone).
    pub household: bool,
}

/// A lead's tier: its name, score, the rule set's version and every rule
/// that gave points.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TierView {
    /// `A` … `D` (the rule set's names).
    pub tier: String,
    pub score: i32,
    /// The rule set's `version`.
    pub rules: String,
    pub reasons: Vec<TierReason>,
}

/// One rule that held.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct TierReason {
    pub rule: String,
    pub points: i32,
    /// In the note's words (`renda alta`).
    pub text: String,
}

/// How long the synchronous request took.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Timings {
    pub total_ms: u64,
}

/// A synchronous trigger that did not end within the wait.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Accepted {
    pub lead_id: String,
    /// Always `accepted`.
    pub status: String,
    /// The queued job.
    pub job_id: i64,
    /// Where the lead's state is read (`GET`).
    pub status_url: String,
    pub message: String,
    pub timings: Timings,
}

async fn describe(state: &AppState, id: &LeadId) -> Result<Option<LeadView>, ApiError> {
    let Some(r) = leads::recorded_state(&state.pool, id).await? else {
        return Ok(None);
    };
    let context =
        RunContext::read(r.context).map_err(|e| ApiError::Internal(e.to_string().into()))?;
    let discovery = context.discovery.unwrap_or_default();
    let cpfs = discovery
        .persons
        .iter()
        .map(|(cpf, _)| cpf.masked())
        .collect();
    let same_person = discovery.persons.len() == 1 && discovery.persons[0].1 == Via::PhoneAndEmail;
    let identity = discovery
        .identities
        .iter()
        .map(|i| IdentityView {
            confidence: i.confidence.as_str().to_owned(),
            reasons: i.reasons.clone(),
            household: i.household.is_some(),
        })
        .collect();
    let unconfirmed_contacts = discovery
        .unshown
        .iter()
        .map(|u| match u.contact {
            Contact::Phone => "phone".to_owned(),
            Contact::Email => "email".to_owned(),
        })
        .collect();
    Ok(Some(LeadView {
        lead_id: id.as_str().to_owned(),
        success: r.state == "completed",
        status: r.state,
        step: r.step,
        outcome: r.outcome,
        cpfs,
        same_person,
        message_sent: r.note_status == "sent",
        stored_in_db: context.entity_ids.len(),
        entity_ids: context.entity_ids,
        attempts: r.attempts,
        last_error: r.last_error,
        identity,
        unconfirmed_contacts,
        tier: r.tier.map(|tier| TierView {
            tier,
            score: r.tier_score.unwrap_or_default(),
            rules: r.tier_rules.unwrap_or_default(),
            reasons: r
                .tier_reasons
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default(),
        }),
        timings: None,
    }))
}

// Longer than 70 lines on purpose: a synchronous run's answer, each outcome answered where it happens.
async fn run_sync(
    state: &AppState,
    id: &LeadId,
    force: bool,
) -> Result<(StatusCode, Json<SyncAnswer>), ApiError> {
    let pipeline = state
        .pipeline
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("providers are not configured".into()))?;
    let started = Instant::now();
    if let Some(done) = describe(state, id)
        .await?
        .filter(|d| d.status == "completed")
    {
        if !force {
            // Already processed: the recorded outcome, nothing paid again.
            return Ok((StatusCode::OK, Json(with_timing(done, started))));
        }
        // Re-run from the start; lookups come from the ledger, the note stays sent.
        leads::restart_completed(&state.pool, id).await?;
    }
    // Run as a job in a task of its own (not this request's): it goes on
    // if the client goes away, and answers here if it ends within the wait.
    let mut worker = state.sync.worker.clone();
    worker.id = "api".into();
    let SyncRun { job_id, state: run } = sync::run_now(pipeline, id, &worker, state.sync.wait)
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    let accepted = || {
        (
            StatusCode::ACCEPTED,
            Json(SyncAnswer::Accepted(Accepted {
                lead_id: id.as_str().to_owned(),
                status: "accepted".into(),
                job_id,
                status_url: format!("/api/v1/leads/{}", id.as_str()),
                message: "the lead is queued or running; its status URL tells when it is done"
                    .into(),
                timings: elapsed(started),
            })),
        )
    };
    // Still running, not started (another run of the lead first), or its
    // outcome not recorded (a worker runs it again): the status URL tells.
    let SyncState::Ended(RunEnd::Ran(outcome, error)) = run else {
        return Ok(accepted());
    };
    let error = error.unwrap_or_default();
    match outcome {
        JobOutcome::Completed => {
            let done = describe(state, id).await?.ok_or_else(|| {
                ApiError::Internal("the lead's record is gone after its run".into())
            })?;
            Ok((StatusCode::OK, Json(with_timing(done, started))))
        }
        JobOutcome::LeadNotFound => Err(ApiError::NotFound(
            "C2S does not know this lead; it is asked again a few times over the next minutes"
                .into(),
        )),
        JobOutcome::Retrying | JobOutcome::Paused | JobOutcome::Deferred => Err(
            ApiError::Unavailable(format!("{error}; the lead was queued and will be retried")),
        ),
        JobOutcome::Dead => Err(ApiError::Unavailable(error)),
        JobOutcome::LeadBusy | JobOutcome::LeaseLost => Ok(accepted()),
    }
}

/// What a synchronous trigger answers: the outcome (200) or where to look
/// for it (202).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum SyncAnswer {
    Done(Box<LeadView>),
    Accepted(Accepted),
}

fn elapsed(started: Instant) -> Timings {
    Timings {
        total_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

fn with_timing(mut v: LeadView, started: Instant) -> SyncAnswer {
    v.timings = Some(elapsed(started));
    SyncAnswer::Done(Box::new(v))
}
