//! What every handler shares: the pools, the pipeline, the limits, the
//! caches.

use std::sync::Arc;

use secrecy::SecretString;
use sqlx::PgPool;

use super::figures::{DqCache, StatusCache};
use super::rate_limit;

/// Whose request is it: the TCP peer, or — when the peer is a trusted proxy —
/// the address the proxy forwards in its header (Fly's `Fly-Client-IP`).
#[derive(Debug, Clone, Default)]
pub struct ClientIpPolicy {
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `None`: no forwarded header is believed.
    pub header: Option<axum::http::HeaderName>,
}

impl ClientIpPolicy {
    pub fn new(trusted_proxies: Vec<ipnet::IpNet>, header: &str) -> Self {
        Self {
            header: (!trusted_proxies.is_empty())
                .then(|| axum::http::HeaderName::from_bytes(header.as_bytes()).ok())
                .flatten(),
            trusted_proxies,
        }
    }

    /// The client's address for a request from `peer` with `headers`.
    pub fn client(
        &self,
        peer: Option<std::net::IpAddr>,
        headers: &axum::http::HeaderMap,
    ) -> String {
        let Some(peer) = peer else {
            return "unknown".to_owned();
        };
        let forwarded = self
            .header
            .as_ref()
            .filter(|_| self.trusted_proxies.iter().any(|n| n.contains(&peer)))
            .and_then(|h| headers.get(h))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok());
        forwarded.unwrap_or(peer).to_string()
    }
}

/// Shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// The intake's own small pool: webhook deliveries are recorded through
    /// it, so they are accepted while the workers use every connection of
    /// `pool`.
    pub intake: PgPool,
    /// Shared secret C2S sends (`X-Webhook-Token`); `None` accepts unsigned deliveries.
    pub webhook_secret: Option<Arc<SecretString>>,
    /// The pipeline for synchronous runs (`None`: those endpoints answer 503).
    pub pipeline: Option<Arc<crate::pipeline::Pipeline>>,
    /// Requests per minute per API key, and per client IP (before the key is checked).
    pub limits: Arc<Limits>,
    /// The `google_key` Google Ads puts in its deliveries; `None` refuses them all.
    pub google_ads_key: Option<Arc<SecretString>>,
    /// Browser origins allowed by CORS (empty: CORS closed).
    pub cors_origins: Arc<Vec<String>>,
    /// This process's worker loops, when it runs them (readiness checks them).
    pub worker: Option<Arc<crate::pipeline::worker::WorkerHealth>>,
    /// The status page's data-quality results, refreshed every five minutes.
    pub dq_cache: Arc<DqCache>,
    /// How the client's address is told (per-IP limits).
    pub client_ip: Arc<ClientIpPolicy>,
    /// How synchronous runs (manual and Make.com triggers) are run.
    pub sync: Arc<SyncRuns>,
    /// The status figures, computed at most every 10 s.
    pub status_cache: Arc<StatusCache>,
    /// The database gauges of `/metrics`, read at most every 5 s.
    pub metrics_cache: Arc<crate::metrics::GaugeCache>,
    /// Where reads of personal data are recorded (group-committed).
    pub audit: crate::store::pii_audit::AuditLog,
    /// API keys verified recently.
    pub keys: Arc<crate::store::api_keys::KeyCache>,
    /// What an access export says beside each item (purposes, legal bases,
    /// retention).
    pub subjects: Arc<crate::ops::subject_export::ExportSettings>,
    /// The operator console's session rules and login throttle.
    pub console: Arc<super::console_state::ConsoleState>,
}

/// Synchronous runs: the job's settings, and how long a request waits for
/// its outcome before answering 202 with the lead's status URL
/// (`SYNC_WAIT_SECS`, default 25: under the usual 30 s client timeouts).
#[derive(Debug, Clone)]
pub struct SyncRuns {
    pub wait: std::time::Duration,
    pub worker: crate::pipeline::worker::WorkerOptions,
}

impl Default for SyncRuns {
    fn default() -> Self {
        Self {
            wait: std::time::Duration::from_secs(25),
            worker: crate::pipeline::worker::WorkerOptions::default(),
        }
    }
}

impl AppState {
    /// Only the database: no webhook secret, no pipeline, no rate limits.
    pub fn new(pool: PgPool) -> Self {
        Self {
            intake: pool.clone(),
            audit: crate::store::pii_audit::AuditLog::new(pool.clone()),
            keys: Arc::default(),
            pool,
            webhook_secret: None,
            pipeline: None,
            limits: Arc::default(),
            google_ads_key: None,
            cors_origins: Arc::default(),
            worker: None,
            dq_cache: Arc::default(),
            client_ip: Arc::default(),
            sync: Arc::default(),
            status_cache: Arc::default(),
            metrics_cache: Arc::default(),
            subjects: Arc::default(),
            console: Arc::default(),
        }
    }
}

/// The API's rate limits.
#[derive(Debug)]
pub struct Limits {
    pub per_key: rate_limit::RateLimiter,
    pub per_ip: rate_limit::RateLimiter,
}

impl Limits {
    pub fn new(per_key_per_minute: u32, per_ip_per_minute: u32) -> Arc<Self> {
        Arc::new(Self {
            per_key: rate_limit::RateLimiter::new(per_key_per_minute),
            per_ip: rate_limit::RateLimiter::new(per_ip_per_minute),
        })
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_key: rate_limit::RateLimiter::new(0),
            per_ip: rate_limit::RateLimiter::new(0),
        }
    }
}
