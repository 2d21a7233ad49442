//! Looking up: a fresh answer from the ledger, else one paid call however
//! many identical lookups run at once (in-process gates, cross-process
//! reservations with a heartbeat).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::Mac;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::PgPool;

use super::budget::{self, Budgets, Spender};
use super::key::{check_fingerprint, keyed_mac, stored_key, LedgerKeyError};
use super::kinds::{
    answer_of, AbortOnDrop, CallKind, CallRow, Freshness, LedgerError, Looked, Reservation,
    RESERVATION_TTL,
};

use crate::providers::ProviderError;

/// Shared by every lookup of the service.
#[derive(Debug)]
pub struct Ledger {
    pub(super) pool: PgPool,
    pub(super) key: Vec<u8>,
    pub(super) freshness: Freshness,
    pub(super) inflight: Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>,
    pub(super) reservation_ttl: Duration,
    /// Heartbeats only (lazy, at most two connections).
    pub(super) heartbeat_pool: PgPool,
    /// Credit budgets charged before each paid call (none by default).
    pub(super) budgets: Budgets,
    /// This process's own limit, if any (a back-fill's `--max-credits`).
    pub(super) cap: Option<std::sync::Arc<super::cap::CreditCap>>,
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
            budgets: Budgets::default(),
            cap: None,
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

    /// The credit budgets every paid call is charged against.
    pub fn with_budgets(mut self, budgets: Budgets) -> Self {
        self.budgets = budgets;
        self
    }

    /// This process's own credit limit on top of the budgets.
    pub fn with_cap(mut self, cap: std::sync::Arc<super::cap::CreditCap>) -> Self {
        self.cap = Some(cap);
        self
    }

    /// The budgets in force.
    pub fn budgets(&self) -> &Budgets {
        &self.budgets
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
    /// (however many identical lookups run at the same time) and records it;
    /// a paid call is charged to a new lead's budget.
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
        self.lookup_as(kind, query, Spender::New, fetch).await
    }

    /// [`Self::lookup`], a paid call charged to `spender`'s share of the
    /// provider's budgets (refused with [`LedgerError::OverBudget`], without
    /// calling, when it would pass one).
    pub async fn lookup_as<T, F, Fut>(
        &self,
        kind: CallKind,
        query: &str,
        spender: Spender,
        fetch: F,
    ) -> Result<Looked<T>, LedgerError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<T>, ProviderError>>,
    {
        let hash = self.key_hash(kind, query);
        // Identical lookups in this process wait here for the first one's
        // answer (no polling); across processes, on the reservation.
        let gate = self.gate(hash);
        let _local = gate.lock().await;
        let result = self.fetch_once(kind, &hash, spender, fetch).await;
        drop(_local);
        self.release_gate(hash, &gate);
        result
    }

