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

    /// Records the answer and releases the reservation. An answer kept
    /// (`found`) is recorded in a transaction holding the erasure lock shared:
    /// an erasure while the call was in flight may concern it (it removed
    /// the cached answers it found, not this one), and the answer is then
    /// recorded as paid but not kept. Erasures take that lock exclusively, so
    /// one committing now is either seen by the statement after the lock or
    /// sees (and scrubs) this row. Nothing kept: one statement, no lock.
    pub(super) async fn try_record(
        &self,
        kind: CallKind,
        hash: &[u8; 32],
        holder: uuid::Uuid,
        row: &CallRow,
    ) -> Result<chrono::DateTime<chrono::Utc>, sqlx::Error> {
        let keeps = row.response.is_some();
        let mut tx = if keeps {
            let mut tx = self.pool.begin().await?;
            sqlx::query!(
                "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 7))",
                ERASURE_LOCK
            )
            .execute(&mut *tx)
            .await?;
            Some(tx)
        } else {
            None
        };
        let query = sqlx::query!(
            r#"WITH erased AS (
                 SELECT $11::bool AND EXISTS (
                     SELECT 1 FROM enrich.erasures e
                      WHERE e.erased_at > coalesce((SELECT r.reserved_at FROM enrich.provider_reservations r
                                                     WHERE r.provider = $1 AND r.module = $2 AND r.key_hash = $3 AND r.holder = $4),
                                                   now()) - interval '5 minutes') AS hit),
               ins AS (
                 INSERT INTO enrich.provider_calls (provider, module, key_hash, outcome, error_kind, latency_ms, credits,
                                                    response, expires_at, http_status, lead_id)
                 SELECT $1, $2, $3, $5, $6, $7, $8, CASE WHEN erased.hit THEN NULL ELSE $9::jsonb END,
                        now() + make_interval(secs => CASE WHEN erased.hit THEN 0 ELSE $10::float8 END), $12, $13
                   FROM erased
                 RETURNING created_at),
               del AS (
                 DELETE FROM enrich.provider_reservations
                  WHERE provider = $1 AND module = $2 AND key_hash = $3 AND holder = $4)
             SELECT ins.created_at AS "at!", erased.hit AS "erased!" FROM ins, erased"#,
            kind.provider,
            kind.module,
            &hash[..],
            holder,
            row.label,
            row.error_kind,
            row.latency,
            row.credits,
            row.response.as_ref(),
            row.ttl.map(|d| d.as_secs_f64()),
            keeps,
            row.http_status,
            super::current_lead()
        );
        let recorded = match tx.as_mut() {
            Some(tx) => query.fetch_one(&mut **tx).await?,
            None => query.fetch_one(&self.pool).await?,
        };
        if let Some(tx) = tx {
            tx.commit().await?;
        }
        if recorded.erased {
            tracing::info!(
                provider = kind.provider,
                "an erasure ran during this call; its answer is not kept"
            );
        }
        Ok(recorded.at)
    }
}
