//! A lead's processing lease (`enrich.leads.lease_by` / `lease_until`): one
//! run at a time per lead across every process — workers, the synchronous
//! API and `c2s-enrich enrich` alike — and the fence a run checks before each
//! outside effect.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;

use crate::domain::lead::LeadId;

/// Takes (or renews) the lead's processing lease; `false` when another
/// holder has it.
pub async fn take_lead(
    pool: &PgPool,
    lead: &LeadId,
    holder: &str,
    lease: Duration,
) -> Result<bool, sqlx::Error> {
    // One statement: the row made for a lead never seen, or the lease taken
    // when free, expired or already ours.
    let n = sqlx::query!(
        "INSERT INTO enrich.leads AS l (lead_id, lease_by, lease_until)
         VALUES ($1, $2, now() + make_interval(secs => $3))
         ON CONFLICT (lead_id) DO UPDATE SET lease_by = EXCLUDED.lease_by, lease_until = EXCLUDED.lease_until
          WHERE l.lease_until IS NULL OR l.lease_until < now() OR l.lease_by = $2",
        lead.as_str(),
        holder,
        lease.as_secs_f64()
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Gives the lead's lease back (only if `holder` has it).
pub async fn release_lead(pool: &PgPool, lead: &LeadId, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE enrich.leads SET lease_by = NULL, lease_until = NULL WHERE lead_id = $1 AND lease_by = $2", lead.as_str(), holder)
    .execute(pool)
    .await?;
    Ok(())
}

/// Whose run this is: the lead lease's holder (checked by the database in
/// every write of the run's progress and note state) and a flag the lease
/// keeper raises when a renewal finds a lease taken by someone else.
#[derive(Debug, Clone, Default)]
pub struct Fence {
    /// The lead lease's holder (`None`: a run without a lead lease — a
    /// Google Ads lead, guarded by its job's lease alone).
    pub holder: Option<String>,
    /// The job (`id`, worker) the run is for, when a worker runs it: writes
    /// of runs without a lead lease (Google Ads) are made only while it is
    /// still this worker's and running (an erasure cancels it).
    pub job: Option<(i64, String)>,
    /// Whose share of the credit budgets the run's paid calls are charged to.
    pub spender: crate::store::ledger::Spender,
    /// Whether the run posts the lead's note (the back-fill leaves closed
    /// leads without one).
    pub notes: NotePolicy,
    lost: Arc<AtomicBool>,
}

/// Whether a run posts its lead's note.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NotePolicy {
    #[default]
    Post,
    /// The lead is enriched and stored, its note not posted.
    Skip,
}

impl Fence {
    /// A run holding the lead's lease as `holder`.
    pub fn holder(holder: impl Into<String>) -> Self {
        Self {
            holder: Some(holder.into()),
            job: None,
            spender: crate::store::ledger::Spender::New,
            notes: NotePolicy::Post,
            lost: Arc::default(),
        }
    }

    /// The same fence, for the run of job `id` by `worker`.
    pub fn for_job(mut self, id: i64, worker: impl Into<String>) -> Self {
        self.job = Some((id, worker.into()));
        self
    }

    /// The same fence, its paid calls charged to `spender`.
    pub fn spending(mut self, spender: crate::store::ledger::Spender) -> Self {
        self.spender = spender;
        self
    }

    /// The lease was found taken by someone else.
    pub fn lose(&self) {
        self.lost.store(true, Ordering::SeqCst);
    }

    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

/// Keeps a run's leases alive until dropped: every `every`, the job's lease
/// (when there is one) and the lead's. A renewal that finds either taken by
/// someone else raises the fence's flag; the run stops before its next outside
/// effect. A renewal that fails for a database error is retried at the next
/// beat (the lease outlives a few missed beats).
#[derive(Debug)]
pub struct LeaseKeeper {
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// What the keeper renews.
#[derive(Debug, Clone)]
pub struct Leases {
    pub lead: Option<LeadId>,
    /// The job (`id`, worker) whose lease is renewed with the lead's.
    pub job: Option<(i64, String)>,
    pub lease: Duration,
    pub every: Duration,
}

impl LeaseKeeper {
    /// Starts renewing; `on_beat` runs after each renewal (worker health).
    pub fn start(
        pool: PgPool,
        leases: Leases,
        fence: Fence,
        on_beat: impl Fn() + Send + 'static,
    ) -> Self {
        let (stop, mut stop_rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                if tokio::time::timeout(leases.every, stop_rx.changed())
                    .await
                    .is_ok()
                {
                    break;
                }
                if let Some((id, worker)) = &leases.job {
                    match crate::store::jobs::heartbeat(&pool, *id, worker, leases.lease).await {
                        Ok(false) => fence.lose(),
                        Ok(true) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "renewing a job lease failed; retrying at the next beat")
                        }
                    }
                }
                if let (Some(lead), Some(holder)) = (&leases.lead, &fence.holder) {
                    match take_lead(&pool, lead, holder, leases.lease).await {
                        Ok(false) => fence.lose(),
                        Ok(true) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "renewing a lead lease failed; retrying at the next beat")
                        }
                    }
                }
                if fence.is_lost() {
                    tracing::warn!("a lease of this run was taken by someone else; the run stops before its next outside effect");
                }
                on_beat();
            }
        });
        Self {
            stop,
            task: Some(task),
        }
    }

    /// Stops renewing and waits for the last renewal to finish.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
