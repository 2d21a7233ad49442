//! Configuration: defaults < optional TOML file < environment, validated once.
//!
//! Environment variable names are the users' own (see the README's table).
//! Secrets are [`SecretString`]s: their `Debug` prints `[REDACTED]` and nothing
//! here ever formats their value.

use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// A configuration problem, naming the variable (or file key) at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{variable}: {message}")]
    Invalid { variable: String, message: String },
    #[error("cannot read config file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    FileSyntax { path: PathBuf, message: String },
    #[error("missing provider credentials: {0} (required by this command)")]
    MissingCredentials(String),
}

fn invalid(variable: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        variable: variable.to_owned(),
        message: message.into(),
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (default on a terminal).
    Pretty,
    /// One JSON object per line (production).
    Json,
}

/// Where the customer database is.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `DATABASE_URL` / `DB_URL`; `None` means the embedded PostgreSQL.
    pub url: Option<SecretString>,
    /// Data directory of the embedded PostgreSQL (`C2S_ENRICH_PG_DIR`).
    pub embedded_dir: PathBuf,
    /// Whether `embedded_dir` was chosen by the user (no silent relocation then).
    pub embedded_dir_explicit: bool,
    /// OS user that runs the embedded PostgreSQL when we are root (`C2S_ENRICH_PG_USER`).
    pub embedded_user: String,
    /// Pool size (`DB_MAX_CONNECTIONS`).
    pub max_connections: u32,
    /// The intake's own pool (`DB_INTAKE_CONNECTIONS`): webhooks are recorded
    /// through it, so they answer whatever the workers hold.
    pub intake_connections: u32,
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

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseConfig,
    pub port: u16,
    pub c2s: ProviderConfig,
    pub diretrix: ProviderConfig,
    pub work_api: ProviderConfig,
    pub webhook_secret: Option<SecretString>,
    pub google_ads_webhook_key: Option<SecretString>,
    pub cache: CacheConfig,
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
    /// Discovery lookups in order of preference (`DISCOVERY_SOURCES`).
    pub discovery: Vec<crate::pipeline::resolve::Source>,
    /// Operators' income adjustment factor (`INCOME_FACTOR`, default 1.9).
    pub income_factor: Decimal,
    /// Longest note posted on a lead (`C2S_MESSAGE_MAX_CHARS`, default 5000).
    pub message_max_chars: usize,
    /// `IDENTITY_MIN_CONFIDENCE`: least confidence at which a person is
    /// presented in full (`probable` by default; `confirmed` is stricter).
    pub identity_min_confidence: crate::domain::identity::Confidence,
    /// Longest lead description sent to C2S (`C2S_DESCRIPTION_MAX_LENGTH`, default 4000).
    pub description_max_chars: usize,
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

/// `HARDENING_FINANCIAL_PERIOD`: `year_column[,month_column]`, plain
/// identifiers (they are written into SQL, quoted).
fn financial_period(
    value: Option<String>,
) -> Result<Option<(String, Option<String>)>, ConfigError> {
    let Some(v) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let plain = |c: &str| {
        !c.is_empty()
            && c.len() <= 63
            && c.chars()
                .next()
                .is_some_and(|x| x.is_ascii_lowercase() || x == '_')
            && c.chars()
                .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == '_')
    };
    let mut parts = v.split(',').map(str::trim);
    let year = parts.next().unwrap_or_default().to_owned();
    let month = parts.next().map(str::to_owned);
    if !plain(&year) || month.as_deref().is_some_and(|m| !plain(m)) || parts.next().is_some() {
        return Err(invalid(
            "HARDENING_FINANCIAL_PERIOD",
            format!("expected <year column>[,<month column>] (lower-case column names), got {v:?}"),
        ));
    }
    Ok(Some((year, month)))
}

