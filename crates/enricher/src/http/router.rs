//! The API's routes and middleware, and the listeners that serve them.

use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use tokio::net::TcpListener;

use super::context::{client_ip, request_context};
use super::state::AppState;
use super::{cors, customers, error, google_ads, health, leads, openapi, serve, status, webhooks};

/// Largest request body accepted (C2S batches included).
pub const MAX_BODY_BYTES: usize = 512 * 1024;

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
        (
            Method::POST,
            "/api/v1/subjects/export",
            post(super::subjects::export),
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
        .merge(super::console::router())
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
