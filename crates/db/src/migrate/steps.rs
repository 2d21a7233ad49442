//! One migration's steps: scripts split into statements, repeating steps,
//! key-range steps, retries on lock conflicts, invalid indexes cleaned up.

use std::time::Duration;

use super::catalogue::Migration;
use super::options::{MigrateError, MigrateOptions};
use sqlx::{Connection, PgConnection};

/// How a step is named in errors: a `-- name: …` line in it if it has one,
/// else its number and first line of SQL.
pub(super) fn step_label(index: usize, step: &str) -> String {
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
pub(super) async fn step_error(
    conn: &mut PgConnection,
    m: &Migration,
    step: String,
    source: sqlx::Error,
) -> MigrateError {
    let rows = super::diagnose::offending_rows(conn, &source).await;
    MigrateError::Step {
        version: m.version,
        name: m.name,
        step,
        source,
        rows,
    }
}

pub(super) async fn run_script(
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
pub(super) async fn run_repeating(
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
pub(super) fn progress(m: &Migration, index: usize, batches: u64, total: u64) {
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
pub(super) struct KeyRange<'a> {
    pub(super) table: &'a str,
    pub(super) key: &'a str,
    pub(super) expr: &'a str,
}

pub(super) fn key_range(step: &str) -> Option<KeyRange<'_>> {
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
pub(super) const KEY_RANGE: i64 = 5000;

/// Runs a by-key step once per range of `KEY_RANGE` keys, lowest first —
/// each statement reads its range by the primary key and commits, so no
/// statement rescans the table or holds a row while it reads on — then once
/// over the whole table, for rows written below the cursor meanwhile
/// (few: that statement locks only them); (ranges, rows).
pub(super) async fn run_by_key(
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
pub(super) async fn exec_retrying(
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

pub(super) async fn exec_in_transaction(
    conn: &mut PgConnection,
    sql: &str,
) -> Result<u64, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let n = sqlx::raw_sql(sql).execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(n)
}

pub(super) fn is_lock_conflict(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("55P03" | "40P01")))
}

pub(super) fn steps(script: &str) -> Vec<&str> {
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

pub(super) fn has_sql(part: &str) -> bool {
    part.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with("--")
    })
}

/// The index name in `CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS name`.
pub(super) fn concurrent_index_name(step: &str) -> Option<&str> {
    let upper = step.to_ascii_uppercase();
    let marker = "INDEX CONCURRENTLY IF NOT EXISTS ";
    let at = upper.find(marker)? + marker.len();
    step[at..].split_whitespace().next()
}

pub(super) async fn drop_invalid_index(
    conn: &mut PgConnection,
    name: &str,
) -> Result<(), sqlx::Error> {
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
pub(super) fn fnv(text: &str) -> i64 {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    i64::from_ne_bytes(h.to_ne_bytes())
}
