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

type St = State<Arc<SimState>>;

/// Seconds added to `updated_at` by each note (a monotonic fake clock).
static NOTE_CLOCK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

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

// ---------------------------------------------------------------- C2S

async fn get_lead(State(state): St, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let s = state.clone();
    serve(&state, "c2s", "get_lead", id.clone(), move || {
        if !c2s_authorized(&s, &headers) {
            return unauthorized();
        }
        match s.lead(&id) {
            Some(lead) => Json(json!({ "data": render::c2s_lead(&lead) })).into_response(),
            None => (StatusCode::NOT_FOUND, "Lead not found").into_response(),
        }
    })
    .await
}

async fn list_leads(
    State(state): St,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = state.clone();
    serve(&state, "c2s", "list_leads", String::new(), move || {
        if !c2s_authorized(&s, &headers) {
            return unauthorized();
        }
        let page: usize = q
            .get("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .max(1);
        let perpage: usize = q
            .get("perpage")
            .and_then(|p| p.parse().ok())
            .unwrap_or(20)
            .clamp(1, 50);
        let mut leads: Vec<SimLead> = s
            .leads()
            .into_iter()
            .filter(|l| {
                q.get("phone").is_none_or(|p| {
                    l.phone
                        .as_deref()
                        .is_some_and(|lp| digits(lp).ends_with(&digits(p)))
                })
            })
            .filter(|l| {
                q.get("email")
                    .is_none_or(|e| l.email.as_deref() == Some(e.as_str()))
            })
            .filter(|l| {
                q.get("created_gte")
                    .is_none_or(|t| l.created_at.as_str() >= t.as_str())
            })
            .filter(|l| {
                q.get("created_lt")
                    .is_none_or(|t| l.created_at.as_str() < t.as_str())
            })
            .filter(|l| {
                q.get("updated_gte")
                    .is_none_or(|t| l.updated_at.as_str() >= t.as_str())
            })
            .collect();
        if q.get("sort").map(String::as_str) == Some("-created_at") {
            leads.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        }
        let total = leads.len();
        let data: Vec<Value> = leads
            .iter()
            .skip((page - 1) * perpage)
            .take(perpage)
            .map(render::c2s_lead)
            .collect();
        Json(json!({"data": data, "meta": {"total": total, "page": page, "perpage": perpage}}))
            .into_response()
    })
    .await
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

async fn create_message(
    State(state): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let s = state.clone();
    let lead_id = id.clone();
    let response = serve(&state, "c2s", "create_message", id.clone(), move || {
        if !c2s_authorized(&s, &headers) {
            return unauthorized();
        }
        let Some(text) = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("body")?.as_str().map(str::to_owned))
        else {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"message": "body is required"})),
            )
                .into_response();
        };
        let mut leads = lock(&s.leads);
        let Some(lead) = leads.iter_mut().find(|l| l.id == lead_id) else {
            return (StatusCode::NOT_FOUND, "Lead not found").into_response();
        };
        // A note is a change to the lead: C2S moves updated_at (and fires on_update_lead).
        let n = NOTE_CLOCK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        lead.updated_at = format!(
            "2026-11-25T{:02}:{:02}:{:02}-03:00",
            (n / 3600) % 24,
            (n / 60) % 60,
            n % 60
        );
        drop(leads);
        lock(&s.journal).notes.push(NoteRecord {
            lead_id: lead_id.clone(),
            body: text,
        });
        (StatusCode::CREATED, Json(json!({"success": true}))).into_response()
    })
    .await;
    if response.status() == StatusCode::CREATED {
        notify_update(state, id);
    }
    response
}

/// Fires `on_update_lead` at subscribers after a note, like C2S does.
fn notify_update(state: Arc<SimState>, lead_id: String) {
    let targets: Vec<String> = lock(&state.journal)
        .subscriptions
        .iter()
        .filter(|(_, action)| action == "on_update_lead")
        .map(|(url, _)| url.clone())
        .collect();
    {
        for url in targets {
            let header = state.config.hook_header.clone();
            let req = DeliveryRequest {
                url,
                action: Some("on_update_lead".into()),
                lead_ids: Some(vec![lead_id.clone()]),
                header_name: header.as_ref().map(|h| h.0.clone()),
                header_value: header.map(|h| h.1),
                ..Default::default()
            };
            let s = state.clone();
            tokio::spawn(async move {
                deliver(&s, &req).await;
            });
        }
    }
}

