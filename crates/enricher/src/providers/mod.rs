//! Typed clients for the three providers (C2S, Diretrix, Work API) and the
//! shared call policy: timeouts, retries with backoff and jitter honouring
//! `Retry-After`, minimum spacing (optionally shared through PostgreSQL across
//! processes), and a circuit breaker. Requests and responses are private DTOs
//! mapped into domain types here; nothing outside sees raw provider JSON.

pub mod breaker;
pub mod build;
pub mod c2s;
pub mod cnpj;
pub mod diretrix;
pub mod error;
pub(crate) mod lenient;
pub mod pacer;
pub mod policy;
pub mod transport;
pub mod work_api;

pub use error::ProviderError;

/// The three clients, built once from the configuration and shared
/// (`Providers::build`, in `app.rs`: the clients know nothing of the
/// configuration).
#[derive(Debug)]
pub struct Providers {
    pub c2s: c2s::C2sClient,
    pub diretrix: diretrix::DiretrixClient,
    pub work_api: work_api::WorkApiClient,
    /// Company names by CNPJ (`CNPJ_LOOKUP=off`: none).
    pub cnpj: Option<cnpj::CnpjClient>,
}
