//! Building the provider clients from the configuration.

use secrecy::SecretString;

use super::Providers;
use crate::config::{Config, ConfigError, ProviderConfig};

/// Why the clients could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Provider(#[from] crate::providers::ProviderError),
}

fn secret(p: &ProviderConfig, variable: &str) -> Result<SecretString, ConfigError> {
    p.secret
        .clone()
        .ok_or_else(|| ConfigError::MissingCredentials(variable.to_owned()))
}

/// The C2S client alone (commands that only talk to the CRM).
pub fn c2s_client(config: &Config) -> Result<crate::providers::c2s::C2sClient, BuildError> {
    let p = &config.c2s;
    Ok(crate::providers::c2s::C2sClient::new(
        &p.base_url,
        secret(p, "C2S_TOKEN")?,
        p.policy.clone(),
        crate::providers::pacer::Pacer::local(p.policy.min_interval),
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
            diretrix: crate::providers::diretrix::DiretrixClient::new(
                &d.base_url,
                d.user.clone().unwrap_or_default(),
                secret(d, "DIRETRIX_PASS")?,
                d.policy.clone(),
                crate::providers::pacer::Pacer::local(d.policy.min_interval),
            )?,
            work_api: crate::providers::work_api::WorkApiClient::new(
                &w.base_url,
                secret(w, "WORK_API")?,
                w.policy.clone(),
                crate::providers::pacer::Pacer::shared(
                    w.policy.min_interval,
                    pool.clone(),
                    "work_api",
                ),
            )?,
            cnpj: match &config.cnpj {
                Some(c) => Some(crate::providers::cnpj::CnpjClient::new(
                    &c.base_url,
                    c.policy.clone(),
                    crate::providers::pacer::Pacer::local(c.policy.min_interval),
                )?),
                None => None,
            },
        })
    }
}
