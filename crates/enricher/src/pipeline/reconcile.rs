//! The reconciliation sweep (issue 16): a lead exists for the service only
//! if something tells it, and C2S's webhook deliveries can be lost (a deploy,
//! an outage, a delivery C2S never re-sends). Every `RECONCILE_INTERVAL_SECS`
//! one process (a turn shared through the database) lists the C2S leads
//! updated since a stored watermark, less an overlap window, and records each
//! lead the service has never heard of — or whose contacts changed — as an
//! event of source `reconcile`, through the webhook intake's own idempotency
//! keys: a lead both delivered and swept is enqueued once, and its note is
//! posted once whatever the number of jobs (the lead's lease and note claim).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Connection as _;

use super::listing::brasilia;
pub use super::listing::{c2s_time, LeadPages, ListedPage, Stamp};
use crate::domain::lead::{contact_fingerprint, usable_contacts, HookAction, Lead, WebhookEvent};
use crate::providers::c2s::C2sClient;
use crate::providers::error::ProviderError;
use crate::store::events::{self, Source};
use crate::store::settings;

/// The settings rows of the sweep's turn, of its watermark (the latest
/// update seen, moved after every page), and of where a sweep cut short
/// stopped (the next turn resumes there, without the overlap).
const TURN: &str = "last_reconcile_at";
const WATERMARK: &str = "reconcile_watermark";
const RESUME: &str = "reconcile_resume";
/// Pages of one scheduled sweep at most (50 leads each): a turn that finds
/// more stops there, and the next continues from where it stopped.
const MAX_PAGES: u32 = 200;
/// The advisory lock one sweep holds at a time, across processes (a
/// scheduled turn, or `c2s-enrich sync`): "c2seswep" in ASCII.
const SWEEP_LOCK: i64 = 0x6332_7365_7377_6570;

/// How the sweep runs.
#[derive(Debug, Clone, Copy)]
pub struct ReconcileOptions {
    /// How often (`RECONCILE_INTERVAL_SECS`, default 300; zero: never).
    pub every: Duration,
    /// How far before the watermark each sweep starts again
    /// (`RECONCILE_OVERLAP_SECS`, default 600): leads C2S stamps late, or
    /// clocks apart, are still seen.
    pub overlap: Duration,
    /// Only in these hours of São Paulo's day (`RECONCILE_HOURS`, e.g.
    /// `8-20`: from 08:00 to 19:59; `22-6` wraps past midnight); `None`:
    /// at any hour. The first sweep after the window opens covers the
    /// hours it was closed (it starts from the watermark).
    pub hours: Option<Hours>,
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(300),
            overlap: Duration::from_secs(600),
            hours: None,
        }
    }
}

/// A window of hours of the day, `[from, to)` (wrapping past midnight when
/// `to <= from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    pub from: u32,
    pub to: u32,
}

impl Hours {
    /// Whether `at` falls in the window, in São Paulo time.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        use chrono::Timelike;
        let h = at.with_timezone(&brasilia()).hour();
        if self.from < self.to {
            (self.from..self.to).contains(&h)
        } else {
            h >= self.from || h < self.to
        }
    }
}

impl std::str::FromStr for Hours {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("{s:?}: expected hours like 8-20 (from 08:00 until 20:00, São Paulo time)");
        let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
        let (from, to): (u32, u32) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if from > 23 || to > 24 || from == to {
            return Err(bad());
        }
        Ok(Self { from, to: to % 24 })
    }
}

/// What a sweep did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SweepReport {
    /// Leads C2S listed (each once).
    pub listed: usize,
    /// Recorded because nothing had brought them.
    pub unseen: usize,
    /// Recorded because their contacts changed.
    pub changed: usize,
    /// Of those, enqueued (the rest were already recorded meanwhile).
    pub enqueued: usize,
    /// Leads C2S listed that could not be read (no id).
    pub unreadable: usize,
    pub pages: u32,
    /// The latest `updated_at` seen (the next sweep starts from it).
    pub watermark: Option<DateTime<Utc>>,
    /// Stopped at its page limit before the end of the list.
    pub truncated: bool,
}

