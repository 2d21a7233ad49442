//! The migration runner.
//!
//! Why not `sqlx::migrate!`: the hardening of a live legacy database needs
//! statements that cannot share a transaction (`CREATE INDEX CONCURRENTLY`,
//! `VALIDATE CONSTRAINT` after `NOT VALID`, updates committed batch by batch),
//! retries when `lock_timeout` makes a statement give way to traffic, and steps
//! written in Rust (E.164 back-fill with the `brazil` parser). sqlx runs a
//! no-transaction migration as one multi-statement query, which PostgreSQL
//! executes as one implicit transaction. See docs/adr/0003-migrations.md.
//!
//! Script format (`migrations/NNNN_name.{up,down}.sql`):
//! - by default the whole file runs in one transaction;
//! - a first line `-- c2s:no-transaction` makes each part between `-- step`
//!   lines its own autocommitted statement; a part starting with
//!   `-- c2s:repeat` runs again until it changes no row (batched updates);
//!   a part with `-- c2s:by-key <table> <key> <expression>` runs once per
//!   range of 5,000 keys, its `:range` replaced by the range's bounds on
//!   `<expression>`, then once over the whole table (see [`run_by_key`]);
//! - `CREATE INDEX CONCURRENTLY IF NOT EXISTS name` first drops an invalid
//!   index of that name left by an interrupted build;
//! - a `-- name: …` line in a step names it in errors (else its number and
//!   first line of SQL); errors name the table, column and constraint
//!   PostgreSQL reports, never a row's values.
//!
//! A migration released and applied is never edited, with one exception: an
//! edit that only makes it adapt to more legacy shapes, listing the earlier
//! text's checksum in `former` (it must do the same on every shape it
//! handled before, and be idempotent). A database that recorded a former
//! text runs the current one again (hooks included) and records it.
//!
//! Every statement runs with `lock_timeout` (default 1 s): a statement that
//! would queue behind traffic fails fast instead of blocking it, and is retried.

use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection, PgPool};

mod diagnose;
pub use diagnose::offending_rows;

/// A Rust step run after a migration's SQL (up direction only).
type Hook = for<'c> fn(&'c mut PgConnection) -> crate::db::hardening::HookFuture<'c>;

/// One migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    up: &'static str,
    down: Option<&'static str>,
    /// Rust steps run after the script, in order, each named for errors.
    hooks: &'static [(&'static str, Hook)],
    /// Checksums of earlier texts of this migration that are accepted as
    /// applied: an edit that only makes a migration adapt to more legacy
    /// shapes (it must not change what it does on a shape it handled before).
    former: &'static [i64],
}

macro_rules! migration {
    ($version:literal, $prefix:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            up: include_str!(concat!(
                "../../../migrations/",
                $prefix,
                "_",
                $name,
                ".up.sql"
            )),
            down: Some(include_str!(concat!(
                "../../../migrations/",
                $prefix,
                "_",
                $name,
                ".down.sql"
            ))),
            hooks: &[],
            former: &[],
        }
    };
}

