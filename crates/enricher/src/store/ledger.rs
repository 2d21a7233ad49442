//! The paid-call ledger and cache.
//!
//! Every provider call is a row: provider, module, a keyed hash (HMAC-SHA256) of
//! the normalised query, outcome, latency, credits, and — for answers worth
//! keeping (found / not found) — the response and its expiry. A lookup first
//! looks for a fresh answer; only if none exists does it pay.
//!
//! Identical concurrent lookups coalesce into one paid call — in-process
//! through a per-key mutex, across processes through a *reservation*: a row of
//! `enrich.provider_reservations` taken in one short transaction. The call
//! then runs with no transaction and no pooled connection held (a slow
//! provider cannot starve the pool or leave sessions idle in a transaction);
//! the holder keeps the reservation alive with a heartbeat and records the
//! answer in a second short transaction that also releases it. Others wait by
//! polling for the answer. A reservation whose holder died (heartbeat stopped)
//! expires; the next taker records the lost call as outcome `unknown` and
//! asks again — the only case a call can be paid twice, and it is visible.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::Sha256;
use sqlx::PgPool;

use crate::providers::ProviderError;

/// The advisory lock (key, namespace 7) an erasure holds exclusively and an
/// answer being recorded holds shared.
pub const ERASURE_LOCK: &str = "erasure";

/// How long answers stay fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freshness {
    /// A discovery lookup (phone/e-mail → CPFs) that found someone.
    pub discovery: Duration,
    /// A dossier.
    pub dossier: Duration,
    /// Any lookup that found nothing.
    pub not_found: Duration,
}

impl Default for Freshness {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        Self {
            discovery: Duration::from_secs(30 * DAY),
            dossier: Duration::from_secs(30 * DAY),
            not_found: Duration::from_secs(7 * DAY),
        }
    }
}

/// What a lookup is, for the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallKind {
    pub provider: &'static str,
    pub module: &'static str,
    /// Credits one paid call costs.
    pub credits: i32,
    /// Dossier (vs discovery) freshness.
    pub dossier: bool,
}

/// The answer and whether it was paid for now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Looked<T> {
    /// `None`: the provider has nothing for this query.
    pub value: Option<T>,
    /// Answered from the ledger (free).
    pub cached: bool,
    /// When the provider gave this answer (a cached one keeps its own time).
    pub answered_at: chrono::DateTime<chrono::Utc>,
}

/// Why a lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("ledger database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("cached response does not match the expected shape: {0}")]
    Corrupt(String),
}

/// How long a reservation lives without a heartbeat; the holder renews it
/// every fifth of that while its call runs, on its own two-connection pool
/// with a short acquire timeout, so a busy main pool cannot delay a renewal
/// past the expiry. Short, because a crashed
/// holder's keys wait this long before anyone may ask again; long enough to
/// ride out a few seconds of database trouble without a second payment.
pub const RESERVATION_TTL: Duration = Duration::from_secs(15);

/// Shared by every lookup of the service.
#[derive(Debug)]
pub struct Ledger {
    pool: PgPool,
    key: Vec<u8>,
    freshness: Freshness,
    inflight: Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>,
    reservation_ttl: Duration,
    /// Heartbeats only (lazy, at most two connections).
    heartbeat_pool: PgPool,
}

/// What taking a reservation found.
enum Reservation<T> {
    /// Ours: make the call.
    Mine(uuid::Uuid),
    /// Someone recorded an answer meanwhile.
    Answered(Looked<T>),
    /// Another live holder is making the call.
    Held,
}

impl Ledger {
    /// `key`: the HMAC key (config `LEDGER_HASH_KEY`); when `None`, one is
    /// generated once and kept in `enrich.settings`, shared by every instance.
    pub async fn new(
        pool: PgPool,
        key: Option<Vec<u8>>,
        freshness: Freshness,
    ) -> Result<Self, LedgerKeyError> {
        let key = match key {
            Some(k) => k,
            None => stored_key(&pool).await?,
        };
        check_fingerprint(&pool, &key).await?;
        Ok(Self {
            key,
            freshness,
            inflight: Mutex::new(HashMap::new()),
            reservation_ttl: RESERVATION_TTL,
            heartbeat_pool: sqlx::postgres::PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(Duration::from_secs(2))
                .connect_lazy_with(pool.connect_options().as_ref().clone()),
            pool,
        })
    }