/// The retention policy from `RETENTION_*` (defaults: [`Retention::default`]).
///
/// [`Retention::default`]: crate::store::retention::Retention
fn retention(l: &Layers<'_>) -> Result<crate::store::retention::Retention, ConfigError> {
    let d = crate::store::retention::Retention::default();
    let r = crate::store::retention::Retention {
        jobs_done_days: l.days("RETENTION_JOBS_DAYS", d.jobs_done_days)?,
        jobs_dead_days: l.days("RETENTION_DEAD_JOBS_DAYS", d.jobs_dead_days)?,
        webhook_events_days: l.days("RETENTION_WEBHOOK_EVENTS_DAYS", d.webhook_events_days)?,
        ledger_days: l.days("RETENTION_LEDGER_DAYS", d.ledger_days)?,
        snapshots_days: l.days("RETENTION_SNAPSHOTS_DAYS", d.snapshots_days)?,
        audit_days: l.days("RETENTION_AUDIT_DAYS", d.audit_days)?,
        google_ads_days: l.days("RETENTION_GOOGLE_ADS_DAYS", d.google_ads_days)?,
        lead_details_days: l.days("RETENTION_LEAD_DETAILS_DAYS", d.lead_details_days)?,
        batch: l.number("RETENTION_BATCH", None)?.unwrap_or(d.batch),
    };
    if r.batch == 0 || r.batch > 100_000 {
        return Err(invalid("RETENTION_BATCH", "must be between 1 and 100000"));
    }
    Ok(r)
}

/// The optional TOML file: every key optional, same meaning as the variables.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    embedded_pg_dir: Option<PathBuf>,
    embedded_pg_user: Option<String>,
    db_max_connections: Option<u32>,
    db_intake_connections: Option<u32>,
    port: Option<u16>,
    c2s_base_url: Option<String>,
    c2s_token: Option<String>,
    diretrix_base_url: Option<String>,
    diretrix_user: Option<String>,
    diretrix_pass: Option<String>,
    work_api_base_url: Option<String>,
    work_api: Option<String>,
    webhook_secret: Option<String>,
    google_ads_webhook_key: Option<String>,
    income_factor: Option<String>,
    c2s_message_max_chars: Option<usize>,
    identity_min_confidence: Option<String>,
    c2s_description_max_length: Option<usize>,
    c2s_seller_id: Option<String>,
    cors_allowed_origins: Option<String>,
    trusted_proxies: Option<String>,
    client_ip_header: Option<String>,
    log_format: Option<String>,
}

/// Reads one layer value: environment first, then the file, then nothing.
struct Layers<'a> {
    file: FileConfig,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Layers<'_> {
    fn env(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.trim().is_empty())
    }

    fn text(&self, name: &str, file: Option<String>) -> Option<String> {
        self.env(name).or(file.filter(|v| !v.trim().is_empty()))
    }

    /// Days, at most 100 years (0 = for ever where the setting allows it).
    fn days(&self, name: &str, default: u32) -> Result<u32, ConfigError> {
        let d: u32 = self.number(name, None)?.unwrap_or(default);
        if d > 36_500 {
            return Err(invalid(name, "at most 36500 days"));
        }
        Ok(d)
    }

    fn number<T: std::str::FromStr>(
        &self,
        name: &str,
        file: Option<T>,
    ) -> Result<Option<T>, ConfigError> {
        match self.env(name) {
            Some(raw) => raw
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| invalid(name, format!("expected a whole number, got {raw:?}"))),
            None => Ok(file),
        }
    }
}

/// `CORS_ALLOWED_ORIGINS`: exact origins (`https://app.example.com`), no paths,
/// no wildcards — a wildcard would let any site read personal data with a key.
fn cors_origins(raw: Option<String>) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let ok = (o.starts_with("https://") || o.starts_with("http://"))
                && reqwest::Url::parse(o).is_ok_and(|u| {
                    u.host_str().is_some() && u.path() == "/" && u.query().is_none()
                })
                && !o.ends_with('/')
                && !o.contains('*');
            if ok {
                Ok(o.to_owned())
            } else {
                Err(invalid(
                    "CORS_ALLOWED_ORIGINS",
                    format!("{o:?} is not an origin like https://app.example.com (no path, no wildcard)"),
                ))
            }
        })
        .collect()
}

