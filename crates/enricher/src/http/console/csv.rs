//! The leads list as CSV: the same filter as the page, no personal data.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use super::session::unavailable;
use crate::http::state::AppState;
use crate::store::console_leads::{self, Filter};

/// A CSV cell: quoted, and never read as a formula by a spreadsheet.
fn cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    format!("\"{}\"", v.replace('"', "\"\""))
}

/// `GET /console/leads.csv`: the filtered list (no personal data in it).
pub(super) async fn csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    filter: Result<Query<Filter>, QueryRejection>,
) -> Response {
    let (u, f) = match super::pages::filtered(&state, &headers, filter).await {
        Ok(uf) => uf,
        Err(r) => return r,
    };
    let f = Filter { page: Some(1), ..f };
    let rows = match console_leads::search(&state.pool, &f, 10_000).await {
        Ok((rows, _)) => rows,
        Err(e) => return unavailable(Some(&u), &e),
    };
    let mut out =
        String::from("lead_id,recebido_em,situacao,resultado,identidade,perfil,nota,corretor\r\n");
    for r in rows {
        let line = [
            r.lead_id,
            r.created_at
                .with_timezone(&crate::pipeline::listing::brasilia())
                .to_rfc3339(),
            r.state,
            r.outcome.unwrap_or_default(),
            r.confidence.unwrap_or_default(),
            r.tier.unwrap_or_default(),
            r.note_status,
            r.seller_name.unwrap_or_default(),
        ]
        .iter()
        .map(|v| cell(v))
        .collect::<Vec<_>>()
        .join(",");
        out.push_str(&line);
        out.push_str("\r\n");
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"leads.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        out,
    )
        .into_response()
}
