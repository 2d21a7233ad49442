//! The golden record, for keys with the `read:pii` scope — `POST
//! /api/v1/customers/lookup` with `{"cpf"|"phone"|"email": …}` in the body, or
//! the older `GET /api/v1/customers?cpf=…` (kept for compatibility; weaker: a
//! URL ends up in proxies' and browsers' logs). Never calls a paid provider;
//! every read is audited. Erasure likewise: `POST /api/v1/customers/erase`
//! with `{"cpf": …}`, or `DELETE /api/v1/customers/{cpf}`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::auth::authorize;
use super::customer_views::{CustomerList, ErasureAnswer};
use super::error::ApiError;
use super::state::AppState;
use crate::store::customers::{self, CustomerQuery};

const ENDPOINT: &str = "GET /api/v1/customers";

/// A CPF of the right form whose digits do not check (or are one digit
/// repeated): nobody's — a lookup finds no one, an erasure answers 404 —
/// rather than a malformed request (the document's pattern cannot state
/// check digits; a value it allows is never refused as bad).
fn nobody_has(e: brazil::CpfError) -> bool {
    matches!(
        e,
        brazil::CpfError::CheckDigits | brazil::CpfError::RepeatedDigits
    )
}

/// What a lookup asks for: a query, or `None` for a CPF nobody can have.
pub(super) fn query_of(q: &HashMap<String, String>) -> Result<Option<CustomerQuery>, ApiError> {
    let given: Vec<(&str, &String)> = ["cpf", "phone", "email"]
        .into_iter()
        .filter_map(|k| q.get(k).map(|v| (k, v)))
        .collect();
    match given.as_slice() {
        [("cpf", v)] => match brazil::Cpf::parse(v) {
            Ok(cpf) => Ok(Some(CustomerQuery::Cpf(cpf))),
            Err(e) if nobody_has(e) => Ok(None),
            Err(e) => Err(ApiError::BadRequest(format!("cpf: {e}"))),
        },
        [("phone", v)] => brazil::PhoneBr::parse(v)
            .map(|p| Some(CustomerQuery::Phone(p)))
            .map_err(|e| ApiError::BadRequest(format!("phone: {e}"))),
        [("email", v)] => brazil::Email::parse(v)
            .map(|e| Some(CustomerQuery::Email(e)))
            .map_err(|e| ApiError::BadRequest(format!("email: {e}"))),
        _ => Err(ApiError::BadRequest(
            "give exactly one of cpf, phone or email".into(),
        )),
    }
}

#[utoipa::path(get, path = "/api/v1/customers", tag = "customers",
    description = "Scope: `read:pii`. The golden record(s) for exactly one of cpf, phone or email: entity, profile, phones, e-mails, addresses with confidence, relatives, companies, latest financials, enrichment dates, linked leads. Masking: the person asked for is shown in full, relatives' CPFs are masked (`***.456.789-**`). Never calls a paid provider. Every read is audited (key, endpoint, entity, request id).",
    params(("cpf" = Option<String>, Query, description = "CPF, with or without punctuation"),
           ("phone" = Option<String>, Query, description = "Brazilian phone with DDD, any format"),
           ("email" = Option<String>, Query, description = "E-mail address")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "`{count, customers}`: the golden records found", body = CustomerList),
        (status = 400, description = "Not exactly one key, or it does not parse (the reason, never the value); a CPF of the right form whose check digits do not match finds no one (200, count 0)", body = super::error::ErrorBody),
        (status = 401, description = "Missing or unknown API key", body = super::error::ErrorBody),
        (status = 403, description = "The key lacks the scope", body = super::error::ErrorBody),
        (status = 429, description = "Rate limited (per key / per client IP); see Retry-After", body = super::error::ErrorBody)))]
pub async fn lookup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let key = authorize(&state, &headers, None, "read:pii").await?;
    lookup_by(&state, &headers, &key, &q, ENDPOINT).await
}

/// `POST /api/v1/customers/lookup`'s body: exactly one of the three.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"cpf": "529.982.247-25"}))]
pub struct LookupRequest {
    /// CPF, with or without punctuation.
    pub cpf: Option<String>,
    /// Brazilian phone with its DDD.
    pub phone: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
}

/// `POST /api/v1/customers/erase`'s body.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"cpf": "529.982.247-25"}))]
pub struct EraseRequest {
    /// CPF of the person, with or without punctuation.
    pub cpf: String,
}

/// The identifier in a JSON body (`{"cpf": "…"}`), as text values only.
pub(super) fn body_fields(body: &axum::body::Bytes) -> Result<HashMap<String, String>, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("body is not valid JSON: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| ApiError::BadRequest("the body must be a JSON object".into()))?;
    obj.iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(ApiError::BadRequest(format!("{k} must be a string"))),
        })
        .collect()
}

/// The golden record for an identifier in the body — the preferred form: no
/// CPF, phone or e-mail in the URL.
#[utoipa::path(post, path = "/api/v1/customers/lookup", tag = "customers",
    description = "Scope: `read:pii`. As `GET /api/v1/customers`, with exactly one of `cpf`, `phone` or `email` in a JSON body (`{\"cpf\": \"529.982.247-25\"}`): the identifier stays out of URLs and so out of proxies' and browsers' logs. Every read is audited.",
    request_body(content = LookupRequest, description = "Exactly one of `cpf`, `phone`, `email`"),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "`{count, customers}`: the golden records found", body = CustomerList),
        (status = 400, description = "Not JSON, not exactly one key, or it does not parse (the reason, never the value)", body = super::error::ErrorBody),
        (status = 401, description = "Missing or unknown API key", body = super::error::ErrorBody),
        (status = 403, description = "The key lacks the scope", body = super::error::ErrorBody),
        (status = 429, description = "Rate limited (per key / per client IP); see Retry-After", body = super::error::ErrorBody)))]
