//! Running one lead now, for a caller that waits for it: the API's
//! synchronous triggers (manual and Make.com) and the `enrich` command. The
//! run is a job like any other, so it has the same guarantees as a worker's
//! (lead lease, one note, retries): it is enqueued first, held for the caller
//! while it waits, run in a task of its own (a caller that leaves does not
//! stop it) and left to the workers if it cannot start within the wait.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::oneshot;

use super::worker::{handle, JobOutcome, WorkerOptions, ENRICH_LEAD};
use super::Pipeline;
use crate::domain::lead::LeadId;
use crate::store::jobs::{self, NewJob};

/// How the run's task ended.
#[derive(Debug)]
pub enum RunEnd {
    /// The job ran (or a worker ran it meanwhile): its outcome and error.
    Ran(JobOutcome, Option<String>),
    /// The job could not be claimed within the wait (another run of the lead
    /// held it): it stays queued for the workers.
    Unclaimed,
    /// The run's outcome could not be recorded; the job's lease expires and a
    /// worker runs it again.
    RecordFailed(String),
}

/// A run the caller waited for.
#[derive(Debug)]
pub struct SyncRun {
    /// The run's job.
    pub job_id: i64,
    /// How it ended, or the run still under way when the wait passed.
    pub state: SyncState,
}

/// Where a run stands when the caller's wait ends.
#[derive(Debug)]
pub enum SyncState {
    Ended(RunEnd),
    /// Still running (or still trying to start): the task goes on by itself;
    /// [`Pending::finish`] waits for its end.
    Pending(Pending),
}

/// A run still under way.
#[derive(Debug)]
pub struct Pending(oneshot::Receiver<RunEnd>);

impl Pending {
    /// Waits for the run's task to end.
    pub async fn finish(self) -> RunEnd {
        self.0.await.unwrap_or_else(|_| {
            RunEnd::RecordFailed("the run's task ended without an answer".into())
        })
    }
}

/// Why a run could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("recording the run's job failed")]
    Store(#[from] sqlx::Error),
    #[error("a fresh job key was already taken")]
    KeyTaken,
}

/// Runs `lead` now as a job of its own, waiting up to `wait` for it to end.
/// `worker` names the runner (its id is made unique here) and its lease.
pub async fn run_now(
    pipeline: &Arc<Pipeline>,
    lead: &LeadId,
    worker: &WorkerOptions,
    wait: Duration,
) -> Result<SyncRun, SyncError> {
    // The job first: whatever happens to the caller (it leaves, times out,
    // the process dies), the lead has a job that runs it.
    let key = format!("sync:{}:{}", lead.as_str(), uuid::Uuid::new_v4().simple());
    let job = NewJob {
        kind: ENRICH_LEAD,
        job_key: Some(&key),
        lead_id: Some(lead.as_str()),
        payload: json!({ "lead_id": lead.as_str() }),
        max_attempts: 8,
    };
    // Held for this caller's task for the wait (the workers take it after).
    let job_id = jobs::enqueue_held(&pipeline.pool, &job, wait + Duration::from_secs(5))
        .await?
        .ok_or(SyncError::KeyTaken)?;
    let (tx, mut rx) = oneshot::channel();
    let mut options = worker.clone();
    options.id = format!("{}-{}", worker.id, uuid::Uuid::new_v4().simple());
    tokio::spawn(claim_and_run(pipeline.clone(), job_id, options, wait, tx));
    let state = match tokio::time::timeout(wait, &mut rx).await {
        Ok(Ok(end)) => SyncState::Ended(end),
        Ok(Err(_)) => SyncState::Ended(RunEnd::RecordFailed(
            "the run's task ended without an answer".into(),
        )),
        Err(_) => SyncState::Pending(Pending(rx)),
    };
    Ok(SyncRun { job_id, state })
}

/// Runs the job as soon as it can be claimed (another run of the lead first
/// finishes), trying until `wait` passes; once claimed, the run goes to its
/// end whatever the caller does.
async fn claim_and_run(
    pipeline: Arc<Pipeline>,
    job_id: i64,
    options: WorkerOptions,
    wait: Duration,
    answer: oneshot::Sender<RunEnd>,
) {
    let deadline = tokio::time::Instant::now() + wait;
    let end = loop {
        if tokio::time::Instant::now() >= deadline {
            break RunEnd::Unclaimed;
        }
        match jobs::claim_id(&pipeline.pool, job_id, &options.id, options.lease).await {
            Ok(Some(job)) => match handle(&pipeline, job, &options).await {
                Ok((JobOutcome::LeadBusy, _)) => {}
                Ok((outcome, error)) => break RunEnd::Ran(outcome, error),
                Err(e) => {
                    tracing::error!(error = %e, "recording a synchronous run's outcome failed; its lease will expire and a worker runs it");
                    break RunEnd::RecordFailed(e.to_string());
                }
            },
            Ok(None) => {
                // Not claimable: another run of the lead first — or the job
                // already ended (a worker took it after all): then say how.
                if let Ok(Some((state, error))) = jobs::finished(&pipeline.pool, job_id).await {
                    let outcome = match state.as_str() {
                        "done" => JobOutcome::Completed,
                        _ => JobOutcome::Dead,
                    };
                    break RunEnd::Ran(outcome, error);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming a synchronous run's job failed; retrying")
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let _ = answer.send(end);
}
