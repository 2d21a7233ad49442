//! One provider's HTTP plumbing: a shared `reqwest` client (connection reuse),
//! the breaker, the pacer and the retry loop. Clients describe a request and
//! how to read its response; this runs it under the policy.

use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};

use super::breaker::CircuitBreaker;
use super::error::ProviderError;
use super::pacer::Pacer;
use super::policy::Policy;

/// The longest wait a `Retry-After` can impose inside one call; longer requests
/// are shortened to it (the job queue retries whole jobs later anyway).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

tokio::task_local! {
    /// The HTTP status of the last attempt made inside [`with_status_capture`].
    static LAST_STATUS: std::cell::Cell<Option<u16>>;
}

/// Runs `fut` and returns its output with the HTTP status of the last provider
/// answer it received (`None` if none arrived: timeout, connection refused,
/// open breaker). The ledger uses it to record statuses without every client
/// method returning them.
pub async fn with_status_capture<F: std::future::Future>(fut: F) -> (F::Output, Option<u16>) {
    LAST_STATUS
        .scope(std::cell::Cell::new(None), async move {
            let out = fut.await;
            (out, LAST_STATUS.with(std::cell::Cell::get))
        })
        .await
}

/// The raw answer of one attempt.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: String,
    pub latency: Duration,
}

/// Shared plumbing for one provider.
#[derive(Debug)]
pub struct Transport {
    pub(crate) name: &'static str,
    pub(crate) http: reqwest::Client,
    policy: Policy,
    breaker: CircuitBreaker,
    pacer: Pacer,
}

impl Transport {
    /// Builds the HTTP client once for this provider.
    pub fn new(name: &'static str, policy: Policy, pacer: Pacer) -> Result<Self, ProviderError> {
        let http = reqwest::Client::builder()
            .timeout(policy.request_timeout)
            .connect_timeout(policy.connect_timeout)
            .user_agent(concat!("c2s-enrich/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProviderError::Unavailable {
                provider: name,
                detail: format!("cannot build HTTP client: {}", e.without_url()),
            })?;
        let breaker = CircuitBreaker::new(policy.breaker_threshold, policy.breaker_cooldown);
        Ok(Self {
            name,
            http,
            policy,
            breaker,
            pacer,
        })
    }

    /// The breaker, for metrics and tests.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// Runs `build` → send → `read`, retrying retryable failures with
    /// exponential backoff and jitter (or the provider's `Retry-After`).
    /// `what` names the operation in logs (never a URL: tokens and personal
    /// data travel in them).
    pub async fn call<T, B, R>(
        &self,
        what: &'static str,
        build: B,
        read: R,
    ) -> Result<T, ProviderError>
    where
        B: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        R: Fn(RawResponse) -> Result<T, ProviderError>,
    {
        self.call_retrying(what, self.policy.max_retries, build, read)
            .await
    }

    /// One attempt, no retries: for requests that are not idempotent (creating
    /// a lead), where a retry after an unclear answer could do the thing twice.
    /// The caller reconciles before trying again.
    pub async fn call_once<T, B, R>(
        &self,
        what: &'static str,
        build: B,
        read: R,
    ) -> Result<T, ProviderError>
    where
        B: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        R: Fn(RawResponse) -> Result<T, ProviderError>,
    {
        self.call_retrying(what, 0, build, read).await
    }

