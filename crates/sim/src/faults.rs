//! Fault injection per provider, settable at start and at run time.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Faults and latency of one provider. Rates are probabilities in [0, 1];
/// `*_next` counters fail the next N calls deterministically.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Fixed latency added to every answer.
    pub latency_ms: u64,
    /// Uniform random extra latency, 0..=jitter_ms.
    pub jitter_ms: u64,
    /// Share of calls answered 503.
    pub error_rate: f64,
    /// Share of calls that hang for `timeout_ms` and then answer 504.
    pub timeout_rate: f64,
    pub timeout_ms: u64,
    /// Share of calls answered 429 with `Retry-After: retry_after_secs`.
    pub rate_limit_rate: f64,
    pub retry_after_secs: u64,
    /// Share of calls answered with a truncated, non-JSON body.
    pub malformed_rate: f64,
    /// After this many calls, the provider reports exhausted credits.
    pub quota_after: Option<u64>,
    /// Every call is refused as if the token were invalid.
    pub token_invalid: bool,
    /// The next N calls answer 503.
    pub fail_next: u32,
    /// The next N calls answer 429 with `Retry-After`.
    pub rate_limit_next: u32,
    /// The next N calls are carried out (a note posted, a lead created) but
    /// answered 503, as when a gateway loses the answer.
    pub lose_answer_next: u32,
    /// The provider knows nobody: every lookup answers "not found", as its
    /// records do before they have the person (Diretrix and Work API).
    pub knows_nobody: bool,
    /// C2S only: share of webhook events never delivered (C2S loses them
    /// silently: no request, no retry).
    pub webhook_drop_rate: f64,
    /// Only these operations (`get_lead`, `create_message`, `create_lead`,
    /// `phone`, `email`, `cpf`, …) get faults; empty = every operation.
    /// Latency applies to all.
    pub only_operations: Vec<String>,
}

/// What one call gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    Unavailable,
    Timeout(Duration),
    RateLimited(u64),
    Malformed,
    QuotaExhausted,
    TokenInvalid,
    /// Carried out, then answered 503.
    AnswerLost,
    /// Answered "not found", whoever is asked for.
    KnowsNobody,
}

impl Faults {
    /// Decides the fault of call number `n` (1-based) and consumes counters.
    pub fn decide(&mut self, n: u64, rng: &mut StdRng) -> Fault {
        if self.token_invalid {
            return Fault::TokenInvalid;
        }
        if self.quota_after.is_some_and(|q| n > q) {
            return Fault::QuotaExhausted;
        }
        if self.fail_next > 0 {
            self.fail_next -= 1;
            return Fault::Unavailable;
        }
        if self.knows_nobody {
            return Fault::KnowsNobody;
        }
        if self.lose_answer_next > 0 {
            self.lose_answer_next -= 1;
            return Fault::AnswerLost;
        }
        if self.rate_limit_next > 0 {
            self.rate_limit_next -= 1;
            return Fault::RateLimited(self.retry_after_secs);
        }
        let roll: f64 = rng.gen();
        let mut edge = 0.0;
        for (rate, fault) in [
            (self.error_rate, Fault::Unavailable),
            (
                self.timeout_rate,
                Fault::Timeout(Duration::from_millis(self.timeout_ms.max(1))),
            ),
            (
                self.rate_limit_rate,
                Fault::RateLimited(self.retry_after_secs),
            ),
            (self.malformed_rate, Fault::Malformed),
        ] {
            edge += rate.clamp(0.0, 1.0);
            if roll < edge {
                return fault;
            }
        }
        Fault::None
    }

    /// This call's latency.
    pub fn latency(&self, rng: &mut StdRng) -> Duration {
        let jitter = if self.jitter_ms > 0 {
            rng.gen_range(0..=self.jitter_ms)
        } else {
            0
        };
        Duration::from_millis(self.latency_ms + jitter)
    }
}
