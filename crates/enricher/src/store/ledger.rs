//! The paid-call ledger and cache.
//!
//! Every provider call is a row: provider, module, a keyed hash (HMAC-SHA256) of
//! the normalised query, outcome, latency, credits, and — for answers worth
//! keeping (found / not found) — the response and its expiry. A lookup first
//! looks for a fresh answer; only if none exists does it pay. Identical
//! concurrent lookups coalesce into one paid call: in-process through a per-key
//! mutex, across processes through a transaction-scoped advisory lock on the key.

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

/// Shared by every lookup of the service.
#[derive(Debug)]
pub struct Ledger {
    pool: PgPool,
    key: Vec<u8>,
    freshness: Freshness,
    inflight: Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>,
}

impl Ledger {
    /// `key`: the HMAC key (config `LEDGER_HASH_KEY`); when `None`, one is
    /// generated once and kept in `enrich.settings`, shared by every instance.
    pub async fn new(
        pool: PgPool,
        key: Option<Vec<u8>>,
        freshness: Freshness,
    ) -> Result<Self, sqlx::Error> {
        let key = match key {
            Some(k) => k,
            None => stored_key(&pool).await?,
        };
        Ok(Self {
            pool,
            key,
            freshness,
            inflight: Mutex::new(HashMap::new()),
        })
    }

    /// The keyed hash of a normalised query.
    pub fn key_hash(&self, kind: CallKind, query: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| {
            // HMAC accepts keys of any length; this branch cannot happen.
            <Hmac<Sha256> as Mac>::new_from_slice(b"c2s-enrich").expect("static key")
        });
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
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(('x' || substr(encode($1, 'hex'), 1, 16))::bit(64)::bigint)")
            .bind(&hash[..])
            .execute(&mut *tx)
            .await?;
        // Someone (here or in another process) may have paid while we waited.
        if let Some(hit) = self.fresh::<T, _>(&mut *tx, kind, hash).await? {
            tx.commit().await?;
            self.record_hit(kind, hash).await?;
            crate::metrics::METRICS.ledger(kind.provider, kind.module, "hit");
            return Ok(hit);
        }
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
        sqlx::query(
            "INSERT INTO enrich.provider_calls (provider, module, key_hash, outcome, error_kind, latency_ms, credits,
                                               response, expires_at, http_status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9), $10)",
        )
        .bind(kind.provider)
        .bind(kind.module)
        .bind(&hash[..])
        .bind(label)
        .bind(error_kind)
        .bind(latency)
        .bind(credits)
        .bind(response)
        .bind(ttl.map(|d| d.as_secs_f64()))
        .bind(http_status.map(i32::from))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        crate::metrics::METRICS.ledger(
            kind.provider,
            kind.module,
            if credits > 0 { "paid" } else { "failed_free" },
        );
        match outcome {
            Ok(value) => Ok(Looked {
                value,
                cached: false,
            }),
            Err(ProviderError::NotFound { .. }) => Ok(Looked {
                value: None,
                cached: false,
            }),
            Err(e) => Err(e.into()),
        }
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
        let row: Option<(String, Option<serde_json::Value>)> = sqlx::query_as(
            "SELECT outcome, response FROM enrich.provider_calls
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
            Some((outcome, _)) if outcome == "not_found" => Ok(Some(Looked {
                value: None,
                cached: true,
            })),
            Some((_, Some(json))) => {
                let value = serde_json::from_value(json)
                    .map_err(|e| LedgerError::Corrupt(e.to_string()))?;
                Ok(Some(Looked {
                    value: Some(value),
                    cached: true,
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
