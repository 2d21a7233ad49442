//! What the ledger is asked for and answers: call kinds, freshness, answers,
//! errors; and the row a call is recorded as.

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::providers::ProviderError;

/// The advisory lock (key, namespace 7) an erasure holds exclusively and an
/// answer being recorded holds shared.
pub const ERASURE_LOCK: &str = "erasure";

/// How long answers stay fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freshness {
    /// A discovery lookup (phone/e-mail → CPFs) that found someone.
    pub discovery: Duration,
    /// A dossier.
    pub dossier: Duration,
    /// Any lookup that found nothing.
    pub not_found: Duration,
}

impl Default for Freshness {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        Self {
            discovery: Duration::from_secs(30 * DAY),
            dossier: Duration::from_secs(30 * DAY),
            not_found: Duration::from_secs(7 * DAY),
        }
    }
}

/// What a lookup is, for the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallKind {
    pub provider: &'static str,
    pub module: &'static str,
    /// Credits one paid call costs.
    pub credits: i32,
    /// Dossier (vs discovery) freshness.
    pub dossier: bool,
}

/// A company's name and status by CNPJ from the public source: free (0
/// credits), kept as long as a dossier.
pub const CNPJ_COMPANY: CallKind = CallKind {
    provider: "brasilapi",
    module: "cnpj",
    credits: 0,
    dossier: true,
};

/// The answer and whether it was paid for now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Looked<T> {
    /// `None`: the provider has nothing for this query.
    pub value: Option<T>,
    /// Answered from the ledger (free).
    pub cached: bool,
    /// When the provider gave this answer (a cached one keeps its own time).
    pub answered_at: chrono::DateTime<chrono::Utc>,
}

/// Why a lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("ledger database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("cached response does not match the expected shape: {0}")]
    Corrupt(String),
    /// The call would pass a credit budget: not made.
    #[error("{0}")]
    OverBudget(super::budget::Refusal),
}

/// How long a reservation lives without a heartbeat; the holder renews it
/// every fifth of that while its call runs, on its own two-connection pool
/// with a short acquire timeout, so a busy main pool cannot delay a renewal
/// past the expiry. Short, because a crashed
/// holder's keys wait this long before anyone may ask again; long enough to
/// ride out a few seconds of database trouble without a second payment.
pub const RESERVATION_TTL: Duration = Duration::from_secs(15);

/// Aborts a background task when dropped.
pub(super) struct AbortOnDrop(pub(super) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Tries to record a paid answer before giving up (about 12 s in all).
pub(super) const RECORD_ATTEMPTS: u32 = 8;

/// One provider call as the ledger records it.
pub(super) struct CallRow {
    pub(super) label: &'static str,
    pub(super) error_kind: Option<&'static str>,
    pub(super) latency: i32,
    pub(super) credits: i32,
    pub(super) response: Option<serde_json::Value>,
    pub(super) ttl: Option<Duration>,
    pub(super) http_status: Option<i32>,
}

/// What checking for an answer and taking the reservation found.
pub(super) enum Reservation<T> {
    /// Ours: make the call.
    Mine(uuid::Uuid),
    /// An answer is recorded (the hit is recorded too).
    Answered(Looked<T>),
    /// Another live holder is making the call.
    Held,
}

/// A recorded answer (`found` with its response, or `not_found`) as a lookup's.
pub(super) fn answer_of<T: DeserializeOwned>(
    outcome: &str,
    response: Option<serde_json::Value>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Looked<T>, LedgerError> {
    let value = match (outcome, response) {
        ("not_found", _) => None,
        (_, Some(json)) => {
            Some(serde_json::from_value(json).map_err(|e| LedgerError::Corrupt(e.to_string()))?)
        }
        (_, None) => return Err(LedgerError::Corrupt("found without a response".into())),
    };
    Ok(Looked {
        value,
        cached: true,
        answered_at: at,
    })
}
