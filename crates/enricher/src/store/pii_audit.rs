//! The audit of personal-data reads, group-committed (ADR 0010).
//!
//! Every read of a golden record through the API leaves a row in
//! `enrich.pii_access_audit` before its answer leaves the process. Committed
//! one by one, those rows cost a WAL flush per lookup — the most expensive
//! part of a lookup. Here one writer task commits the rows of every request
//! waiting at that moment in one statement and one commit, then tells each
//! request its row is durable; only then does the request answer.
//!
//! So a crash loses no acknowledged row: a row not yet committed belongs to
//! a request that has not answered (its data never left the process), and a
//! failed commit fails those requests (500) instead of answering them
//! unaudited. On shutdown the server waits for in-flight requests, which wait
//! for their rows; the writer ends when the last handle is dropped, after
//! committing what it was given.

use std::sync::{Arc, OnceLock};

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Rows committed together at most (one statement's arrays).
const MAX_BATCH: usize = 512;
/// Requests waiting for the writer at most; past it a request waits for room.
const QUEUE: usize = 4096;

/// One read to record: who, through which endpoint, by which identifier kind,
/// which person (`None`: nobody matched), and when.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub key_name: String,
    pub endpoint: String,
    pub query_kind: &'static str,
    pub entity_id: Option<Uuid>,
    pub request_id: String,
    pub accessed_at: chrono::DateTime<chrono::Utc>,
}

/// Why a row could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("recording the read failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the audit writer has stopped")]
    Stopped,
}

type Ack = oneshot::Sender<Result<(), Arc<sqlx::Error>>>;

struct Pending {
    entries: Vec<AuditEntry>,
    ack: Ack,
}

/// The handle requests record their reads through. Cheap to clone; the
/// writer task starts with the first row (it needs a running runtime) and
/// ends when every handle is gone.
#[derive(Debug, Clone)]
pub struct AuditLog {
    pool: PgPool,
    tx: Arc<OnceLock<mpsc::Sender<Pending>>>,
}

impl AuditLog {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            tx: Arc::default(),
        }
    }

    /// Records `entries` (one request's reads) and returns once they are
    /// committed — together with whatever other requests were waiting.
    pub async fn record(&self, entries: Vec<AuditEntry>) -> Result<(), AuditError> {
        if entries.is_empty() {
            return Ok(());
        }
        let tx = self.tx.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write_batches(self.pool.clone(), rx));
            tx
        });
        let (ack, done) = oneshot::channel();
        tx.send(Pending { entries, ack })
            .await
            .map_err(|_| AuditError::Stopped)?;
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(AuditError::Database(shared_error(&e))),
            Err(_) => Err(AuditError::Stopped),
        }
    }
}

/// A batch's error, for each of its requests (sqlx's error is not `Clone`).
fn shared_error(e: &sqlx::Error) -> sqlx::Error {
    match e {
        sqlx::Error::Database(db) => sqlx::Error::Protocol(format!(
            "audit insert failed: {} ({})",
            db.message(),
            db.code().unwrap_or_default()
        )),
        other => sqlx::Error::Protocol(format!("audit insert failed: {other}")),
    }
}

/// The writer: takes the first waiting request, then every other one already
/// queued (up to `MAX_BATCH` rows), commits them in one statement, answers
/// each. A batch the database refuses is retried request by request, so one
/// bad row fails only its own request.
async fn write_batches(pool: PgPool, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let mut rows = batch[0].entries.len();
        while rows < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => {
                    rows += p.entries.len();
                    batch.push(p);
                }
                Err(_) => break,
            }
        }
        let all: Vec<&AuditEntry> = batch.iter().flat_map(|p| &p.entries).collect();
        match insert(&pool, &all).await {
            Ok(()) => batch.into_iter().for_each(|p| {
                let _ = p.ack.send(Ok(()));
            }),
            // Refused by the database (a row it will not take): each request
            // alone, so one bad row fails only its own. Any other failure (the
            // connection, the pool) fails the batch at once: retrying row by
            // row would only wait out the same timeout once per request.
            Err(sqlx::Error::Database(_)) if batch.len() > 1 => {
                for p in batch {
                    let one: Vec<&AuditEntry> = p.entries.iter().collect();
                    let _ = p.ack.send(insert(&pool, &one).await.map_err(Arc::new));
                }
            }
            Err(e) => {
                let e = Arc::new(e);
                batch.into_iter().for_each(|p| {
                    let _ = p.ack.send(Err(e.clone()));
                });
            }
        }
    }
}

/// One statement (its own transaction) for every row of `entries`.
async fn insert(pool: &PgPool, entries: &[&AuditEntry]) -> Result<(), sqlx::Error> {
    let column = |f: fn(&AuditEntry) -> String| entries.iter().map(|e| f(e)).collect::<Vec<_>>();
    let keys = column(|e| e.key_name.clone());
    let endpoints = column(|e| e.endpoint.clone());
    let kinds = column(|e| e.query_kind.to_owned());
    let requests = column(|e| e.request_id.clone());
    let ids: Vec<Option<Uuid>> = entries.iter().map(|e| e.entity_id).collect();
    let times: Vec<chrono::DateTime<chrono::Utc>> = entries.iter().map(|e| e.accessed_at).collect();
    sqlx::query!(
        "INSERT INTO enrich.pii_access_audit (key_name, endpoint, query_kind, entity_id, request_id, accessed_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::timestamptz[])",
        &keys,
        &endpoints,
        &kinds,
        &ids as &[Option<Uuid>],
        &requests,
        &times
    )
    .execute(pool)
    .await?;
    Ok(())
}
