//! The HTTP API. `Application::build` binds (port 0 in tests) and returns a
//! value that runs until a shutdown signal.

pub mod auth;
pub mod cors;
pub mod customers;
pub mod error;
pub mod google_ads;
pub mod health;
pub mod leads;
pub mod openapi;
pub mod rate_limit;
pub mod serve;
pub mod status;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use secrecy::SecretString;
use sqlx::PgPool;
use tokio::net::TcpListener;

/// Largest request body accepted (C2S batches included).
pub const MAX_BODY_BYTES: usize = 512 * 1024;

/// Longest a request may take (synchronous enrichments included) before 503.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Every request gets an id of ours (a new UUID: a client never chooses the id
/// the audit records), returned in `X-Request-Id` and carried by the request's
/// log span; a sane `X-Request-Id` the client sent is kept apart, as
/// `client_request_id` in the span and `X-Client-Request-Id` in the response.
/// Also a time limit, and the security headers every response carries.
async fn request_context(
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
        Err(_) => error::ApiError::Unavailable("the request took too long".into()).into_response(),
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

/// The header the client's address travels in from [`client_ip`] to the
/// handlers — always overwritten, so no client can choose its own.
pub const CLIENT_IP: &str = "x-c2s-client-ip";

/// Puts the client's address (see [`ClientIpPolicy`]) in [`CLIENT_IP`].
async fn client_ip(
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
    pub dq_cache: Arc<status::DqCache>,
    /// How the client's address is told (per-IP limits).
    pub client_ip: Arc<ClientIpPolicy>,
    /// How synchronous runs (manual and Make.com triggers) are run.
    pub sync: Arc<SyncRuns>,
    /// The status figures, computed at most every 10 s.
    pub status_cache: Arc<status::StatusCache>,
    /// The database gauges of `/metrics`, read at most every 5 s.
    pub metrics_cache: Arc<crate::metrics::GaugeCache>,
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

/// A bound, not yet running, HTTP server.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: Router,
    limits: serve::ServeLimits,
}

impl Application {
    /// Binds `127.0.0.1:port` or `0.0.0.0:port` (`host`).
    pub async fn build(state: AppState, host: &str, port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind((host, port)).await?;
        Ok(Self {
            listener,
            router: router(state),
            limits: serve::ServeLimits::default(),
        })
    }

    /// The metrics listener (`/metrics` only), bound to `addr` (`host:port`).
    pub async fn build_metrics(state: AppState, addr: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self {
            listener,
            router: metrics_router(state),
            limits: serve::ServeLimits {
                max_connections: 16,
                ..serve::ServeLimits::default()
            },
        })
    }

    /// Other connection limits than the defaults.
    pub fn with_limits(mut self, limits: serve::ServeLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // The peer address reaches the handlers (per-client limits).
        serve::serve(self.listener, self.router, self.limits, shutdown).await
    }
}

/// Prometheus text exposition (namespace `c2s_enrich_`; labels never carry
/// personal data), on the metrics listener only. See docs/runbook.md.
pub async fn metrics_text(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<impl axum::response::IntoResponse, error::ApiError> {
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        crate::metrics::render_cached(&state.pool, &state.metrics_cache).await?,
    ))
}

/// Every route the API serves, with its method; the documentation routes
/// (`/docs`, `/api-docs/openapi.json`) come on top. A test checks that the
/// OpenAPI document lists exactly these.
pub fn routes() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    use axum::routing::delete;
    vec![
        (Method::GET, "/", get(status::page)),
        (Method::GET, "/health", get(health::alias)),
        (Method::GET, "/health/live", get(health::live)),
        (Method::GET, "/health/ready", get(health::ready)),
        (Method::GET, "/api/v1/status", get(status::status_json)),
        (
            Method::GET,
            "/api/v1/admin/data-quality",
            get(status::data_quality),
        ),
        (Method::POST, "/api/v1/webhooks/c2s", post(webhooks::c2s)),
        (
            Method::POST,
            "/api/v1/webhooks/google-ads",
            post(google_ads::intake),
        ),
        (
            Method::POST,
            "/api/v1/c2s/enrich/{lead_id}",
            post(leads::enrich),
        ),
        (Method::GET, "/api/v1/leads/process", get(leads::process)),
        (Method::GET, "/api/v1/leads/{lead_id}", get(leads::status)),
        (Method::GET, "/api/v1/customers", get(customers::lookup)),
        (
            Method::POST,
            "/api/v1/customers/lookup",
            post(customers::lookup_post),
        ),
        (
            Method::POST,
            "/api/v1/customers/erase",
            post(customers::erase_post),
        ),
        (
            Method::DELETE,
            "/api/v1/customers/{cpf}",
            delete(customers::erase),
        ),
    ]
}

/// The metrics listener's routes: `/metrics` alone, apart from the public
/// API (`METRICS_ADDR`, loopback by default).
fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .with_state(state)
}

fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for (_, path, handler) in routes() {
        router = router.route(path, handler);
    }
    router
        .merge(
            utoipa_swagger_ui::SwaggerUi::new("/docs")
                .url("/api-docs/openapi.json", openapi::document()),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cors::cors,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client_ip,
        ))
        .layer(axum::middleware::from_fn(request_context))
        .with_state(state)
}
