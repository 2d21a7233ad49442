//! The durable job queue (ADR 0005): enqueue inside the caller's transaction,
//! claim with a renewable lease, retry with backoff and jitter, `dead` after the
//! last attempt, re-queue by an operator. Several processes may share it: a
//! claim is one `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)`, and a
//! lead's jobs never run at the same time (a running job with a live lease
//! keeps the lead's other jobs waiting).

use std::time::Duration;

/// The job kind the pipeline handles (a C2S lead to enrich).
pub const ENRICH_LEAD: &str = "enrich_lead";

use rand::Rng;
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub job_key: Option<String>,
    pub lead_id: Option<String>,
    pub payload: serde_json::Value,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: chrono::DateTime<chrono::Utc>,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub kind: &'a str,
    /// De-duplication key: a second enqueue with the same key is ignored.
    pub job_key: Option<&'a str>,
    pub lead_id: Option<&'a str>,
    pub payload: serde_json::Value,
    pub max_attempts: i32,
}

/// Retry timing.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(5),
            // Long outages are waited out by deferral (an open circuit spends no
            // attempt); a job's own failures need not wait more than two minutes.
            max: Duration::from_secs(120),
        }
    }
}

impl Backoff {
    /// Full-jitter exponential delay before attempt `attempt + 1`.
    pub fn delay(&self, attempt: i32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.clamp(0, 16) as u32)
            .min(self.max);
        let ms = u64::try_from(exp.as_millis()).unwrap_or(u64::MAX);
        // Half fixed, half random: never immediate, never synchronised.
        Duration::from_millis(ms / 2 + rand::thread_rng().gen_range(0..=ms / 2))
    }
}

/// Enqueues `job` on `executor` (pass the caller's transaction so the job exists
/// exactly when the caller's writes do). Returns the id, or `None` when a job
/// with the same key already exists.
pub async fn enqueue<'e>(
    executor: impl PgExecutor<'e>,
    job: &NewJob<'_>,
) -> Result<Option<i64>, sqlx::Error> {
    enqueue_held(executor, job, Duration::ZERO).await
}

/// [`enqueue`], the job runnable by [`claim`] only after `hold` — meanwhile
/// only [`claim_id`] takes it (a synchronous request runs its own job; the
/// workers take it if the request's task did not).
pub async fn enqueue_held<'e>(
    executor: impl PgExecutor<'e>,
    job: &NewJob<'_>,
    hold: Duration,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO enrich.jobs (kind, job_key, lead_id, payload, max_attempts, run_at)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
         ON CONFLICT (job_key) DO NOTHING
         RETURNING id",
        job.kind,
        job.job_key,
        job.lead_id,
        &job.payload,
        job.max_attempts.max(1),
        hold.as_secs_f64()
    )
    .fetch_optional(executor)
    .await
}

/// Claims the next runnable job for `worker`, leasing it for `lease`: a queued
/// job whose time has come, or a running job whose lease expired (its worker
/// died). Jobs of a lead that has another job running are left alone.
pub async fn claim(
    pool: &PgPool,
    worker: &str,
    lease: Duration,
) -> Result<Option<Job>, sqlx::Error> {
    // A running job of the same lead keeps the others waiting (the same
    // predicate as claim_id's; checked queries are literals, hence twice).
    sqlx::query_as!(
        Job,
        "UPDATE enrich.jobs j
            SET state = 'running', locked_by = $1, locked_until = now() + make_interval(secs => $2),
                attempts = j.attempts + 1, updated_at = now()
          WHERE j.id = (
                SELECT c.id FROM enrich.jobs c
                 WHERE ((c.state = 'queued' AND c.run_at <= now()) OR (c.state = 'running' AND c.locked_until < now()))
                   AND (c.lead_id IS NULL OR NOT EXISTS (
                        SELECT 1 FROM enrich.jobs r
                         WHERE r.lead_id = c.lead_id AND r.id <> c.id AND r.state = 'running' AND r.locked_until >= now()))
                 ORDER BY c.run_at, c.id
                 LIMIT 1
                 FOR UPDATE SKIP LOCKED)
        RETURNING id, kind, job_key, lead_id, payload, state, attempts, max_attempts, run_at, locked_by, last_error",
        worker,
        lease.as_secs_f64()
    )
    .fetch_optional(pool)
    .await
}

/// Claims the job `id` (a synchronous run's own job) whatever its `run_at`
/// (see [`enqueue_held`]): `None` when another job of its lead is running, or
/// it is not queued any more (done, or someone else took it).
pub async fn claim_id(
    pool: &PgPool,
    id: i64,
    worker: &str,
    lease: Duration,
) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as!(
        Job,
        "UPDATE enrich.jobs j
            SET state = 'running', locked_by = $2, locked_until = now() + make_interval(secs => $3),
                attempts = j.attempts + 1, updated_at = now()
          WHERE j.id = $1 AND j.state = 'queued'
            AND (j.lead_id IS NULL OR NOT EXISTS (
                 SELECT 1 FROM enrich.jobs r
                  WHERE r.lead_id = j.lead_id AND r.id <> j.id AND r.state = 'running' AND r.locked_until >= now()))
        RETURNING id, kind, job_key, lead_id, payload, state, attempts, max_attempts, run_at, locked_by, last_error",
        id,
        worker,
        lease.as_secs_f64()
    )
    .fetch_optional(pool)
    .await
}

