//! The operator console under `/console` (issue 19; ADR 0011): pages
//! rendered on the server (`maud`, every value escaped), plain HTML forms,
//! no script. People log in (`c2s-enrich user add`); a session is an
//! `HttpOnly; Secure; SameSite=Strict` cookie, every form carries the
//! session's token (CSRF) and is refused without it; logins are throttled
//! per client address and an account locks after repeated failures; a
//! session ends after 30 idle minutes. What a role may see and do follows
//! the API's scopes (`store::console::Role`).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::state::AppState;

mod csv;
mod lead;
mod login;
mod overview;
mod pages;
mod redact;
mod reports;
mod session;
mod words;

/// The console's routes (HTML, not part of the API's document).
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(overview::overview))
        .route("/console/leads", get(pages::leads))
        .route("/console/leads.csv", get(csv::csv))
        .route("/console/leads/{lead_id}", get(lead::timeline))
        .route("/console/leads/{lead_id}/retry", post(lead::retry))
        .route(
            "/console/leads/{lead_id}/resend",
            get(lead::resend_confirm).post(lead::resend),
        )
        .route("/console/quality", get(reports::quality))
        .route("/console/requests", get(reports::requests))
        .route("/console/login", get(login::form).post(login::submit))
        .route("/console/logout", post(login::logout))
        .route("/console/assets/console.css", get(css))
        .route("/console/assets/icon.svg", get(icon))
        .route("/console/{*rest}", get(missing))
}

/// Any other address under `/console`: a page that says so (for a logged-in
/// user; others are sent to the login page first).
async fn missing(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    let u = match session::user(&state, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    session::page_status(
        axum::http::StatusCode::NOT_FOUND,
        "Página não encontrada",
        Some(&u),
        maud::html! { p { "Este endereço não existe no console. " a href="/console" { "Ir à visão geral" } } },
    )
}

async fn icon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("icon.svg"),
    )
        .into_response()
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        session::CSS,
    )
        .into_response()
}
