//! Settings that need more than a number: URLs, lists, the retention
//! policy, the providers' call policies, the financial period.

use rust_decimal::Decimal;
use secrecy::SecretString;

use super::error::{invalid, ConfigError};
use super::layers::{FileConfig, Layers};
use super::settings::{CacheConfig, DatabaseConfig, LogFormat, ProviderConfig};

/// `HARDENING_FINANCIAL_PERIOD`: `year_column[,month_column]`, plain
/// identifiers (they are written into SQL, quoted).
pub(super) fn financial_period(
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
pub(super) fn retention(l: &Layers<'_>) -> Result<crate::store::retention::Retention, ConfigError> {
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

/// `CORS_ALLOWED_ORIGINS`: exact origins (`https://app.example.com`), no paths,
/// no wildcards — a wildcard would let any site read personal data with a key.
pub(super) fn cors_origins(raw: Option<String>) -> Result<Vec<String>, ConfigError> {
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
pub(super) fn trusted_proxies(raw: Option<String>) -> Result<Vec<ipnet::IpNet>, ConfigError> {
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

/// `DISCOVERY_SOURCES`: comma-separated `diretrix_phone`, `work_api_phone`,
/// `diretrix_email`, in order of preference.
pub(super) fn discovery_sources(
    l: &Layers<'_>,
) -> Result<Vec<crate::pipeline::resolve::Source>, ConfigError> {
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
pub(super) fn policy(
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

pub(super) fn database_url(
    l: &Layers<'_>,
    file: Option<String>,
) -> Result<Option<SecretString>, ConfigError> {
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

pub(super) fn base_url(
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

/// Where the database is: `DATABASE_URL`/`DB_URL` or the embedded cluster.
pub(super) fn database(l: &Layers<'_>, f: &mut FileConfig) -> Result<DatabaseConfig, ConfigError> {
    let url = database_url(l, f.database_url.take())?;
    let explicit_dir = l
        .env("C2S_ENRICH_PG_DIR")
        .map(std::path::PathBuf::from)
        .or(f.embedded_pg_dir.take());
    Ok(DatabaseConfig {
        url,
        embedded_dir_explicit: explicit_dir.is_some(),
        embedded_dir: explicit_dir.unwrap_or_else(|| ".c2s-enrich/pg".into()),
        embedded_user: l
            .text("C2S_ENRICH_PG_USER", f.embedded_pg_user.take())
            .unwrap_or_else(|| "postgres".into()),
        max_connections: l.within(
            "DB_MAX_CONNECTIONS",
            f.db_max_connections,
            10,
            1..=u32::MAX,
            "must be at least 1",
        )?,
        intake_connections: l.within(
            "DB_INTAKE_CONNECTIONS",
            f.db_intake_connections,
            4,
            1..=u32::MAX,
            "must be at least 1",
        )?,
    })
}

/// C2S, Diretrix and the Work API: endpoints, credentials, call policies.
pub(super) fn providers(
    l: &Layers<'_>,
    f: &mut FileConfig,
) -> Result<(ProviderConfig, ProviderConfig, ProviderConfig), ConfigError> {
    use crate::providers::policy::Policy;
    let c2s = ProviderConfig {
        base_url: base_url(
            l,
            "C2S_BASE_URL",
            f.c2s_base_url.take(),
            "https://api.contact2sale.com",
        )?,
        user: None,
        secret: l
            .text("C2S_TOKEN", f.c2s_token.take())
            .map(SecretString::from),
        policy: policy(l, "C2S", Policy::c2s_default())?,
    };
    let diretrix = ProviderConfig {
        base_url: base_url(
            l,
            "DIRETRIX_BASE_URL",
            f.diretrix_base_url.take(),
            "https://api.diretrix.com.br",
        )?,
        user: l.text("DIRETRIX_USER", f.diretrix_user.take()),
        secret: l
            .text("DIRETRIX_PASS", f.diretrix_pass.take())
            .map(SecretString::from),
        policy: policy(l, "DIRETRIX", Policy::diretrix_default())?,
    };
    let work_api = ProviderConfig {
        base_url: base_url(
            l,
            "WORK_API_BASE_URL",
            f.work_api_base_url.take(),
            "https://completa.workbuscas.com/api",
        )?,
        user: None,
        secret: l
            .text("WORK_API", f.work_api.take())
            .map(SecretString::from),
        policy: policy(l, "WORK_API", Policy::work_api_default())?,
    };
    Ok((c2s, diretrix, work_api))
}

/// The ledger's key and how long its answers stay fresh (`CACHE_*_DAYS`).
pub(super) fn cache(l: &Layers<'_>) -> Result<CacheConfig, ConfigError> {
    let days = |name: &str, default: u64| -> Result<std::time::Duration, ConfigError> {
        let d: u64 = l.number(name, None)?.unwrap_or(default);
        Ok(std::time::Duration::from_secs(d * 24 * 3600))
    };
    Ok(CacheConfig {
        hash_key: l.env("LEDGER_HASH_KEY").map(SecretString::from),
        freshness: crate::store::ledger::Freshness {
            discovery: days("CACHE_DISCOVERY_DAYS", 30)?,
            dossier: days("CACHE_DOSSIER_DAYS", 30)?,
            not_found: days("CACHE_NOT_FOUND_DAYS", 7)?,
        },
    })
}

/// `INCOME_FACTOR`: a decimal in (0, 100], 1.9 by default.
pub(super) fn income_factor(l: &Layers<'_>, file: Option<String>) -> Result<Decimal, ConfigError> {
    let Some(raw) = l.text("INCOME_FACTOR", file) else {
        return Ok(Decimal::new(19, 1));
    };
    raw.trim()
        .parse::<Decimal>()
        .ok()
        .filter(|d| *d > Decimal::ZERO && *d <= Decimal::from(100))
        .ok_or_else(|| {
            invalid(
                "INCOME_FACTOR",
                format!("expected a decimal in (0, 100] such as 1.9, got {raw:?}"),
            )
        })
}

/// `IDENTITY_MIN_CONFIDENCE`: `probable` (default) or `confirmed`.
pub(super) fn identity_min_confidence(
    l: &Layers<'_>,
    file: Option<String>,
) -> Result<crate::domain::identity::Confidence, ConfigError> {
    use crate::domain::identity::Confidence;
    let Some(raw) = l.text("IDENTITY_MIN_CONFIDENCE", file) else {
        return Ok(Confidence::Probable);
    };
    Confidence::parse_minimum(&raw).ok_or_else(|| {
        invalid(
            "IDENTITY_MIN_CONFIDENCE",
            format!("expected `probable` or `confirmed` (an unconfirmed person is never shown in full), got {raw:?}"),
        )
    })
}

/// `LOG_FORMAT`: `pretty` (default; `text` too) or `json`.
pub(super) fn log_format(l: &Layers<'_>, file: Option<String>) -> Result<LogFormat, ConfigError> {
    match l.text("LOG_FORMAT", file).as_deref().map(str::trim) {
        None | Some("pretty") | Some("text") => Ok(LogFormat::Pretty),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => Err(invalid(
            "LOG_FORMAT",
            format!("expected \"json\" or \"pretty\", got {other:?}"),
        )),
    }
}

/// `METRICS_ADDR` (default `127.0.0.1:9091`, `off` disables), or
/// `METRICS_PORT` alone: that port on loopback.
pub(super) fn metrics_addr(l: &Layers<'_>) -> Result<Option<String>, ConfigError> {
    match l.text("METRICS_ADDR", None).map(|v| v.trim().to_owned()) {
        None => Ok(Some(match l.number::<u16>("METRICS_PORT", None)? {
            Some(port) => format!("127.0.0.1:{port}"),
            None => "127.0.0.1:9091".to_owned(),
        })),
        Some(v) if v.eq_ignore_ascii_case("off") => Ok(None),
        Some(v) if v.parse::<std::net::SocketAddr>().is_err() => Err(invalid(
            "METRICS_ADDR",
            format!("expected host:port (e.g. 127.0.0.1:9091, [::]:9091) or off, got {v:?}"),
        )),
        Some(v) => Ok(Some(v)),
    }
}

/// The API listener's limits (`HTTP_HEADER_TIMEOUT_SECS`, `HTTP_MAX_CONNECTIONS`).
pub(super) fn http_limits(l: &Layers<'_>) -> Result<crate::http::serve::ServeLimits, ConfigError> {
    let timeout: u64 = l.within(
        "HTTP_HEADER_TIMEOUT_SECS",
        None,
        10,
        1..=300,
        "must be between 1 and 300 seconds",
    )?;
    let max: usize = l.within(
        "HTTP_MAX_CONNECTIONS",
        None,
        512,
        1..=100_000,
        "must be between 1 and 100000",
    )?;
    Ok(crate::http::serve::ServeLimits {
        header_read_timeout: std::time::Duration::from_secs(timeout),
        max_connections: max,
        ..crate::http::serve::ServeLimits::default()
    })
}

/// `CLIENT_IP_HEADER` (default `Fly-Client-IP`): a valid header name.
pub(super) fn client_ip_header(
    l: &Layers<'_>,
    file: Option<String>,
) -> Result<String, ConfigError> {
    let h = l
        .text("CLIENT_IP_HEADER", file)
        .map_or_else(|| "Fly-Client-IP".to_owned(), |v| v.trim().to_owned());
    if axum::http::HeaderName::from_bytes(h.as_bytes()).is_err() {
        return Err(invalid("CLIENT_IP_HEADER", "not a valid HTTP header name"));
    }
    Ok(h)
}
