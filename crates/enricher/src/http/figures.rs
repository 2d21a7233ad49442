//! The status page's figures, and the caches that keep them from being
//! computed more often than their sources change.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::store::rollups::{ProviderHealth, Queue, Totals};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DqCheck {
    pub name: String,
    pub violations: i64,
    pub passed: bool,
}

/// Everything the status page shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Status {
    pub generated_at: chrono::DateTime<chrono::Utc>,
    pub version: &'static str,
    pub last_24h: Totals,
    pub last_7d: Totals,
    pub queue: Queue,
    pub providers: Vec<ProviderHealth>,
    /// Credits spent this day and month against each budget set
    /// (`<P>_DAILY_CREDITS`, `<P>_MONTHLY_CREDITS`); empty when none is.
    pub budgets: Vec<crate::store::ledger::BudgetState>,
    /// Leads received per hour over the last 24 hours, oldest first (24 values).
    pub leads_per_hour: Vec<i64>,
    pub data_quality: Vec<DqCheck>,
    pub data_quality_checked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `false`: C2S webhooks are accepted unsigned (no `WEBHOOK_SECRET`).
    pub webhooks_signed: bool,
}

/// When the checks last ran (monotonic and wall clock) and what they found.
type DqEntry = (
    Instant,
    chrono::DateTime<chrono::Utc>,
    std::sync::Arc<crate::ops::dq::Report>,
);

/// Cached data-quality results (the checks scan whole tables).
#[derive(Debug, Default)]
pub struct DqCache(pub(super) tokio::sync::Mutex<Option<DqEntry>>);

/// The status figures are public: however often they are asked for, they
/// are computed at most once per this.
const STATUS_CACHE: Duration = Duration::from_secs(10);

/// The last figures computed, and the right to compute them: one request
/// at a time computes; while it does, the others get the last figures (or,
/// before there are any, wait for it).
#[derive(Debug, Default)]
pub struct StatusCache {
    last: std::sync::Mutex<Option<(Instant, Status)>>,
    pub(super) computing: tokio::sync::Mutex<()>,
}

impl StatusCache {
    pub(super) fn get(&self, fresh_only: bool) -> Option<Status> {
        let last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        last.as_ref()
            .filter(|(at, _)| !fresh_only || at.elapsed() < STATUS_CACHE)
            .map(|(_, s)| s.clone())
    }

    pub(super) fn put(&self, status: &Status) {
        *self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((Instant::now(), status.clone()));
    }
}
