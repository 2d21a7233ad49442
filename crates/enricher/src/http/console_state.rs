//! What the operator console keeps between requests: the session rules, the
//! login throttle and the last data-quality report (in the application's
//! state).

/// What the console keeps: the session rules and the login throttle.
#[derive(Debug)]
pub struct ConsoleState {
    pub policy: crate::store::console::Policy,
    /// Login attempts per client address (IPv6: per /64) per minute.
    pub logins: super::rate_limit::RateLimiter,
    /// Login attempts per minute from everywhere (a spread-out guesser).
    pub all_logins: super::rate_limit::RateLimiter,
    /// The last data-quality report and when it was made: the checks scan
    /// whole tables, so a page view reuses one younger than
    /// [`QUALITY_FRESH`], and one run at a time is made (others wait for it).
    pub quality: tokio::sync::Mutex<
        Option<(
            chrono::DateTime<chrono::Utc>,
            std::sync::Arc<crate::ops::dq::Report>,
        )>,
    >,
}

/// How long a data-quality report is shown before the checks run again.
pub const QUALITY_FRESH: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

impl Default for ConsoleState {
    fn default() -> Self {
        Self {
            policy: crate::store::console::Policy::default(),
            logins: super::rate_limit::RateLimiter::new(10),
            all_logins: super::rate_limit::RateLimiter::new(120),
            quality: tokio::sync::Mutex::new(None),
        }
    }
}
