//! Workers: claim jobs, keep their leases alive, run the pipeline, record the
//! outcome. Bounded concurrency; graceful shutdown (stop claiming, let running
//! jobs finish); a lead is processed by one worker at a time across every
//! process (a lease row in `enrich.leads`, taken atomically).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{Pipeline, RunError};
use crate::domain::lead::LeadId;
use crate::store::google_ads::GOOGLE_ADS_LEAD;
use crate::store::jobs::{self, Backoff, Failed, Job};
pub use crate::store::lease::{release_lead, take_lead};
use crate::store::lease::{Fence, LeaseKeeper, Leases};

pub use crate::store::jobs::ENRICH_LEAD;

/// Proof of life of this process's worker loops, read by `/health/ready`:
/// every loop turn and every job heartbeat stamps it.
#[derive(Debug, Default)]
pub struct WorkerHealth {
    last_beat_ms: std::sync::atomic::AtomicI64,
}

impl WorkerHealth {
    pub fn beat(&self) {
        self.last_beat_ms.store(
            chrono::Utc::now().timestamp_millis(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// How long since the last sign of life (`None`: never started).
    pub fn silent_for(&self) -> Option<Duration> {
        let last = self.last_beat_ms.load(std::sync::atomic::Ordering::Relaxed);
        (last > 0).then(|| {
            Duration::from_millis(
                u64::try_from(chrono::Utc::now().timestamp_millis() - last).unwrap_or(0),
            )
        })
    }
}

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Stamped by the loops (shared with the HTTP API's readiness check).
    pub health: Arc<WorkerHealth>,
    /// Unique per process and worker (shows in `locked_by`).
    pub id: String,
    pub concurrency: usize,
    /// Lease length; a dead worker's job is claimable again after it.
    pub lease: Duration,
    /// How often leases are renewed (well under `lease`).
    pub heartbeat: Duration,
    /// Wait between polls when the queue is empty.
    pub idle_poll: Duration,
    /// How long a job waits when a provider refuses us (quota, token).
    pub pause_cooldown: Duration,
    pub backoff: Backoff,
    /// How often a lead C2S says it does not know is asked for again before
    /// its job is dead (C2S may announce a lead before it can serve it), and
    /// the first wait (doubled each time): by default after 1, 2 and 4 minutes.
    pub not_found_retries: i32,
    pub not_found_delay: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            health: Arc::default(),
            id: format!("worker-{}", uuid::Uuid::new_v4().simple()),
            concurrency: 4,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            idle_poll: Duration::from_millis(500),
            pause_cooldown: Duration::from_secs(300),
            backoff: Backoff::default(),
            not_found_retries: 3,
            not_found_delay: Duration::from_secs(60),
        }
    }
}

/// What happened to one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Completed,
    Retrying,
    Paused,
    /// A provider's circuit was open: put back without spending an attempt.
    Deferred,
    Dead,
    /// Another worker holds the lead; the job waits a moment.
    LeadBusy,
    LeaseLost,
    /// C2S does not know the lead (asked again later, or dead after the
    /// last try).
    LeadNotFound,
}

impl JobOutcome {
    fn label(&self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Retrying => "retrying",
            Self::Paused => "paused",
            Self::Deferred => "deferred",
            Self::Dead => "dead",
            Self::LeadBusy => "lead_busy",
            Self::LeaseLost => "lease_lost",
            Self::LeadNotFound => "lead_not_found",
        }
    }
}

/// Processes claimable jobs until none is left right now (tests, `demo`).
pub async fn drain(
    pipeline: &Arc<Pipeline>,
    options: &WorkerOptions,
) -> Result<Vec<(i64, JobOutcome)>, sqlx::Error> {
    let mut done = Vec::new();
    while let Some(job) = jobs::claim(&pipeline.pool, &options.id, options.lease).await? {
        let id = job.id;
        done.push((id, handle(pipeline, job, options).await?.0));
    }
    Ok(done)
}

/// Runs `options.concurrency` claim loops until `shutdown` turns true; running
/// jobs are finished before it returns.
pub async fn run(pipeline: Arc<Pipeline>, options: WorkerOptions, shutdown: watch::Receiver<bool>) {
    let mut loops = Vec::new();
    for n in 0..options.concurrency.max(1) {
        let pipeline = pipeline.clone();
        let mut opts = options.clone();
        opts.id = format!("{}-{n}", options.id);
        let mut shutdown = shutdown.clone();
        loops.push(tokio::spawn(async move {
            while !*shutdown.borrow() {
                opts.health.beat();
                match jobs::claim(&pipeline.pool, &opts.id, opts.lease).await {
                    Ok(Some(job)) => {
                        if let Err(e) = handle(&pipeline, job, &opts).await {
                            tracing::error!(error = %e, "recording a job outcome failed; its lease will expire and it will run again");
                        }
                    }
                    Ok(None) => {
                        let _ = tokio::time::timeout(opts.idle_poll, shutdown.changed()).await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming a job failed; retrying");
                        let _ = tokio::time::timeout(opts.idle_poll * 4, shutdown.changed()).await;
                    }
                }
            }
        }));
    }
    for l in loops {
        let _ = l.await;
    }
}

