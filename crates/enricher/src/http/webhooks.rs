//! `POST /api/v1/webhooks/c2s`: C2S deliveries, recorded once and enqueued in
//! one transaction.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::ExposeSecret;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::constant_time_eq;
use super::error::ApiError;
use super::state::AppState;
use crate::providers::c2s::{parse_webhook, WebhookError};
use crate::store::events;

/// The header carrying the shared secret configured in the C2S dashboard.
pub const SECRET_HEADER: &str = "x-webhook-token";

#[utoipa::path(post, path = "/api/v1/webhooks/c2s", tag = "intake",
    description = "C2S lead webhooks (`on_create_lead`, `on_update_lead`, `on_close_lead`), single, wrapped or batched. Each event is recorded once — (lead, updated_at, hook_action) is the idempotency key — and its job enqueued in the same transaction. Updates enrich only when the customer's contacts changed. Never rate limited.",
    request_body(content = super::payloads::C2sWebhookDelivery, description = "One event or a batch of up to 100: the lead as C2S sends it (inline, under `lead` or under `data`) with its `hook_action`. Unknown fields are ignored."),
    security(("webhook_token" = [])),
    responses(
        (status = 202, description = "At least one new event: how many, and what each event became", body = DeliveryAccepted),
        (status = 200, description = "Every event seen before", body = DeliveryDuplicate),
        (status = 400, description = "Not JSON, not a lead event, missing hook_action, a field over its length cap (nothing of the delivery stored)", body = super::error::ErrorBody),
        (status = 401, description = "Wrong or missing X-Webhook-Token (when WEBHOOK_SECRET is set)", body = super::error::ErrorBody),
        (status = 413, description = "Body over 512 KiB, or more than 100 events in one delivery (nothing stored)", body = super::error::ErrorBody)))]
pub async fn c2s(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if let Some(secret) = &state.webhook_secret {
        let given = headers
            .get(SECRET_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !constant_time_eq(given, secret.expose_secret().as_bytes()) {
            return Err(ApiError::Unauthorized);
        }
    }
    let payload: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("body is not valid JSON: {e}")))?;
    let events = parse_webhook(&payload).map_err(|e| match e {
        WebhookError::TooManyEvents { .. } => ApiError::TooLarge(e.to_string()),
        e => ApiError::BadRequest(format!("not a C2S lead event: {e}")),
    })?;
    for event in &events {
        if event.action.is_none() {
            return Err(ApiError::BadRequest("event without hook_action".into()));
        }
    }
    let mut events = events;
    if let Some(pipeline) = &state.pipeline {
        // A lead of an erased person: its delivery is recorded without
        // their data (the job still runs, and posts the neutral note).
        for event in &mut events {
            let (_, email, _) = crate::domain::lead::usable_contacts(&event.lead);
            // Every phone the event carries, not only the one we would use.
            let phones: Vec<brazil::PhoneBr> = event
                .lead
                .phones
                .iter()
                .filter_map(|p| brazil::PhoneBr::parse(p).ok())
                .collect();
            if crate::store::erasure::is_erased_subject(
                &state.intake,
                &pipeline.ledger,
                None,
                &phones,
                email.as_ref(),
            )
            .await?
            {
                event.raw = serde_json::json!({"erased_subject": true});
            }
        }
    }
    let results = events::record_delivery(&state.intake, &events).await?;
    for recorded in &results {
        crate::metrics::METRICS.webhook(recorded.decision);
    }
    let fresh = results.iter().filter(|r| r.decision != "duplicate").count();
    if fresh == 0 {
        let body = DeliveryDuplicate {
            duplicate: true,
            events: results,
        };
        return Ok((StatusCode::OK, Json(body)).into_response());
    }
    let body = DeliveryAccepted {
        accepted: fresh,
        events: results,
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// A delivery with at least one new event (202).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryAccepted {
    /// Events new to the service (recorded, and enqueued when they enrich).
    pub accepted: usize,
    /// Each event of the delivery, in order: its lead, the decision
    /// (`enrich`, `contacts_unchanged`, `close_recorded`, `duplicate`) and
    /// the job enqueued, if any.
    pub events: Vec<events::Recorded>,
}

/// A delivery whose events were all recorded before (200).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDuplicate {
    /// Always `true`.
    pub duplicate: bool,
    pub events: Vec<events::Recorded>,
}