async fn create_lead(State(state): St, headers: HeaderMap, body: Bytes) -> Response {
    let s = state.clone();
    serve(&state, "c2s", "create_lead", String::new(), move || {
        if !c2s_authorized(&s, &headers) {
            return unauthorized();
        }
        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
        let Some(attrs) = parsed
            .as_ref()
            .and_then(|v| v.get("data")?.get("attributes"))
            .filter(|a| a.is_object())
        else {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"message": "param_data_not_found"})),
            )
                .into_response();
        };
        let text = |k: &str| attrs.get(k).and_then(Value::as_str).map(str::to_owned);
        let id: String = {
            let mut rng = lock(&s.rng);
            (0..32)
                .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
                .collect()
        };
        let lead = SimLead {
            id: id.clone(),
            internal_id: 90_000 + lock(&s.leads).len() as u64,
            name: text("name").unwrap_or_default(),
            phone: text("phone"),
            email: text("email"),
            kind: LeadKind::Unknown,
            person: None,
            created_at: "2026-11-24T12:00:00-03:00".into(),
            updated_at: "2026-11-24T12:00:00-03:00".into(),
            description: text("description"),
            source: text("source"),
            seller_id: text("seller_id"),
            confounders: Vec::new(),
            resolvable: false,
        };
        lock(&s.leads).push(lead);
        lock(&s.journal).created_leads.push(attrs.clone());
        (
            StatusCode::CREATED,
            Json(json!({"data": {"id": id, "type": "lead"}})),
        )
            .into_response()
    })
    .await
}

#[derive(Debug, Deserialize)]
struct HookBody {
    hook_url: Option<String>,
    hook_action: Option<String>,
}

async fn subscribe(state: St, headers: HeaderMap, body: Bytes) -> Response {
    hook(state, headers, body, true).await
}

async fn unsubscribe(state: St, headers: HeaderMap, body: Bytes) -> Response {
    hook(state, headers, body, false).await
}

async fn hook(State(state): St, headers: HeaderMap, body: Bytes, on: bool) -> Response {
    let s = state.clone();
    serve(
        &state,
        "c2s",
        if on { "subscribe" } else { "unsubscribe" },
        String::new(),
        move || {
            if !c2s_authorized(&s, &headers) {
                return unauthorized();
            }
            let b: Option<HookBody> = serde_json::from_slice(&body).ok();
            let (Some(url), Some(action)) = (
                b.as_ref().and_then(|b| b.hook_url.clone()),
                b.and_then(|b| b.hook_action),
            ) else {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({"success": false, "msg": "hook_url not found"})),
                )
                    .into_response();
            };
            if !["on_create_lead", "on_update_lead", "on_close_lead"].contains(&action.as_str()) {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({"success": false, "msg": "hook_action not found"})),
                )
                    .into_response();
            }
            let mut journal = lock(&s.journal);
            journal
                .subscriptions
                .retain(|(u, a)| !(u == &url && a == &action));
            if on {
                journal.subscriptions.push((url, action));
            }
            Json(json!({"success": true})).into_response()
        },
    )
    .await
}

// ---------------------------------------------------------------- Diretrix

fn diretrix_authorized(state: &SimState, headers: &HeaderMap) -> bool {
    use base64_lite::encode;
    let expected = format!(
        "Basic {}",
        encode(&format!(
            "{}:{}",
            state.config.diretrix_user, state.config.diretrix_pass
        ))
    );
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str())
}

/// Tiny base64 (standard alphabet, padded) for the Basic credentials check.
mod base64_lite {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(input: &str) -> String {
        let bytes = input.as_bytes();
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

async fn diretrix_phone(
    State(state): St,
    headers: HeaderMap,
    Path(phone): Path<String>,
) -> Response {
    let s = state.clone();
    let query = phone.clone();
    serve(&state, "diretrix", "phone", query, move || {
        if !diretrix_authorized(&s, &headers) {
            return unauthorized();
        }
        let people = s.population.by_phone(&phone);
        if people.is_empty() {
            // Diretrix answers 400 for numbers it does not know.
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"message": "Nenhum registro encontrado"})),
            )
                .into_response();
        }
        Json(render::diretrix(&s.population, people)).into_response()
    })
    .await
}

async fn diretrix_email(
    State(state): St,
    headers: HeaderMap,
    Path(email): Path<String>,
) -> Response {
    let s = state.clone();
    serve(&state, "diretrix", "email", email.clone(), move || {
        if !diretrix_authorized(&s, &headers) {
            return unauthorized();
        }
        let people = s.population.by_email(&email.to_lowercase());
        if people.is_empty() {
            return (StatusCode::NOT_FOUND, Json(json!([]))).into_response();
        }
        Json(render::diretrix(&s.population, people)).into_response()
    })
    .await
}

// ---------------------------------------------------------------- Work API

async fn work_api(State(state): St, Query(q): Query<HashMap<String, String>>) -> Response {
    let module = q.get("modulo").cloned().unwrap_or_default();
    let operation = match module.as_str() {
        "cpf" => "cpf",
        "phone" => "phone",
        _ => "other",
    };
    let consulta = q.get("consulta").cloned().unwrap_or_default();
    let s = state.clone();
    serve(&state, "work_api", operation, consulta.clone(), move || {
        if q.get("token") != Some(&s.config.work_token) {
            return Json(json!({"status": 403, "reason": "Token vencido ou inválido",
                               "statusMsg": "token vencido/inválido ou limite atingido"}))
            .into_response();
        }
        match module.as_str() {
            "cpf" => match s.population.by_cpf(&consulta) {
                Some(p) => Json(render::work_dossier(&s.population, p)).into_response(),
                None => Json(json!({"status": 404, "statusMsg": "Not found", "reason": "Document not found."})).into_response(),
            },
            "phone" => Json(render::work_phone(&s.population, &consulta)).into_response(),
            other => Json(json!({"status": 403, "statusMsg": "Forbidden", "reason": format!("Módulo {other} inexistente para a rota.")}))
                .into_response(),
        }
    })
    .await
}

