//! Calls and credits per provider and day.

use serde::Serialize;
use sqlx::PgPool;

/// Calls and credits per provider and day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyUsage {
    pub provider: String,
    pub day: chrono::NaiveDate,
    pub paid_calls: i64,
    pub cache_hits: i64,
    pub errors: i64,
    pub credits: i64,
}

/// Usage since `since`, per provider and day.
pub async fn usage(
    pool: &PgPool,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<DailyUsage>, sqlx::Error> {
    let rows: Vec<(String, chrono::NaiveDate, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT provider, (created_at AT TIME ZONE 'UTC')::date,
                count(*) FILTER (WHERE outcome IN ('found', 'not_found')),
                count(*) FILTER (WHERE outcome = 'hit'),
                count(*) FILTER (WHERE outcome = 'error'),
                coalesce(sum(credits), 0)
           FROM enrich.provider_calls WHERE created_at >= $1
          GROUP BY 1, 2 ORDER BY 2, 1",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(provider, day, paid_calls, cache_hits, errors, credits)| DailyUsage {
                provider,
                day,
                paid_calls,
                cache_hits,
                errors,
                credits,
            },
        )
        .collect())
}
