//! Per-provider call policy.

use std::time::Duration;

/// How one provider is called. Every field is configurable (see `config.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Whole-request timeout.
    pub request_timeout: Duration,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Retries of retryable failures (0 = one attempt only).
    pub max_retries: usize,
    /// First backoff; doubles each retry, with jitter, up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Minimum spacing between calls.
    pub min_interval: Duration,
    /// Consecutive outages that open the breaker (0 disables it).
    pub breaker_threshold: u32,
    /// How long the breaker stays open before a probe.
    pub breaker_cooldown: Duration,
}

impl Policy {
    /// C2S: operators advise ~0.5 s between calls; retries 1 s / 2 s / 4 s.
    pub fn c2s_default() -> Self {
        Self {
            request_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            max_retries: 3,
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            min_interval: Duration::from_millis(500),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
        }
    }

    /// The public CNPJ source (BrasilAPI): free and rate-limited by
    /// address — calls spaced, short timeouts, one retry; a company name is
    /// never worth holding a note up.
    pub fn cnpj_default() -> Self {
        Self {
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
            max_retries: 1,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(5),
            min_interval: Duration::from_millis(300),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(60),
        }
    }

    /// Diretrix: 0.5–2 s typical latency, 30 s timeout.
    pub fn diretrix_default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            max_retries: 2,
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            min_interval: Duration::ZERO,
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
        }
    }

    /// Work API: slow and bursty; operators space calls 2 s apart and retry after
    /// 5/10/20 s; 60 s timeout.
    pub fn work_api_default() -> Self {
        Self {
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            max_retries: 3,
            base_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(60),
            min_interval: Duration::from_secs(2),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(60),
        }
    }

    /// Fast settings for tests against local fakes.
    pub fn for_tests() -> Self {
        Self {
            request_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(1),
            max_retries: 2,
            base_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(100),
            min_interval: Duration::ZERO,
            breaker_threshold: 0,
            breaker_cooldown: Duration::from_millis(200),
        }
    }
}