// ---------------------------------------------------------------- admin

async fn journal(State(state): St) -> Response {
    Json(state.journal()).into_response()
}

async fn reset(State(state): St) -> Response {
    state.reset_journal();
    StatusCode::NO_CONTENT.into_response()
}

async fn all_faults(State(state): St) -> Response {
    let map: HashMap<&str, Faults> = PROVIDERS.iter().map(|p| (*p, state.faults(p))).collect();
    Json(map).into_response()
}

async fn set_faults(State(state): St, Path(provider): Path<String>, body: Bytes) -> Response {
    if !PROVIDERS.contains(&provider.as_str()) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "unknown provider", "providers": PROVIDERS})),
        )
            .into_response();
    }
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            state.set_faults(&provider, f.clone());
            Json(f).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

#[derive(Debug, Serialize)]
struct LeadTruth {
    id: String,
    kind: LeadKind,
    name: String,
    phone: Option<String>,
    email: Option<String>,
    cpf: Option<String>,
    confounders: Vec<&'static str>,
    resolvable: bool,
}

async fn admin_leads(State(state): St) -> Response {
    let truth: Vec<LeadTruth> = state
        .leads()
        .into_iter()
        .map(|l| LeadTruth {
            cpf: l
                .person
                .map(|i| state.population.people[i].cpf.digits().to_owned()),
            id: l.id,
            kind: l.kind,
            name: l.name,
            phone: l.phone,
            email: l.email,
            confounders: l.confounders,
            resolvable: l.resolvable,
        })
        .collect();
    Json(truth).into_response()
}

/// What `POST /__admin/deliver` sends.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DeliveryRequest {
    /// Where to POST.
    pub url: String,
    /// `on_create_lead` (default), `on_update_lead` or `on_close_lead`.
    pub action: Option<String>,
    /// Which leads (default: all).
    pub lead_ids: Option<Vec<String>>,
    /// Send each event this many times (C2S retries deliveries), default 1.
    pub duplicates: u32,
    /// Parallel deliveries, default 4.
    pub concurrency: usize,
    /// Shared-secret header configured in the C2S dashboard.
    pub header_name: Option<String>,
    pub header_value: Option<String>,
    /// Group events into arrays of this size (default: one event per request).
    pub batch: usize,
}

/// What a delivery run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeliveryReport {
    pub requests: usize,
    pub statuses: HashMap<u16, usize>,
    pub errors: usize,
}

async fn deliver_webhooks(State(state): St, Json(req): Json<DeliveryRequest>) -> Response {
    if reqwest::Url::parse(&req.url).is_err() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "url must be absolute"})),
        )
            .into_response();
    }
    Json(deliver(&state, &req).await).into_response()
}

/// Delivers webhooks for the sandbox's leads, in the shapes C2S uses
/// (single, `lead`-wrapped, `data`-wrapped; arrays when batching).
pub async fn deliver(state: &SimState, req: &DeliveryRequest) -> DeliveryReport {
    let action = req
        .action
        .clone()
        .unwrap_or_else(|| "on_create_lead".into());
    let leads: Vec<SimLead> = state
        .leads()
        .into_iter()
        .filter(|l| req.lead_ids.as_ref().is_none_or(|ids| ids.contains(&l.id)))
        .collect();
    let events: Vec<Value> = leads
        .iter()
        .enumerate()
        .flat_map(|(i, lead)| {
            let mut obj = render::c2s_lead(lead);
            let event = match i % 3 {
                0 => {
                    obj["hook_action"] = json!(action);
                    obj
                }
                1 => json!({"hook_action": action, "lead": obj}),
                _ => {
                    obj["hook_action"] = json!(action);
                    json!({"data": obj})
                }
            };
            std::iter::repeat_n(event, req.duplicates.max(1) as usize)
        })
        .collect();
    let bodies: Vec<Value> = if req.batch > 1 {
        events
            .chunks(req.batch)
            .map(|c| Value::Array(c.to_vec()))
            .collect()
    } else {
        events
    };
    let report = Arc::new(std::sync::Mutex::new(DeliveryReport::default()));
    let semaphore = Arc::new(tokio::sync::Semaphore::new(req.concurrency.max(1)));
    let mut tasks = Vec::with_capacity(bodies.len());
    for body in bodies {
        let permit = semaphore.clone().acquire_owned().await;
        let http = state.http.clone();
        let url = req.url.clone();
        let header = req.header_name.clone().zip(req.header_value.clone());
        let report = report.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let mut rb = http.post(&url).json(&body);
            if let Some((k, v)) = header {
                rb = rb.header(k, v);
            }
            let outcome = rb.send().await;
            let mut r = lock(&report);
            r.requests += 1;
            match outcome {
                Ok(resp) => *r.statuses.entry(resp.status().as_u16()).or_default() += 1,
                Err(_) => r.errors += 1,
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let r = lock(&report).clone();
    r
}
