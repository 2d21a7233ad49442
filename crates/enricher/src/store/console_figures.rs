//! Figures for the console's overview that the public status page does not
//! show: the identity-confidence mix of recent links, and credits spent per
//! day. Counts only — no personal data.

use chrono::NaiveDate;
use sqlx::PgPool;

/// People linked to leads in the last 24 hours, per confidence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfidenceMix {
    pub confirmed: i64,
    pub probable: i64,
    /// Links recorded before the identity model graded them.
    pub ungraded: i64,
}

/// The last 24 hours' links by confidence.
pub async fn confidence_mix(pool: &PgPool) -> Result<ConfidenceMix, sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE confidence = 'confirmed') AS "confirmed!",
                  count(*) FILTER (WHERE confidence = 'probable') AS "probable!",
                  count(*) FILTER (WHERE confidence IS NULL) AS "ungraded!"
             FROM enrich.lead_entities WHERE linked_at > now() - interval '24 hours'"#
    )
    .fetch_one(pool)
    .await?;
    Ok(ConfidenceMix {
        confirmed: r.confirmed,
        probable: r.probable,
        ungraded: r.ungraded,
    })
}

/// Credits spent on one São Paulo calendar day, all providers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCredits {
    pub day: NaiveDate,
    pub credits: i64,
    /// Calls that went to a provider (answers from the cache not counted).
    pub asked: i64,
}

/// The last `days` days (today included), oldest first, a day without
/// calls as zero; from the daily roll-up, which outlives the ledger's prune.
pub async fn credits_by_day(pool: &PgPool, days: i32) -> Result<Vec<DayCredits>, sqlx::Error> {
    sqlx::query_as!(
        DayCredits,
        r#"WITH d AS (
             SELECT generate_series((now() AT TIME ZONE 'America/Sao_Paulo')::date - ($1::int - 1),
                                    (now() AT TIME ZONE 'America/Sao_Paulo')::date, interval '1 day')::date AS day)
           SELECT d.day AS "day!", coalesce(sum(u.credits), 0)::bigint AS "credits!",
                  coalesce(sum(u.calls) FILTER (WHERE u.outcome <> 'hit'), 0)::bigint AS "asked!"
             FROM d LEFT JOIN enrich.provider_usage_daily u ON u.day = d.day
            GROUP BY d.day ORDER BY d.day"#,
        days.clamp(1, 366)
    )
    .fetch_all(pool)
    .await
}
