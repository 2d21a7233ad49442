//! The archive of rows the hardening removed (duplicates, orphans, invalid
//! phones), and putting them back.

use sqlx::PgPool;

/// Tables the hardening archives from; nothing else is ever restored into.
const TABLES: [&str; 6] = [
    "core.entity_phones",
    "core.entity_emails",
    "core.entity_addresses",
    "core.entity_profiles",
    "core.entity_financials",
    "core.entity_relationships",
];

/// Why a restore could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(
        "restoring into {table} would break {constraint}: the hardening's keys are in place. \
         Revert them first with `c2s-enrich migrate --down 4`, then restore"
    )]
    Blocked { table: String, constraint: String },
    #[error(
        "unknown reason {0:?}; expected one of duplicate, duplicate_e164, orphan, invalid_phone"
    )]
    UnknownReason(String),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// How many archived rows, per table and reason, are waiting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArchiveSummary {
    pub source_table: String,
    pub reason: String,
    pub rows: i64,
}

/// What a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    pub restored: u64,
}

/// Rows waiting in the archive, grouped.
pub async fn summary(pool: &PgPool) -> Result<Vec<ArchiveSummary>, ArchiveError> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT source_table, reason, count(*) FROM enrich.archived_rows WHERE restored_at IS NULL GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(source_table, reason, rows)| ArchiveSummary {
            source_table,
            reason,
            rows,
        })
        .collect())
}

/// Puts archived rows (all, or those of one `reason`) back into their tables,
/// in one transaction, marking them restored. Fails without changing anything
/// when a unique key or foreign key of the hardening would be broken.
pub async fn restore(pool: &PgPool, reason: Option<&str>) -> Result<RestoreReport, ArchiveError> {
    if let Some(r) = reason {
        if !["duplicate", "duplicate_e164", "orphan", "invalid_phone"].contains(&r) {
            return Err(ArchiveError::UnknownReason(r.to_owned()));
        }
    }
    let mut tx = pool.begin().await?;
    let mut report = RestoreReport::default();
    for table in TABLES {
        // `table` comes from the constant list above, never from input.
        let sql = format!(
            "WITH todo AS (
                 SELECT id, row_data FROM enrich.archived_rows
                  WHERE restored_at IS NULL AND source_table = $1 AND ($2::text IS NULL OR reason = $2)
                  FOR UPDATE),
             ins AS (
                 INSERT INTO {table} SELECT (jsonb_populate_record(NULL::{table}, row_data)).* FROM todo RETURNING 1)
             UPDATE enrich.archived_rows SET restored_at = now()
              WHERE id IN (SELECT id FROM todo) AND (SELECT count(*) FROM ins) >= 0"
        );
        let done = sqlx::query(&sql)
            .bind(table)
            .bind(reason)
            .execute(&mut *tx)
            .await;
        match done {
            Ok(r) => report.restored += r.rows_affected(),
            Err(sqlx::Error::Database(e))
                if matches!(e.code().as_deref(), Some("23505" | "23503")) =>
            {
                return Err(ArchiveError::Blocked {
                    table: table.to_owned(),
                    constraint: e.constraint().unwrap_or("a key").to_owned(),
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.commit().await?;
    Ok(report)
}
