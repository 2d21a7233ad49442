//! Credit budgets (issue 16): per provider, per day and per month, in São
//! Paulo's calendar. A paid call is charged against
//! `enrich.provider_budget_spend` after its reservation is taken and before
//! it is made — one statement for both periods, refused when it would pass
//! either, so the budget holds whatever the number of instances. What the
//! call did not cost (it never reached the provider) is given back after it.
//! A process that dies between the charge and the call keeps the charge:
//! the error is on the side of spending less.
//!
//! Work is charged by who it is for ([`Spender`]): new leads may use the
//! whole budget, retries and the back-fill only their share of it, so what
//! is left of a period goes to new leads first.

use std::sync::Arc;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};
use sqlx::PgPool;

/// Whom a paid call is for, in order of priority.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Spender {
    /// A lead as it arrives (webhook, sweep, trigger): the whole budget.
    #[default]
    New,
    /// A lead asked about again days later (nobody found before).
    Retry,
    /// Historical leads (`c2s-enrich backfill`).
    Backfill,
}

impl Spender {
    /// From its name in a job's payload (`retry`, `backfill`); anything
    /// else is a new lead's.
    pub fn named(name: Option<&str>) -> Self {
        match name {
            Some("retry") => Self::Retry,
            Some("backfill") => Self::Backfill,
            _ => Self::New,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Retry => "retry",
            Self::Backfill => "backfill",
        }
    }
}

/// A budget's period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Month,
    /// One run's own limit (`backfill --max-credits`).
    Run,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
            Self::Run => "run",
        }
    }
}

/// One provider's budgets in credits (`None`: no limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    pub daily: Option<i64>,
    pub monthly: Option<i64>,
}

/// The share of each budget retries and the back-fill may use, in percent
/// (`BUDGET_RETRY_SHARE`, default 80; `BUDGET_BACKFILL_SHARE`, default 50).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shares {
    pub retry: u8,
    pub backfill: u8,
}

impl Default for Shares {
    fn default() -> Self {
        Self {
            retry: 80,
            backfill: 50,
        }
    }
}

/// What time it is (injected in tests).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Every provider's budgets, the shares, and the clock periods are read on.
#[derive(Clone)]
pub struct Budgets {
    caps: Vec<(String, Caps)>,
    pub shares: Shares,
    clock: Clock,
    /// The budgets this process has said (once, at ERROR) are spent.
    told: Told,
}

/// The budgets (provider, period, first day) a process has reported spent.
type Told = Arc<std::sync::Mutex<std::collections::HashSet<(String, &'static str, NaiveDate)>>>;

impl std::fmt::Debug for Budgets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budgets")
            .field("caps", &self.caps)
            .field("shares", &self.shares)
            .finish_non_exhaustive()
    }
}

impl Default for Budgets {
    fn default() -> Self {
        Self::new(Vec::new(), Shares::default())
    }
}

impl Budgets {
    /// `caps` by provider name (`diretrix`, `work_api`).
    pub fn new(caps: Vec<(String, Caps)>, shares: Shares) -> Self {
        Self {
            caps,
            shares,
            clock: Arc::new(Utc::now),
            told: Arc::default(),
        }
    }

    /// The same budgets read on another clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// A provider's budgets (none when not configured).
    pub fn caps(&self, provider: &str) -> Caps {
        self.caps
            .iter()
            .find(|(p, _)| p == provider)
            .map(|(_, c)| *c)
            .unwrap_or_default()
    }

    /// Whether any budget is set.
    pub fn any(&self) -> bool {
        self.caps
            .iter()
            .any(|(_, c)| c.daily.is_some() || c.monthly.is_some())
    }

    /// Now, on this budget's clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Counts a refusal; the first one of a budget's period that stops new
    /// leads is logged once per process, at ERROR.
    fn tell_refused(&self, provider: &str, period: Period, starts: NaiveDate, spender: Spender) {
        crate::metrics::METRICS.budget_refused(provider, period.as_str(), spender.as_str());
        if spender != Spender::New {
            return;
        }
        let first = self
            .told
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((provider.to_owned(), period.as_str(), starts));
        if first {
            tracing::error!(
                provider,
                period = period.as_str(),
                until = %period_end(period, starts).to_rfc3339(),
                "a credit budget is spent: the provider's paid calls are refused until the period ends"
            );
        }
    }

