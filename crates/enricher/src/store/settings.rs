//! Small shared facts in `enrich.settings` (name → text): turns of periodic
//! work shared by every instance, and watermarks.

use std::time::Duration;

use sqlx::PgPool;

/// Takes this period's turn of `name` (a periodic job every instance runs):
/// `true` for the one process that moved `name`'s time past `every` ago —
/// the others see `false` until the next period.
pub async fn claim_turn(pool: &PgPool, name: &str, every: Duration) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "INSERT INTO enrich.settings (name, value) VALUES ($1, now()::text)
         ON CONFLICT (name) DO UPDATE SET value = now()::text
          WHERE enrich.settings.value::timestamptz < now() - make_interval(secs => $2)",
        name,
        every.as_secs_f64()
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// A stored time (`None` when never set or unreadable).
pub async fn time(
    pool: &PgPool,
    name: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, sqlx::Error> {
    let value: Option<String> =
        sqlx::query_scalar!("SELECT value FROM enrich.settings WHERE name = $1", name)
            .fetch_optional(pool)
            .await?;
    Ok(value.and_then(|v| {
        chrono::DateTime::parse_from_rfc3339(&v)
            .ok()
            .map(|t| t.to_utc())
    }))
}

/// Moves a stored time forward to `at` (never back).
pub async fn advance_time(
    pool: &PgPool,
    name: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    store_time(pool, name, at, true).await
}

/// Sets a stored time, forward or back.
pub async fn set_time(
    pool: &PgPool,
    name: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    store_time(pool, name, at, false).await
}

async fn store_time(
    pool: &PgPool,
    name: &str,
    at: chrono::DateTime<chrono::Utc>,
    forward_only: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO enrich.settings (name, value) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value
          WHERE NOT $3 OR enrich.settings.value::timestamptz < excluded.value::timestamptz",
        name,
        at.to_rfc3339(),
        forward_only
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets a stored fact.
pub async fn clear(pool: &PgPool, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM enrich.settings WHERE name = $1", name)
        .execute(pool)
        .await?;
    Ok(())
}

/// Runs `turn` every quarter of `every` (at least 1 s, at most `max_nap`)
/// until `shutdown`; nothing when `every` is zero. What runs on a schedule
/// in every worker process (the retention prune, the reconciliation sweep,
/// the retry sweep) goes through it: each turn claims its own slot
/// ([`claim_turn`]), and checking a few times per period lets the turn of a
/// process that crashed pass on.
pub async fn repeat<F, Fut>(
    every: std::time::Duration,
    max_nap: std::time::Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    mut turn: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if every.is_zero() {
        return;
    }
    loop {
        turn().await;
        let nap = (every / 4).clamp(std::time::Duration::from_secs(1), max_nap);
        if tokio::time::timeout(nap, shutdown.changed()).await.is_ok() {
            return;
        }
    }
}
