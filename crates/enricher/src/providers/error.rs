//! What can go wrong calling a provider.
//!
//! One enum serves the three clients: the kinds of failure are the same, and the
//! provider's name travels in every variant for messages and metrics. Messages
//! never carry personal data, secrets or URLs (the Work API token is in its
//! query string).

use std::time::Duration;

/// A provider call that did not produce data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("{provider}: not found")]
    NotFound { provider: &'static str },
    #[error("{provider}: request refused as invalid: {detail}")]
    InvalidRequest {
        provider: &'static str,
        detail: String,
    },
    #[error("{provider}: credentials refused (token invalid or expired)")]
    Unauthorized { provider: &'static str },
    #[error("{provider}: credits or quota exhausted")]
    QuotaExhausted { provider: &'static str },
    #[error("{provider}: module {module} is not available to this account")]
    ModuleUnavailable {
        provider: &'static str,
        module: String,
    },
    #[error("{provider}: rate limited{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        provider: &'static str,
        retry_after: Option<Duration>,
    },
    #[error("{provider}: timed out")]
    Timeout { provider: &'static str },
    #[error("{provider}: unavailable: {detail}")]
    Unavailable {
        provider: &'static str,
        detail: String,
    },
    #[error("{provider}: malformed response: {excerpt}")]
    Malformed {
        provider: &'static str,
        excerpt: String,
    },
    #[error("{provider}: circuit open after repeated failures; not calling until it recovers")]
    CircuitOpen { provider: &'static str },
}

impl ProviderError {
    /// Worth trying again later (same request, no change on our side).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Timeout { .. }
                | Self::Unavailable { .. }
                | Self::Malformed { .. }
        )
    }

    /// How long the provider asked us to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether this failure says the provider is unhealthy (feeds the breaker).
    /// The provider clearly did not act on the request: it answered with a
    /// refusal (4xx, 429), or the request was never sent. (A 5xx, a timeout
    /// or a garbled answer leave it unknown whether it acted.)
    pub fn refused_before_acting(&self) -> bool {
        matches!(
            self,
            Self::NotFound { .. }
                | Self::InvalidRequest { .. }
                | Self::Unauthorized { .. }
                | Self::QuotaExhausted { .. }
                | Self::ModuleUnavailable { .. }
                | Self::RateLimited { .. }
                | Self::CircuitOpen { .. }
        )
    }

    pub(crate) fn is_outage(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Unavailable { .. })
    }

    /// The provider that failed.
    pub fn provider(&self) -> &'static str {
        match self {
            Self::NotFound { provider }
            | Self::InvalidRequest { provider, .. }
            | Self::Unauthorized { provider }
            | Self::QuotaExhausted { provider }
            | Self::ModuleUnavailable { provider, .. }
            | Self::RateLimited { provider, .. }
            | Self::Timeout { provider }
            | Self::Unavailable { provider, .. }
            | Self::Malformed { provider, .. }
            | Self::CircuitOpen { provider } => provider,
        }
    }

    /// A stable short name for metrics and the ledger.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::InvalidRequest { .. } => "invalid_request",
            Self::Unauthorized { .. } => "unauthorized",
            Self::QuotaExhausted { .. } => "quota_exhausted",
            Self::ModuleUnavailable { .. } => "module_unavailable",
            Self::RateLimited { .. } => "rate_limited",
            Self::Timeout { .. } => "timeout",
            Self::Unavailable { .. } => "unavailable",
            Self::Malformed { .. } => "malformed",
            Self::CircuitOpen { .. } => "circuit_open",
        }
    }
}

/// The start of a body, safe to log: digits and `@` masked, 40 characters at most.
pub fn excerpt(body: &str) -> String {
    let mut out: Vec<char> = body
        .chars()
        .take(40)
        .map(|c| match c {
            '0'..='9' => '#',
            '@' => '*',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    mask_string_values(&mut out);
    let mut out: String = out.into_iter().collect();
    if body.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// Masks the letters of every JSON string that is not an object key (a
/// name or a street must not reach an error message); keys stay readable.
fn mask_string_values(text: &mut [char]) {
    let mut i = 0;
    while i < text.len() {
        if text[i] != '"' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < text.len() && !(text[end] == '"' && text[end - 1] != '\\') {
            end += 1;
        }
        let next = text[(end + 1).min(text.len())..]
            .iter()
            .find(|c| !c.is_whitespace());
        if next != Some(&':') {
            for c in &mut text[start..end] {
                if c.is_alphabetic() {
                    *c = 'x';
                }
            }
        }
        i = end + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_hide_digits_and_addresses_and_stay_short() {
        let e = excerpt(
            "{\"cpf\": \"52998224725\", \"email\": \"a@b.com\", \"nome\": \"HELENA MARQUES\"}",
        );
        assert!(!e.contains("529") && !e.contains('@'), "{e}");
        assert!(e.chars().count() <= 41);
        let e = excerpt("{\"nome\": \"HELENA\", \"x\": [\"RUA\", \"AV\"]}");
        assert_eq!(e, "{\"nome\": \"xxxxxx\", \"x\": [\"xxx\", \"xx\"]}");
        assert_eq!(
            excerpt("{\"nome\": \"HELENA MAR"),
            "{\"nome\": \"xxxxxx xxx"
        );
        assert_eq!(
            excerpt("<html>Bad Gateway</html>"),
            "<html>Bad Gateway</html>"
        );
    }

    #[test]
    fn retryable_kinds_are_the_transient_ones() {
        let p = "x";
        assert!(ProviderError::Timeout { provider: p }.is_retryable());
        assert!(ProviderError::RateLimited {
            provider: p,
            retry_after: None
        }
        .is_retryable());
        assert!(!ProviderError::QuotaExhausted { provider: p }.is_retryable());
        assert!(!ProviderError::Unauthorized { provider: p }.is_retryable());
        assert!(!ProviderError::NotFound { provider: p }.is_retryable());
        assert!(!ProviderError::CircuitOpen { provider: p }.is_retryable());
    }
}