/// `TRUSTED_PROXIES`: IPs (`10.0.0.7`) or networks (`fdaa::/16`).
fn trusted_proxies(raw: Option<String>) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    invalid(
                        "TRUSTED_PROXIES",
                        format!("{p:?} is not an IP address or a network like 10.0.0.0/8"),
                    )
                })
        })
        .collect()
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

    fn from_layers(mut l: Layers<'_>) -> Result<Self, ConfigError> {
        let f = std::mem::take(&mut l.file);
        let database_url = database_url(&l, f.database_url)?;
        let explicit_dir = l
            .env("C2S_ENRICH_PG_DIR")
            .map(PathBuf::from)
            .or(f.embedded_pg_dir);
        let max_connections = l
            .number("DB_MAX_CONNECTIONS", f.db_max_connections)?
            .unwrap_or(10);
        if max_connections == 0 {
            return Err(invalid("DB_MAX_CONNECTIONS", "must be at least 1"));
        }
        let intake_connections = l
            .number("DB_INTAKE_CONNECTIONS", f.db_intake_connections)?
            .unwrap_or(4);
        if intake_connections == 0 {
            return Err(invalid("DB_INTAKE_CONNECTIONS", "must be at least 1"));
        }
        let database = DatabaseConfig {
            url: database_url,
            embedded_dir_explicit: explicit_dir.is_some(),
            embedded_dir: explicit_dir.unwrap_or_else(|| PathBuf::from(".c2s-enrich/pg")),
            embedded_user: l
                .text("C2S_ENRICH_PG_USER", f.embedded_pg_user)
                .unwrap_or_else(|| "postgres".into()),
            max_connections,
            intake_connections,
        };
        use crate::providers::policy::Policy;
        let c2s = ProviderConfig {
            base_url: base_url(
                &l,
                "C2S_BASE_URL",
                f.c2s_base_url,
                "https://api.contact2sale.com",
            )?,
            user: None,
            secret: l.text("C2S_TOKEN", f.c2s_token).map(SecretString::from),
            policy: policy(&l, "C2S", Policy::c2s_default())?,
        };
        let diretrix = ProviderConfig {
            base_url: base_url(
                &l,
                "DIRETRIX_BASE_URL",
                f.diretrix_base_url,
                "https://api.diretrix.com.br",
            )?,
            user: l.text("DIRETRIX_USER", f.diretrix_user),
            secret: l
                .text("DIRETRIX_PASS", f.diretrix_pass)
                .map(SecretString::from),
            policy: policy(&l, "DIRETRIX", Policy::diretrix_default())?,
        };
        let work_api = ProviderConfig {
            base_url: base_url(
                &l,
                "WORK_API_BASE_URL",
                f.work_api_base_url,
                "https://completa.workbuscas.com/api",
            )?,
            user: None,
            secret: l.text("WORK_API", f.work_api).map(SecretString::from),
            policy: policy(&l, "WORK_API", Policy::work_api_default())?,
        };
        let days = |name: &str, default: u64| -> Result<std::time::Duration, ConfigError> {
            let d: u64 = l.number(name, None)?.unwrap_or(default);
            Ok(std::time::Duration::from_secs(d * 24 * 3600))
        };
        let cache = CacheConfig {
            hash_key: l.env("LEDGER_HASH_KEY").map(SecretString::from),
            freshness: crate::store::ledger::Freshness {
                discovery: days("CACHE_DISCOVERY_DAYS", 30)?,
                dossier: days("CACHE_DOSSIER_DAYS", 30)?,
                not_found: days("CACHE_NOT_FOUND_DAYS", 7)?,
            },
        };
        let income_factor = match l.text("INCOME_FACTOR", f.income_factor) {
            Some(raw) => raw
                .trim()
                .parse::<Decimal>()
                .ok()
                .filter(|d| *d > Decimal::ZERO && *d <= Decimal::from(100))
                .ok_or_else(|| {
                    invalid(
                        "INCOME_FACTOR",
                        format!("expected a decimal in (0, 100] such as 1.9, got {raw:?}"),
                    )
                })?,
            None => Decimal::new(19, 1),
        };
        let message_max_chars = l
            .number("C2S_MESSAGE_MAX_CHARS", f.c2s_message_max_chars)?
            .unwrap_or(5000);
        if message_max_chars < 200 {
            return Err(invalid("C2S_MESSAGE_MAX_CHARS", "must be at least 200"));
        }
        let identity_min_confidence = match l.text("IDENTITY_MIN_CONFIDENCE", f.identity_min_confidence) {
            None => crate::domain::identity::Confidence::Probable,
            Some(raw) => crate::domain::identity::Confidence::parse_minimum(&raw).ok_or_else(|| {
                invalid(
                    "IDENTITY_MIN_CONFIDENCE",
                    format!("expected `probable` or `confirmed` (an unconfirmed person is never shown in full), got {raw:?}"),
                )
            })?,
        };
        let description_max_chars = l
            .number("C2S_DESCRIPTION_MAX_LENGTH", f.c2s_description_max_length)?
            .unwrap_or(4000);
        if description_max_chars < 100 {
            return Err(invalid(
                "C2S_DESCRIPTION_MAX_LENGTH",
                "must be at least 100",
            ));
        }
        let log_format = match l.text("LOG_FORMAT", f.log_format).as_deref().map(str::trim) {
            None | Some("pretty") | Some("text") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid(
                    "LOG_FORMAT",
                    format!("expected \"json\" or \"pretty\", got {other:?}"),
                ))
            }
        };
        Ok(Self {
            database,
            port: l.number("PORT", f.port)?.unwrap_or(8080),
            c2s,
            diretrix,
            work_api,
            webhook_secret: l
                .text("WEBHOOK_SECRET", f.webhook_secret)
                .map(SecretString::from),
            google_ads_webhook_key: l
                .text("GOOGLE_ADS_WEBHOOK_KEY", f.google_ads_webhook_key)
                .map(SecretString::from),
            discovery: discovery_sources(&l)?,
            rate_limit_per_key: l.number("RATE_LIMIT_PER_KEY", None)?.unwrap_or(120),
            rate_limit_per_ip: l.number("RATE_LIMIT_PER_IP", None)?.unwrap_or(300),
            provider_pause: std::time::Duration::from_secs(
                l.number("PROVIDER_PAUSE_SECS", None)?.unwrap_or(300),
            ),
            retention: retention(&l)?,
            financial_period: financial_period(l.text("HARDENING_FINANCIAL_PERIOD", None))?,
            metrics_addr: match l.text("METRICS_ADDR", None).map(|v| v.trim().to_owned()) {
                // METRICS_PORT alone: that port on loopback.
                None => match l.number::<u16>("METRICS_PORT", None)? {
                    Some(port) => Some(format!("127.0.0.1:{port}")),
                    None => Some("127.0.0.1:9091".to_owned()),
                },
                Some(v) if v.eq_ignore_ascii_case("off") => None,
                Some(v) => {
                    if v.parse::<std::net::SocketAddr>().is_err() {
                        return Err(invalid(
                            "METRICS_ADDR",
                            format!("expected host:port (e.g. 127.0.0.1:9091, [::]:9091) or off, got {v:?}"),
                        ));
                    }
                    Some(v)
                }
            },
            http_limits: {
                let timeout: u64 = l.number("HTTP_HEADER_TIMEOUT_SECS", None)?.unwrap_or(10);
                if !(1..=300).contains(&timeout) {
                    return Err(invalid(
                        "HTTP_HEADER_TIMEOUT_SECS",
                        "must be between 1 and 300 seconds",
                    ));
                }
                let max: usize = l.number("HTTP_MAX_CONNECTIONS", None)?.unwrap_or(512);
                if !(1..=100_000).contains(&max) {
                    return Err(invalid(
                        "HTTP_MAX_CONNECTIONS",
                        "must be between 1 and 100000",
                    ));
                }
                crate::http::serve::ServeLimits {
                    header_read_timeout: std::time::Duration::from_secs(timeout),
                    max_connections: max,
                    ..crate::http::serve::ServeLimits::default()
                }
            },
            prune_interval: std::time::Duration::from_secs(
                l.number("PRUNE_INTERVAL_SECS", None)?.unwrap_or(21_600),
            ),
            sync_wait: {
                let secs: u64 = l.number("SYNC_WAIT_SECS", None)?.unwrap_or(25);
                // Under the request time limit (120 s), or a slow run would
                // answer 503 instead of 202.
                if !(1..=100).contains(&secs) {
                    return Err(invalid(
                        "SYNC_WAIT_SECS",
                        "must be between 1 and 100 seconds",
                    ));
                }
                std::time::Duration::from_secs(secs)
            },
            lead_not_found_retries: {
                let n: u32 = l.number("LEAD_NOT_FOUND_RETRIES", None)?.unwrap_or(3);
                if n > 10 {
                    return Err(invalid("LEAD_NOT_FOUND_RETRIES", "at most 10"));
                }
                n as i32
            },
            lead_not_found_delay: {
                let secs: u64 = l.number("LEAD_NOT_FOUND_RETRY_SECS", None)?.unwrap_or(60);
                if !(1..=3600).contains(&secs) {
                    return Err(invalid(
                        "LEAD_NOT_FOUND_RETRY_SECS",
                        "must be between 1 and 3600 seconds",
                    ));
                }
                std::time::Duration::from_secs(secs)
            },
            cache,
            income_factor,
            message_max_chars,
            identity_min_confidence,
            description_max_chars,
            c2s_seller_id: l
                .text("C2S_SELLER_ID", f.c2s_seller_id)
                .map(|v| v.trim().to_owned()),
            cors_allowed_origins: cors_origins(
                l.text("CORS_ALLOWED_ORIGINS", f.cors_allowed_origins),
            )?,
            trusted_proxies: trusted_proxies(l.text("TRUSTED_PROXIES", f.trusted_proxies))?,
            client_ip_header: {
                let h = l
                    .text("CLIENT_IP_HEADER", f.client_ip_header)
                    .map_or_else(|| "Fly-Client-IP".to_owned(), |v| v.trim().to_owned());
                if axum::http::HeaderName::from_bytes(h.as_bytes()).is_err() {
                    return Err(invalid("CLIENT_IP_HEADER", "not a valid HTTP header name"));
                }
                h
            },
            log_format,
        })
    }

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