/// What a job asks for.
#[derive(Debug, Clone)]
enum Work {
    /// A C2S lead to enrich (`enrich_lead`).
    Lead(LeadId),
    /// A recorded Google Ads lead to enrich and create in C2S (`google_ads_lead`).
    GoogleAds(String),
}

impl Work {
    fn of(job: &Job) -> Option<Self> {
        let field = |k: &str| job.payload.get(k).and_then(|v| v.as_str());
        match job.kind.as_str() {
            ENRICH_LEAD => field("lead_id")
                .and_then(|s| LeadId::parse(s).ok())
                .map(Self::Lead),
            GOOGLE_ADS_LEAD => field("google_lead_id")
                .filter(|s| !s.is_empty())
                .map(|s| Self::GoogleAds(s.to_owned())),
            _ => None,
        }
    }
}

impl std::fmt::Display for Work {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Lead(l) => write!(f, "{l}"),
            Self::GoogleAds(g) => write!(f, "gads:{g}"),
        }
    }
}

/// Runs one claimed job to its outcome (and the error text when it did not
/// complete; no personal data).
pub(crate) async fn handle(
    pipeline: &Arc<Pipeline>,
    job: Job,
    o: &WorkerOptions,
) -> Result<(JobOutcome, Option<String>), sqlx::Error> {
    let pool = &pipeline.pool;
    let Some(work) = Work::of(&job) else {
        jobs::fail(
            pool,
            &job,
            &o.id,
            "unknown job kind or payload without a valid lead id",
            false,
            o.backoff,
        )
        .await?;
        return Ok((JobOutcome::Dead, Some("unknown job kind".into())));
    };
    let lead_id = match &work {
        Work::Lead(l) => Some(l.clone()),
        Work::GoogleAds(_) => None,
    };
    // A provider refused us recently: wait with everyone else, call nobody.
    if let Some(wait) = crate::store::pauses::longest_remaining(pool).await? {
        jobs::postpone(pool, job.id, &o.id, wait).await?;
        return Ok((JobOutcome::Paused, Some("a provider is paused".into())));
    }
    if let Some(lead_id) = &lead_id {
        if !take_lead(pool, lead_id, &o.id, o.lease).await? {
            jobs::postpone(pool, job.id, &o.id, Duration::from_secs(1)).await?;
            return Ok((JobOutcome::LeadBusy, None));
        }
    }
    // Renew both leases while the pipeline runs; a lease found taken stops
    // the run before its next outside effect.
    let (fence, keeper) = keep_leases(pool, &job, lead_id.as_ref(), o);
    // A long-horizon retry or the back-fill spends only its share.
    let fence = fence.spending(crate::store::ledger::Spender::named(
        job.payload.get("spender").and_then(|v| v.as_str()),
    ));
    let span = tracing::info_span!("job", job_id = job.id, kind = %job.kind, lead_id = %work, attempt = job.attempts);
    let run = async {
        match &work {
            Work::Lead(l) => pipeline
                .process_fenced(l, &fence)
                .await
                .map(|o| (o.persons, o.note_sent)),
            Work::GoogleAds(g) => pipeline
                .process_google(g, &fence)
                .await
                .map(|o| (o.persons, o.c2s_lead_id.is_some())),
        }
    };
    let result = tracing::Instrument::instrument(run, span).await;
    keeper.stop().await;
    let error = result.as_ref().err().map(ToString::to_string);
    let outcome = settle(pool, &job, &work, result, o).await?;
    if let Some(lead_id) = &lead_id {
        release_lead(pool, lead_id, &o.id).await?;
    }
    crate::metrics::METRICS.job(outcome.label());
    Ok((outcome, error))
}

/// A paid call would have passed a budget: the job waits for the period's
/// end, looking again every few minutes (a budget raised meanwhile is used
/// at once). Only the work that needs that provider waits: its calls are
/// refused by the ledger one by one, without a call; the rest goes on.
async fn over_budget(
    pool: &sqlx::PgPool,
    job: &Job,
    refusal: &crate::store::ledger::Refusal,
    o: &WorkerOptions,
) -> Result<JobOutcome, sqlx::Error> {
    let wait = (refusal.until - chrono::Utc::now())
        .to_std()
        .unwrap_or_default()
        .max(Duration::from_secs(1));
    tracing::info!(
        job_id = job.id,
        provider = refusal.provider,
        spender = refusal.spender.as_str(),
        period = refusal.period.as_str(),
        "a credit budget is spent; the job waits for the next period"
    );
    jobs::postpone(pool, job.id, &o.id, wait.min(BUDGET_RECHECK)).await?;
    Ok(JobOutcome::Paused)
}

/// How often a job held back by a spent budget looks again.
const BUDGET_RECHECK: Duration = Duration::from_secs(300);