/// Renews the lease; `false` when the job is no longer ours (lease lost).
pub async fn heartbeat(
    pool: &PgPool,
    id: i64,
    worker: &str,
    lease: Duration,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!("UPDATE enrich.jobs SET locked_until = now() + make_interval(secs => $3), updated_at = now()
          WHERE id = $1 AND locked_by = $2 AND state = 'running'", id, worker, lease.as_secs_f64())
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Marks the job done (only if still ours).
pub async fn complete(pool: &PgPool, id: i64, worker: &str) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!("UPDATE enrich.jobs SET state = 'done', locked_by = NULL, locked_until = NULL, last_error = NULL,
                finished_at = now(), updated_at = now()
          WHERE id = $1 AND locked_by = $2 AND state = 'running'", id, worker)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// What happened to a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    /// Queued again, to run after the delay.
    Retrying(Duration),
    /// Out of attempts (or not retryable): dead until re-queued.
    Dead,
    /// No longer ours (another worker took the expired lease).
    LeaseLost,
}

/// Records a failure: back to the queue after a backoff, or dead. `error` must
/// carry no personal data (it is shown to operators).
pub async fn fail(
    pool: &PgPool,
    job: &Job,
    worker: &str,
    error: &str,
    retryable: bool,
    backoff: Backoff,
) -> Result<Failed, sqlx::Error> {
    let dead = !retryable || job.attempts >= job.max_attempts;
    let delay = backoff.delay(job.attempts - 1);
    let n = sqlx::query!(
        "UPDATE enrich.jobs
            SET state = CASE WHEN $3 THEN 'dead' ELSE 'queued' END,
                run_at = CASE WHEN $3 THEN run_at ELSE now() + make_interval(secs => $4) END,
                finished_at = CASE WHEN $3 THEN now() ELSE NULL END,
                last_error = $5, locked_by = NULL, locked_until = NULL, updated_at = now()
          WHERE id = $1 AND locked_by = $2 AND state = 'running'",
        job.id,
        worker,
        dead,
        delay.as_secs_f64(),
        error.chars().take(500).collect::<String>()
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(match (n, dead) {
        (0, _) => Failed::LeaseLost,
        (_, true) => Failed::Dead,
        (_, false) => Failed::Retrying(delay),
    })
}

/// Queues the job again after `delay`, the attempt counted (a lead C2S does
/// not know yet); `false` when it is no longer ours.
pub async fn retry_in(
    pool: &PgPool,
    job: &Job,
    worker: &str,
    error: &str,
    delay: Duration,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!("UPDATE enrich.jobs SET state = 'queued', run_at = now() + make_interval(secs => $3), last_error = $4,
                locked_by = NULL, locked_until = NULL, updated_at = now()
          WHERE id = $1 AND locked_by = $2 AND state = 'running'", job.id, worker, delay.as_secs_f64(), error)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Puts a job back without counting the attempt (provider paused, shutdown).
pub async fn postpone(
    pool: &PgPool,
    id: i64,
    worker: &str,
    delay: Duration,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!("UPDATE enrich.jobs SET state = 'queued', attempts = greatest(attempts - 1, 0),
                run_at = now() + make_interval(secs => $3), locked_by = NULL, locked_until = NULL, updated_at = now()
          WHERE id = $1 AND locked_by = $2 AND state = 'running'", id, worker, delay.as_secs_f64())
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Re-queues one dead (or done) job with fresh attempts.
pub async fn retry(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!("UPDATE enrich.jobs SET state = 'queued', attempts = 0, run_at = now(), finished_at = NULL, updated_at = now()
          WHERE id = $1 AND state IN ('dead', 'done')", id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Re-queues every dead job; returns how many.
pub async fn requeue_dead(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!("UPDATE enrich.jobs SET state = 'queued', attempts = 0, run_at = now(), finished_at = NULL, updated_at = now()
          WHERE state = 'dead'")
    .execute(pool)
    .await?
    .rows_affected())
}

/// Jobs in `state` (all when `None`), newest first.
pub async fn list(pool: &PgPool, state: Option<&str>, limit: i64) -> Result<Vec<Job>, sqlx::Error> {
    sqlx::query_as!(
        Job,
        "SELECT id, kind, job_key, lead_id, payload, state, attempts, max_attempts, run_at, locked_by, last_error
           FROM enrich.jobs WHERE ($1::text IS NULL OR state = $1) ORDER BY id DESC LIMIT $2",
        state,
        limit
    )
    .fetch_all(pool)
    .await
}

/// A job's final state (`done`, `dead`) and error, once it has one.
pub async fn finished(
    pool: &PgPool,
    id: i64,
) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT state, last_error FROM enrich.jobs WHERE id = $1 AND state IN ('done', 'dead')",
        id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.state, r.last_error)))
}