    /// A shorter reservation life (drills and tests of a dead holder).
    pub fn with_reservation_ttl(mut self, ttl: Duration) -> Self {
        self.reservation_ttl = ttl.max(Duration::from_millis(300));
        self
    }

    /// The keyed hash of one of a person's identifiers (`kind`: cpf, phone,
    /// email; `value` normalised), for erasure tombstones — apart from the
    /// query hashes, so one cannot be taken for the other.
    pub fn subject_hash(&self, kind: &str, value: &str) -> [u8; 32] {
        let mut mac = keyed_mac(&self.key);
        mac.update(b"subject\0");
        mac.update(kind.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The keyed hash of a normalised query.
    pub fn key_hash(&self, kind: CallKind, query: &str) -> [u8; 32] {
        let mut mac = keyed_mac(&self.key);
        mac.update(kind.provider.as_bytes());
        mac.update(b"\0");
        mac.update(kind.module.as_bytes());
        mac.update(b"\0");
        mac.update(query.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Answers `query` from the ledger when fresh, else calls `fetch` once
    /// (however many identical lookups run at the same time) and records it.
    pub async fn lookup<T, F, Fut>(
        &self,
        kind: CallKind,
        query: &str,
        fetch: F,
    ) -> Result<Looked<T>, LedgerError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<T>, ProviderError>>,
    {
        let hash = self.key_hash(kind, query);
        if let Some(hit) = self.fresh::<T, _>(&self.pool, kind, &hash).await? {
            self.record_hit(kind, &hash).await?;
            crate::metrics::METRICS.ledger(kind.provider, kind.module, "hit");
            return Ok(hit);
        }
        let gate = self.gate(hash);
        let _local = gate.lock().await;
        let result = self.fetch_once(kind, &hash, fetch).await;
        drop(_local);
        self.release_gate(hash, &gate);
        result
    }

    async fn fetch_once<T, F, Fut>(
        &self,
        kind: CallKind,
        hash: &[u8; 32],
        fetch: F,
    ) -> Result<Looked<T>, LedgerError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<T>, ProviderError>>,
    {
        let mut poll = Duration::from_millis(100);
        let holder = loop {
            match self.reserve::<T>(kind, hash).await? {
                Reservation::Mine(holder) => break holder,
                Reservation::Answered(hit) => {
                    self.record_hit(kind, hash).await?;
                    crate::metrics::METRICS.ledger(kind.provider, kind.module, "hit");
                    return Ok(hit);
                }
                Reservation::Held => {
                    // Another process is asking; its answer will be ours.
                    tokio::time::sleep(poll).await;
                    poll = (poll * 2).min(Duration::from_secs(1));
                }
            }
        };
        // Stops with the call, however it ends (a dropped future included:
        // the reservation then expires and its taker records it `unknown`).
        let heartbeat = AbortOnDrop(self.heartbeat(kind, *hash, holder));
        let started = Instant::now();
        let (outcome, http_status) =
            crate::providers::transport::with_status_capture(fetch()).await;
        let latency = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        let (label, error_kind, response, ttl) = match &outcome {
            Ok(Some(v)) => {
                let json =
                    serde_json::to_value(v).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
                let ttl = if kind.dossier {
                    self.freshness.dossier
                } else {
                    self.freshness.discovery
                };
                ("found", None, Some(json), Some(ttl))
            }
            Ok(None) | Err(ProviderError::NotFound { .. }) => {
                ("not_found", None, None, Some(self.freshness.not_found))
            }
            Err(e) => ("error", Some(e.kind()), None, None),
        };
        // A call that never reached the provider costs nothing.
        let credits = match &outcome {
            Err(
                ProviderError::CircuitOpen { .. }
                | ProviderError::Timeout { .. }
                | ProviderError::Unavailable { .. },
            ) => 0,
            Err(ProviderError::QuotaExhausted { .. } | ProviderError::Unauthorized { .. }) => 0,
            _ => kind.credits,
        };
        let row = CallRow {
            label,
            error_kind,
            latency,
            credits,
            response,
            ttl,
            http_status: http_status.map(i32::from),
        };
        // The heartbeat runs until the answer is recorded: a slow record
        // (database trouble) must not let the reservation expire with the
        // paid answer in hand.
        let recorded = self.record_answer(kind, hash, holder, &row).await;
        drop(heartbeat);
        let answered_at = recorded?;
        crate::metrics::METRICS.ledger(
            kind.provider,
            kind.module,
            if credits > 0 { "paid" } else { "failed_free" },
        );
        match outcome {
            Ok(value) => Ok(Looked {
                value,
                cached: false,
                answered_at,
            }),
            Err(ProviderError::NotFound { .. }) => Ok(Looked {
                value: None,
                cached: false,
                answered_at,
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Takes the reservation of this key in one short transaction: the
    /// reservation first, then the answer check (so an answer recorded by the
    /// previous holder just before is always seen). An expired reservation is
    /// taken over and its lost call recorded as `unknown`.
    async fn reserve<T: DeserializeOwned>(
        &self,
        kind: CallKind,
        hash: &[u8; 32],
    ) -> Result<Reservation<T>, LedgerError> {
        let holder = uuid::Uuid::new_v4();
        let mut tx = self.pool.begin().await?;
        let taken: Option<(bool,)> = sqlx::query_as(
            "INSERT INTO enrich.provider_reservations AS r (provider, module, key_hash, holder, expires_at)
             VALUES ($1, $2, $3, $4, clock_timestamp() + make_interval(secs => $5))
             ON CONFLICT (provider, module, key_hash) DO UPDATE
                SET holder = EXCLUDED.holder, reserved_at = clock_timestamp(), expires_at = EXCLUDED.expires_at
              WHERE r.expires_at < clock_timestamp()
             RETURNING (xmax <> 0)",
        )
        .bind(kind.provider)
        .bind(kind.module)
        .bind(&hash[..])
        .bind(holder)
        .bind(self.reservation_ttl.as_secs_f64())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((took_over,)) = taken else {
            tx.rollback().await?;
            return Ok(match self.fresh::<T, _>(&self.pool, kind, hash).await? {
                Some(hit) => Reservation::Answered(hit),
                None => Reservation::Held,
            });
        };
        if let Some(hit) = self.fresh::<T, _>(&mut *tx, kind, hash).await? {
            tx.rollback().await?;
            return Ok(Reservation::Answered(hit));
        }
        if took_over {
            // The previous holder died mid-call: whether it was paid is
            // unknown; count it as possibly paid, visibly.
            sqlx::query(
                "INSERT INTO enrich.provider_calls (provider, module, key_hash, outcome, error_kind, credits)
                 VALUES ($1, $2, $3, 'unknown', 'holder_lost', $4)",
            )
            .bind(kind.provider)
            .bind(kind.module)
            .bind(&hash[..])
            .bind(kind.credits)
            .execute(&mut *tx)
            .await?;
            tracing::warn!(
                provider = kind.provider,
                module = kind.module,
                "a reservation expired with its holder gone: that call's outcome is unknown"
            );
            crate::metrics::METRICS.ledger(kind.provider, kind.module, "unknown");
        }
        tx.commit().await?;
        Ok(Reservation::Mine(holder))
    }

    /// Renews the reservation while the call runs (each renewal one short
    /// statement on a pooled connection, returned at once).
    fn heartbeat(
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
                let renewed = sqlx::query(
                    "UPDATE enrich.provider_reservations SET expires_at = clock_timestamp() + make_interval(secs => $5)
                      WHERE provider = $1 AND module = $2 AND key_hash = $3 AND holder = $4",
                )
                .bind(kind.provider)
                .bind(kind.module)
                .bind(&hash[..])
                .bind(holder)
                .bind(ttl.as_secs_f64())
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

    /// Records the answer and releases the reservation in one short
    /// transaction, retried over a few seconds: the call is paid, and losing
    /// its record (a killed backend, a failover) would make the next lookup
    /// pay again.
    async fn record_answer(
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

    async fn try_record(
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
            sqlx::query("SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 7))")
                .bind(ERASURE_LOCK)
                .execute(&mut *tx)
                .await?;
            let erased_meanwhile: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM enrich.erasures e
                                 WHERE e.erased_at > coalesce((SELECT r.reserved_at FROM enrich.provider_reservations r
                                                                WHERE r.provider = $1 AND r.module = $2 AND r.key_hash = $3 AND r.holder = $4),
                                                              now()) - interval '5 minutes')",
            )
            .bind(kind.provider)
            .bind(kind.module)
            .bind(&hash[..])
            .bind(holder)
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
        let at: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
            "INSERT INTO enrich.provider_calls (provider, module, key_hash, outcome, error_kind, latency_ms, credits,
                                               response, expires_at, http_status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9), $10)
             RETURNING created_at",
        )
        .bind(kind.provider)
        .bind(kind.module)
        .bind(&hash[..])
        .bind(row.label)
        .bind(row.error_kind)
        .bind(row.latency)
        .bind(row.credits)
        .bind(response)
        .bind(ttl)
        .bind(row.http_status)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM enrich.provider_reservations
              WHERE provider = $1 AND module = $2 AND key_hash = $3 AND holder = $4",
        )
        .bind(kind.provider)
        .bind(kind.module)
        .bind(&hash[..])
        .bind(holder)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(at)
    }

    async fn fresh<'e, T, E>(
        &self,
        executor: E,
        kind: CallKind,
        hash: &[u8; 32],
    ) -> Result<Option<Looked<T>>, LedgerError>
    where
        T: DeserializeOwned,
        E: sqlx::PgExecutor<'e>,
    {
        type Row = (
            String,
            Option<serde_json::Value>,
            chrono::DateTime<chrono::Utc>,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT outcome, response, created_at FROM enrich.provider_calls
              WHERE provider = $1 AND module = $2 AND key_hash = $3 AND outcome IN ('found', 'not_found')
                AND expires_at > now()
              ORDER BY created_at DESC LIMIT 1",
        )
        .bind(kind.provider)
        .bind(kind.module)
        .bind(&hash[..])
        .fetch_optional(executor)
        .await?;
        match row {
            None => Ok(None),
            Some((outcome, _, at)) if outcome == "not_found" => Ok(Some(Looked {
                value: None,
                cached: true,
                answered_at: at,
            })),
            Some((_, Some(json), at)) => {
                let value = serde_json::from_value(json)
                    .map_err(|e| LedgerError::Corrupt(e.to_string()))?;
                Ok(Some(Looked {
                    value: Some(value),
                    cached: true,
                    answered_at: at,
                }))
            }
            Some(_) => Err(LedgerError::Corrupt("found without a response".into())),
        }
    }

    async fn record_hit(&self, kind: CallKind, hash: &[u8; 32]) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO enrich.provider_calls (provider, module, key_hash, outcome, credits) VALUES ($1, $2, $3, 'hit', 0)")
            .bind(kind.provider)
            .bind(kind.module)
            .bind(&hash[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    fn gate(&self, hash: [u8; 32]) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self
            .inflight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(hash).or_default().clone()
    }

    fn release_gate(&self, hash: [u8; 32], gate: &Arc<tokio::sync::Mutex<()>>) {
        let mut map = self
            .inflight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Only the map and this caller hold it: nobody is waiting.
        if Arc::strong_count(gate) <= 2 {
            map.remove(&hash);
        }
    }

    /// Removes every ledger row of these queries (erasure of a person).
    pub async fn forget(&self, queries: &[(CallKind, String)]) -> Result<u64, sqlx::Error> {
        let hashes: Vec<Vec<u8>> = queries
            .iter()
            .map(|(k, q)| self.key_hash(*k, q).to_vec())
            .collect();
        Ok(
            sqlx::query("DELETE FROM enrich.provider_calls WHERE key_hash = ANY($1)")
                .bind(&hashes)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Tries to record a paid answer before giving up (about 12 s in all).
const RECORD_ATTEMPTS: u32 = 8;

/// One provider call as the ledger records it.
struct CallRow {
    label: &'static str,
    error_kind: Option<&'static str>,
    latency: i32,
    credits: i32,
    response: Option<serde_json::Value>,
    ttl: Option<Duration>,
    http_status: Option<i32>,
}

/// Calls and credits per provider and day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyUsage {
    pub provider: String,
    pub day: chrono::NaiveDate,
    pub paid_calls: i64,
    pub cache_hits: i64,
    pub errors: i64,
    pub credits: i64,
}

/// Usage since `since`, per provider and day.
pub async fn usage(
    pool: &PgPool,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<DailyUsage>, sqlx::Error> {
    let rows: Vec<(String, chrono::NaiveDate, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT provider, (created_at AT TIME ZONE 'UTC')::date,
                count(*) FILTER (WHERE outcome IN ('found', 'not_found')),
                count(*) FILTER (WHERE outcome = 'hit'),
                count(*) FILTER (WHERE outcome = 'error'),
                coalesce(sum(credits), 0)
           FROM enrich.provider_calls WHERE created_at >= $1
          GROUP BY 1, 2 ORDER BY 2, 1",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(provider, day, paid_calls, cache_hits, errors, credits)| DailyUsage {
                provider,
                day,
                paid_calls,
                cache_hits,
                errors,
                credits,
            },
        )
        .collect())
}

/// HMAC-SHA256 with `key` (HMAC takes keys of any length, so this cannot fail).
fn keyed_mac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

/// Why the ledger cannot start.
#[derive(Debug, thiserror::Error)]
pub enum LedgerKeyError {
    #[error("ledger database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error(
        "LEDGER_HASH_KEY does not match the key this database's ledger was written with \
         (fingerprint {stored}, this key {given}): with it, cached answers and erasure \
         tombstones would not be found (paying again, and an erased person coming back). \
         Use the original key"
    )]
    WrongKey { stored: String, given: String },
}

/// Records the key's fingerprint on first use; refuses a different key later.
async fn check_fingerprint(pool: &PgPool, key: &[u8]) -> Result<(), LedgerKeyError> {
    let mut mac = keyed_mac(key);
    mac.update(b"c2s-enrich ledger key fingerprint");
    let given: String = mac.finalize().into_bytes()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    sqlx::query("INSERT INTO enrich.settings (name, value) VALUES ('ledger_key_fingerprint', $1) ON CONFLICT (name) DO NOTHING")
        .bind(&given)
        .execute(pool)
        .await?;
    let stored: String = sqlx::query_scalar(
        "SELECT value FROM enrich.settings WHERE name = 'ledger_key_fingerprint'",
    )
    .fetch_one(pool)
    .await?;
    if stored == given {
        Ok(())
    } else {
        Err(LedgerKeyError::WrongKey { stored, given })
    }
}

async fn stored_key(pool: &PgPool) -> Result<Vec<u8>, sqlx::Error> {
    let fresh = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    sqlx::query("INSERT INTO enrich.settings (name, value) VALUES ('ledger_hash_key', $1) ON CONFLICT (name) DO NOTHING")
        .bind(&fresh)
        .execute(pool)
        .await?;
    let key: String =
        sqlx::query_scalar("SELECT value FROM enrich.settings WHERE name = 'ledger_hash_key'")
            .fetch_one(pool)
            .await?;
    Ok(key.into_bytes())
}
