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
    sqlx::query_as!(
        DailyUsage,
        r#"SELECT provider, (created_at AT TIME ZONE 'UTC')::date AS "day!",
                count(*) FILTER (WHERE outcome IN ('found', 'not_found')) AS "paid_calls!",
                count(*) FILTER (WHERE outcome = 'hit') AS "cache_hits!",
                count(*) FILTER (WHERE outcome = 'error') AS "errors!",
                coalesce(sum(credits), 0) AS "credits!"
           FROM enrich.provider_calls WHERE created_at >= $1
          GROUP BY 1, 2 ORDER BY 2, 1"#,
        since
    )
    .fetch_all(pool)
    .await
}
