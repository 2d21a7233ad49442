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

use chrono::{DateTime, FixedOffset, Utc};
use sqlx::Connection as _;

use crate::domain::lead::{contact_fingerprint, usable_contacts, HookAction, Lead, WebhookEvent};
use crate::providers::c2s::{C2sClient, LeadQuery};
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
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(300),
            overlap: Duration::from_secs(600),
        }
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

/// São Paulo's offset: C2S's own, and the form its filters are sent in.
fn brasilia() -> FixedOffset {
    FixedOffset::west_opt(3 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero"))
}

/// A time as C2S's filters take it (`2026-11-20T13:02:11-03:00`).
pub fn c2s_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&brasilia())
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// Which of a lead's times a listing pages by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// `created_at`: history (the back-fill), which never moves.
    Created,
    /// `updated_at`: what changed lately (the sweep).
    Updated,
}

/// C2S's leads with a time in `[from, until)`, oldest first, page by page
/// (50 each, the C2S client's call policy — pacing, 429 and `Retry-After` —
/// for each). Pages are taken by time, not by number: each next page starts
/// at the last time seen, so leads that move to the end while the listing
/// runs (our own notes update them) shift nothing out of view; a page whose
/// leads all share one time is followed by the next page of that time.
/// Leads at a page's boundary are listed again and left out.
#[derive(Debug)]
pub struct LeadPages<'a> {
    c2s: &'a C2sClient,
    by: Stamp,
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    page: u32,
    seen: std::collections::HashSet<String>,
    done: bool,
}

/// One page of a listing.
#[derive(Debug, Default)]
pub struct ListedPage {
    /// The leads not listed before.
    pub leads: Vec<Lead>,
    /// Leads C2S listed that could not be read (no id).
    pub unreadable: usize,
    /// The page's latest time (by the listing's stamp).
    pub last: Option<DateTime<Utc>>,
    /// How many leads match, when C2S says.
    pub total: Option<u64>,
}

/// A lead's time, by `by`.
fn stamp_of(lead: &Lead, by: Stamp) -> Option<DateTime<Utc>> {
    let raw = match by {
        Stamp::Created => lead.created_at.as_deref(),
        Stamp::Updated => lead.updated_at.as_deref(),
    }?;
    DateTime::parse_from_rfc3339(raw).ok().map(|t| t.to_utc())
}

impl<'a> LeadPages<'a> {
    pub fn new(
        c2s: &'a C2sClient,
        by: Stamp,
        from: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            c2s,
            by,
            from,
            until,
            page: 1,
            seen: Default::default(),
            done: false,
        }
    }

    /// Nothing more to list.
    pub fn done(&self) -> bool {
        self.done
    }

    /// The next page; `None` after the last.
    pub async fn next(&mut self) -> Result<Option<ListedPage>, ProviderError> {
        if self.done {
            return Ok(None);
        }
        let (from, until) = (Some(c2s_time(self.from)), self.until.map(c2s_time));
        let mut query = LeadQuery {
            page: self.page,
            perpage: 50,
            ..LeadQuery::default()
        };
        match self.by {
            Stamp::Created => {
                query.sort = Some("created_at".into());
                (query.created_gte, query.created_lt) = (from, until);
            }
            Stamp::Updated => {
                query.sort = Some("updated_at".into());
                (query.updated_gte, query.updated_lt) = (from, until);
            }
        }
        let listed = self.c2s.list_leads(&query).await?;
        let count = listed.leads.len() + listed.unreadable;
        let last = listed
            .leads
            .iter()
            .filter_map(|l| stamp_of(l, self.by))
            .max();
        let leads = listed
            .leads
            .into_iter()
            .filter(|l| self.seen.insert(l.id.as_str().to_owned()))
            .collect();
        if count < listed.perpage as usize {
            self.done = true;
        } else {
            match last.filter(|l| *l > self.from) {
                Some(l) => (self.from, self.page) = (l, 1),
                None => self.page += 1,
            }
        }
        Ok(Some(ListedPage {
            leads,
            unreadable: listed.unreadable,
            last,
            total: listed.total,
        }))
    }
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
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if options.every.is_zero() {
        return;
    }
    loop {
        match sweep_turn(&pool, &c2s.c2s, options).await {
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
        // Check a few times per period so a crashed sweeper's turn passes on.
        let nap = (options.every / 4).clamp(Duration::from_secs(1), Duration::from_secs(300));
        if tokio::time::timeout(nap, shutdown.changed()).await.is_ok() {
            return;
        }
    }
}
