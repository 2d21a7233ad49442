//! The validated configuration, section by section.

use rust_decimal::Decimal;
use secrecy::SecretString;

use super::error::ConfigError;
pub use c2s_db::DatabaseConfig;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (default on a terminal).
    Pretty,
    /// One JSON object per line (production).
    Json,
}

/// A provider's endpoint, credentials and call policy.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub base_url: String,
    pub user: Option<String>,
    pub secret: Option<SecretString>,
    /// Timeouts, retries, spacing, breaker (`<PREFIX>_TIMEOUT_SECS`,
    /// `_CONNECT_TIMEOUT_SECS`, `_MAX_RETRIES`, `_MIN_INTERVAL_MS`, `_BREAKER_THRESHOLD`).
    pub policy: crate::providers::policy::Policy,
}

/// How long cached provider answers stay fresh.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// HMAC key for ledger query hashes (`LEDGER_HASH_KEY`); generated and kept
    /// in the database when unset.
    pub hash_key: Option<SecretString>,
    pub freshness: crate::store::ledger::Freshness,
}

/// The alerts and tags (`ALERT_MIN_TIER`, `SLACK_WEBHOOK_URL`, `SMTP_*`,
/// `ALERT_EMAIL_*`, `C2S_LEAD_URL`, `C2S_TAGS`, `TIER_TAG_PREFIX`,
/// `SOURCE_HEALTH_*`), checked; the clients are built by the service.
#[derive(Debug, Clone)]
pub struct AlertConfig {
    /// `None`: no lead alerts (`off`); default: the best tier.
    pub min_tier: Option<String>,
    pub slack_webhook: Option<SecretString>,
    pub email: Option<crate::notify::EmailConfig>,
    /// With `{lead_id}`.
    pub lead_url: String,
    /// `None`: no C2S tags.
    pub tag_prefix: Option<String>,
    /// A discovery source whose last `source_window` answers found nobody
    /// is alerted (0: never checked); checked every `source_every`.
    pub source_window: u32,
    pub source_every: std::time::Duration,
    /// How long one alert may take (`ALERT_TIMEOUT_SECS`, default 10).
    pub timeout: std::time::Duration,
}

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseConfig,
    pub port: u16,
    pub c2s: ProviderConfig,
    pub diretrix: ProviderConfig,
    pub work_api: ProviderConfig,
    /// The public CNPJ source for company names (`CNPJ_LOOKUP`, default
    /// `brasilapi`; `off`: none).
    pub cnpj: Option<ProviderConfig>,
    pub webhook_secret: Option<SecretString>,
    pub google_ads_webhook_key: Option<SecretString>,
    pub cache: CacheConfig,
    /// Credit budgets per provider, per day and month (`<P>_DAILY_CREDITS`,
    /// `<P>_MONTHLY_CREDITS`), and the shares retries and the back-fill may
    /// use (`BUDGET_RETRY_SHARE`, `BUDGET_BACKFILL_SHARE`).
    pub budgets: crate::store::ledger::Budgets,
    /// How long every job waits after a provider refuses our credentials or
    /// credits (`PROVIDER_PAUSE_SECS`, default 300).
    pub provider_pause: std::time::Duration,
    /// How long each operational table keeps its rows (`RETENTION_*_DAYS`).
    pub retention: crate::store::retention::Retention,
    /// A legacy `core.entity_financials` keeping its period under other
    /// names: (year column, month column) (`HARDENING_FINANCIAL_PERIOD`,
    /// `ano` or `ano,mes`; read by `migrate`).
    pub financial_period: Option<(String, Option<String>)>,
    /// Where `/metrics` is served, apart from the API (`METRICS_ADDR`,
    /// default `127.0.0.1:9091`; `off` disables it).
    pub metrics_addr: Option<String>,
    /// Connection limits of the API listener (`HTTP_HEADER_TIMEOUT_SECS`,
    /// default 10; `HTTP_MAX_CONNECTIONS`, default 512).
    pub http_limits: crate::http::serve::ServeLimits,
    /// How often the workers apply it (`PRUNE_INTERVAL_SECS`, default 21600;
    /// 0: only by `c2s-enrich prune`).
    pub prune_interval: std::time::Duration,
    /// How long a synchronous trigger waits for its run before answering 202
    /// with the lead's status URL (`SYNC_WAIT_SECS`, default 25).
    pub sync_wait: std::time::Duration,
    /// How often a lead C2S does not know is asked for again before its job
    /// is dead (`LEAD_NOT_FOUND_RETRIES`, default 3), first after
    /// `LEAD_NOT_FOUND_RETRY_SECS` (default 60), doubling.
    pub lead_not_found_retries: i32,
    pub lead_not_found_delay: std::time::Duration,
    /// API requests per minute per key (`RATE_LIMIT_PER_KEY`, default 120) and
    /// per client IP (`RATE_LIMIT_PER_IP`, default 300); 0 disables.
    pub rate_limit_per_key: u32,
    pub rate_limit_per_ip: u32,
    /// How long a verified API key is believed without asking the database
    /// again (`API_KEY_CACHE_SECS`, default 5, at most 60; 0: every request
    /// asks). A key revoked elsewhere works that long on a running server.
    pub api_key_cache: std::time::Duration,
    /// The reconciliation sweep (`RECONCILE_INTERVAL_SECS`, default 300, 0
    /// switches it off; `RECONCILE_OVERLAP_SECS`, default 600).
    pub reconcile: crate::pipeline::reconcile::ReconcileOptions,
    /// Discovery lookups in order of preference (`DISCOVERY_SOURCES`).
    pub discovery: Vec<crate::pipeline::resolve::Source>,
    /// All at once (`parallel`, default) or one at a time until someone is
    /// confirmed (`waterfall`) (`DISCOVERY_MODE`).
    pub discovery_mode: crate::pipeline::DiscoveryMode,
    /// When a lead nobody was found for is asked about again
    /// (`RETRY_AFTER_DAYS`, default `1,7,30`: ages from its arrival; `off`:
    /// never), never before its "not found" answers expire
    /// (`CACHE_NOT_FOUND_DAYS`); checked every `RETRY_SWEEP_SECS`
    /// (default 600).
    pub retry: crate::store::leads::RetryPolicy,
    pub retry_sweep: std::time::Duration,
    /// The lead tier's rules (`TIER_RULES_FILE`; the shipped default).
    pub tier_rules: std::sync::Arc<crate::domain::tier::RuleSet>,
    /// The controller and the purposes' texts (`PRIVACY_FILE`; the shipped
    /// default otherwise): shown in access exports and the record of
    /// processing.
    pub privacy: std::sync::Arc<crate::domain::privacy::Privacy>,
    /// The note on a blocked person's lead (`BLOCKED_LEAD_NOTE`,
    /// `neutral` or `none`; default `neutral`).
    pub blocked_note: crate::pipeline::BlockedNote,
    /// Tags and alerts (issue 17).
    pub alerts: AlertConfig,
    /// A dossier older than this says its date in the note
    /// (`NOTE_DATA_AGE_DAYS`, default 30).
    pub note_data_age: std::time::Duration,
    /// Operators' income adjustment factor (`INCOME_FACTOR`, default 1.9).
    pub income_factor: Decimal,
    /// Longest note posted on a lead (`C2S_MESSAGE_MAX_CHARS`, default 5000).
    pub message_max_chars: usize,
    /// `IDENTITY_MIN_CONFIDENCE`: least confidence at which a person is
    /// presented in full (`probable` by default; `confirmed` is stricter).
    pub identity_min_confidence: crate::domain::identity::Confidence,
    /// Longest lead description sent to C2S (`C2S_DESCRIPTION_MAX_LENGTH`, default 4000).
    pub description_max_chars: usize,
    /// The ad → product map for Google Ads leads (`GOOGLE_ADS_PRODUCTS_FILE`).
    pub google_ads_products: std::sync::Arc<crate::domain::products::ProductMap>,
    /// The C2S seller Google Ads leads are assigned to (`C2S_SELLER_ID`).
    pub c2s_seller_id: Option<String>,
    /// Browser origins allowed to call the API (`CORS_ALLOWED_ORIGINS`,
    /// comma-separated `scheme://host[:port]`); empty = CORS closed.
    pub cors_allowed_origins: Vec<String>,
    /// Proxies whose forwarded client address is believed (`TRUSTED_PROXIES`,
    /// comma-separated IPs or CIDRs); empty = the TCP peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The header a trusted proxy puts the client's address in
    /// (`CLIENT_IP_HEADER`, default `Fly-Client-IP`).
    pub client_ip_header: String,
    pub log_format: LogFormat,
}

impl Config {
    /// For commands that call providers: fails naming every missing credential.
    pub fn require_provider_credentials(&self) -> Result<(), ConfigError> {
        let mut missing = Vec::new();
        if self.c2s.secret.is_none() {
            missing.push("C2S_TOKEN");
        }
        if self.diretrix.user.is_none() {
            missing.push("DIRETRIX_USER");
        }
        if self.diretrix.secret.is_none() {
            missing.push("DIRETRIX_PASS");
        }
        if self.work_api.secret.is_none() {
            missing.push("WORK_API");
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::MissingCredentials(missing.join(", ")))
        }
    }
}
