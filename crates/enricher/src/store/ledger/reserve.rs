//! The cross-process reservation of a key (ADR 0004): taken when no fresh
//! answer exists, renewed by a heartbeat while the call runs, given back when
//! an answer turns up or something fails after it was taken.

use serde::de::DeserializeOwned;

use super::kinds::{answer_of, CallKind, LedgerError, Reservation};
use super::lookup::Ledger;

impl Ledger {
    /// One statement: a fresh answer if there is one (recording the hit),
    /// else the reservation of this key (or the takeover of an expired one).
    /// A reservation taken is followed by a second answer check in a
    /// statement of its own ([`Self::settle`]): an answer the previous holder
    /// committed while this statement waited on its row is outside this
    /// statement's snapshot, never outside the next one's.
    pub(super) async fn check_or_reserve<T: DeserializeOwned>(
        &self,
        kind: CallKind,
        hash: &[u8; 32],
    ) -> Result<Reservation<T>, LedgerError> {
        let holder = uuid::Uuid::new_v4();
        let row = sqlx::query!(
            r#"WITH f AS (
                 SELECT outcome, response, created_at FROM enrich.provider_calls
                  WHERE provider = $1 AND module = $2 AND key_hash = $3 AND outcome IN ('found', 'not_found')
                    AND expires_at > now()
                  ORDER BY created_at DESC LIMIT 1),
               h AS (
                 INSERT INTO enrich.provider_calls (provider, module, key_hash, outcome, credits, lead_id)
                 SELECT $1, $2, $3, 'hit', 0, $6 FROM f WHERE f.outcome = 'not_found' OR f.response IS NOT NULL),
               r AS (
                 INSERT INTO enrich.provider_reservations AS r (provider, module, key_hash, holder, expires_at)
                 SELECT $1, $2, $3, $4, clock_timestamp() + make_interval(secs => $5)
                  WHERE NOT EXISTS (SELECT 1 FROM f)
                 ON CONFLICT (provider, module, key_hash) DO UPDATE
                    SET holder = EXCLUDED.holder, reserved_at = clock_timestamp(), expires_at = EXCLUDED.expires_at
                  WHERE r.expires_at < clock_timestamp()
                 RETURNING (xmax <> 0) AS took_over)
             SELECT (SELECT outcome FROM f) AS outcome, (SELECT response FROM f) AS response,
                    (SELECT created_at FROM f) AS created_at, (SELECT took_over FROM r) AS took_over"#,
            kind.provider,
            kind.module,
            &hash[..],
            holder,
            self.reservation_ttl.as_secs_f64(),
            super::current_lead()
        )
        .fetch_one(&self.pool)
        .await?;
        if let (Some(outcome), Some(at)) = (row.outcome, row.created_at) {
            return Ok(Reservation::Answered(answer_of(
                &outcome,
                row.response,
                at,
            )?));
        }
        let Some(took_over) = row.took_over else {
            return Ok(Reservation::Held);
        };
        let settled = self.settle(kind, hash, holder, took_over).await;
        if settled.is_err() && !took_over {
            // The reservation is ours and committed: given back at once rather
            // than left to block the key until it expires (and be recorded as
            // a lost, possibly paid call by its taker). One taken over is left
            // to expire: its lost call is not recorded yet, and the next taker
            // records it.
            let _ = self.release(kind, hash, holder).await;
        }
        settled
    }

    /// After taking the reservation: the answer check (an answer the
    /// previous holder recorded meanwhile is ours, the reservation given
    /// back), then the record of a taken-over call whose outcome is unknown —
    /// only when no answer turned up, so a holder that was slow, not dead, is
    /// not counted twice.
    async fn settle<T: DeserializeOwned>(
        &self,
        kind: CallKind,
        hash: &[u8; 32],
        holder: uuid::Uuid,
        took_over: bool,
    ) -> Result<Reservation<T>, LedgerError> {
        if let Some(hit) = self.fresh::<T, _>(&self.pool, kind, hash).await? {
            self.release(kind, hash, holder).await?;
            self.record_hit(kind, hash).await?;
            return Ok(Reservation::Answered(hit));
        }
        if took_over {
            // The previous holder died mid-call: whether it was paid is
            // unknown; count it as possibly paid, visibly.
            sqlx::query!("INSERT INTO enrich.provider_calls (provider, module, key_hash, outcome, error_kind, credits)
                 VALUES ($1, $2, $3, 'unknown', 'holder_lost', $4)", kind.provider, kind.module, &hash[..], kind.credits)
            .execute(&self.pool)
            .await?;
            tracing::warn!(
                provider = kind.provider,
                module = kind.module,
                "a reservation expired with its holder gone: that call's outcome is unknown"
            );
            crate::metrics::METRICS.ledger(kind.provider, kind.module, "unknown");
        }
        Ok(Reservation::Mine(holder))
    }

    /// Gives back `holder`'s reservation of this key.
    pub(super) async fn release(
        &self,
        kind: CallKind,
        hash: &[u8; 32],
        holder: uuid::Uuid,
    ) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "DELETE FROM enrich.provider_reservations
              WHERE provider = $1 AND module = $2 AND key_hash = $3 AND holder = $4",
            kind.provider,
            kind.module,
            &hash[..],
            holder
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Renews the reservation while the call runs (each renewal one short
    /// statement on a pooled connection, returned at once).
    pub(super) fn heartbeat(
        &self,
        kind: CallKind,
        hash: [u8; 32],
        holder: uuid::Uuid,
    ) -> tokio::task::JoinHandle<()> {
        let pool = self.heartbeat_pool.clone();
        let ttl = self.reservation_ttl;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(ttl / 5).await;
                let renewed = sqlx::query!("UPDATE enrich.provider_reservations SET expires_at = clock_timestamp() + make_interval(secs => $5)
                      WHERE provider = $1 AND module = $2 AND key_hash = $3 AND holder = $4", kind.provider, kind.module, &hash[..], holder, ttl.as_secs_f64())
                .execute(&pool)
                .await;
                match renewed {
                    Err(e) => {
                        tracing::warn!(provider = kind.provider, error = %e, "reservation heartbeat failed; retrying");
                    }
                    Ok(r) if r.rows_affected() == 0 => {
                        // Expired and taken over: another holder may ask too.
                        tracing::warn!(
                            provider = kind.provider,
                            "a reservation was lost while its call ran"
                        );
                        crate::metrics::METRICS.ledger(
                            kind.provider,
                            kind.module,
                            "reservation_lost",
                        );
                        return;
                    }
                    Ok(_) => {}
                }
            }
        })
    }
}
