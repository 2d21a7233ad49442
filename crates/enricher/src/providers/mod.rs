//! Typed clients for the three providers (C2S, Diretrix, Work API) and the
//! shared call policy: timeouts, retries with backoff and jitter honouring
//! `Retry-After`, minimum spacing (optionally shared through PostgreSQL across
//! processes), and a circuit breaker. Requests and responses are private DTOs
//! mapped into domain types here; nothing outside sees raw provider JSON.

pub mod breaker;
pub mod c2s;
pub mod diretrix;
pub mod error;
pub mod pacer;
pub mod policy;
pub mod transport;
pub mod work_api;

pub use error::ProviderError;

use secrecy::SecretString;

use crate::config::{Config, ConfigError, ProviderConfig};

/// The three clients, built once from the configuration and shared.
#[derive(Debug)]
pub struct Providers {
    pub c2s: c2s::C2sClient,
    pub diretrix: diretrix::DiretrixClient,
    pub work_api: work_api::WorkApiClient,
}

/// Why the clients could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

fn secret(p: &ProviderConfig, variable: &str) -> Result<SecretString, ConfigError> {
    p.secret
        .clone()
        .ok_or_else(|| ConfigError::MissingCredentials(variable.to_owned()))
}

/// The C2S client alone (commands that only talk to the CRM).
pub fn c2s_client(config: &Config) -> Result<c2s::C2sClient, BuildError> {
    let p = &config.c2s;
    Ok(c2s::C2sClient::new(
        &p.base_url,
        secret(p, "C2S_TOKEN")?,
        p.policy.clone(),
        pacer::Pacer::local(p.policy.min_interval),
    )?)
}

impl Providers {
    /// Builds every client. The Work API's spacing is shared through `pool`,
    /// so it holds across every process on the same database.
    pub fn build(config: &Config, pool: &sqlx::PgPool) -> Result<Self, BuildError> {
        config.require_provider_credentials()?;
        let d = &config.diretrix;
        let w = &config.work_api;
        Ok(Self {
            c2s: c2s_client(config)?,
            diretrix: diretrix::DiretrixClient::new(
                &d.base_url,
                d.user.clone().unwrap_or_default(),
                secret(d, "DIRETRIX_PASS")?,
                d.policy.clone(),
                pacer::Pacer::local(d.policy.min_interval),
            )?,
            work_api: work_api::WorkApiClient::new(
                &w.base_url,
                secret(w, "WORK_API")?,
                w.policy.clone(),
                pacer::Pacer::shared(w.policy.min_interval, pool.clone(), "work_api"),
            )?,
        })
    }
}
