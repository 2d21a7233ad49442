//! The paid-call ledger and cache.
//!
//! Every provider call is a row: provider, module, a keyed hash (HMAC-SHA256) of
//! the normalised query, outcome, latency, credits, the C2S lead it was made
//! for (when made inside a lead's run: [`for_lead`]), and — for answers worth
//! keeping (found / not found) — the response and its expiry. A lookup first
//! looks for a fresh answer; only if none exists does it pay.
//!
//! Identical concurrent lookups coalesce into one paid call — in-process
//! through a per-key mutex, across processes through a *reservation*: a row of
//! `enrich.provider_reservations`, taken by the same statement that looks for
//! a fresh answer when there is none (`reserve.rs`). The call
//! then runs with no transaction and no pooled connection held (a slow
//! provider cannot starve the pool or leave sessions idle in a transaction);
//! the holder keeps the reservation alive with a heartbeat and records the
//! answer in one statement that also releases it. Others wait by
//! polling for the answer. A reservation whose holder died (heartbeat stopped)
//! expires; the next taker records the lost call as outcome `unknown` and
//! asks again — the only case a call can be paid twice, and it is visible.

mod budget;
mod cap;
mod health;
mod key;
mod kinds;
mod lookup;
mod record;
mod reserve;
mod usage;

pub use budget::{
    period_end, periods_of, state as budget_state, BudgetState, Budgets, Caps, Clock, Period,
    Refusal, Shares, Spender,
};
pub use cap::CreditCap;
pub use health::{
    claim_source_alert, recent_answers, source_recovered, unclaim_source_alert, RecentAnswers,
};
pub use key::LedgerKeyError;
pub use kinds::{
    CallKind, Freshness, LedgerError, Looked, CNPJ_COMPANY, ERASURE_LOCK, RESERVATION_TTL,
};
pub use lookup::Ledger;
pub use usage::{usage, DailyUsage};

tokio::task_local! {
    /// The C2S lead whose processing is making the calls (set by the
    /// pipeline around a lead's run): each call row carries it, so the
    /// console's timeline lists a lead's calls, costs and cache hits.
    static FOR_LEAD: String;
}

/// Runs `fut` with its provider calls recorded as made for `lead_id`.
pub async fn for_lead<F: std::future::Future>(lead_id: &str, fut: F) -> F::Output {
    FOR_LEAD.scope(lead_id.to_owned(), fut).await
}

/// The lead the current task's calls are for, if any.
fn current_lead() -> Option<String> {
    FOR_LEAD.try_with(Clone::clone).ok()
}
