//! HTTP handlers: the three providers' contracts and the admin API.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::faults::{Fault, Faults};
use crate::population::{LeadKind, SimLead};
use crate::{lock, render, CallRecord, NoteRecord, SimState, PROVIDERS};

mod admin;
mod brasilapi;
mod c2s;
mod providers;
mod tags;
pub use admin::*;
use brasilapi::*;
use c2s::*;
use providers::*;
use tags::*;

type St = State<Arc<SimState>>;

pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/integration/leads", get(list_leads).post(create_lead))
        .route("/integration/leads/subscribe", post(subscribe))
        .route("/integration/leads/unsubscribe", post(unsubscribe))
        .route("/integration/leads/{id}", get(get_lead))
        .route(
            "/integration/leads/{id}/create_message",
            post(create_message),
        )
        .route("/integration/tags", get(list_tags).post(create_tag))
        .route("/integration/leads/{id}/tags", get(lead_tags))
        .route("/integration/leads/{id}/create_tag", post(tag_lead))
        .route("/hooks/slack/{*path}", post(slack_hook))
        .route("/brasilapi/cnpj/v1/{cnpj}", get(brasilapi_cnpj))
        .route("/Consultas/Pessoa/Telefone/{phone}", get(diretrix_phone))
        .route("/Consultas/Pessoa/Email/{email}", get(diretrix_email))
        .route("/api", get(work_api))
        .route("/__admin/journal", get(journal))
        .route("/__admin/reset", post(reset))
        .route("/__admin/faults", get(all_faults))
        .route("/__admin/faults/{provider}", put(set_faults))
        .route("/__admin/leads", get(admin_leads))
        .route("/__admin/deliver", post(deliver_webhooks))
        .with_state(state)
}

/// Applies latency and faults, runs `answer` when no fault hits, records the call.
async fn serve(
    state: &SimState,
    provider: &'static str,
    operation: &'static str,
    query: String,
    answer: impl FnOnce() -> Response,
) -> Response {
    let at_ms = state.elapsed_ms();
    let (fault, latency) = state.next_call(provider, operation);
    tokio::time::sleep(latency).await;
    let response = match fault {
        Fault::None => answer(),
        Fault::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response(),
        Fault::AnswerLost => {
            let _ = answer();
            (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response()
        }
        Fault::Timeout(d) => {
            tokio::time::sleep(d).await;
            (StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout").into_response()
        }
        Fault::RateLimited(secs) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, secs.to_string())],
            Json(json!({"message": "Too Many Requests"})),
        )
            .into_response(),
        Fault::Malformed => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{\"data\": [{\"id\": ").into_response(),
        Fault::QuotaExhausted if provider == "work_api" => {
            Json(json!({"code": 429, "message": "not enough credits", "required": 1, "remaining": 0})).into_response()
        }
        Fault::QuotaExhausted => (StatusCode::TOO_MANY_REQUESTS, Json(json!({"message": "quota exhausted"}))).into_response(),
        Fault::TokenInvalid if provider == "work_api" => Json(json!({
            "status": 403, "reason": "Token vencido ou inválido", "statusMsg": "token vencido/inválido ou limite atingido"
        }))
        .into_response(),
        Fault::TokenInvalid => (StatusCode::UNAUTHORIZED, Json(json!({"error": "unauthorized"}))).into_response(),
        Fault::KnowsNobody => knows_nobody(provider, operation),
    };
    state.record(CallRecord {
        provider,
        operation,
        query,
        status: response.status().as_u16(),
        at_ms,
    });
    response
}

/// Each provider's own "not found" answer.
fn knows_nobody(provider: &str, operation: &str) -> Response {
    match (provider, operation) {
        ("diretrix", "phone") => (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "Nenhum registro encontrado"})),
        )
            .into_response(),
        ("work_api", "phone") => Json(json!({"msg": []})).into_response(),
        ("work_api", _) => {
            Json(json!({"status": 404, "statusMsg": "Not found", "reason": "Document not found."}))
                .into_response()
        }
        _ => (StatusCode::NOT_FOUND, Json(json!([]))).into_response(),
    }
}

fn c2s_authorized(state: &SimState, headers: &HeaderMap) -> bool {
    let expected = format!("Bearer {}", state.config.c2s_token);
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str())
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "unauthorized"})),
    )
        .into_response()
}