/// How far one sweep goes, and where it keeps its progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct SweepLimits {
    /// Pages at most (`None`: to the end of the list).
    pub max_pages: Option<u32>,
    /// The settings row the latest update seen is moved to after every page
    /// (a failure later keeps what was done).
    pub checkpoint: Option<&'static str>,
}

/// Lists the leads updated in `[since, until)` ([`LeadPages`]) and records
/// the ones the service must hear of.
pub async fn sweep(
    pool: &sqlx::PgPool,
    c2s: &C2sClient,
    since: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    limits: SweepLimits,
) -> Result<SweepReport, SweepError> {
    let mut report = SweepReport::default();
    let mut pages = LeadPages::new(c2s, Stamp::Updated, since, until);
    while !pages.done() {
        if limits.max_pages.is_some_and(|m| report.pages >= m) {
            report.truncated = true;
            break;
        }
        let Some(page) = pages.next().await? else {
            break;
        };
        report.pages += 1;
        report.unreadable += page.unreadable;
        let last = record_page(pool, &page.leads, &mut report).await?;
        if let (Some(name), Some(at)) = (limits.checkpoint, last) {
            settings::advance_time(pool, name, at).await?;
        }
    }
    Ok(report)
}

/// Records one page's leads that are unseen or changed.
/// Returns the page's latest update.
async fn record_page(
    pool: &sqlx::PgPool,
    leads: &[Lead],
    report: &mut SweepReport,
) -> Result<Option<DateTime<Utc>>, SweepError> {
    report.listed += leads.len();
    let latest = leads
        .iter()
        .filter_map(|l| l.updated_at.as_deref())
        .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_utc())
        .max();
    report.watermark = report.watermark.max(latest);
    let prints: Vec<(String, String)> = leads
        .iter()
        .map(|l| {
            let (phone, email, _) = usable_contacts(l);
            (
                l.id.as_str().to_owned(),
                contact_fingerprint(phone.as_ref(), email.as_ref()),
            )
        })
        .collect();
    let verdicts = events::unseen_or_changed(pool, &prints).await?;
    let mut found = Vec::new();
    for (lead, verdict) in leads.iter().zip(verdicts) {
        let Some(changed) = verdict else { continue };
        let (action, reason) = if changed {
            report.changed += 1;
            (HookAction::OnUpdateLead, "contacts")
        } else {
            report.unseen += 1;
            (HookAction::OnCreateLead, "unseen")
        };
        crate::metrics::METRICS.reconciled(reason);
        found.push(WebhookEvent {
            action: Some(action),
            lead: lead.clone(),
            // What is kept for the event: where it came from, never the
            // lead's personal data (the run reads the lead from C2S).
            raw: serde_json::json!({
                "source": "reconcile",
                "lead_id": lead.id.as_str(),
                "updated_at": lead.updated_at,
            }),
        });
    }
    if !found.is_empty() {
        let recorded = events::record_events(pool, &found, Source::Reconcile).await?;
        report.enqueued += recorded.iter().filter(|r| r.job_id.is_some()).count();
    }
    Ok(latest)
}

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("listing C2S leads failed: {0}")]
    C2s(#[from] ProviderError),
    #[error("recording swept leads failed: {0}")]
    Database(#[from] sqlx::Error),
}

/// One scheduled sweep, if this process has the turn and no other sweep
/// runs: from the stored watermark less the overlap (the first time, from
/// `now − overlap`: history is the back-fill's), or exactly where a sweep
/// cut short stopped; the watermark moves after every page. `None` when
/// another process had the turn or is sweeping.
pub async fn sweep_turn(
    pool: &sqlx::PgPool,
    c2s: &C2sClient,
    options: ReconcileOptions,
) -> Result<Option<SweepReport>, SweepError> {
    if !settings::claim_turn(pool, TURN, options.every).await? {
        return Ok(None);
    }
    let Some(lock) = SweepLock::try_take(pool).await? else {
        return Ok(None);
    };
    let result = swept_turn(pool, c2s, options).await;
    lock.release().await;
    result.map(Some)
}

/// The turn's sweep, under the lock.
async fn swept_turn(
    pool: &sqlx::PgPool,
    c2s: &C2sClient,
    options: ReconcileOptions,
) -> Result<SweepReport, SweepError> {
    let overlap = chrono::Duration::from_std(options.overlap).unwrap_or_default();
    let from = match settings::time(pool, RESUME).await? {
        Some(resume) => resume,
        None => {
            settings::time(pool, WATERMARK)
                .await?
                .unwrap_or_else(Utc::now)
                - overlap
        }
    };
    let limits = SweepLimits {
        max_pages: Some(MAX_PAGES),
        checkpoint: Some(WATERMARK),
    };
    let swept = sweep(pool, c2s, from, None, limits).await;
    let watermark = settings::time(pool, WATERMARK).await?;
    match &swept {
        Ok(r) if !r.truncated => settings::clear(pool, RESUME).await?,
        // Cut short, or failed: the next turn resumes where this stopped.
        _ => settings::set_time(pool, RESUME, watermark.unwrap_or(from)).await?,
    }
    if watermark.is_none() {
        // Nothing listed the first time: start from now.
        settings::advance_time(pool, WATERMARK, Utc::now()).await?;
    }
    swept
}

/// The lock one sweep holds, across processes: a session lock on a
/// connection of its own, so a process that dies lets it go with its
/// connection.
#[derive(Debug)]
pub struct SweepLock(sqlx::pool::PoolConnection<sqlx::Postgres>);

impl SweepLock {
    /// The lock, or `None` when another sweep holds it.
    pub async fn try_take(pool: &sqlx::PgPool) -> Result<Option<Self>, sqlx::Error> {
        let mut conn = pool.acquire().await?;
        let taken: Option<bool> =
            sqlx::query_scalar!("SELECT pg_try_advisory_lock($1)", SWEEP_LOCK)
                .fetch_one(&mut *conn)
                .await?;
        Ok(taken.unwrap_or(false).then_some(Self(conn)))
    }

    /// Lets it go (closing the connection if that fails, which lets it go too).
    pub async fn release(mut self) {
        let released = sqlx::query_scalar!("SELECT pg_advisory_unlock($1)", SWEEP_LOCK)
            .fetch_one(&mut *self.0)
            .await;
        if !matches!(released, Ok(Some(true))) {
            let _ = self.0.detach().close().await;
        }
    }
}

/// The sweep every `options.every`, until `shutdown` (what `serve` and
/// `worker` run beside the workers).
pub async fn scheduled(
    pool: sqlx::PgPool,
    c2s: std::sync::Arc<crate::providers::Providers>,
    options: ReconcileOptions,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let (pool, c2s) = (&pool, &c2s.c2s);
    let max_nap = Duration::from_secs(300);
    settings::repeat(options.every, max_nap, shutdown, move || async move {
        if !options.hours.is_none_or(|h| h.contains(Utc::now())) {
            return;
        }
        match sweep_turn(pool, c2s, options).await {
            Ok(Some(r)) => tracing::info!(
                listed = r.listed,
                unseen = r.unseen,
                changed = r.changed,
                enqueued = r.enqueued,
                pages = r.pages,
                truncated = r.truncated,
                "reconciliation sweep done"
            ),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "reconciliation sweep failed; the next turn retries")
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").to_utc()
    }

    #[test]
    fn business_hours_are_read_in_sao_paulo_time_and_may_wrap_past_midnight() {
        let day: Hours = "8-20".parse().expect("hours");
        assert!(
            day.contains(at("2026-12-07T11:00:00Z")),
            "08:00 in São Paulo"
        );
        assert!(!day.contains(at("2026-12-07T10:59:00Z")), "07:59");
        assert!(!day.contains(at("2026-12-07T23:00:00Z")), "20:00");
        let night: Hours = "22-6".parse().expect("hours");
        assert!(night.contains(at("2026-12-08T02:00:00Z")), "23:00");
        assert!(night.contains(at("2026-12-08T08:30:00Z")), "05:30");
        assert!(!night.contains(at("2026-12-08T12:00:00Z")), "09:00");
        let all_but: Hours = "0-24".parse().expect("hours");
        assert_eq!(all_but, Hours { from: 0, to: 0 });
        for bad in ["", "8", "8-8", "25-3", "a-b", "8-25"] {
            assert!(bad.parse::<Hours>().is_err(), "{bad:?}");
        }
    }
}
