//! The back-fill (issue 16): historical C2S leads enriched under a credit
//! limit. It pages through the leads created in `[since, until)` (oldest
//! first, the C2S call policy per page), runs each lead the service has not
//! completed through the pipeline — in this process, one lead at a time,
//! its paid calls charged to the back-fill's share of the budgets and to
//! `--max-credits` — and keeps a checkpoint in `enrich.settings` after every
//! page, so a run stopped (Ctrl-C, the limit, an error) continues where it
//! stopped. Contacts are paid for once: the ledger answers a phone, e-mail
//! or CPF already asked for (by this run or any other) without paying, so
//! leads of one person cost one set of lookups and one dossier.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};

use super::reconcile::{LeadPages, Stamp};
use super::setup::Pipeline;
use super::RunError;
use crate::domain::identity::Source;
use crate::domain::lead::{usable_contacts, Lead};
use crate::providers::c2s::C2sClient;
use crate::store::lease::NotePolicy;
use crate::store::ledger::{Period, Spender};
use crate::store::settings;

/// Which back-filled leads get their note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Notes {
    /// Leads still in play (default): not in a closed status.
    #[default]
    Open,
    None,
    All,
}

impl std::str::FromStr for Notes {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(Self::Open),
            "none" => Ok(Self::None),
            "all" => Ok(Self::All),
            other => Err(format!("{other:?}: use open, none or all")),
        }
    }
}

pub use crate::domain::lead::{is_open, CLOSED_STATUSES};

/// What to back-fill.
#[derive(Debug, Clone)]
pub struct BackfillOptions {
    pub since: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
    pub notes: Notes,
    /// List and estimate only: no lead run, nothing paid.
    pub dry_run: bool,
}

/// What a back-fill did (or, dry, would do).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BackfillReport {
    pub listed: usize,
    /// Completed before (by the service or an earlier back-fill): skipped.
    pub already_done: usize,
    pub processed: usize,
    pub enriched: usize,
    pub notes_posted: usize,
    /// Runs that failed (left for the next back-fill or the workers).
    pub failed: usize,
    pub pages: u32,
    /// Why it stopped before the end, if it did.
    pub stopped: Option<String>,
    /// Where it continued from (an earlier run's checkpoint).
    pub resumed_from: Option<DateTime<Utc>>,
    /// Leads C2S listed that could not be read (no id): never run.
    pub unreadable: usize,
    /// Dry run: paid lookups it would make at most (contacts not answered
    /// in the ledger, once each, per source).
    pub lookups_needed: usize,
    /// Dry run: dossiers it would buy, about one per distinct pair of
    /// contacts (a person).
    pub dossiers_about: usize,
}

/// How far a back-fill has come, for a progress display.
pub trait Progress {
    /// The listing says how many leads match.
    fn total(&self, leads: u64);
    /// One lead more is dealt with.
    fn lead_done(&self, report: &BackfillReport);
}

/// Where a back-fill of this window keeps its checkpoint.
fn checkpoint_name(o: &BackfillOptions) -> String {
    format!(
        "backfill_checkpoint:{}:{}",
        o.since.to_rfc3339(),
        o.until.map(|u| u.to_rfc3339()).unwrap_or_default()
    )
}

/// Runs (or continues) the back-fill of `o`'s window; stops early when
/// `stop` is raised (Ctrl-C), when a paid call would pass `--max-credits`
/// or the back-fill's budget share.
pub async fn run(
    pipeline: &Pipeline,
    c2s: &C2sClient,
    o: &BackfillOptions,
    stop: &AtomicBool,
    progress: &dyn Progress,
) -> Result<BackfillReport, BackfillError> {
    let name = checkpoint_name(o);
    let mut lock = window_lock(&pipeline.pool, &name).await?;
    let result = run_window(pipeline, c2s, o, &name, stop, progress).await;
    // Let go at once (a connection merely dropped lets go only once the
    // server notices it is gone).
    let _ = sqlx::query_scalar!("SELECT pg_advisory_unlock_all()")
        .fetch_optional(&mut lock)
        .await;
    let _ = sqlx::Connection::close(lock).await;
    result
}

/// [`run`], under the window's lock.
async fn run_window(
    pipeline: &Pipeline,
    c2s: &C2sClient,
    o: &BackfillOptions,
    name: &str,
    stop: &AtomicBool,
    progress: &dyn Progress,
) -> Result<BackfillReport, BackfillError> {
    let mut report = BackfillReport::default();
    let from = match settings::time(&pipeline.pool, name).await? {
        Some(at) if !o.dry_run && at > o.since => {
            report.resumed_from = Some(at);
            at
        }
        _ => o.since,
    };
    let mut pages = LeadPages::new(c2s, Stamp::Created, from, o.until);
    let mut estimate = Estimate::default();
    // Once a lead fails, the checkpoint stays before it: the next run
    // lists from there again (completed leads are skipped, free).
    let mut hold = false;
    while let Some(page) = pages.next().await? {
        report.pages += 1;
        if report.pages == 1 {
            progress.total(page.total.unwrap_or(page.leads.len() as u64));
        }
        report.listed += page.leads.len();
        report.unreadable += page.unreadable;
        let done = completed(&pipeline.pool, &page.leads).await?;
        for lead in &page.leads {
            if done.contains(lead.id.as_str()) {
                report.already_done += 1;
            } else if o.dry_run {
                estimate.add(pipeline, lead).await?;
            } else {
                match run_one(pipeline, lead, o.notes, &mut report).await? {
                    Ran::Done => {}
                    Ran::Failed { retryable } => hold |= retryable,
                    Ran::Stop(why) => {
                        report.stopped = Some(why);
                        return Ok(report);
                    }
                }
            }
            progress.lead_done(&report);
            if stop.load(Ordering::SeqCst) {
                report.stopped = Some("interrupted; run it again to continue".into());
                (report.lookups_needed, report.dossiers_about) =
                    (estimate.lookups, estimate.people.len());
                return Ok(report);
            }
        }
        if let (Some(last), false, false) = (page.last, o.dry_run, hold) {
            // Every lead up to this page's last time is dealt with.
            settings::advance_time(&pipeline.pool, name, last).await?;
        }
    }
    (report.lookups_needed, report.dossiers_about) = (estimate.lookups, estimate.people.len());
    Ok(report)
}