/// `DISCOVERY_SOURCES`: comma-separated `diretrix_phone`, `work_api_phone`,
/// `diretrix_email`, in order of preference.
fn discovery_sources(l: &Layers<'_>) -> Result<Vec<crate::pipeline::resolve::Source>, ConfigError> {
    use crate::pipeline::resolve::Source;
    let Some(raw) = l.env("DISCOVERY_SOURCES") else {
        return Ok(crate::pipeline::default_discovery());
    };
    let mut out = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let src = match name {
            "diretrix_phone" => Source::DiretrixPhone,
            "work_api_phone" => Source::WorkApiPhone,
            "diretrix_email" => Source::DiretrixEmail,
            other => {
                return Err(invalid(
                    "DISCOVERY_SOURCES",
                    format!(
                    "unknown source {other:?}; use diretrix_phone, work_api_phone, diretrix_email"
                ),
                ))
            }
        };
        if !out.contains(&src) {
            out.push(src);
        }
    }
    if out.is_empty() {
        return Err(invalid("DISCOVERY_SOURCES", "name at least one source"));
    }
    Ok(out)
}

/// A provider's policy: defaults overridden by `<PREFIX>_*` variables.
fn policy(
    l: &Layers<'_>,
    prefix: &str,
    default: crate::providers::policy::Policy,
) -> Result<crate::providers::policy::Policy, ConfigError> {
    use std::time::Duration;
    let mut p = default;
    if let Some(s) = l.number::<u64>(&format!("{prefix}_TIMEOUT_SECS"), None)? {
        if s == 0 {
            return Err(invalid(
                &format!("{prefix}_TIMEOUT_SECS"),
                "must be at least 1",
            ));
        }
        p.request_timeout = Duration::from_secs(s);
    }
    if let Some(s) = l.number::<u64>(&format!("{prefix}_CONNECT_TIMEOUT_SECS"), None)? {
        p.connect_timeout = Duration::from_secs(s.max(1));
    }
    if let Some(n) = l.number::<usize>(&format!("{prefix}_MAX_RETRIES"), None)? {
        p.max_retries = n;
    }
    if let Some(ms) = l.number::<u64>(&format!("{prefix}_MIN_INTERVAL_MS"), None)? {
        p.min_interval = Duration::from_millis(ms);
    }
    if let Some(n) = l.number::<u32>(&format!("{prefix}_BREAKER_THRESHOLD"), None)? {
        p.breaker_threshold = n;
    }
    Ok(p)
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::File {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::FileSyntax {
        path: path.to_owned(),
        // toml's message quotes the offending line, which may hold a secret: keep
        // only the first line of the message (kind and position).
        message: e
            .message()
            .lines()
            .next()
            .unwrap_or("syntax error")
            .to_owned(),
    })
}

