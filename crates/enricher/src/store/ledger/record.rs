//! Recording a paid answer: one short transaction, retried, that also
//! releases the reservation.

use std::time::Duration;

use super::kinds::{CallKind, CallRow, LedgerError, ERASURE_LOCK, RECORD_ATTEMPTS};
use super::lookup::Ledger;

impl Ledger {
    /// Records the answer and releases the reservation in one short
    /// transaction, retried over a few seconds: the call is paid, and losing
    /// its record (a killed backend, a failover) would make the next lookup
    /// pay again.
    pub(super) async fn record_answer(
        &self,
        kind: CallKind,
        hash: &[u8; 32],
        holder: uuid::Uuid,
        row: &CallRow,
    ) -> Result<chrono::DateTime<chrono::Utc>, LedgerError> {
        let mut wait = Duration::from_millis(100);
        let mut attempt = 1;
        loop {
            match self.try_record(kind, hash, holder, row).await {
                Ok(at) => return Ok(at),
                Err(e) if attempt < RECORD_ATTEMPTS => {
                    tracing::warn!(provider = kind.provider, attempt, error = %e, "recording a provider answer failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    // Longer than 70 lines on purpose: One transaction's statements in order (lock, record, release, rollup).
    pub(super) async fn try_record(
        &self,
        kind: CallKind,
        hash: &[u8; 32],
        holder: uuid::Uuid,
        row: &CallRow,
    ) -> Result<chrono::DateTime<chrono::Utc>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // An erasure while the call was in flight may concern this answer (it
        // removed the cached answers it found, not this one): the answer is
        // then recorded as paid but not kept. Erasures take this lock
        // exclusively, so one committing now is either seen here or sees
        // (and scrubs) this row.
        let mut response = row.response.as_ref();
        if response.is_some() {
            sqlx::query!(
                "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 7))",
                ERASURE_LOCK
            )
            .execute(&mut *tx)
            .await?;
            let erased_meanwhile: bool = sqlx::query_scalar!("SELECT EXISTS (SELECT 1 FROM enrich.erasures e
                                 WHERE e.erased_at > coalesce((SELECT r.reserved_at FROM enrich.provider_reservations r
                                                                WHERE r.provider = $1 AND r.module = $2 AND r.key_hash = $3 AND r.holder = $4),
                                                              now()) - interval '5 minutes') AS \"erased!\"", kind.provider, kind.module, &hash[..], holder)
            .fetch_one(&mut *tx)
            .await?;
            if erased_meanwhile {
                tracing::info!(
                    provider = kind.provider,
                    "an erasure ran during this call; its answer is not kept"
                );
                response = None;
            }
        }
        let ttl = if row.response.is_some() && response.is_none() {
            Some(0.0)
        } else {
            row.ttl.map(|d| d.as_secs_f64())
        };
        let at: chrono::DateTime<chrono::Utc> = sqlx::query_scalar!("INSERT INTO enrich.provider_calls (provider, module, key_hash, outcome, error_kind, latency_ms, credits,
                                               response, expires_at, http_status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9), $10)
             RETURNING created_at", kind.provider, kind.module, &hash[..], row.label, row.error_kind, row.latency, row.credits, response, ttl, row.http_status)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query!(
            "DELETE FROM enrich.provider_reservations
              WHERE provider = $1 AND module = $2 AND key_hash = $3 AND holder = $4",
            kind.provider,
            kind.module,
            &hash[..],
            holder
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(at)
    }
}
