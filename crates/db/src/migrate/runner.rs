//! Running the migrations up or down under the migration lock, on a
//! session of their own.

use std::time::Instant;

use super::catalogue::MIGRATIONS;
use super::options::{MigrateError, MigrateOptions, MigrationStatus};
use super::steps::{fnv, run_script, step_error};
use sqlx::{Connection, Executor, PgConnection, PgPool};

pub(super) const LOCK_KEY: i64 = 0x00c2_5e2c_0001;

/// Applies every pending migration.
pub async fn up(pool: &PgPool, options: &MigrateOptions) -> Result<Vec<i64>, MigrateError> {
    let mut conn = session(pool, options).await?;
    let result = up_locked(&mut conn, options).await;
    release(conn).await;
    result
}

pub(super) async fn up_locked(
    conn: &mut PgConnection,
    options: &MigrateOptions,
) -> Result<Vec<i64>, MigrateError> {
    let applied = applied(conn).await?;
    for (version, checksum) in &applied {
        match MIGRATIONS.iter().find(|m| m.version == *version) {
            None => return Err(MigrateError::Unknown(*version)),
            Some(m) if checksum != &fnv(m.up) && !m.former.contains(checksum) => {
                return Err(MigrateError::Changed {
                    version: m.version,
                    name: m.name.to_owned(),
                })
            }
            Some(_) => {}
        }
    }
    let mut done = Vec::new();
    // Pending migrations, and applied ones whose recorded text is a former
    // one: those are run again in their current (idempotent) text, hooks
    // included, so what the edit added also reaches a database migrated by
    // the earlier release — in version order with the pending ones.
    for m in MIGRATIONS.iter().filter(|m| {
        applied
            .iter()
            .find(|(v, _)| *v == m.version)
            .is_none_or(|(_, checksum)| *checksum != fnv(m.up))
    }) {
        let again = applied.iter().any(|(v, _)| *v == m.version);
        let started = Instant::now();
        tracing::info!(
            version = m.version,
            name = m.name,
            again,
            "applying migration"
        );
        run_script(conn, m, m.up, options).await?;
        for (label, hook) in m.hooks {
            if let Err(source) = hook(conn).await {
                return Err(step_error(conn, m, format!("step \"{label}\""), source).await);
            }
        }
        sqlx::query(
            "INSERT INTO enrich.schema_migrations (version, name, checksum, duration_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (version) DO UPDATE SET checksum = EXCLUDED.checksum, duration_ms = EXCLUDED.duration_ms,
                                                 applied_at = now()",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(fnv(m.up))
        .bind(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX))
        .execute(&mut *conn)
        .await?;
        tracing::info!(
            version = m.version,
            name = m.name,
            ms = started.elapsed().as_millis() as u64,
            "migration applied"
        );
        done.push(m.version);
    }
    Ok(done)
}

/// Reverts every applied migration newer than `target`, newest first.
pub async fn down(
    pool: &PgPool,
    target: i64,
    options: &MigrateOptions,
) -> Result<Vec<i64>, MigrateError> {
    let mut conn = session(pool, options).await?;
    let result = down_locked(&mut conn, target, options).await;
    release(conn).await;
    result
}

pub(super) async fn down_locked(
    conn: &mut PgConnection,
    target: i64,
    options: &MigrateOptions,
) -> Result<Vec<i64>, MigrateError> {
    let applied = applied(conn).await?;
    let mut done = Vec::new();
    for (version, _) in applied.iter().rev().filter(|(v, _)| *v > target) {
        let m = MIGRATIONS
            .iter()
            .find(|m| m.version == *version)
            .ok_or(MigrateError::Unknown(*version))?;
        let script = m.down.ok_or(MigrateError::Irreversible(m.version))?;
        tracing::info!(version = m.version, name = m.name, "reverting migration");
        run_script(conn, m, script, options).await?;
        sqlx::query("DELETE FROM enrich.schema_migrations WHERE version = $1")
            .bind(m.version)
            .execute(&mut *conn)
            .await?;
        done.push(m.version);
    }
    Ok(done)
}

/// Lists every known migration and whether it is applied.
pub async fn status(pool: &PgPool) -> Result<Vec<MigrationStatus>, MigrateError> {
    let exists: bool =
        sqlx::query_scalar("SELECT to_regclass('enrich.schema_migrations') IS NOT NULL")
            .fetch_one(pool)
            .await?;
    let applied: Vec<i64> = if exists {
        sqlx::query_scalar("SELECT version FROM enrich.schema_migrations ORDER BY version")
            .fetch_all(pool)
            .await?
    } else {
        Vec::new()
    };
    Ok(MIGRATIONS
        .iter()
        .map(|m| MigrationStatus {
            version: m.version,
            name: m.name.to_owned(),
            applied: applied.contains(&m.version),
        })
        .collect())
}

/// A dedicated session holding the migration lock, with `lock_timeout` set.
/// The migration session's `application_name` (what a DBA sees in
/// `pg_stat_activity`).
pub const APPLICATION_NAME: &str = "c2s-enrich migrate";

pub(super) async fn session(
    pool: &PgPool,
    options: &MigrateOptions,
) -> Result<PgConnection, MigrateError> {
    let mut conn = pool.acquire().await?.detach();
    conn.execute(format!("SET application_name = '{APPLICATION_NAME}'").as_str())
        .await?;
    conn.execute(
        format!(
            "SET lock_timeout = '{}ms'",
            options.lock_timeout.as_millis()
        )
        .as_str(),
    )
    .await?;
    conn.execute("SET statement_timeout = 0").await?;
    // The batched back-fills bind "no key yet" as NULL (`k > $2 OR $2 IS
    // NULL`): planned per execution, each batch reads its range by the key.
    conn.execute("SET plan_cache_mode = force_custom_plan")
        .await?;
    let (year, month) = options
        .financial_period
        .clone()
        .map_or((None, None), |(y, m)| (Some(y), m));
    sqlx::query(
        "SELECT set_config('c2s.financial_year_column', coalesce($1, ''), false),
                set_config('c2s.financial_month_column', coalesce($2, ''), false)",
    )
    .bind(year)
    .bind(month)
    .execute(&mut conn)
    .await?;
    // Another migrator (a second replica starting) waits here for us to finish.
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut conn)
        .await?;
    sqlx::raw_sql(
        "CREATE SCHEMA IF NOT EXISTS enrich;
         CREATE TABLE IF NOT EXISTS enrich.schema_migrations (
             version bigint PRIMARY KEY,
             name text NOT NULL,
             checksum bigint NOT NULL,
             duration_ms bigint NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .execute(&mut conn)
    .await?;
    Ok(conn)
}

pub(super) async fn release(mut conn: PgConnection) {
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
}

pub(super) async fn applied(conn: &mut PgConnection) -> Result<Vec<(i64, i64)>, MigrateError> {
    Ok(
        sqlx::query_as("SELECT version, checksum FROM enrich.schema_migrations ORDER BY version")
            .fetch_all(conn)
            .await?,
    )
}