    async fn call_retrying<T, B, R>(
        &self,
        what: &'static str,
        retries: usize,
        build: B,
        read: R,
    ) -> Result<T, ProviderError>
    where
        B: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        R: Fn(RawResponse) -> Result<T, ProviderError>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.policy.base_backoff)
            .with_max_delay(self.policy.max_backoff)
            .with_max_times(retries)
            .with_jitter();
        let tries = std::sync::atomic::AtomicU32::new(0);
        let attempt = || async {
            let started = Instant::now();
            // One span per attempt: provider, operation and attempt number
            // (never a URL or a parameter: they carry tokens and personal data).
            let n = tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            let span = tracing::info_span!(
                "provider_call",
                provider = self.name,
                operation = what,
                attempt = n
            );
            let r = tracing::Instrument::instrument(self.attempt(&build, &read), span).await;
            let outcome = match &r {
                Ok(_) => "ok",
                Err(e) => e.kind(),
            };
            crate::metrics::METRICS.provider_request(
                self.name,
                what,
                outcome,
                started.elapsed().as_secs_f64(),
            );
            r
        };
        attempt
            .retry(backoff)
            .when(ProviderError::is_retryable)
            // `planned` is None once the retries are spent: stop then, whatever
            // the provider asked. Otherwise wait what it asked (capped), or back off.
            .adjust(|e, planned| planned.map(|p| e.retry_after().map_or(p, |ra| ra.min(MAX_RETRY_AFTER))))
            .notify(|e, wait| {
                tracing::warn!(provider = self.name, operation = what, error = %e, wait_ms = wait.as_millis() as u64, "retrying");
            })
            .await
    }

    async fn attempt<T, B, R>(&self, build: &B, read: &R) -> Result<T, ProviderError>
    where
        B: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        R: Fn(RawResponse) -> Result<T, ProviderError>,
    {
        if !self.breaker.allow() {
            return Err(ProviderError::CircuitOpen {
                provider: self.name,
            });
        }
        self.pacer
            .wait_turn()
            .await
            .map_err(|e| ProviderError::Unavailable {
                provider: self.name,
                detail: format!("pacing through the database failed: {e}"),
            })?;
        let result = match self.send(build).await {
            Ok(raw) => read(raw),
            Err(e) => Err(e),
        };
        match &result {
            Err(e) if e.is_outage() => self.breaker.record_outage(),
            _ => self.breaker.record_success(),
        }
        result
    }

    async fn send<B>(&self, build: &B) -> Result<RawResponse, ProviderError>
    where
        B: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let started = Instant::now();
        let response = build(&self.http)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        // Outside a capture scope there is nothing to record.
        let _ = LAST_STATUS.try_with(|c| c.set(Some(status)));
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.text().await.map_err(|e| self.transport_error(e))?;
        Ok(RawResponse {
            status,
            retry_after,
            body,
            latency: started.elapsed(),
        })
    }

    fn transport_error(&self, e: reqwest::Error) -> ProviderError {
        // `without_url`: the Work API token and personal data travel in URLs.
        let e = e.without_url();
        if e.is_timeout() {
            ProviderError::Timeout {
                provider: self.name,
            }
        } else {
            ProviderError::Unavailable {
                provider: self.name,
                detail: std::error::Error::source(&e)
                    .map_or_else(|| e.to_string(), |s| s.to_string()),
            }
        }
    }
}

/// Maps the HTTP statuses every provider shares; `None` means "read the body".
pub(crate) fn common_status(provider: &'static str, raw: &RawResponse) -> Option<ProviderError> {
    match raw.status {
        200..=299 => None,
        401 | 403 => Some(ProviderError::Unauthorized { provider }),
        408 | 504 => Some(ProviderError::Timeout { provider }),
        429 => Some(ProviderError::RateLimited {
            provider,
            retry_after: raw.retry_after,
        }),
        500..=599 => Some(ProviderError::Unavailable {
            provider,
            detail: format!("HTTP {}", raw.status),
        }),
        404 => Some(ProviderError::NotFound { provider }),
        s => Some(ProviderError::InvalidRequest {
            provider,
            detail: format!("HTTP {s}: {}", super::error::excerpt(&raw.body)),
        }),
    }
}

/// Parses JSON, or reports a malformed body without its content.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    provider: &'static str,
    body: &str,
) -> Result<T, ProviderError> {
    serde_json::from_str(body).map_err(|_| ProviderError::Malformed {
        provider,
        excerpt: super::error::excerpt(body),
    })
}
