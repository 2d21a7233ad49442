//! The settings of what the service spends: credit budgets, and the
//! long-horizon retries of leads nobody was found for.

use super::error::{invalid, ConfigError};
use super::layers::Layers;

/// Credit budgets: `<P>_DAILY_CREDITS` and `<P>_MONTHLY_CREDITS` for
/// `DIRETRIX` and `WORK_API` (unset: no limit; 0: no paid call at all), and
/// the shares of them retries and the back-fill may use
/// (`BUDGET_RETRY_SHARE`, `BUDGET_BACKFILL_SHARE`, percent).
pub(super) fn budgets(l: &Layers<'_>) -> Result<crate::store::ledger::Budgets, ConfigError> {
    use crate::store::ledger::{Budgets, Caps, Shares};
    let credits = |name: &str| -> Result<Option<i64>, ConfigError> {
        let v: Option<i64> = l.number(name, None)?;
        match v {
            Some(n) if !(0..=1_000_000_000).contains(&n) => Err(invalid(
                name,
                "must be between 0 and 1000000000 credits (unset: no limit)",
            )),
            v => Ok(v),
        }
    };
    let mut caps = Vec::new();
    for (prefix, provider) in [("DIRETRIX", "diretrix"), ("WORK_API", "work_api")] {
        caps.push((
            provider.to_owned(),
            Caps {
                daily: credits(&format!("{prefix}_DAILY_CREDITS"))?,
                monthly: credits(&format!("{prefix}_MONTHLY_CREDITS"))?,
            },
        ));
    }
    let share = |name: &str, default: u8| {
        l.within(
            name,
            None,
            default,
            0..=100,
            "must be a percentage, 0 to 100",
        )
    };
    let shares = Shares {
        retry: share("BUDGET_RETRY_SHARE", Shares::default().retry)?,
        backfill: share("BUDGET_BACKFILL_SHARE", Shares::default().backfill)?,
    };
    Ok(Budgets::new(caps, shares))
}

/// `RETRY_AFTER_DAYS`: comma-separated ages in days (1 to 365, ascending),
/// `off` for none; the not-found freshness from `CACHE_NOT_FOUND_DAYS`.
pub(super) fn retry_policy(
    l: &Layers<'_>,
) -> Result<crate::store::leads::RetryPolicy, ConfigError> {
    const DAY: u64 = 24 * 3600;
    let mut policy = crate::store::leads::RetryPolicy::default();
    let not_found: u64 = l.number("CACHE_NOT_FOUND_DAYS", None)?.unwrap_or(7);
    policy.not_found = std::time::Duration::from_secs(not_found * DAY);
    let Some(raw) = l.env("RETRY_AFTER_DAYS") else {
        return Ok(policy);
    };
    if raw.trim().eq_ignore_ascii_case("off") {
        policy.after.clear();
        return Ok(policy);
    }
    let mut days = Vec::new();
    for part in raw.split(',').map(str::trim) {
        let d: u64 = part.parse().map_err(|_| {
            invalid(
                "RETRY_AFTER_DAYS",
                format!("expected days like 1,7,30 or off, got {part:?}"),
            )
        })?;
        if !(1..=365).contains(&d) || days.last().is_some_and(|&last| d <= last) {
            return Err(invalid(
                "RETRY_AFTER_DAYS",
                "each age must be 1 to 365 days, in ascending order",
            ));
        }
        days.push(d);
    }
    policy.after = days
        .into_iter()
        .map(|d| std::time::Duration::from_secs(d * DAY))
        .collect();
    Ok(policy)
}