fn database_url(l: &Layers<'_>, file: Option<String>) -> Result<Option<SecretString>, ConfigError> {
    let url = match (l.env("DATABASE_URL"), l.env("DB_URL")) {
        (Some(a), Some(b)) if a != b => {
            return Err(invalid(
                "DATABASE_URL",
                "DATABASE_URL and DB_URL are both set and differ; set only one",
            ))
        }
        (Some(a), _) | (None, Some(a)) => Some(a),
        (None, None) => file.filter(|v| !v.trim().is_empty()),
    };
    match url {
        Some(u) if !(u.starts_with("postgres://") || u.starts_with("postgresql://")) => {
            Err(invalid(
                "DATABASE_URL",
                "must start with postgres:// or postgresql://",
            ))
        }
        other => Ok(other.map(SecretString::from)),
    }
}

fn base_url(
    l: &Layers<'_>,
    name: &str,
    file: Option<String>,
    default: &str,
) -> Result<String, ConfigError> {
    let url = l.text(name, file).unwrap_or_else(|| default.to_owned());
    let url = url.trim().trim_end_matches('/').to_owned();
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || url.contains(char::is_whitespace)
    {
        return Err(invalid(name, "must be an http:// or https:// URL"));
    }
    Ok(url)
}

/// `postgres://user:***@host:port/db` — the URL with its password hidden.
pub fn mask_database_url(url: &SecretString) -> String {
    let raw = url.expose_secret();
    let Some((scheme, rest)) = raw.split_once("://") else {
        return "<invalid database URL>".to_owned();
    };
    // Shown only when the URL parser's reading accounts for every `@` (one
    // for the user information, none elsewhere) and the database name is
    // plain: otherwise a password holding `@`, `/`, `?` or `#` unencoded
    // could be read as host, port or path, and a piece of it printed.
    let hidden = format!("{scheme}://<hidden: not an unambiguous URL>");
    let Ok(parsed) = reqwest::Url::parse(raw) else {
        return hidden;
    };
    let user = parsed.username();
    let has_userinfo = !user.is_empty() || parsed.password().is_some();
    let database = parsed.path().trim_start_matches('/');
    if rest.matches('@').count() != usize::from(has_userinfo)
        || database.contains(['/', '@', ':', '?', '#'])
    {
        return hidden;
    }
    let userinfo = match (user.is_empty(), parsed.password().is_some()) {
        (_, true) => format!("{user}:***@"),
        (false, false) => format!("{user}@"),
        (true, false) => String::new(),
    };
    let host = parsed.host_str().unwrap_or_default();
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{scheme}://{userinfo}{host}{port}/{database}")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(vars: &[(&str, &str)], file: Option<&Path>) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Config::load_with(file, &move |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_need_no_credentials_and_no_database() {
        let c = load(&[], None).expect("defaults are valid");
        assert!(c.database.url.is_none());
        assert_eq!(c.port, 8080);
        assert_eq!(c.income_factor, Decimal::new(19, 1));
        assert_eq!(c.message_max_chars, 5000);
        assert_eq!(c.work_api.base_url, "https://completa.workbuscas.com/api");
        assert_eq!(
            c.work_api.policy.min_interval,
            std::time::Duration::from_secs(2)
        );
        assert_eq!(
            c.cache.freshness.not_found,
            std::time::Duration::from_secs(7 * 24 * 3600)
        );
        let err = c
            .require_provider_credentials()
            .expect_err("no credentials");
        assert_eq!(
            err.to_string(),
            "missing provider credentials: C2S_TOKEN, DIRETRIX_USER, DIRETRIX_PASS, WORK_API (required by this command)"
        );
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c2s.toml");
        std::fs::write(
            &path,
            "port = 9000\nincome_factor = \"2.5\"\nc2s_token = \"from-file\"\n",
        )
        .expect("write");
        let c = load(&[("PORT", "9100")], Some(&path)).expect("valid");
        assert_eq!(c.port, 9100);
        assert_eq!(c.income_factor, Decimal::new(25, 1));
        assert!(c.c2s.secret.is_some());
    }

    #[test]
    fn invalid_values_are_reported_with_the_variable_name() {
        let cases = [
            ("PORT", "eighty", "PORT: expected a whole number"),
            ("INCOME_FACTOR", "-1", "INCOME_FACTOR: expected a decimal"),
            ("LOG_FORMAT", "xml", "LOG_FORMAT: expected"),
            ("C2S_BASE_URL", "ftp://x", "C2S_BASE_URL: must be an http"),
            (
                "DATABASE_URL",
                "mysql://x",
                "DATABASE_URL: must start with postgres",
            ),
            (
                "DB_MAX_CONNECTIONS",
                "0",
                "DB_MAX_CONNECTIONS: must be at least 1",
            ),
            (
                "HARDENING_FINANCIAL_PERIOD",
                "ano\"; DROP TABLE x; --",
                "HARDENING_FINANCIAL_PERIOD: expected",
            ),
            (
                "HARDENING_FINANCIAL_PERIOD",
                "ano,mes,dia",
                "HARDENING_FINANCIAL_PERIOD: expected",
            ),
        ];
        for (var, value, expected) in cases {
            let err = load(&[(var, value)], None).expect_err(var).to_string();
            assert!(err.starts_with(expected), "{var}: {err}");
        }
    }

    #[test]
    fn a_financial_period_mapping_names_one_or_two_columns() {
        let at = |v: &str| {
            load(&[("HARDENING_FINANCIAL_PERIOD", v)], None)
                .expect("valid")
                .financial_period
        };
        assert_eq!(at("ano"), Some(("ano".into(), None)));
        assert_eq!(
            at(" ano_ref , mes_ref "),
            Some(("ano_ref".into(), Some("mes_ref".into())))
        );
        assert_eq!(at(""), None);
    }

    #[test]
    fn the_metrics_listener_is_loopback_unless_told_otherwise() {
        let at = |vars: &[(&str, &str)]| load(vars, None).expect("valid").metrics_addr;
        assert_eq!(at(&[]).as_deref(), Some("127.0.0.1:9091"));
        assert_eq!(
            at(&[("METRICS_PORT", "9300")]).as_deref(),
            Some("127.0.0.1:9300")
        );
        assert_eq!(
            at(&[("METRICS_PORT", "9300"), ("METRICS_ADDR", "[::]:9091")]).as_deref(),
            Some("[::]:9091")
        );
        assert_eq!(at(&[("METRICS_ADDR", "off")]), None);
        for bad in [("METRICS_PORT", "70000"), ("METRICS_ADDR", "9091")] {
            let err = load(&[bad], None).expect_err(bad.0).to_string();
            assert!(err.starts_with(bad.0), "{err}");
        }
    }

    #[test]
    fn db_url_is_accepted_and_a_conflict_with_database_url_is_refused() {
        let c = load(&[("DB_URL", "postgres://u:p@h/db")], None).expect("valid");
        assert!(c.database.url.is_some());
        let err = load(
            &[
                ("DB_URL", "postgres://a/x"),
                ("DATABASE_URL", "postgres://b/y"),
            ],
            None,
        )
        .expect_err("conflict");
        assert!(err.to_string().contains("both set and differ"));
    }

    #[test]
    fn secrets_never_appear_in_debug_output_or_file_errors() {
        let c = load(
            &[
                ("C2S_TOKEN", "tok-SECRET-1"),
                ("DIRETRIX_PASS", "pass-SECRET-2"),
            ],
            None,
        )
        .expect("valid");
        let debug = format!("{c:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "c2s_token = tok-SECRET-3\n").expect("write");
        let err = load(&[], Some(&path)).expect_err("bad toml").to_string();
        assert!(!err.contains("SECRET"), "{err}");
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "prot = 1\n").expect("write");
        assert!(load(&[], Some(&path)).is_err());
    }

    #[test]
    fn database_urls_are_masked() {
        let url = SecretString::from("postgres://app:s3cret@db.example:5432/core?sslmode=require");
        assert_eq!(
            mask_database_url(&url),
            "postgres://app:***@db.example:5432/core"
        );
        let url = SecretString::from("postgres://postgres@127.0.0.1:5432/test");
        assert_eq!(
            mask_database_url(&url),
            "postgres://postgres@127.0.0.1:5432/test"
        );
        // Any character in the password, unencoded: no piece of it is shown
        // (the whole location is hidden when the URL is ambiguous).
        for password in [
            "pa/ss",
            "p@ss",
            "pa?ss=1",
            "pa#ss",
            "p:a:s:s",
            "a/b@c?d#e",
            "@/",
            "x%2Fy",
            "1/ss",
        ] {
            let url = SecretString::from(format!(
                "postgres://app:{password}@db.example:5432/core?sslmode=require"
            ));
            let masked = mask_database_url(&url);
            for piece in password
                .split(['/', '@', '?', '#', ':', '='])
                .filter(|p| p.len() >= 2)
            {
                assert!(!masked.contains(piece), "{password}: {masked}");
            }
            assert!(masked.starts_with("postgres://"), "{masked}");
        }
        // A password in the query, with or without an `@` in it.
        for url in [
            "postgres://db.example/core?password=s3cret",
            "postgres://db.example/core?password=p@ssw0rd",
            "postgres://app@db.example/core?password=s3cr@t",
        ] {
            let masked = mask_database_url(&SecretString::from(url));
            for piece in ["s3cret", "p@ssw0rd", "ssw0rd", "s3cr", "@t"] {
                assert!(!masked.contains(piece), "{url}: {masked}");
            }
        }
        let url = SecretString::from("postgres://db.example/core?password=s3cret");
        assert_eq!(mask_database_url(&url), "postgres://db.example/core");
    }
}