/// Every migration, in order.
pub static MIGRATIONS: &[Migration] = &[
    migration!(1, "0001", "schemas"),
    migration!(2, "0002", "reference_tables"),
    Migration {
        // Before it added every missing column (issue 13).
        former: &[-375_155_693_794_890_280],
        hooks: &[(
            "columns to the types the hardening needs, online",
            crate::db::hardening::convert_columns,
        )],
        ..migration!(3, "0003", "core_tables")
    },
    Migration {
        // Before the archive's `duplicate_of` (issue 13).
        former: &[7_895_459_162_380_644_870],
        ..migration!(4, "0004", "service_tables")
    },
    Migration {
        // Before its row-wise steps read by key ranges (issue 13).
        former: &[-2_866_915_172_384_839_298, -1_628_859_441_796_740_173],
        ..migration!(5, "0005", "deduplicate")
    },
    Migration {
        // Before it read by key ranges (issue 13).
        former: &[6_265_983_733_709_009_517],
        ..migration!(6, "0006", "normalize_addresses")
    },
    Migration {
        hooks: &[
            ("phone_e164 back-fill", crate::db::hardening::backfill_e164),
            (
                "financial period back-fill",
                crate::db::hardening::backfill_financial_period,
            ),
        ],
        ..migration!(7, "0007", "phone_e164")
    },
    Migration {
        // Before its orphan archives read by key ranges (issue 13).
        former: &[-6_583_483_427_411_574_315, -5_543_786_436_944_040_046],
        ..migration!(8, "0008", "prepare_keys")
    },
    migration!(9, "0009", "unique_keys"),
    migration!(10, "0010", "foreign_keys_and_checks"),
    migration!(11, "0011", "performance_indexes"),
    migration!(12, "0012", "analyze"),
    migration!(13, "0013", "provider_ledger"),
    migration!(14, "0014", "jobs"),
    migration!(15, "0015", "leads"),
    migration!(16, "0016", "webhook_events"),
    migration!(17, "0017", "provider_pauses"),
    migration!(18, "0018", "api_keys"),
    migration!(19, "0019", "pii_audit"),
    migration!(20, "0020", "erasures"),
    migration!(21, "0021", "google_ads_leads"),
    migration!(22, "0022", "identity_confidence"),
    migration!(23, "0023", "provider_reservations"),
    migration!(24, "0024", "erasure_tombstones"),
    migration!(25, "0025", "lead_revisions"),
    migration!(26, "0026", "retention_indexes"),
    migration!(27, "0027", "usage_rollup"),
    migration!(28, "0028", "archive_duplicate_of"),
];

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("migration {version} ({name}) failed at {step}: {}{}", diagnose::describe(.source),
            .rows.as_ref().map(|r| format!("; {r}")).unwrap_or_default())]
    Step {
        version: i64,
        name: &'static str,
        /// The step, by name (a `-- name: …` line in the step, else its
        /// number and first line).
        step: String,
        source: sqlx::Error,
        /// Keys of rows that stand in the way, when a constraint failed.
        rows: Option<String>,
    },
    #[error("migration {version} ({name}) was edited after it was applied (checksum differs); add a new migration instead")]
    Changed { version: i64, name: String },
    #[error("the database has migration {0}, which this binary does not know: it was migrated by a newer version")]
    Unknown(i64),
    #[error("migration {0} has no down path")]
    Irreversible(i64),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// Runner settings.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    /// How long a statement may wait for a lock before giving way (and retrying).
    pub lock_timeout: Duration,
    /// How many times a statement that gave way is retried.
    pub max_lock_retries: u32,
    /// A legacy `core.entity_financials` whose period columns have other
    /// names: (year column, month column) — `HARDENING_FINANCIAL_PERIOD`.
    pub financial_period: Option<(String, Option<String>)>,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        Self {
            lock_timeout: Duration::from_secs(1),
            max_lock_retries: 60,
            financial_period: None,
        }
    }
}

/// One migration's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub version: i64,
    pub name: String,
    pub applied: bool,
}

impl Migration {
    /// The up script's text.
    pub fn up_text(&self) -> &'static str {
        self.up
    }
}

const LOCK_KEY: i64 = 0x00c2_5e2c_0001;

/// Applies every pending migration.
pub async fn up(pool: &PgPool, options: &MigrateOptions) -> Result<Vec<i64>, MigrateError> {
    let mut conn = session(pool, options).await?;
    let result = up_locked(&mut conn, options).await;
    release(conn).await;
    result
}

