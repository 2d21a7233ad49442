//! The settings of what the sales agent is told beside the dossier: the
//! lead tier's rules, the alerts and the C2S tags.

use std::sync::Arc;

use secrecy::SecretString;

use super::error::{invalid, ConfigError};
use super::layers::Layers;
use super::settings::AlertConfig;
use crate::domain::tier::RuleSet;

/// `TIER_RULES_FILE`: the tier's rules (TOML, docs/lead-tier.md); the
/// shipped default when unset. Read and checked whole at start-up.
pub(super) fn tier_rules(l: &Layers<'_>) -> Result<Arc<RuleSet>, ConfigError> {
    let Some(path) = l.env("TIER_RULES_FILE") else {
        return Ok(Arc::new(RuleSet::builtin()));
    };
    let text = std::fs::read_to_string(path.trim())
        .map_err(|e| invalid("TIER_RULES_FILE", format!("cannot read {path:?}: {e}")))?;
    RuleSet::parse(&text)
        .map(Arc::new)
        .map_err(|e| invalid("TIER_RULES_FILE", e.to_string()))
}

/// `PRIVACY_FILE`: the controller and the purposes' texts (TOML, runbook
/// §9b); the shipped default when unset. Checked whole at
/// start-up.
pub(super) fn privacy(l: &Layers<'_>) -> Result<Arc<crate::domain::privacy::Privacy>, ConfigError> {
    let Some(path) = l.env("PRIVACY_FILE") else {
        return Ok(Arc::new(crate::domain::privacy::Privacy::builtin()));
    };
    let text = std::fs::read_to_string(path.trim())
        .map_err(|e| invalid("PRIVACY_FILE", format!("cannot read {path:?}: {e}")))?;
    crate::domain::privacy::Privacy::parse(&text)
        .map(Arc::new)
        .map_err(|e| invalid("PRIVACY_FILE", e.to_string()))
}

pub(super) fn alerts(l: &Layers<'_>, rules: &RuleSet) -> Result<AlertConfig, ConfigError> {
    let min_tier = min_tier(l, rules)?;
    let slack_webhook = match l.env("SLACK_WEBHOOK_URL") {
        Some(url) => Some(SecretString::from(checked_url("SLACK_WEBHOOK_URL", &url)?)),
        None => None,
    };
    let lead_url = l
        .env("C2S_LEAD_URL")
        .unwrap_or_else(|| "https://app.contact2sale.com/leads/{lead_id}".to_owned());
    let sample = lead_url.replace("{lead_id}", "0123456789abcdef0123456789abcdef");
    let parsed = reqwest::Url::parse(sample.trim()).ok();
    if !lead_url.contains("{lead_id}")
        || !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https"))
    {
        return Err(invalid(
            "C2S_LEAD_URL",
            "must be an http(s) URL containing {lead_id}",
        ));
    }
    let tag_prefix = match l.env("C2S_TAGS").map(|v| v.trim().to_ascii_lowercase()) {
        None => Some(()),
        Some(v) if v == "on" => Some(()),
        Some(v) if v == "off" => None,
        Some(_) => return Err(invalid("C2S_TAGS", "expected on or off")),
    }
    .map(|()| {
        l.env("TIER_TAG_PREFIX")
            .unwrap_or_else(|| "Perfil ".to_owned())
    });
    Ok(AlertConfig {
        min_tier,
        slack_webhook,
        email: email(l)?,
        lead_url,
        tag_prefix,
        source_window: l.within(
            "SOURCE_HEALTH_WINDOW",
            None,
            50,
            0..=10_000,
            "must be between 0 (off) and 10000 answers",
        )?,
        source_every: std::time::Duration::from_secs(l.within(
            "SOURCE_HEALTH_SECS",
            None,
            600,
            10..=86_400,
            "must be between 10 and 86400 seconds",
        )?),
        timeout: std::time::Duration::from_secs(l.within(
            "ALERT_TIMEOUT_SECS",
            None,
            10,
            1..=120,
            "must be between 1 and 120 seconds",
        )?),
    })
}

/// `ALERT_MIN_TIER`: a tier of the rules, or `off`; the best tier by default.
fn min_tier(l: &Layers<'_>, rules: &RuleSet) -> Result<Option<String>, ConfigError> {
    Ok(match l.env("ALERT_MIN_TIER").map(|t| t.trim().to_owned()) {
        Some(t) if t.eq_ignore_ascii_case("off") => None,
        Some(t) => {
            if rules.rank(&t).is_none() {
                let names: Vec<&str> = rules.tiers.iter().map(|t| t.name.as_str()).collect();
                return Err(invalid(
                    "ALERT_MIN_TIER",
                    format!("not a tier of the rules ({}), nor off", names.join(", ")),
                ));
            }
            Some(t)
        }
        None => rules.tiers.first().map(|t| t.name.clone()),
    })
}

