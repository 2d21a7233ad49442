//! The data subject's rights over HTTP (scope `admin`): `POST
//! /api/v1/subjects/export` with `{"cpf"|"phone"|"email": …, "format":
//! "json"|"html"}` — everything held about the person (LGPD art. 18 II/V),
//! registered as an access request and recorded in the access audit.

use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::{extract::State, Json};

use super::auth::authorize;
use super::customers::{body_fields, ledger_of, query_of};
use super::error::ApiError;
use super::state::AppState;
use crate::ops::subject_export::{self, ExportError};
use crate::store::pii_audit::AuditEntry;
use crate::store::subjects::gather::FindError;
use crate::store::subjects::Identifier;

const ENDPOINT: &str = "POST /api/v1/subjects/export";

/// `POST /api/v1/subjects/export`'s body.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"cpf": "529.982.247-25", "format": "html"}))]
pub struct ExportRequest {
    /// CPF, with or without punctuation.
    pub cpf: Option<String>,
    /// Brazilian phone with its DDD.
    pub phone: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// `json` (default; portability) or `html` (a page in Portuguese to read
    /// or print to PDF).
    pub format: Option<String>,
}

/// The person named in the body (the lookup's rules: exactly one of the
/// three; a CPF whose check digits fail is nobody's).
fn identifier(fields: &std::collections::HashMap<String, String>) -> Result<Identifier, ApiError> {
    query_of(fields)?.ok_or_else(|| {
        ApiError::NotFound("nobody has this CPF: its check digits do not match".into())
    })
}

/// Everything held about one person.
#[utoipa::path(post, path = "/api/v1/subjects/export", tag = "subjects",
    description = "Scope: `admin`. Everything the service holds about the person named by exactly one of `cpf`, `phone` or `email` (LGPD art. 18 II and V): every stored value with its origin, when it was obtained, its purpose, legal basis and retention; the leads with their notes as posted and the tier's reasons; whom the data was shared with (C2S notes, providers queried with which identifier, alerts); relatives and companies only as masked links. `format`: `json` (default) or `html` (Portuguese). Registered as an access request (15-day deadline, answered at once) and recorded in the access audit. A phone or e-mail held for several people answers 409: ask for the CPF.",
    request_body(content = ExportRequest, description = "Exactly one of `cpf`, `phone`, `email`; optional `format`"),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The export: JSON (`format` `c2s-enrich/subject-export/1`) or an HTML page"),
        (status = 400, description = "Not JSON, not exactly one identifier, or it does not parse (the reason, never the value); an unknown format", body = super::error::ErrorBody),
        (status = 401, description = "Missing or unknown API key", body = super::error::ErrorBody),
        (status = 403, description = "The key lacks the scope", body = super::error::ErrorBody),
        (status = 404, description = "A CPF whose check digits do not match (nobody has it)", body = super::error::ErrorBody),
        (status = 409, description = "The phone or e-mail is held for several people: name the person by CPF", body = super::error::ErrorBody),
        (status = 429, description = "Rate limited (per key / per client IP); see Retry-After", body = super::error::ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let key = authorize(&state, &headers, None, "admin").await?;
    let mut fields = body_fields(&body)?;
    let html = match fields.remove("format").as_deref() {
        None | Some("json") => false,
        Some("html") => true,
        Some(_) => return Err(ApiError::BadRequest("format must be json or html".into())),
    };
    let id = identifier(&fields)?;
    let ledger = ledger_of(&state).await?;
    let e = subject_export::export(&state.pool, &ledger, &state.subjects, &id, &key.name)
        .await
        .map_err(|e| match e {
            ExportError::Find(FindError::Ambiguous(..)) => ApiError::Conflict(e.to_string()),
            other => ApiError::Internal(Box::new(other)),
        })?;
    let request_id = super::customers::request_id(&headers);
    state
        .audit
        .record(vec![AuditEntry {
            key_name: key.name.clone(),
            endpoint: ENDPOINT.to_owned(),
            query_kind: id.kind(),
            entity_id: e.entity_id,
            request_id,
            accessed_at: chrono::Utc::now(),
        }])
        .await?;
    // Answered: the export is on its way (the request stays open if the
    // audit or the export failed).
    subject_export::delivered(&state.pool, &e)
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    if html {
        let page = subject_export::html::render(&e);
        Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
    } else {
        Ok(Json(e).into_response())
    }
}
