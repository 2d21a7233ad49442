//! Logging: human-readable on a terminal, JSON with `LOG_FORMAT=json`; `RUST_LOG`
//! filters (by default `info` with sqlx's per-statement logs kept at `warn`,
//! or for the lab commands only warnings — see `Command::default_log_filter`).

use std::io::IsTerminal;

use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

/// Installs the global subscriber. Logs go to stderr so that command output on
/// stdout (`db-url`, reports) stays clean for pipes.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // A second init (tests) keeps the first subscriber: ignoring the error is right.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.with_target(false).try_init(),
    };
}
