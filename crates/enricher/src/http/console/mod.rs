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
