//! `c2s-enrich maintenance`: the safe online part of the seed report's
//! maintenance — `VACUUM` (not `FULL`) and `ANALYZE`, table by table, each
//! skipping a table whose lock is taken (autovacuum at work) instead of
//! waiting. Neither blocks reads or writes. Reclaiming the space of a bloated
//! table needs a rewrite: see the runbook (pg_repack, or a `VACUUM FULL`
//! window).

use std::time::Instant;

use serde::Serialize;
use sqlx::PgPool;

/// One table, before and after.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TableMaintenance {
    pub table: String,
    pub live_rows: i64,
    pub dead_rows_before: i64,
    pub dead_rows_after: i64,
    pub bytes: i64,
    /// `vacuum`, `analyze`, `vacuum, analyze` or `report`.
    pub done: String,
    pub secs: f64,
}

/// What to do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tasks {
    pub vacuum: bool,
    pub analyze: bool,
}

type Stats = (String, i64, i64, i64);

async fn stats(pool: &PgPool) -> Result<Vec<Stats>, sqlx::Error> {
    sqlx::query_as(
        "SELECT format('%I.%I', schemaname, relname), n_live_tup, n_dead_tup, pg_total_relation_size(relid)
           FROM pg_stat_user_tables WHERE schemaname IN ('core', 'ref', 'enrich')
          ORDER BY pg_total_relation_size(relid) DESC, 1",
    )
    .fetch_all(pool)
    .await
}

/// Vacuums and/or analyses every table of the service's schemas (`core`,
/// `ref`, `enrich`), biggest first, calling `progress` before each; with
/// neither task, only reports.
pub async fn run(
    pool: &PgPool,
    tasks: Tasks,
    progress: impl Fn(usize, usize, &str),
) -> Result<Vec<TableMaintenance>, sqlx::Error> {
    let before = stats(pool).await?;
    let verb = match (tasks.vacuum, tasks.analyze) {
        (true, true) => Some("VACUUM (ANALYZE, SKIP_LOCKED)"),
        (true, false) => Some("VACUUM (SKIP_LOCKED)"),
        (false, true) => Some("ANALYZE (SKIP_LOCKED)"),
        (false, false) => None,
    };
    let mut out = Vec::with_capacity(before.len());
    for (i, (table, live, dead, bytes)) in before.iter().enumerate() {
        let started = Instant::now();
        if let Some(verb) = verb {
            progress(i + 1, before.len(), table);
            // The name comes from the catalog, quoted by format('%I').
            sqlx::raw_sql(&format!("{verb} {table}"))
                .execute(pool)
                .await?;
        }
        out.push(TableMaintenance {
            table: table.clone(),
            live_rows: *live,
            dead_rows_before: *dead,
            dead_rows_after: *dead,
            bytes: *bytes,
            done: match verb {
                None => "report",
                Some(_) if tasks.vacuum && tasks.analyze => "vacuum, analyze",
                Some(_) if tasks.vacuum => "vacuum",
                Some(_) => "analyze",
            }
            .to_owned(),
            secs: started.elapsed().as_secs_f64(),
        });
    }
    if verb.is_some() {
        for (table, _, dead, _) in stats(pool).await? {
            if let Some(t) = out.iter_mut().find(|t| t.table == table) {
                t.dead_rows_after = dead;
            }
        }
    }
    Ok(out)
}
