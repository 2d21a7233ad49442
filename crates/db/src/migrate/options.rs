//! How a migration run behaves, and why one failed.

use std::time::Duration;

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("migration {version} ({name}) failed at {step}: {}{}", super::diagnose::describe(.source),
            .rows.as_ref().map(|r| format!("; {r}")).unwrap_or_default())]
    Step {
        version: i64,
        name: &'static str,
        /// The step, by name (a `-- name: …` line in the step, else its
        /// number and first line).
        step: String,
        source: sqlx::Error,
        /// Keys of rows that stand in the way, when a constraint failed.
        rows: Option<String>,
    },
    #[error("migration {version} ({name}) was edited after it was applied (checksum differs); add a new migration instead")]
    Changed { version: i64, name: String },
    #[error("the database has migration {0}, which this binary does not know: it was migrated by a newer version")]
    Unknown(i64),
    #[error("migration {0} has no down path")]
    Irreversible(i64),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// Runner settings.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    /// How long a statement may wait for a lock before giving way (and retrying).
    pub lock_timeout: Duration,
    /// How many times a statement that gave way is retried.
    pub max_lock_retries: u32,
    /// A legacy `core.entity_financials` whose period columns have other
    /// names: (year column, month column) — `HARDENING_FINANCIAL_PERIOD`.
    pub financial_period: Option<(String, Option<String>)>,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        Self {
            lock_timeout: Duration::from_secs(1),
            max_lock_retries: 60,
            financial_period: None,
        }
    }
}

/// One migration's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub version: i64,
    pub name: String,
    pub applied: bool,
}
