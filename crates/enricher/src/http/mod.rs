//! The HTTP API. `Application::build` binds (port 0 in tests) and returns a
//! value that runs until a shutdown signal.
//!
//! - `router`: the routes, the middleware stack, the listeners;
//! - `context`: what every request gets (request id, time limit, security
//!   headers, the client's address); `state`: what every handler shares;
//! - the handlers: `webhooks`, `google_ads`, `leads`, `customers`, `status`,
//!   `health`; their guards: `auth`, `cors`, `rate_limit`;
//! - `error` (the error body), `openapi` (the document), `figures` (the
//!   status page's figures and caches), `serve` (the accept loop).

pub mod auth;
pub mod console;
pub mod console_state;
pub mod context;
pub mod cors;
pub mod customer_views;
pub mod customers;
pub mod error;
pub mod figures;
pub mod google_ads;
pub mod health;
pub mod leads;
pub mod openapi;
pub mod payloads;
pub mod rate_limit;
pub mod router;
pub mod serve;
pub mod state;
pub mod status;
pub mod subjects;
pub mod webhooks;

pub use context::{CLIENT_IP, REQUEST_TIMEOUT};
pub use router::{metrics_text, routes, Application, MAX_BODY_BYTES};
pub use state::{AppState, ClientIpPolicy, Limits, SyncRuns};