    async fn fetch_once<T, F, Fut>(
        &self,
        kind: CallKind,
        hash: &[u8; 32],
        spender: Spender,
        fetch: F,
    ) -> Result<Looked<T>, LedgerError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<T>, ProviderError>>,
    {
        let mut poll = Duration::from_millis(100);
        let holder = loop {
            match self.check_or_reserve::<T>(kind, hash).await? {
                Reservation::Mine(holder) => break holder,
                Reservation::Answered(hit) => {
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
        // Charged before the call; refused, the key is given back unasked.
        let charge = self.charge_or_release(kind, hash, holder, spender).await?;
        // Stops with the call, however it ends (a dropped future included:
        // the reservation then expires and its taker records it `unknown`).
        let heartbeat = AbortOnDrop(self.heartbeat(kind, *hash, holder));
        let started = Instant::now();
        let (outcome, http_status) =
            crate::providers::transport::with_status_capture(fetch()).await;
        let latency = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        let row = self.call_row(kind, &outcome, latency, http_status)?;
        let credits = row.credits;
        self.give_back(kind, charge.as_ref(), &outcome, credits)
            .await;
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

    /// Gives back to the budgets (and this process's cap) what a call did
    /// not cost — only when the provider clearly did not act (it refused us,
    /// or nothing was sent): after a timeout, a 5xx or a garbled answer it
    /// may have billed, so the charge stays.
    async fn give_back<T>(
        &self,
        kind: CallKind,
        charge: Option<&budget::Charge>,
        outcome: &Result<Option<T>, ProviderError>,
        credits: i32,
    ) {
        let unspent = match outcome {
            Err(e) if e.refused_before_acting() => kind.credits - credits,
            _ => 0,
        };
        if let Some(charge) = charge {
            budget::give_back(&self.pool, charge, unspent).await;
        }
        if let Some(cap) = &self.cap {
            cap.give_back(unspent.into());
        }
    }

    /// Charges the call to `spender`'s budget; refused (or failed), the
    /// reservation is given back.
    async fn charge_or_release(
        &self,
        kind: CallKind,
        hash: &[u8; 32],
        holder: uuid::Uuid,
        spender: Spender,
    ) -> Result<Option<budget::Charge>, LedgerError> {
        let credits: i64 = kind.credits.into();
        if let Some(cap) = &self.cap {
            if !cap.take(credits) {
                let _ = self.release(kind, hash, holder).await;
                return Err(LedgerError::OverBudget(budget::Refusal {
                    provider: kind.provider,
                    period: budget::Period::Run,
                    spender,
                    until: chrono::Utc::now(),
                }));
            }
        }
        let charged =
            budget::charge(&self.pool, &self.budgets, kind.provider, credits, spender).await;
        let err = match charged {
            Ok(Ok(charge)) => return Ok(charge),
            Ok(Err(refusal)) => LedgerError::OverBudget(refusal),
            Err(e) => e.into(),
        };
        if let Some(cap) = &self.cap {
            cap.give_back(credits);
        }
        let _ = self.release(kind, hash, holder).await;
        Err(err)
    }

    /// How a call is recorded: its outcome's label, the answer kept and for
    /// how long, and the credits it cost (none when it never reached the
    /// provider or the provider refused us).
    fn call_row<T: Serialize>(
        &self,
        kind: CallKind,
        outcome: &Result<Option<T>, ProviderError>,
        latency: i32,
        http_status: Option<u16>,
    ) -> Result<CallRow, LedgerError> {
        let (label, error_kind, response, ttl) = match outcome {
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
        let credits = match outcome {
            Err(
                ProviderError::CircuitOpen { .. }
                | ProviderError::Timeout { .. }
                | ProviderError::Unavailable { .. },
            ) => 0,
            Err(ProviderError::QuotaExhausted { .. } | ProviderError::Unauthorized { .. }) => 0,
            _ => kind.credits,
        };
        Ok(CallRow {
            label,
            error_kind,
            latency,
            credits,
            response,
            ttl,
            http_status: http_status.map(i32::from),
        })
    }

    /// Whether `query` has a fresh answer (it would cost nothing).
    pub async fn is_fresh(&self, kind: CallKind, query: &str) -> Result<bool, LedgerError> {
        let hash = self.key_hash(kind, query);
        let found = self
            .fresh::<serde_json::Value, _>(&self.pool, kind, &hash)
            .await?;
        Ok(found.is_some())
    }

    pub(super) async fn fresh<'e, T, E>(
        &self,
        executor: E,
        kind: CallKind,
        hash: &[u8; 32],
    ) -> Result<Option<Looked<T>>, LedgerError>
    where
        T: DeserializeOwned,
        E: sqlx::PgExecutor<'e>,
    {
        let row = sqlx::query!("SELECT outcome, response, created_at FROM enrich.provider_calls
              WHERE provider = $1 AND module = $2 AND key_hash = $3 AND outcome IN ('found', 'not_found')
                AND expires_at > now()
              ORDER BY created_at DESC LIMIT 1", kind.provider, kind.module, &hash[..])
        .fetch_optional(executor)
        .await?;
        row.map(|r| answer_of(&r.outcome, r.response, r.created_at))
            .transpose()
    }

    pub(super) async fn record_hit(
        &self,
        kind: CallKind,
        hash: &[u8; 32],
    ) -> Result<(), sqlx::Error> {
        sqlx::query!("INSERT INTO enrich.provider_calls (provider, module, key_hash, outcome, credits, lead_id) VALUES ($1, $2, $3, 'hit', 0, $4)",
                     kind.provider, kind.module, &hash[..], super::current_lead())
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
        Ok(sqlx::query!(
            "DELETE FROM enrich.provider_calls WHERE key_hash = ANY($1)",
            &hashes
        )
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}
