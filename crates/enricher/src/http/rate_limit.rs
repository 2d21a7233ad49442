//! Token buckets per API key and per client IP (429 with `Retry-After`). The
//! per-IP bucket is spent only by failed authentications (a key guesser pays,
//! authenticated traffic is limited per key). The C2S webhook is not
//! limited: throttling it would lose deliveries.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets of `per_minute` tokens refilled continuously.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_minute` 0 disables the limit.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; `Err(wait)` when the bucket is empty.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let rate = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Forget idle buckets so the map cannot grow without bound.
        if buckets.len() > 10_000 {
            buckets.retain(|_, (_, last)| now.duration_since(*last) < Duration::from_secs(120));
        }
        let (tokens, last) = buckets.entry(key.to_owned()).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(capacity);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(((1.0 - *tokens) / rate).max(0.0))
                .max(Duration::from_secs(1)))
        }
    }

    /// Gives back a token taken by [`RateLimiter::check`] (the attempt it
    /// paid for turned out not to count).
    pub fn refund(&self, key: &str) {
        if self.per_minute == 0 {
            return;
        }
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((tokens, _)) = buckets.get_mut(key) {
            *tokens = (*tokens + 1.0).min(f64::from(self.per_minute));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_capacity_then_says_how_long_to_wait() {
        let l = RateLimiter::new(3);
        for _ in 0..3 {
            assert!(l.check("k").is_ok());
        }
        let wait = l.check("k").expect_err("empty");
        assert!(
            wait >= Duration::from_secs(1) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(l.check("other").is_ok(), "buckets are per key");
        assert!(RateLimiter::new(0).check("k").is_ok(), "0 disables");
    }
}