/// An https URL, or http to this machine (a relay or a test receiver).
fn checked_url(name: &str, raw: &str) -> Result<String, ConfigError> {
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|_| invalid(name, "not a URL (the value is not shown: it is a secret)"))?;
    let local = matches!(
        url.host_str(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    );
    match url.scheme() {
        "https" => Ok(url.to_string()),
        "http" if local => Ok(url.to_string()),
        _ => Err(invalid(
            name,
            "must be an https URL (http only to this machine)",
        )),
    }
}

/// E-mail alerts: on when `ALERT_EMAIL_TO` is set, which then needs
/// `SMTP_HOST` and `ALERT_EMAIL_FROM`.
fn email(l: &Layers<'_>) -> Result<Option<crate::notify::EmailConfig>, ConfigError> {
    use crate::notify::SmtpTls;
    let Some(to) = l.env("ALERT_EMAIL_TO") else {
        return Ok(None);
    };
    let mailbox = |name: &str, raw: &str| {
        raw.trim()
            .parse::<lettre::message::Mailbox>()
            .map_err(|_| invalid(name, format!("{raw:?} is not an e-mail address")))
    };
    let to = to
        .split(',')
        .filter(|t| !t.trim().is_empty())
        .map(|t| mailbox("ALERT_EMAIL_TO", t))
        .collect::<Result<Vec<_>, _>>()?;
    if to.is_empty() {
        return Err(invalid("ALERT_EMAIL_TO", "names no recipient"));
    }
    let host = l
        .env("SMTP_HOST")
        .ok_or_else(|| invalid("SMTP_HOST", "required when ALERT_EMAIL_TO is set"))?;
    let from = l
        .env("ALERT_EMAIL_FROM")
        .ok_or_else(|| invalid("ALERT_EMAIL_FROM", "required when ALERT_EMAIL_TO is set"))?;
    let tls: SmtpTls = match l.env("SMTP_TLS") {
        Some(raw) => raw.parse().map_err(|e: String| invalid("SMTP_TLS", e))?,
        None => SmtpTls::Starttls,
    };
    let host = host.trim().to_owned();
    let local = matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1" | "[::1]");
    if tls == SmtpTls::None && !local {
        return Err(invalid(
            "SMTP_TLS",
            "none is allowed only to a relay on this machine (127.0.0.1, localhost): the login and the alerts would cross the network in clear",
        ));
    }
    let (user, pass) = (l.env("SMTP_USER"), l.env("SMTP_PASS"));
    if user.is_some() != pass.is_some() {
        return Err(invalid(
            "SMTP_USER",
            "SMTP_USER and SMTP_PASS go together (set both, or neither for a relay without login)",
        ));
    }
    let default_port = match tls {
        SmtpTls::Starttls => 587,
        SmtpTls::Tls => 465,
        SmtpTls::None => 25,
    };
    Ok(Some(crate::notify::EmailConfig {
        host,
        port: l.within(
            "SMTP_PORT",
            None,
            default_port,
            1..=65_535,
            "must be a port number",
        )?,
        tls,
        user,
        pass: pass.map(SecretString::from),
        from: mailbox("ALERT_EMAIL_FROM", &from)?,
        to,
    }))
}

/// `GOOGLE_ADS_PRODUCTS_FILE`: the ad → product map (TOML `[[products]]`,
/// runbook "Google Ads products"); none when unset.
pub(super) fn google_ads_products(
    l: &Layers<'_>,
) -> Result<Arc<crate::domain::products::ProductMap>, ConfigError> {
    let Some(path) = l.env("GOOGLE_ADS_PRODUCTS_FILE") else {
        return Ok(Arc::default());
    };
    let text = std::fs::read_to_string(path.trim()).map_err(|e| {
        invalid(
            "GOOGLE_ADS_PRODUCTS_FILE",
            format!("cannot read {path:?}: {e}"),
        )
    })?;
    crate::domain::products::ProductMap::parse(&text)
        .map(Arc::new)
        .map_err(|e| invalid("GOOGLE_ADS_PRODUCTS_FILE", e))
}

/// `CNPJ_LOOKUP`: `brasilapi` (default) or `off`; `CNPJ_BASE_URL` (default
/// BrasilAPI's), and the `CNPJ_*` call policy (`_TIMEOUT_SECS`,
/// `_MAX_RETRIES`, `_MIN_INTERVAL_MS`, …).
pub(super) fn cnpj(l: &Layers<'_>) -> Result<Option<super::ProviderConfig>, ConfigError> {
    match l
        .env("CNPJ_LOOKUP")
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("brasilapi" | "on") => {}
        Some("off") => return Ok(None),
        Some(_) => return Err(invalid("CNPJ_LOOKUP", "expected brasilapi or off")),
    }
    Ok(Some(super::ProviderConfig {
        base_url: super::values::base_url(
            l,
            "CNPJ_BASE_URL",
            None,
            "https://brasilapi.com.br/api",
        )?,
        user: None,
        secret: None,
        policy: super::values::policy(l, "CNPJ", crate::providers::policy::Policy::cnpj_default())?,
    }))
}
