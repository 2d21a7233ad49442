//! Provider pauses (`enrich.provider_pauses`): a provider that refuses our
//! calls (quota, token) is paused for every worker of every instance until
//! its cool-down ends; and the call pacing they share
//! (`enrich.provider_pacing`).

use std::time::Duration;

use sqlx::PgPool;

/// Pauses `provider` for `cooldown` from now, with the reason (no personal
/// data: a provider error's text).
pub async fn pause(
    pool: &PgPool,
    provider: &str,
    cooldown: Duration,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!("INSERT INTO enrich.provider_pauses (provider, paused_until, reason) VALUES ($1, now() + make_interval(secs => $2), $3)
         ON CONFLICT (provider) DO UPDATE SET paused_until = EXCLUDED.paused_until, reason = EXCLUDED.reason, paused_at = now()", provider, cooldown.as_secs_f64(), reason)
    .execute(pool)
    .await
    .map(|_| ())
}

/// How long until the last pause in force ends; `None` when none is.
pub async fn longest_remaining(pool: &PgPool) -> Result<Option<Duration>, sqlx::Error> {
    let secs: Option<f64> = sqlx::query_scalar!("SELECT extract(epoch FROM max(paused_until) - now())::float8 FROM enrich.provider_pauses WHERE paused_until > now()")
    .fetch_one(pool)
    .await?;
    Ok(secs.filter(|s| *s > 0.0).map(Duration::from_secs_f64))
}

/// The providers paused now, by name.
pub async fn paused_now(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT provider FROM enrich.provider_pauses WHERE paused_until > now() ORDER BY 1"
    )
    .fetch_all(pool)
    .await
}

/// Takes the provider's next call slot shared by every instance (spacing
/// `spacing` between calls); answers how long to wait for it.
pub async fn next_slot(
    pool: &PgPool,
    provider: &str,
    spacing: Duration,
) -> Result<Duration, sqlx::Error> {
    let wait_secs: f64 = sqlx::query_scalar!("INSERT INTO enrich.provider_pacing AS p (provider, next_slot)
         VALUES ($1, clock_timestamp() + make_interval(secs => $2))
         ON CONFLICT (provider) DO UPDATE
            SET next_slot = greatest(p.next_slot, clock_timestamp()) + make_interval(secs => $2)
         RETURNING greatest(extract(epoch FROM (p.next_slot - make_interval(secs => $2) - clock_timestamp())), 0)::float8 AS \"wait!\"", provider, spacing.as_secs_f64())
    .fetch_one(pool)
    .await?;
    Ok(Duration::from_secs_f64(wait_secs.max(0.0)))
}
