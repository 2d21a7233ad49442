//! What every request gets before its handler: an id of ours, a time limit,
//! the security headers, and the client's address.

use std::net::SocketAddr;

use super::state::AppState;

/// Longest a request may take (synchronous enrichments included) before 503.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Every request gets an id of ours (a new UUID: a client never chooses the id
/// the audit records), returned in `X-Request-Id` and carried by the request's
/// log span; a sane `X-Request-Id` the client sent is kept apart, as
/// `client_request_id` in the span and `X-Client-Request-Id` in the response.
/// Also a time limit, and the security headers every response carries.
pub(super) async fn request_context(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let client_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 100
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_owned);
    req.headers_mut().remove("x-client-request-id");
    let id = uuid::Uuid::new_v4().to_string();
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        req.headers_mut().insert("x-request-id", v);
    }
    let client_header = client_id
        .as_deref()
        .and_then(|c| axum::http::HeaderValue::from_str(c).ok());
    if let Some(v) = &client_header {
        req.headers_mut().insert("x-client-request-id", v.clone());
    }
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let span = tracing::info_span!("request", request_id = %id, client_request_id = client_id.as_deref().unwrap_or(""), method = %req.method(), path = %req.uri().path());
    let https = req
        .headers()
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let run = tracing::Instrument::instrument(next.run(req), span);
    let mut response = match tokio::time::timeout(REQUEST_TIMEOUT, run).await {
        Ok(r) => r,
        Err(_) => {
            super::error::ApiError::Unavailable("the request took too long".into()).into_response()
        }
    };
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    if let Some(v) = client_header {
        response.headers_mut().insert("x-client-request-id", v);
    }
    security_headers(response.headers_mut(), https);
    crate::metrics::METRICS.http(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Headers every response carries: no MIME sniffing, no framing by other
/// sites (`frame-ancestors` joins a page's own policy), no referrer; HSTS when
/// the request reached the proxy over HTTPS (`X-Forwarded-Proto: https`).
fn security_headers(h: &mut axum::http::HeaderMap, https: bool) {
    use axum::http::{header, HeaderValue};
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let csp = match h
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
    {
        Some(own) if own.contains("frame-ancestors") => None,
        Some(own) => Some(format!("{own}; frame-ancestors 'none'")),
        None => Some("frame-ancestors 'none'".to_owned()),
    };
    if let Some(v) = csp.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
}

/// The header the client's address travels in from [`client_ip`] to the
/// handlers — always overwritten, so no client can choose its own.
pub const CLIENT_IP: &str = "x-c2s-client-ip";

/// Puts the client's address (see [`ClientIpPolicy`]) in [`CLIENT_IP`].
pub(super) async fn client_ip(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client = state.client_ip.client(peer, req.headers());
    match axum::http::HeaderValue::from_str(&client) {
        Ok(v) => {
            req.headers_mut().insert(CLIENT_IP, v);
        }
        Err(_) => {
            req.headers_mut().remove(CLIENT_IP);
        }
    }
    next.run(req).await
}