/// One back-fill of a window at a time: a session lock on a connection of
/// its own, closed (and so let go) when the returned connection is dropped,
/// however the run ends.
async fn window_lock(
    pool: &sqlx::PgPool,
    name: &str,
) -> Result<sqlx::postgres::PgConnection, BackfillError> {
    let mut lock = pool.acquire().await?.detach();
    let taken: Option<bool> =
        sqlx::query_scalar!("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", name)
            .fetch_one(&mut lock)
            .await?;
    if taken != Some(true) {
        return Err(BackfillError::Busy);
    }
    Ok(lock)
}

/// How one lead's run went.
enum Ran {
    Done,
    /// Counted as failed; a retryable failure holds the checkpoint before
    /// it (the next run tries again), one that cannot succeed (C2S does not
    /// know the lead, a fatal error) does not.
    Failed {
        retryable: bool,
    },
    /// The back-fill must stop, for this reason.
    Stop(String),
}

/// Runs one lead.
async fn run_one(
    pipeline: &Pipeline,
    lead: &Lead,
    notes: Notes,
    report: &mut BackfillReport,
) -> Result<Ran, BackfillError> {
    let post = match notes {
        Notes::All => true,
        Notes::None => false,
        Notes::Open => is_open(lead.status.as_deref()),
    };
    let policy = if post {
        NotePolicy::Post
    } else {
        NotePolicy::Skip
    };
    match pipeline
        .process_as(&lead.id, Spender::Backfill, policy)
        .await
    {
        Ok(outcome) => {
            report.processed += 1;
            report.enriched += usize::from(outcome.persons > 0);
            report.notes_posted += usize::from(post && outcome.note_sent);
            Ok(Ran::Done)
        }
        Err(RunError::OverBudget(r)) => Ok(Ran::Stop(match r.period {
            Period::Run => "--max-credits reached".to_owned(),
            _ => format!("{r}"),
        })),
        Err(e @ (RunError::Paused { .. } | RunError::Deferred { .. })) => Ok(Ran::Stop(format!(
            "a provider is unavailable ({e}); run it again later"
        ))),
        Err(e) => {
            // One lead's trouble: counted, the rest go on.
            tracing::warn!(lead_id = %lead.id, error = %e, "back-fill: a lead failed");
            report.failed += 1;
            let retryable = !matches!(e, RunError::LeadNotFound | RunError::Fatal(_));
            Ok(Ran::Failed { retryable })
        }
    }
}

/// The ids among `leads` the service has completed.
async fn completed(pool: &sqlx::PgPool, leads: &[Lead]) -> Result<HashSet<String>, sqlx::Error> {
    let ids: Vec<String> = leads.iter().map(|l| l.id.as_str().to_owned()).collect();
    let done = sqlx::query_scalar!(
        "SELECT lead_id FROM enrich.leads WHERE lead_id = ANY($1) AND state = 'completed'",
        &ids
    )
    .fetch_all(pool)
    .await?;
    Ok(done.into_iter().collect())
}

/// A dry run's count: each contact once, each source once, minus what the
/// ledger answers free.
#[derive(Default)]
struct Estimate {
    asked: HashSet<(Source, String)>,
    people: HashSet<(Option<String>, Option<String>)>,
    lookups: usize,
}

impl Estimate {
    async fn add(&mut self, pipeline: &Pipeline, lead: &Lead) -> Result<(), BackfillError> {
        let (phone, email, _) = usable_contacts(lead);
        let (p, e) = (
            phone.as_ref().map(|p| p.national().to_owned()),
            email.as_ref().map(|e| e.as_str().to_owned()),
        );
        if p.is_none() && e.is_none() {
            return Ok(());
        }
        self.people.insert((p.clone(), e.clone()));
        for src in &pipeline.settings.discovery {
            let query = match src {
                Source::DiretrixPhone | Source::WorkApiPhone => p.clone(),
                Source::DiretrixEmail => e.clone(),
                _ => None,
            };
            let Some(query) = query else { continue };
            if !self.asked.insert((*src, query.clone())) {
                continue;
            }
            let kind = super::discover::source_kind(*src);
            if let Some(kind) = kind {
                if !pipeline.ledger.is_fresh(kind, &query).await? {
                    self.lookups += 1;
                }
            }
        }
        Ok(())
    }
}

/// Why a back-fill stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("listing C2S leads failed: {0}")]
    C2s(#[from] crate::providers::ProviderError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the ledger failed: {0}")]
    Ledger(#[from] crate::store::ledger::LedgerError),
    #[error("another back-fill of this window is running; run this again when it ends")]
    Busy,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_statuses_are_not_open_and_unknown_ones_are() {
        assert!(is_open(None));
        assert!(is_open(Some("new")));
        assert!(is_open(Some("under_negotiation")));
        assert!(!is_open(Some("Won")));
        assert!(!is_open(Some(" archived ")));
        assert_eq!("open".parse::<Notes>(), Ok(Notes::Open));
        assert!("some".parse::<Notes>().is_err());
    }
}
