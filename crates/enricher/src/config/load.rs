//! Loading: defaults < optional TOML file < environment, each value
//! validated with an error naming its variable.

use std::path::Path;

use secrecy::SecretString;

use super::error::ConfigError;
use super::layers::{read_file, FileConfig, Layers};
use super::settings::Config;
use super::values;

/// Seconds as a duration.
fn secs(s: u64) -> std::time::Duration {
    std::time::Duration::from_secs(s)
}

impl Config {
    /// Loads from the process environment and, if given, a TOML file.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with(file, &|name| std::env::var(name).ok())
    }

    /// Loads with an explicit environment (tests pass a map).
    pub fn load_with(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let file = match file {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let layers = Layers { file, env };
        Self::from_layers(layers)
    }

    // Longer than 70 lines on purpose: One line per setting of the configuration (the struct literal); the parsing lives in `values`.
    fn from_layers(mut l: Layers<'_>) -> Result<Self, ConfigError> {
        let mut f = std::mem::take(&mut l.file);
        let (c2s, diretrix, work_api) = values::providers(&l, &mut f)?;
        let tier_rules = super::agent::tier_rules(&l)?;
        Ok(Self {
            database: values::database(&l, &mut f)?,
            port: l.number("PORT", f.port)?.unwrap_or(8080),
            c2s,
            diretrix,
            work_api,
            cnpj: super::agent::cnpj(&l)?,
            webhook_secret: l
                .text("WEBHOOK_SECRET", f.webhook_secret.take())
                .map(SecretString::from),
            google_ads_webhook_key: l
                .text("GOOGLE_ADS_WEBHOOK_KEY", f.google_ads_webhook_key.take())
                .map(SecretString::from),
            discovery: values::discovery_sources(&l)?,
            discovery_mode: match l.env("DISCOVERY_MODE") {
                Some(raw) => raw
                    .parse()
                    .map_err(|e: String| super::error::invalid("DISCOVERY_MODE", e))?,
                None => crate::pipeline::DiscoveryMode::default(),
            },
            rate_limit_per_key: l.number("RATE_LIMIT_PER_KEY", None)?.unwrap_or(120),
            rate_limit_per_ip: l.number("RATE_LIMIT_PER_IP", None)?.unwrap_or(300),
            reconcile: crate::pipeline::reconcile::ReconcileOptions {
                every: secs(l.within(
                    "RECONCILE_INTERVAL_SECS",
                    None,
                    300,
                    0..=86_400,
                    "must be between 0 (off) and 86400 seconds",
                )?),
                overlap: secs(l.within(
                    "RECONCILE_OVERLAP_SECS",
                    None,
                    600,
                    0..=86_400,
                    "must be between 0 and 86400 seconds",
                )?),
                hours: l
                    .env("RECONCILE_HOURS")
                    .map(|h| h.parse())
                    .transpose()
                    .map_err(|e: String| super::error::invalid("RECONCILE_HOURS", e))?,
            },
            api_key_cache: secs(l.within(
                "API_KEY_CACHE_SECS",
                None,
                5,
                0..=60,
                "must be between 0 and 60 seconds",
            )?),
            provider_pause: secs(l.number("PROVIDER_PAUSE_SECS", None)?.unwrap_or(300)),
            retention: values::retention(&l)?,
            financial_period: values::financial_period(l.text("HARDENING_FINANCIAL_PERIOD", None))?,
            metrics_addr: values::metrics_addr(&l)?,
            http_limits: values::http_limits(&l)?,
            prune_interval: secs(l.number("PRUNE_INTERVAL_SECS", None)?.unwrap_or(21_600)),
            // Under the request time limit (120 s), or a slow run would
            // answer 503 instead of 202.
            sync_wait: secs(l.within(
                "SYNC_WAIT_SECS",
                None,
                25,
                1..=100,
                "must be between 1 and 100 seconds",
            )?),
            lead_not_found_retries: l.within::<u32>(
                "LEAD_NOT_FOUND_RETRIES",
                None,
                3,
                0..=10,
                "at most 10",
            )? as i32,
            lead_not_found_delay: secs(l.within(
                "LEAD_NOT_FOUND_RETRY_SECS",
                None,
                60,
                1..=3600,
                "must be between 1 and 3600 seconds",
            )?),
            cache: values::cache(&l)?,
            budgets: super::budgets::budgets(&l)?,
            retry: super::budgets::retry_policy(&l)?,
            retry_sweep: secs(l.within(
                "RETRY_SWEEP_SECS",
                None,
                600,
                0..=86_400,
                "must be between 0 (off) and 86400 seconds",
            )?),
            alerts: super::agent::alerts(&l, &tier_rules)?,
            note_data_age: secs(
                u64::from(l.within(
                    "NOTE_DATA_AGE_DAYS",
                    None,
                    30u32,
                    1..=3650,
                    "must be between 1 and 3650 days",
                )?) * 24
                    * 3600,
            ),
            tier_rules,
            privacy: super::agent::privacy(&l)?,
            blocked_note: match l.env("BLOCKED_LEAD_NOTE") {
                Some(raw) => raw
                    .parse()
                    .map_err(|e: String| super::error::invalid("BLOCKED_LEAD_NOTE", e))?,
                None => crate::pipeline::BlockedNote::default(),
            },
            income_factor: values::income_factor(&l, f.income_factor.take())?,
            message_max_chars: l.within(
                "C2S_MESSAGE_MAX_CHARS",
                f.c2s_message_max_chars,
                5000,
                200..=usize::MAX,
                "must be at least 200",
            )?,
            identity_min_confidence: values::identity_min_confidence(
                &l,
                f.identity_min_confidence.take(),
            )?,
            description_max_chars: l.within(
                "C2S_DESCRIPTION_MAX_LENGTH",
                f.c2s_description_max_length,
                4000,
                100..=usize::MAX,
                "must be at least 100",
            )?,
            google_ads_products: super::agent::google_ads_products(&l)?,
            c2s_seller_id: l
                .text("C2S_SELLER_ID", f.c2s_seller_id.take())
                .map(|v| v.trim().to_owned()),
            cors_allowed_origins: values::cors_origins(
                l.text("CORS_ALLOWED_ORIGINS", f.cors_allowed_origins.take()),
            )?,
            trusted_proxies: values::trusted_proxies(
                l.text("TRUSTED_PROXIES", f.trusted_proxies.take()),
            )?,
            client_ip_header: values::client_ip_header(&l, f.client_ip_header.take())?,
            log_format: values::log_format(&l, f.log_format.take())?,
        })
    }
}