async fn up_locked(
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

async fn down_locked(
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

async fn session(pool: &PgPool, options: &MigrateOptions) -> Result<PgConnection, MigrateError> {
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

async fn release(mut conn: PgConnection) {
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
}

async fn applied(conn: &mut PgConnection) -> Result<Vec<(i64, i64)>, MigrateError> {
    Ok(
        sqlx::query_as("SELECT version, checksum FROM enrich.schema_migrations ORDER BY version")
            .fetch_all(conn)
            .await?,
    )
}

/// How a step is named in errors: a `-- name: …` line in it if it has one,
/// else its number and first line of SQL.
fn step_label(index: usize, step: &str) -> String {
    let named = step.lines().find_map(|l| {
        l.trim()
            .strip_prefix("-- name:")
            .map(|n| n.trim().to_owned())
    });
    match named {
        Some(n) => format!("step {index} \"{n}\""),
        None => {
            let first = step
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("--"))
                .unwrap_or("");
            let short: String = first.chars().take(70).collect();
            let more = if first.chars().count() > 70 {
                "…"
            } else {
                ""
            };
            format!("step {index} ({short}{more})")
        }
    }
}

/// The error of a failed step, with the rows in its way when a constraint
/// failed (looked up on `conn`).
async fn step_error(
    conn: &mut PgConnection,
    m: &Migration,
    step: String,
    source: sqlx::Error,
) -> MigrateError {
    let rows = diagnose::offending_rows(conn, &source).await;
    MigrateError::Step {
        version: m.version,
        name: m.name,
        step,
        source,
        rows,
    }
}

async fn run_script(
    conn: &mut PgConnection,
    m: &Migration,
    script: &'static str,
    options: &MigrateOptions,
) -> Result<(), MigrateError> {
    if !script.trim_start().starts_with("-- c2s:no-transaction") {
        exec_retrying(
            conn,
            options,
            m,
            "the script (one transaction)",
            script,
            true,
        )
        .await?;
        return Ok(());
    }
    for (i, step) in steps(script).into_iter().enumerate() {
        let label = step_label(i + 1, step);
        if let Some(index) = concurrent_index_name(step) {
            if let Err(e) = drop_invalid_index(conn, index).await {
                return Err(step_error(conn, m, label.clone(), e).await);
            }
        }
        let (batches, total) = match key_range(step) {
            Some(range) => run_by_key(conn, options, m, &label, step, &range, i + 1).await?,
            None => run_repeating(conn, options, m, &label, step, i + 1).await?,
        };
        if total > 0 {
            tracing::info!(
                version = m.version,
                step = i + 1,
                batches,
                rows = total,
                "step done"
            );
        }
    }
    Ok(())
}

/// A step that runs once, or — `-- c2s:repeat` first — again until it
/// changes no row; (batches, rows).
async fn run_repeating(
    conn: &mut PgConnection,
    options: &MigrateOptions,
    m: &Migration,
    label: &str,
    step: &str,
    index: usize,
) -> Result<(u64, u64), MigrateError> {
    let repeat = step.trim_start().starts_with("-- c2s:repeat");
    let (mut batches, mut total) = (0u64, 0u64);
    loop {
        let affected = exec_retrying(conn, options, m, label, step, false).await?;
        if !repeat || affected == 0 {
            return Ok((batches, total));
        }
        batches += 1;
        total += affected;
        progress(m, index, batches, total);
    }
}

/// Progress for long back-fills on big tables, without flooding small runs.
fn progress(m: &Migration, index: usize, batches: u64, total: u64) {
    if batches.is_multiple_of(20) {
        tracing::info!(
            version = m.version,
            step = index,
            batches,
            rows = total,
            "still working"
        );
    }
}

/// A `-- c2s:by-key <table> <key> <expression>` step: its `:range` is a
/// range of the table's uuid key, given as the expression the step reads it
/// by (e.g. `a.id`).
#[derive(Debug, PartialEq, Eq)]
struct KeyRange<'a> {
    table: &'a str,
    key: &'a str,
    expr: &'a str,
}

fn key_range(step: &str) -> Option<KeyRange<'_>> {
    let rest = step
        .lines()
        .find_map(|l| l.trim().strip_prefix("-- c2s:by-key "))?;
    let mut words = rest.split_whitespace();
    Some(KeyRange {
        table: words.next()?,
        key: words.next()?,
        expr: words.next()?,
    })
}

/// Keys per range of a by-key step.
const KEY_RANGE: i64 = 5000;

/// Runs a by-key step once per range of `KEY_RANGE` keys, lowest first —
/// each statement reads its range by the primary key and commits, so no
/// statement rescans the table or holds a row while it reads on — then once
/// over the whole table, for rows written below the cursor meanwhile
/// (few: that statement locks only them); (ranges, rows).
async fn run_by_key(
    conn: &mut PgConnection,
    options: &MigrateOptions,
    m: &Migration,
    label: &str,
    step: &str,
    range: &KeyRange<'_>,
    index: usize,
) -> Result<(u64, u64), MigrateError> {
    let next = format!(
        "SELECT {k}::text FROM (SELECT {k} FROM {t} WHERE {k} > $1::uuid ORDER BY {k} LIMIT {KEY_RANGE}) s
          ORDER BY {k} DESC LIMIT 1",
        k = range.key,
        t = range.table
    );
    let (mut lo, mut batches, mut total) = (None::<String>, 0u64, 0u64);
    loop {
        let hi: Option<String> = match sqlx::query_scalar(&next)
            .bind(
                lo.as_deref()
                    .unwrap_or("00000000-0000-0000-0000-000000000000"),
            )
            .fetch_optional(&mut *conn)
            .await
        {
            Ok(hi) => hi,
            Err(e) => return Err(step_error(conn, m, label.to_owned(), e).await),
        };
        let Some(hi) = hi else { break };
        let e = range.expr;
        let bounds = match &lo {
            Some(lo) => format!("({e} > '{lo}'::uuid AND {e} <= '{hi}'::uuid)"),
            None => format!("({e} <= '{hi}'::uuid)"),
        };
        total += exec_retrying(
            conn,
            options,
            m,
            label,
            &step.replace(":range", &bounds),
            false,
        )
        .await?;
        batches += 1;
        progress(m, index, batches, total);
        lo = Some(hi);
    }
    total += exec_retrying(
        conn,
        options,
        m,
        label,
        &step.replace(":range", "true"),
        false,
    )
    .await?;
    Ok((batches, total))
}