    /// How much of a budget `spender` may use.
    fn ceiling(&self, cap: Option<i64>, spender: Spender) -> Option<i64> {
        let share = match spender {
            Spender::New => 100,
            Spender::Retry => self.shares.retry,
            Spender::Backfill => self.shares.backfill,
        };
        cap.map(|c| c.saturating_mul(i64::from(share)) / 100)
    }
}

/// São Paulo's offset (no daylight saving time since 2019).
fn sao_paulo() -> FixedOffset {
    FixedOffset::west_opt(3 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero"))
}

/// The day and month `at` falls in (their first days), São Paulo time.
pub fn periods_of(at: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let local = at.with_timezone(&sao_paulo()).date_naive();
    let month = local.with_day(1).unwrap_or(local);
    (local, month)
}

/// When the period starting `starts` ends.
pub fn period_end(period: Period, starts: NaiveDate) -> DateTime<Utc> {
    let next = match period {
        Period::Day => starts.succ_opt(),
        Period::Month => starts
            .with_day(1)
            .and_then(|d| d.checked_add_months(chrono::Months::new(1))),
        // A run's own limit has no calendar: it ends with the run.
        Period::Run => Some(starts),
    }
    .unwrap_or(starts);
    sao_paulo()
        .from_local_datetime(&next.and_time(chrono::NaiveTime::MIN))
        .single()
        .map(|t| t.to_utc())
        .unwrap_or_else(|| next.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// A charge made, to give back what the call did not cost.
#[derive(Debug, Clone, Copy)]
pub(super) struct Charge {
    provider: &'static str,
    day: Option<NaiveDate>,
    month: Option<NaiveDate>,
    credits: i64,
}

/// A budget that refused a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub provider: &'static str,
    pub period: Period,
    pub spender: Spender,
    /// When the period ends (the charge may succeed from then on).
    pub until: DateTime<Utc>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the {} credit budget of {} is spent{} until {}",
            self.period.as_str(),
            self.provider,
            match self.spender {
                Spender::New => String::new(),
                s => format!(" for {} (its share)", s.as_str()),
            },
            self.until.to_rfc3339()
        )
    }
}

/// Charges `credits` of `provider` for `spender` against both periods' budgets
/// (those set); `Ok(None)` when no budget is set, `Err(refusal)` when either
/// would be passed (nothing is charged then).
pub(super) async fn charge(
    pool: &PgPool,
    budgets: &Budgets,
    provider: &'static str,
    credits: i64,
    spender: Spender,
) -> Result<Result<Option<Charge>, Refusal>, sqlx::Error> {
    let caps = budgets.caps(provider);
    if credits <= 0 || (caps.daily.is_none() && caps.monthly.is_none()) {
        return Ok(Ok(None));
    }
    let (day, month) = periods_of(budgets.now());
    let (day_ceiling, month_ceiling) = (
        budgets.ceiling(caps.daily, spender),
        budgets.ceiling(caps.monthly, spender),
    );
    let row = sqlx::query!(
        r#"WITH d AS (
             INSERT INTO enrich.provider_budget_spend AS s (provider, period, starts, credits)
             SELECT $1::text, 'day', $2::date, $6::bigint WHERE $6::bigint <= $3::bigint
             ON CONFLICT (provider, period, starts) DO UPDATE
                SET credits = s.credits + EXCLUDED.credits, updated_at = now()
              WHERE s.credits + EXCLUDED.credits <= $3::bigint
             RETURNING 1),
           m AS (
             INSERT INTO enrich.provider_budget_spend AS s (provider, period, starts, credits)
             SELECT $1::text, 'month', $4::date, $6::bigint WHERE $6::bigint <= $5::bigint
             ON CONFLICT (provider, period, starts) DO UPDATE
                SET credits = s.credits + EXCLUDED.credits, updated_at = now()
              WHERE s.credits + EXCLUDED.credits <= $5::bigint
             RETURNING 1)
         SELECT EXISTS (SELECT 1 FROM d) AS "day!", EXISTS (SELECT 1 FROM m) AS "month!""#,
        provider,
        day,
        day_ceiling,
        month,
        month_ceiling,
        credits
    )
    .fetch_one(pool)
    .await?;
    let charged = Charge {
        provider,
        day: row.day.then_some(day),
        month: row.month.then_some(month),
        credits,
    };
    let refused = if day_ceiling.is_some() && !row.day {
        Some((Period::Day, day))
    } else if month_ceiling.is_some() && !row.month {
        Some((Period::Month, month))
    } else {
        None
    };
    let Some((period, starts)) = refused else {
        return Ok(Ok(Some(charged)));
    };
    // One period took the charge and the other refused it: give it back.
    refund(pool, &charged, credits).await?;
    budgets.tell_refused(provider, period, starts, spender);
    Ok(Err(Refusal {
        provider,
        period,
        spender,
        until: period_end(period, starts),
    }))
}