pub async fn lookup_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let key = authorize(&state, &headers, None, "read:pii").await?;
    let fields = body_fields(&body)?;
    lookup_by(
        &state,
        &headers,
        &key,
        &fields,
        "POST /api/v1/customers/lookup",
    )
    .await
}

async fn lookup_by(
    state: &AppState,
    headers: &HeaderMap,
    key: &crate::store::api_keys::ApiKeyInfo,
    q: &HashMap<String, String>,
    endpoint: &str,
) -> Result<Response, ApiError> {
    let query = query_of(q)?;
    let request_id = request_id(headers);
    let reader = customers::Reader {
        key_name: &key.name,
        endpoint,
        request_id: &request_id,
    };
    // A CPF nobody can have is audited like any lookup: who asked, when —
    // and that nobody matched.
    let kind = query.as_ref().map_or("cpf", CustomerQuery::kind);
    let records =
        customers::read_audited(&state.pool, &state.audit, query.as_ref(), kind, &reader).await?;
    let note = query
        .is_none()
        .then_some("the CPF's check digits do not match: no one has it");
    Ok(Json(CustomerList {
        count: records.len(),
        customers: records,
        note,
    })
    .into_response())
}

/// `DELETE /api/v1/customers/{cpf}` (`admin`): erases the person.
#[utoipa::path(delete, path = "/api/v1/customers/{cpf}", tag = "customers",
    description = "Scope: `admin`. Erases the person (LGPD): the entity and its dependants, addresses only they used, snapshots, lead links, personal data in lead records and webhook payloads, cached provider answers. Relatives and shared addresses survive; a record without personal data remains.",
    params(("cpf" = String, Path, description = "CPF of the person")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "`{erased, erasure: {erasure_id, rows_removed, ledger_rows_removed}}`", body = ErasureAnswer),
        (status = 400, description = "Not a CPF (characters or length)", body = super::error::ErrorBody),
        (status = 404, description = "Nobody has this CPF (so too when its check digits do not match)", body = super::error::ErrorBody),
        (status = 401, description = "Missing or unknown API key", body = super::error::ErrorBody),
        (status = 403, description = "The key lacks the scope", body = super::error::ErrorBody),
        (status = 429, description = "Rate limited (per key / per client IP); see Retry-After", body = super::error::ErrorBody)))]
pub async fn erase(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let key = authorize(&state, &headers, None, "admin").await?;
    erase_cpf(&state, &headers, &key, &raw).await
}

/// Erasure with the CPF in the body — the preferred form (no CPF in URLs).
#[utoipa::path(post, path = "/api/v1/customers/erase", tag = "customers",
    description = "Scope: `admin`. As `DELETE /api/v1/customers/{cpf}`, with `{\"cpf\": \"…\"}` in a JSON body, so the CPF stays out of URLs and logs.",
    request_body(content = EraseRequest, description = "`{\"cpf\": \"529.982.247-25\"}`"),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "`{erased, erasure: {erasure_id, rows_removed, ledger_rows_removed}}`", body = ErasureAnswer),
        (status = 400, description = "Not JSON, or no CPF (characters or length)", body = super::error::ErrorBody),
        (status = 404, description = "Nobody has this CPF (so too when its check digits do not match)", body = super::error::ErrorBody),
        (status = 401, description = "Missing or unknown API key", body = super::error::ErrorBody),
        (status = 403, description = "The key lacks the scope", body = super::error::ErrorBody),
        (status = 429, description = "Rate limited (per key / per client IP); see Retry-After", body = super::error::ErrorBody)))]
pub async fn erase_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let key = authorize(&state, &headers, None, "admin").await?;
    let fields = body_fields(&body)?;
    let raw = fields
        .get("cpf")
        .ok_or_else(|| ApiError::BadRequest("give the cpf in the body".into()))?;
    erase_cpf(&state, &headers, &key, raw).await
}

async fn erase_cpf(
    state: &AppState,
    headers: &HeaderMap,
    key: &crate::store::api_keys::ApiKeyInfo,
    raw: &str,
) -> Result<Response, ApiError> {
    let cpf = brazil::Cpf::parse(raw).map_err(|e| {
        if nobody_has(e) {
            ApiError::NotFound("nobody has this CPF: its check digits do not match".into())
        } else {
            ApiError::BadRequest(format!("cpf: {e}"))
        }
    })?;
    let request_id = request_id(headers);
    let ledger = ledger_of(state).await?;
    match crate::store::erasure::erase(&state.pool, &ledger, &cpf, &key.name, Some(&request_id))
        .await?
    {
        Some(erasure) => Ok(Json(ErasureAnswer {
            erased: true,
            erasure,
        })
        .into_response()),
        None => Err(ApiError::NotFound("nobody with this CPF is stored".into())),
    }
}

/// The pipeline's ledger (its keyed hashes name people in the tombstones and
/// the request register), or one opened on the database's key.
pub(super) async fn ledger_of(
    state: &AppState,
) -> Result<std::sync::Arc<crate::store::ledger::Ledger>, ApiError> {
    match &state.pipeline {
        Some(p) => Ok(p.ledger.clone()),
        None => Ok(std::sync::Arc::new(
            crate::store::ledger::Ledger::new(state.pool.clone(), None, Default::default())
                .await
                .map_err(|e| ApiError::Internal(Box::new(e)))?,
        )),
    }
}

/// The request's id, set (or validated) by the request middleware.
pub(super) fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
