//! The discovery sources' recent answers, and the record of which silent
//! source was alerted (`enrich.source_health`).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// A source's last answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecentAnswers {
    /// Answers looked at (at most the window).
    pub answered: i64,
    /// How many of them found someone.
    pub found: i64,
    /// The oldest of them.
    pub since: Option<DateTime<Utc>>,
}

/// The last `window` calls of `provider`/`module` that were answered or
/// failed (a source failing every call finds nobody either; cache hits are
/// not calls), newest first, read backwards along `idx_provider_calls_day`.
pub async fn recent_answers(
    pool: &PgPool,
    provider: &str,
    module: &str,
    window: u32,
) -> Result<RecentAnswers, sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT count(*) AS "answered!", count(*) FILTER (WHERE outcome = 'found') AS "found!",
                  min(created_at) AS since
             FROM (SELECT outcome, created_at FROM enrich.provider_calls
                    WHERE provider = $1 AND module = $2 AND outcome IN ('found', 'not_found', 'error')
                    ORDER BY created_at DESC LIMIT $3) last"#,
        provider,
        module,
        i64::from(window)
    )
    .fetch_one(pool)
    .await?;
    Ok(RecentAnswers {
        answered: r.answered,
        found: r.found,
        since: r.since,
    })
}

/// Marks `source` alerted as silent; `false` when it already was (one
/// alert per silent spell, whichever process checks).
pub async fn claim_source_alert(pool: &PgPool, source: &str) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "INSERT INTO enrich.source_health (source, silent_since, alerted_at, checked_at)
         VALUES ($1, now(), now(), now())
         ON CONFLICT (source) DO UPDATE
            SET silent_since = coalesce(enrich.source_health.silent_since, now()),
                alerted_at = now(), checked_at = now()
          WHERE enrich.source_health.alerted_at IS NULL",
        source
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The alert could not be sent: the next check claims it again.
pub async fn unclaim_source_alert(pool: &PgPool, source: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE enrich.source_health SET alerted_at = NULL WHERE source = $1",
        source
    )
    .execute(pool)
    .await
    .map(|_| ())
}

/// The source found someone: its silent spell (if any) is over. `true`
/// when it was silent.
pub async fn source_recovered(pool: &PgPool, source: &str) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "UPDATE enrich.source_health SET silent_since = NULL, alerted_at = NULL, checked_at = now()
          WHERE source = $1 AND (silent_since IS NOT NULL OR alerted_at IS NOT NULL)",
        source
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}
