//! A configuration problem, named by the variable at fault.

use std::path::PathBuf;

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

pub(super) fn invalid(variable: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        variable: variable.to_owned(),
        message: message.into(),
    }
}
