//! The two layers a setting comes from — the environment first, then the
//! optional TOML file — and how one value is read from them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::{invalid, ConfigError};

/// The optional TOML file: every key optional, same meaning as the variables.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) database_url: Option<String>,
    pub(super) embedded_pg_dir: Option<PathBuf>,
    pub(super) embedded_pg_user: Option<String>,
    pub(super) db_max_connections: Option<u32>,
    pub(super) db_intake_connections: Option<u32>,
    pub(super) port: Option<u16>,
    pub(super) c2s_base_url: Option<String>,
    pub(super) c2s_token: Option<String>,
    pub(super) diretrix_base_url: Option<String>,
    pub(super) diretrix_user: Option<String>,
    pub(super) diretrix_pass: Option<String>,
    pub(super) work_api_base_url: Option<String>,
    pub(super) work_api: Option<String>,
    pub(super) webhook_secret: Option<String>,
    pub(super) google_ads_webhook_key: Option<String>,
    pub(super) income_factor: Option<String>,
    pub(super) c2s_message_max_chars: Option<usize>,
    pub(super) identity_min_confidence: Option<String>,
    pub(super) c2s_description_max_length: Option<usize>,
    pub(super) c2s_seller_id: Option<String>,
    pub(super) cors_allowed_origins: Option<String>,
    pub(super) trusted_proxies: Option<String>,
    pub(super) client_ip_header: Option<String>,
    pub(super) log_format: Option<String>,
}

/// Reads one layer value: environment first, then the file, then nothing.
pub(super) struct Layers<'a> {
    pub(super) file: FileConfig,
    pub(super) env: &'a dyn Fn(&str) -> Option<String>,
}

impl Layers<'_> {
    pub(super) fn env(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.trim().is_empty())
    }

    pub(super) fn text(&self, name: &str, file: Option<String>) -> Option<String> {
        self.env(name).or(file.filter(|v| !v.trim().is_empty()))
    }

    /// Days, at most 100 years (0 = for ever where the setting allows it).
    pub(super) fn days(&self, name: &str, default: u32) -> Result<u32, ConfigError> {
        let d: u32 = self.number(name, None)?.unwrap_or(default);
        if d > 36_500 {
            return Err(invalid(name, "at most 36500 days"));
        }
        Ok(d)
    }

    /// A number (default `default`) that must lie in `range`; `message`
    /// says what is allowed.
    pub(super) fn within<T>(
        &self,
        name: &str,
        file: Option<T>,
        default: T,
        range: std::ops::RangeInclusive<T>,
        message: &str,
    ) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd,
    {
        let v = self.number(name, file)?.unwrap_or(default);
        if !range.contains(&v) {
            return Err(invalid(name, message));
        }
        Ok(v)
    }

    pub(super) fn number<T: std::str::FromStr>(
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

pub(super) fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
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
