//! Reading the database, in a read-only transaction, table by table.

use sqlx::{Connection, PgConnection, PgPool};

use super::model::{Plan, PlanError};
use super::table::table_plan;
use crate::hardening::shape::SHAPE;

/// Reads the database (in a read-only transaction) and says what `migrate`
/// would do; `financial_period` is `HARDENING_FINANCIAL_PERIOD`.
pub async fn plan(
    pool: &PgPool,
    financial_period: Option<&(String, Option<String>)>,
) -> Result<Plan, PlanError> {
    let mut conn = pool.acquire().await?.detach();
    let result = plan_read_only(&mut conn, financial_period).await;
    let _ = conn.close().await;
    result
}

// Longer than 70 lines on purpose: The read-only transaction's reads in order; each table's plan is `table_plan`.
async fn plan_read_only(
    conn: &mut PgConnection,
    financial_period: Option<&(String, Option<String>)>,
) -> Result<Plan, PlanError> {
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION READ ONLY")
        .execute(&mut *tx)
        .await?;
    // Never queue behind a migration or other DDL holding a table.
    sqlx::query("SET LOCAL lock_timeout = '5s'")
        .execute(&mut *tx)
        .await?;
    let has_migrations: bool =
        sqlx::query_scalar("SELECT to_regclass('enrich.schema_migrations') IS NOT NULL")
            .fetch_one(&mut *tx)
            .await?;
    let applied: Vec<i64> = if has_migrations {
        sqlx::query_scalar("SELECT version FROM enrich.schema_migrations ORDER BY version")
            .fetch_all(&mut *tx)
            .await?
    } else {
        Vec::new()
    };
    let pending: Vec<String> = crate::migrate::MIGRATIONS
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .map(|m| format!("{:04} {}", m.version, m.name))
        .collect();
    let mut tables = Vec::new();
    let mut blockers = Vec::new();
    let mut settings = Vec::new();
    let mut any_table = false;
    for (table, columns) in SHAPE {
        let t = table_plan(
            &mut tx,
            table,
            columns,
            &mut blockers,
            &mut settings,
            financial_period,
        )
        .await?;
        any_table |= t.exists;
        tables.push(t);
    }
    // Production's national_id is unique; a copy without the index cannot be
    // given one online by us (it is their key, and duplicates need a decision).
    if tables.iter().any(|t| t.table == "entities" && t.exists) {
        let unique: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_index i
                              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                             WHERE i.indrelid = 'core.entities'::regclass AND i.indisunique AND i.indnatts = 1
                               AND a.attname = 'national_id')",
        )
        .fetch_one(&mut *tx)
        .await?;
        if !unique {
            blockers.push(
                "core.entities.national_id has no unique index (production has one): create it CONCURRENTLY, resolving duplicates first, then migrate".into(),
            );
        }
    }
    tx.rollback().await?;
    let state = match (any_table, applied.len()) {
        (false, 0) => "empty",
        (true, 0) => "legacy",
        (_, n) if n == crate::migrate::MIGRATIONS.len() => "hardened",
        _ => "partial",
    }
    .to_owned();
    let estimate_secs = tables.iter().map(|t| t.estimate_secs).sum();
    Ok(Plan {
        state,
        applied_migrations: applied.len(),
        pending_migrations: pending,
        tables,
        blockers,
        settings,
        estimate_secs,
        lock_note: "every data change runs in batches of 5,000 rows, each its own short transaction; indexes are built CONCURRENTLY and constraints added NOT VALID then validated (no write lock); the catalog-only changes wait at most lock_timeout (1 s) for their lock and are retried; a column converted online gets a shadow column kept by a trigger and filled by key, its indexes rebuilt CONCURRENTLY, then one catalog-only swap keeping its name, default, comment and index names".into(),
    })
}
