//! What the operator console keeps between requests: the session rules and
//! the login throttle (in the application's state).

/// What the console keeps: the session rules and the login throttle.
#[derive(Debug)]
pub struct ConsoleState {
    pub policy: crate::store::console::Policy,
    /// Login attempts per client address (IPv6: per /64) per minute.
    pub logins: super::rate_limit::RateLimiter,
    /// Login attempts per minute from everywhere (a spread-out guesser).
    pub all_logins: super::rate_limit::RateLimiter,
}

impl Default for ConsoleState {
    fn default() -> Self {
        Self {
            policy: crate::store::console::Policy::default(),
            logins: super::rate_limit::RateLimiter::new(10),
            all_logins: super::rate_limit::RateLimiter::new(120),
        }
    }
}