/// Runs `sql` (in a transaction when asked), retrying while it fails because a
/// lock was not granted in time or a deadlock chose it as the victim.
async fn exec_retrying(
    conn: &mut PgConnection,
    options: &MigrateOptions,
    m: &Migration,
    step: &str,
    sql: &str,
    transactional: bool,
) -> Result<u64, MigrateError> {
    let mut attempt = 0;
    loop {
        let result = if transactional {
            exec_in_transaction(conn, sql).await
        } else {
            sqlx::raw_sql(sql)
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected())
        };
        match result {
            Ok(n) => return Ok(n),
            Err(e) if is_lock_conflict(&e) && attempt < options.max_lock_retries => {
                attempt += 1;
                tracing::warn!(
                    version = m.version,
                    step,
                    attempt,
                    "statement gave way to traffic (lock timeout); retrying"
                );
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt.min(10)))).await;
            }
            Err(e) => return Err(step_error(conn, m, step.to_owned(), e).await),
        }
    }
}

async fn exec_in_transaction(conn: &mut PgConnection, sql: &str) -> Result<u64, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let n = sqlx::raw_sql(sql).execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(n)
}

fn is_lock_conflict(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("55P03" | "40P01")))
}

fn steps(script: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in script.split_inclusive('\n') {
        if line.trim() == "-- step" {
            out.push(&script[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    out.push(&script[start..]);
    out.into_iter().filter(|s| has_sql(s)).collect()
}

fn has_sql(part: &str) -> bool {
    part.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with("--")
    })
}

/// The index name in `CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS name`.
fn concurrent_index_name(step: &str) -> Option<&str> {
    let upper = step.to_ascii_uppercase();
    let marker = "INDEX CONCURRENTLY IF NOT EXISTS ";
    let at = upper.find(marker)? + marker.len();
    step[at..].split_whitespace().next()
}

async fn drop_invalid_index(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    let invalid: Option<String> = sqlx::query_scalar(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_index i ON i.indexrelid = c.oid
          WHERE c.relname = $1 AND NOT i.indisvalid",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(qualified) = invalid {
        tracing::warn!(index = %qualified, "dropping invalid index left by an interrupted build");
        sqlx::raw_sql(&format!("DROP INDEX CONCURRENTLY IF EXISTS {qualified}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// FNV-1a 64 of a script, as a stable checksum.
fn fnv(text: &str) -> i64 {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    i64::from_ne_bytes(h.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_split_on_step_lines_and_skip_comment_only_parts() {
        let s = "-- c2s:no-transaction\n-- header\n-- step\nSELECT 1;\n-- step\n-- c2s:repeat\nUPDATE t SET x = 1;\n";
        let parts = steps(s);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].trim(), "SELECT 1;");
        assert!(parts[1].contains("c2s:repeat"));
    }

    #[test]
    fn concurrent_index_names_are_found() {
        assert_eq!(
            concurrent_index_name(
                "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_x ON core.t (a)"
            ),
            Some("uq_x")
        );
        assert_eq!(
            concurrent_index_name("create index concurrently if not exists idx_y on t(a)"),
            Some("idx_y")
        );
        assert_eq!(concurrent_index_name("CREATE INDEX idx_z ON t (a)"), None);
    }

    #[test]
    fn steps_are_named_in_errors() {
        assert_eq!(
            step_label(
                3,
                "-- c2s:repeat\n-- name: archive duplicate phones\nWITH x AS (SELECT 1) SELECT 1;"
            ),
            "step 3 \"archive duplicate phones\""
        );
        assert_eq!(
            step_label(
                2,
                "-- why\nALTER TABLE core.addresses VALIDATE CONSTRAINT chk_addresses_zip_code;"
            ),
            "step 2 (ALTER TABLE core.addresses VALIDATE CONSTRAINT chk_addresses_zip_code;)"
        );
        let long = format!("SELECT {};", "x".repeat(100));
        assert!(step_label(1, &long).ends_with("…)"));
        let err = MigrateError::Step {
            version: 7,
            name: "phone_e164",
            step: "step \"phone_e164 back-fill\"".into(),
            source: sqlx::Error::RowNotFound,
            rows: None,
        };
        assert!(!err.to_string().contains("18446744073709551615"));
        assert!(err
            .to_string()
            .starts_with("migration 7 (phone_e164) failed at step \"phone_e164 back-fill\": "));
    }

    #[test]
    fn by_key_steps_are_recognised() {
        assert_eq!(
            key_range("-- c2s:by-key core.addresses id a.id\n-- name: x\nUPDATE …"),
            Some(KeyRange {
                table: "core.addresses",
                key: "id",
                expr: "a.id"
            })
        );
        assert_eq!(key_range("-- c2s:repeat\nUPDATE …"), None);
        assert_eq!(key_range("-- c2s:by-key core.addresses id\n"), None);
    }

    #[test]
    fn versions_are_increasing_and_unique() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
    }
}
