//! Running one lead now, for a caller that waits for it: the API's
//! synchronous triggers (manual and Make.com) and the `enrich` command. The
//! run is a job like any other, so it has the same guarantees as a worker's
//! (lead lease, one note, retries): it is enqueued first, held for the caller
//! while it waits, run in a task of its own (a caller that leaves does not
//! stop it) and left to the workers if it does not end within the wait.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::worker::{handle, JobOutcome, WorkerOptions, ENRICH_LEAD};
use super::Pipeline;
use crate::domain::lead::LeadId;
use crate::store::jobs::{self, NewJob};

/// How a run the caller waited for went.
#[derive(Debug)]
pub struct SyncRun {
    /// The run's job (the workers' if it did not end within the wait).
    pub job_id: i64,
    /// The job's outcome and error, when it ended within the wait.
    pub ended: Option<(JobOutcome, Option<String>)>,
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
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut options = worker.clone();
    options.id = format!("{}-{}", worker.id, uuid::Uuid::new_v4().simple());
    tokio::spawn(claim_and_run(pipeline.clone(), job_id, options, wait, tx));
    let ended = match tokio::time::timeout(wait, rx).await {
        Ok(Ok(ended)) => Some(ended),
        _ => None,
    };
    Ok(SyncRun { job_id, ended })
}

/// Runs the job as soon as it can be claimed (another run of the lead first
/// finishes), until `wait` passes; then the job is left to the workers.
async fn claim_and_run(
    pipeline: Arc<Pipeline>,
    job_id: i64,
    options: WorkerOptions,
    wait: Duration,
    answer: tokio::sync::oneshot::Sender<(JobOutcome, Option<String>)>,
) {
    let deadline = tokio::time::Instant::now() + wait;
    while tokio::time::Instant::now() < deadline {
        match jobs::claim_id(&pipeline.pool, job_id, &options.id, options.lease).await {
            Ok(Some(job)) => match handle(&pipeline, job, &options).await {
                Ok((JobOutcome::LeadBusy, _)) => {}
                Ok(ran) => {
                    let _ = answer.send(ran);
                    return;
                }
                Err(e) => {
                    tracing::error!(error = %e, "recording a synchronous run's outcome failed; its lease will expire and a worker runs it");
                    return;
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
                    let _ = answer.send((outcome, error));
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming a synchronous run's job failed; retrying")
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