/// Records how a run ended on its job (and, for a dead job, on its lead or
/// form): completed, postponed (pause, open circuit, lost lease), retried
/// later, or dead.
async fn settle(
    pool: &sqlx::PgPool,
    job: &Job,
    work: &Work,
    result: Result<(usize, bool), RunError>,
    o: &WorkerOptions,
) -> Result<JobOutcome, sqlx::Error> {
    Ok(match result {
        Ok((persons, delivered)) => {
            tracing::info!(job_id = job.id, persons, delivered, "lead completed");
            if jobs::complete(pool, job.id, &o.id).await? {
                JobOutcome::Completed
            } else {
                JobOutcome::LeaseLost
            }
        }
        Err(RunError::Paused { provider, reason }) => {
            tracing::error!(job_id = job.id, provider, reason = %reason, "a provider refuses our calls; every job waits for the cool-down");
            crate::store::pauses::pause(pool, provider, o.pause_cooldown, &reason).await?;
            crate::metrics::METRICS.provider_paused(provider);
            jobs::postpone(pool, job.id, &o.id, o.pause_cooldown).await?;
            JobOutcome::Paused
        }
        Err(RunError::OverBudget(refusal)) => over_budget(pool, job, &refusal, o).await?,
        Err(RunError::Deferred { provider }) => {
            let jitter = Duration::from_millis(rand::random::<u64>() % 2000);
            tracing::info!(
                job_id = job.id,
                provider,
                "provider circuit open; job deferred without spending an attempt"
            );
            jobs::postpone(pool, job.id, &o.id, super::DEFER_FOR + jitter).await?;
            JobOutcome::Deferred
        }
        Err(RunError::LeaseLost | RunError::LeadBusy) => {
            // Someone took over (we were presumed dead): they go on; this job
            // waits a moment and then finds the lead's state as they left it.
            tracing::warn!(job_id = job.id, "the run lost its lease and stopped");
            jobs::postpone(pool, job.id, &o.id, Duration::from_secs(1)).await?;
            JobOutcome::LeaseLost
        }
        Err(RunError::LeadNotFound) if job.attempts <= o.not_found_retries => {
            // C2S may announce a lead before it serves it: ask again later.
            let wait = o
                .not_found_delay
                .saturating_mul(1u32 << (job.attempts - 1).clamp(0, 16) as u32);
            tracing::warn!(
                job_id = job.id,
                wait_s = wait.as_secs(),
                "C2S does not know the lead (yet); asking again later"
            );
            jobs::retry_in(pool, job, &o.id, "lead not found in C2S", wait).await?;
            JobOutcome::LeadNotFound
        }
        Err(e) => fail(pool, job, work, &e, o).await?,
    })
}

/// A run that failed: retried later, or dead (its lead or form marked failed).
async fn fail(
    pool: &sqlx::PgPool,
    job: &Job,
    work: &Work,
    e: &RunError,
    o: &WorkerOptions,
) -> Result<JobOutcome, sqlx::Error> {
    let retryable = matches!(e, RunError::Retryable(_));
    let not_found = matches!(e, RunError::LeadNotFound);
    Ok(
        match jobs::fail(pool, job, &o.id, &e.to_string(), retryable, o.backoff).await? {
            Failed::Retrying(wait) => {
                tracing::warn!(job_id = job.id, error = %e, wait_ms = wait.as_millis() as u64, "job failed; will retry");
                JobOutcome::Retrying
            }
            Failed::Dead => {
                tracing::error!(job_id = job.id, error = %e, "job is dead; re-queue with `c2s-enrich jobs retry`");
                let error = e.to_string();
                match work {
                    Work::Lead(l) => crate::store::leads::mark_failed(pool, l, &error).await?,
                    Work::GoogleAds(g) => {
                        crate::store::google_ads::mark_failed(pool, g, &error).await?
                    }
                }
                if not_found {
                    JobOutcome::LeadNotFound
                } else {
                    JobOutcome::Dead
                }
            }
            Failed::LeaseLost => JobOutcome::LeaseLost,
        },
    )
}

/// The run's fence, and the keeper renewing the job's lease and (for a C2S
/// lead) the lead's; a lease found taken raises the fence.
fn keep_leases(
    pool: &sqlx::PgPool,
    job: &Job,
    lead_id: Option<&LeadId>,
    o: &WorkerOptions,
) -> (Fence, LeaseKeeper) {
    let fence = match lead_id {
        Some(_) => Fence::holder(o.id.clone()),
        None => Fence::default(),
    }
    .for_job(job.id, o.id.clone());
    let health = o.health.clone();
    let keeper = LeaseKeeper::start(
        pool.clone(),
        Leases {
            lead: lead_id.cloned(),
            job: Some((job.id, o.id.clone())),
            lease: o.lease,
            every: o.heartbeat,
        },
        fence.clone(),
        move || health.beat(),
    );
    (fence, keeper)
}
