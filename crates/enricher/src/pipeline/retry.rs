//! Long-horizon retries (issue 16): a lead that ended with nobody found —
//! or no identity confirmed enough to show — is asked about again when it is
//! `RETRY_AFTER_DAYS` old (1, 7 and 30 days by default), never before the
//! "not found" answers of its last run have expired (so the retry asks the
//! providers again instead of reading the same answers from the ledger).
//! The due time is set when a run finishes (`leads::finish`); one process at
//! a time (a turn in `enrich.settings`) enqueues the leads that are due, as
//! jobs whose paid calls are charged to the retries' share of the credit
//! budgets. A retry that finds someone posts one new note; one that finds
//! nobody again posts none (the lead's note said so already).

use std::time::Duration;

use sqlx::PgPool;

use crate::store::jobs::{self, NewJob, ENRICH_LEAD};
use crate::store::settings;

/// The settings row of the retry sweep's turn.
const TURN: &str = "last_retry_sweep_at";
/// Leads enqueued per sweep at most (the rest wait for the next).
const BATCH: i64 = 500;

/// Enqueues the leads whose retry is due (at most `limit`): each goes back
/// to its first step with one more retry counted and a job of its own
/// (`retry:<lead>:<n>:<time>`, spending the retries' share). Returns how many.
pub async fn enqueue_due(pool: &PgPool, limit: i64) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let due = sqlx::query!(
        "UPDATE enrich.leads l
            SET retries = l.retries + 1, retry_at = NULL, step = 'lead', state = 'pending', updated_at = now()
          WHERE l.lead_id IN (
                SELECT lead_id FROM enrich.leads
                 WHERE retry_at <= now() AND state = 'completed'
                 ORDER BY retry_at LIMIT $1 FOR UPDATE SKIP LOCKED)
          RETURNING l.lead_id, l.retries",
        limit
    )
    .fetch_all(&mut *tx)
    .await?;
    for lead in &due {
        // The lead's state moved in this transaction is what makes a retry
        // happen once; the key only names the job (and never collides with
        // an earlier one, so the lead is never left without its job).
        let key = format!(
            "retry:{}:{}:{}",
            lead.lead_id,
            lead.retries,
            chrono::Utc::now().timestamp_micros()
        );
        let job = NewJob {
            kind: ENRICH_LEAD,
            job_key: Some(&key),
            lead_id: Some(&lead.lead_id),
            payload: serde_json::json!({"lead_id": lead.lead_id, "spender": "retry", "retry": lead.retries}),
            max_attempts: 5,
        };
        jobs::enqueue(&mut *tx, &job).await?;
    }
    tx.commit().await?;
    for _ in &due {
        crate::metrics::METRICS.event("lead_retry_enqueued");
    }
    Ok(due.len())
}

/// Every `every` (zero: never), one process's turn enqueues what is due,
/// until `shutdown` (what `serve` and `worker` run beside the workers).
pub async fn scheduled(
    pool: PgPool,
    every: Duration,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let pool = &pool;
    settings::repeat(
        every,
        Duration::from_secs(300),
        shutdown,
        move || async move {
            let done = match settings::claim_turn(pool, TURN, every).await {
                Ok(true) => enqueue_due(pool, BATCH).await,
                Ok(false) => Ok(0),
                Err(e) => Err(e),
            };
            match done {
                Ok(0) => {}
                Ok(n) => tracing::info!(leads = n, "retries enqueued"),
                Err(e) => {
                    tracing::warn!(error = %e, "the retry sweep failed; the next turn retries")
                }
            }
        },
    )
    .await;
}
