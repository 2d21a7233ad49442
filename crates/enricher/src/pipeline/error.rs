//! Why a run stops before completing, and what it carries.

use crate::providers::ProviderError;
use crate::store::lease::Fence;
use crate::store::ledger::LedgerError;

/// Why a run stopped before completing.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// C2S does not know this lead.
    #[error("lead not found in C2S")]
    LeadNotFound,
    /// Worth retrying later (provider outage, rate limit, database hiccup).
    #[error("retryable: {0}")]
    Retryable(#[source] Cause),
    /// A provider refuses us (quota, token): wait for an operator, do not burn attempts.
    #[error("provider paused: {reason}")]
    Paused {
        provider: &'static str,
        reason: String,
    },
    /// A paid call would pass a credit budget: new leads pause the provider
    /// for everyone until the period ends; retries and the back-fill (their
    /// share spent) wait without pausing anyone.
    #[error("{0}")]
    OverBudget(crate::store::ledger::Refusal),
    /// A provider's circuit is open (it failed repeatedly): wait for its
    /// cool-down without spending an attempt — an outage must not kill jobs,
    /// nor turn into a retry storm.
    #[error("provider {provider} unavailable (circuit open); deferred")]
    Deferred { provider: &'static str },
    /// Will not succeed by retrying.
    #[error("failed: {0}")]
    Fatal(#[source] Cause),
    /// Another run holds the lead's lease (a worker, the API or `enrich`).
    #[error("the lead is being processed by another run right now")]
    LeadBusy,
    /// This run's lease was taken by someone else (it was presumed dead):
    /// it stopped before its next outside effect; the new holder goes on.
    #[error("the run lost its lease to another run and stopped")]
    LeaseLost,
}

/// Why a run failed: a message without personal data, and the error it came
/// from kept as its source (the whole chain reaches whoever logs it).
#[derive(Debug)]
pub struct Cause {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Cause {
    /// `context: error`, keeping `error` as the source.
    pub fn of<E>(context: &str, error: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self {
            message: if context.is_empty() {
                error.to_string()
            } else {
                format!("{context}: {error}")
            },
            source: Some(Box::new(error)),
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<String> for Cause {
    fn from(message: String) -> Self {
        Self {
            message,
            source: None,
        }
    }
}

impl From<&str> for Cause {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

impl From<ProviderError> for RunError {
    fn from(e: ProviderError) -> Self {
        match e {
            ProviderError::QuotaExhausted { .. }
            | ProviderError::Unauthorized { .. }
            | ProviderError::ModuleUnavailable { .. } => Self::Paused {
                provider: e.provider(),
                reason: e.to_string(),
            },
            ProviderError::CircuitOpen { provider } => Self::Deferred { provider },
            e if e.is_retryable() => Self::Retryable(Cause::of("", e)),
            e => Self::Fatal(Cause::of("", e)),
        }
    }
}

impl From<LedgerError> for RunError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Provider(p) => p.into(),
            LedgerError::OverBudget(r) => Self::OverBudget(r),
            // A recorded answer that cannot be read stays so until it
            // expires: asking again cannot mend it.
            e @ LedgerError::Corrupt(_) => Self::Fatal(Cause::of("", e)),
            other => Self::Retryable(Cause::of("", other)),
        }
    }
}

impl From<sqlx::Error> for RunError {
    fn from(e: sqlx::Error) -> Self {
        Self::Retryable(Cause::of("database", e))
    }
}

/// Stops a run whose lease was taken (raised by its lease keeper).
pub(crate) fn fence_check(fence: &Fence) -> Result<(), RunError> {
    if fence.is_lost() {
        return Err(RunError::LeaseLost);
    }
    Ok(())
}

/// A recorded JSON that cannot be read, as a fatal run error without the
/// value serde quotes.
pub(crate) fn unreadable(what: &str, e: &serde_json::Error) -> RunError {
    RunError::Fatal(Cause::from(format!(
        "the lead's recorded {what} cannot be read ({:?} error at line {}, column {}); the run stops rather than go on without it",
        e.classify(),
        e.line(),
        e.column()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_error_keeps_the_error_it_came_from() {
        use std::error::Error as _;
        let err = RunError::from(sqlx::Error::RowNotFound);
        assert!(matches!(err, RunError::Retryable(_)));
        assert_eq!(
            err.to_string(),
            format!("retryable: database: {}", sqlx::Error::RowNotFound)
        );
        let cause = err.source().expect("the cause");
        let root = cause.source().expect("the database error");
        assert!(root.downcast_ref::<sqlx::Error>().is_some());
        // A reason alone has no source.
        let plain = RunError::Fatal("more than two people resolved".into());
        assert!(plain.source().and_then(|c| c.source()).is_none());
    }
}