/// Gives back what a call did not cost (`unspent` credits) to its budget;
/// a failure is logged (the budget then counts a little more spent).
pub(super) async fn give_back(pool: &PgPool, charge: &Charge, unspent: i32) {
    if unspent <= 0 {
        return;
    }
    if let Err(e) = refund(pool, charge, unspent.into()).await {
        tracing::warn!(provider = charge.provider, error = %e, "could not give unspent credits back to the budget");
    }
}

/// Gives back `credits` (at most what was charged) to the periods charged.
pub(super) async fn refund(
    pool: &PgPool,
    charge: &Charge,
    credits: i64,
) -> Result<(), sqlx::Error> {
    let credits = credits.min(charge.credits);
    if credits <= 0 || (charge.day.is_none() && charge.month.is_none()) {
        return Ok(());
    }
    sqlx::query!(
        "UPDATE enrich.provider_budget_spend SET credits = greatest(credits - $4, 0), updated_at = now()
          WHERE provider = $1
            AND ((period = 'day' AND starts = $2) OR (period = 'month' AND starts = $3))",
        charge.provider,
        charge.day,
        charge.month,
        credits
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Credits spent and budgets, per provider and period, now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct BudgetState {
    pub provider: String,
    /// `day` or `month`.
    pub period: &'static str,
    /// The period's first day (São Paulo time).
    #[schema(value_type = String, format = Date)]
    pub starts: NaiveDate,
    pub spent: i64,
    pub budget: i64,
}

/// The current period's spending of every budget set.
pub async fn state(pool: &PgPool, budgets: &Budgets) -> Result<Vec<BudgetState>, sqlx::Error> {
    if !budgets.any() {
        return Ok(Vec::new());
    }
    let (day, month) = periods_of(budgets.now());
    // This day's and this month's rows, in one read.
    let rows = sqlx::query!(
        "SELECT provider, period, credits FROM enrich.provider_budget_spend
          WHERE (period = 'day' AND starts = $1) OR (period = 'month' AND starts = $2)",
        day,
        month
    )
    .fetch_all(pool)
    .await?;
    let spent = |provider: &str, period: Period| {
        rows.iter()
            .find(|r| r.provider == provider && r.period == period.as_str())
            .map_or(0, |r| r.credits)
    };
    let mut out = Vec::new();
    for (provider, caps) in &budgets.caps {
        for (period, starts, cap) in [
            (Period::Day, day, caps.daily),
            (Period::Month, month, caps.monthly),
        ] {
            let Some(budget) = cap else { continue };
            out.push(BudgetState {
                provider: provider.clone(),
                period: period.as_str(),
                starts,
                spent: spent(provider, period),
                budget,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").to_utc()
    }

    #[test]
    fn periods_follow_sao_paulo_calendar() {
        // 02:30 UTC on the 1st is still the last day of the month before in São Paulo.
        let (day, month) = periods_of(at("2026-12-01T02:30:00Z"));
        assert_eq!(day.to_string(), "2026-11-30");
        assert_eq!(month.to_string(), "2026-11-01");
        assert_eq!(
            period_end(Period::Day, day),
            at("2026-12-01T03:00:00Z"),
            "midnight in São Paulo"
        );
        assert_eq!(period_end(Period::Month, month), at("2026-12-01T03:00:00Z"));
        let (_, december) = periods_of(at("2026-12-31T12:00:00Z"));
        assert_eq!(
            period_end(Period::Month, december),
            at("2027-01-01T03:00:00Z")
        );
    }

    #[test]
    fn shares_give_new_leads_the_whole_budget() {
        let b = Budgets::new(
            vec![(
                "work_api".into(),
                Caps {
                    daily: Some(10),
                    monthly: None,
                },
            )],
            Shares {
                retry: 80,
                backfill: 50,
            },
        );
        let daily = b.caps("work_api").daily;
        assert_eq!(b.ceiling(daily, Spender::New), Some(10));
        assert_eq!(b.ceiling(daily, Spender::Retry), Some(8));
        assert_eq!(b.ceiling(daily, Spender::Backfill), Some(5));
        assert_eq!(b.ceiling(b.caps("diretrix").daily, Spender::New), None);
        assert!(b.any());
        assert!(!Budgets::default().any());
    }
}
