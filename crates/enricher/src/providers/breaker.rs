//! A small circuit breaker. It watches the last [`WINDOW`] calls and opens for
//! `cooldown` when at least `threshold` of them met an outage (timeouts, 5xx,
//! connection failures) **and** outages are at least 80 % of them; then one
//! probe call is let through (half-open): success closes it, failure opens it
//! again.
//!
//! Why a ratio and not "N in a row": with dozens of calls in flight, a
//! provider failing 20 % of the time produces five failures in a row every few
//! seconds — a consecutive-count breaker would then stay open most of the
//! time and stall every job for a provider that mostly works (the `faults`
//! drill showed it). A real outage still opens it after `threshold` calls from
//! a fresh start, or after 16 of the last 20.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Calls remembered while closed.
pub const WINDOW: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Recent outcomes, newest last (`true` = outage).
    Closed {
        recent: VecDeque<bool>,
    },
    Open {
        until: Instant,
    },
    HalfOpen {
        probing: bool,
    },
}

impl State {
    fn closed() -> Self {
        Self::Closed {
            recent: VecDeque::with_capacity(WINDOW),
        }
    }
}

/// Shared by every call to one provider.
#[derive(Debug)]
pub struct CircuitBreaker {
    state: Mutex<State>,
    threshold: u32,
    cooldown: Duration,
}

/// The breaker's state, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl CircuitBreaker {
    /// `threshold` 0 disables the breaker.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            state: Mutex::new(State::closed()),
            threshold,
            cooldown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state inconsistent
        // (every update is a single assignment): recover from poisoning.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// May a call go out now?
    pub fn allow(&self) -> bool {
        if self.threshold == 0 {
            return true;
        }
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => true,
            State::Open { until } if Instant::now() >= until => {
                *state = State::HalfOpen { probing: true };
                true
            }
            State::Open { .. } => false,
            State::HalfOpen { probing: true } => false,
            State::HalfOpen { probing: false } => {
                *state = State::HalfOpen { probing: true };
                true
            }
        }
    }

    /// The call reached the provider and it answered sanely (any non-outage result).
    pub fn record_success(&self) {
        let mut state = self.lock();
        match &mut *state {
            State::Closed { recent } => push(recent, false),
            // The probe (or a call that left before the breaker opened) worked.
            _ => *state = State::closed(),
        }
    }

    /// The call met an outage.
    pub fn record_outage(&self) {
        if self.threshold == 0 {
            return;
        }
        let mut state = self.lock();
        let open = match &mut *state {
            State::Closed { recent } => {
                push(recent, true);
                let failures = recent.iter().filter(|f| **f).count();
                failures >= self.threshold as usize && failures * 5 >= recent.len() * 4
            }
            // A failed probe, or a late failure while open: (re)open.
            _ => true,
        };
        if open {
            *state = State::Open {
                until: Instant::now() + self.cooldown,
            };
        }
    }

    /// Current state.
    pub fn state(&self) -> BreakerState {
        match &*self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if Instant::now() >= *until => BreakerState::HalfOpen,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

fn push(recent: &mut VecDeque<bool>, outage: bool) {
    if recent.len() == WINDOW {
        recent.pop_front();
    }
    recent.push_back(outage);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_outages_then_probes_once_and_closes_on_success() {
        let b = CircuitBreaker::new(3, Duration::from_millis(30));
        for _ in 0..2 {
            assert!(b.allow());
            b.record_outage();
        }
        assert_eq!(b.state(), BreakerState::Closed);
        b.record_outage();
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.allow());
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow(), "one probe after the cooldown");
        assert!(!b.allow(), "only one probe at a time");
        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.allow());
    }

    #[test]
    fn a_failed_probe_opens_it_again_and_isolated_successes_do_not_hide_an_outage() {
        let b = CircuitBreaker::new(2, Duration::from_millis(20));
        b.record_outage();
        b.record_success();
        b.record_outage();
        assert_eq!(b.state(), BreakerState::Closed, "2 of 3 is under 80 %");
        for _ in 0..2 {
            b.record_outage();
        }
        assert_eq!(b.state(), BreakerState::Open, "4 of 5 is 80 %");
        std::thread::sleep(Duration::from_millis(25));
        assert!(b.allow());
        b.record_outage();
        assert_eq!(b.state(), BreakerState::Open, "the probe failed");
        assert!(
            CircuitBreaker::new(0, Duration::ZERO).allow(),
            "threshold 0 disables it"
        );
    }

    #[test]
    fn a_provider_failing_one_call_in_five_never_opens_it_but_an_outage_does() {
        let b = CircuitBreaker::new(5, Duration::from_secs(60));
        // 20 % of the calls fail, bunched five in a row (what concurrent
        // calls to a flaky provider look like): "5 in a row" would open here.
        // (From a breaker that has seen calls: a fresh one opens after the
        // first `threshold` failures, which is the point of it.)
        for i in 5..10_000 {
            if i % 25 < 5 {
                b.record_outage();
            } else {
                b.record_success();
            }
            assert_eq!(b.state(), BreakerState::Closed, "call {i}");
        }
        for _ in 0..16 {
            b.record_outage();
        }
        assert_eq!(b.state(), BreakerState::Open, "16 of the last 20 failed");
    }
}
