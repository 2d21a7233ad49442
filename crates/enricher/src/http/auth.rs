//! API-key authentication and scopes for the HTTP API.

use axum::http::{header, HeaderMap};

use super::error::ApiError;
use super::state::AppState;
use crate::store::api_keys::ApiKeyInfo;

/// The API key presented (`Authorization: Bearer`, `X-API-Key`, or — Make.com's
/// GET only — `?api_key=`, the weaker option since URLs end up in logs), checked
/// for `scope`. Failures are counted by reason.
pub async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    query_key: Option<&str>,
    scope: &'static str,
) -> Result<ApiKeyInfo, ApiError> {
    // A client whose failed attempts spent its IP's bucket waits, whatever
    // key it presents now: guessing keys costs the guesser, not the database.
    // Only failures spend it, so one client's misses never throttle another
    // client, nor authenticated traffic (limited per key below).
    let ip = headers
        .get(super::context::CLIENT_IP)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown");
    // Every attempt takes a token first (so concurrent guesses cannot all
    // slip through); a key that verifies gives it back.
    state
        .limits
        .per_ip
        .check(ip)
        .map_err(ApiError::RateLimited)?;
    let failed = |reason: &'static str| {
        crate::metrics::METRICS.auth_failure(reason);
        ApiError::Unauthorized
    };
    let header_key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()));
    let Some(presented) = header_key
        .or(query_key)
        .map(str::trim)
        .filter(|k| !k.is_empty())
    else {
        return Err(failed("missing"));
    };
    let Some(key) = state.keys.verify(&state.pool, presented).await? else {
        return Err(failed("invalid"));
    };
    state.limits.per_ip.refund(ip);
    state
        .limits
        .per_key
        .check(&key.name)
        .map_err(ApiError::RateLimited)?;
    if !key.scopes.iter().any(|s| s == scope) {
        crate::metrics::METRICS.auth_failure("scope");
        return Err(ApiError::Forbidden(scope));
    }
    Ok(key)
}

/// Compares in time independent of where the inputs differ (no early exit).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod constant_time_tests {
    use super::constant_time_eq;

    #[test]
    fn secrets_compare_whole() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3creT"));
        assert!(!constant_time_eq(b"s3cret", b"s3cre"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
