//! The hook: each column needing it converted through a shadow column filled by key.

use sqlx::PgConnection;

use super::checks::{
    conversion_obstacle, not_null_check, refuse_colliding_unique_keys, refuse_unreadable_period,
};
use super::readers::READERS;
use super::swap::{new_default, rebuild_indexes, swap};
use super::target::{needed, ColumnInfo, Target, INTEGER_PATTERN};
use crate::hardening::shape::{columns_of, key_of, SHAPE};
use crate::hardening::HookFuture;
use crate::hardening::{by_key, literal, quote, run, run_retrying};

/// The hook: every column of the shape that needs a conversion, table by
/// table, `metadata` first (the others keep what they cannot read in it).
pub fn convert_columns(conn: &mut PgConnection) -> HookFuture<'_> {
    Box::pin(async move {
        let mut readers = false;
        for (table, _) in SHAPE {
            let mut columns = columns_of(table);
            columns.sort_by_key(|(c, _)| *c != "metadata");
            for (column, expected) in columns {
                let Some(info) = column_info(conn, table, column).await? else {
                    continue;
                };
                let Some(target) = needed(table, column, expected, &info.found, &info.kind) else {
                    continue;
                };
                if target != Target::Text && !readers {
                    run(conn, READERS.replace("{INTEGER_PATTERN}", INTEGER_PATTERN)).await?;
                    readers = true;
                }
                convert(conn, table, column, target, &info).await?;
            }
        }
        Ok(())
    })
}

pub(super) async fn column_info(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
) -> Result<Option<ColumnInfo>, sqlx::Error> {
    type Row = (
        i16,
        String,
        String,
        Option<String>,
        bool,
        bool,
        bool,
        Option<String>,
    );
    let row: Option<Row> = sqlx::query_as(
        r"SELECT a.attnum, format_type(a.atttypid, a.atttypmod), t.typtype::text, pg_get_expr(d.adbin, d.adrelid),
                coalesce(d.adbin::text ~ '^\{(CONST|RELABELTYPE :arg \{CONST) ', false),
                a.attnotnull, a.attacl IS NOT NULL, col_description(a.attrelid, a.attnum)
           FROM pg_attribute a
           JOIN pg_type t ON t.oid = a.atttypid
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
    )
    .bind(format!("core.{}", quote(table)))
    .bind(column)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(
        |(attnum, found, kind, default, default_const, not_null, has_acl, comment)| ColumnInfo {
            attnum,
            found,
            kind,
            default,
            default_const,
            not_null,
            has_acl,
            comment,
        },
    ))
}

/// Whether `core.table` has a jsonb `metadata` column.
pub(super) async fn has_jsonb_metadata(
    conn: &mut PgConnection,
    table: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'metadata'
                          AND NOT attisdropped AND atttypid = 'jsonb'::regtype)",
    )
    .bind(format!("core.{}", quote(table)))
    .fetch_one(&mut *conn)
    .await
}

// Longer than 70 lines on purpose: One column's conversion, its steps in order (checks, shadow, fill, NOT NULL, indexes, default, swap).
pub(super) async fn convert(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    target: Target,
    info: &ColumnInfo,
) -> Result<(), sqlx::Error> {
    let qualified = format!("core.{}", quote(table));
    if let Some(why) = conversion_obstacle(
        conn,
        table,
        column,
        info.attnum,
        info.has_acl,
        &info.found,
        target,
    )
    .await?
    {
        return Err(sqlx::Error::Protocol(why));
    }
    let name = target.sql();
    let shadow = format!("{column}__c2s_{name}");
    let (col, sh, k) = (quote(column), quote(&shadow), quote(key_of(table)));
    let func = quote(&format!("c2s_{name}_{table}_{column}"));
    // Last in name order: BEFORE triggers fire alphabetically, so the shadow
    // takes the value the table's own triggers leave.
    let trg = quote(&format!("zzz_c2s_{name}_{column}"));
    if target != Target::Text {
        refuse_unreadable_period(conn, table, column, target).await?;
        refuse_colliding_unique_keys(conn, &qualified, column, target, info.attnum).await?;
    }
    let keep = target.keeps_unreadable() && has_jsonb_metadata(conn, table).await?;
    tracing::info!(
        table,
        column,
        from = info.found.as_str(),
        to = name,
        "converting a column online"
    );
    let sw = Shadow {
        qualified: &qualified,
        column,
        col: &col,
        sh: &sh,
        k: &k,
        keep,
    };
    add_shadow(conn, &sw, target, &func, &trg).await?;
    let filled = fill_shadow(conn, &sw, target).await?;
    if info.not_null {
        keep_not_null(conn, &sw, table).await?;
    }
    let renames = rebuild_indexes(conn, &qualified, column, &shadow, info.attnum).await?;
    let default = new_default(conn, column, target, info).await?;
    swap(
        conn,
        &qualified,
        &col,
        &sh,
        &trg,
        default.as_deref(),
        &renames,
        info.comment.as_deref(),
    )
    .await?;
    run(conn, format!("DROP FUNCTION IF EXISTS core.{func}()")).await?;
    // Fresh statistics for the planner (the old column's went with it).
    run(conn, format!("ANALYZE {qualified} ({col})")).await?;
    tracing::info!(
        table,
        column,
        to = name,
        rows = filled,
        indexes = renames.len(),
        "column converted"
    );
    Ok(())
}

/// The column being converted and its shadow, as quoted SQL.
struct Shadow<'a> {
    qualified: &'a str,
    column: &'a str,
    col: &'a str,
    sh: &'a str,
    k: &'a str,
    /// What cannot be read is kept in `metadata->'legacy'`.
    keep: bool,
}

/// The shadow column, and the trigger that keeps it equal to the column
/// (and keeps what cannot be read).
async fn add_shadow(
    conn: &mut PgConnection,
    s: &Shadow<'_>,
    target: Target,
    func: &str,
    trg: &str,
) -> Result<(), sqlx::Error> {
    let (qualified, col, sh, name) = (s.qualified, s.col, s.sh, target.sql());
    let read_new = target.read(&format!("NEW.{col}"));
    let keep_new = if s.keep {
        format!(
            "IF NEW.{col} IS NOT NULL AND btrim(NEW.{col}::text) <> '' AND NEW.{sh} IS NULL THEN
                 NEW.metadata := enrich.c2s_keep_legacy(NEW.metadata, {c}, NEW.{col}::text);
             END IF;",
            c = literal(s.column)
        )
    } else {
        String::new()
    };
    run_retrying(
        conn,
        format!(
            "ALTER TABLE {qualified} ADD COLUMN IF NOT EXISTS {sh} {name};
             CREATE OR REPLACE FUNCTION core.{func}() RETURNS trigger LANGUAGE plpgsql AS $f$
                 BEGIN NEW.{sh} := {read_new}; {keep_new} RETURN NEW; END $f$;
             DROP TRIGGER IF EXISTS {trg} ON {qualified};
             CREATE TRIGGER {trg} BEFORE INSERT OR UPDATE ON {qualified} FOR EACH ROW EXECUTE FUNCTION core.{func}();"
        ),
    )
    .await
}

/// Every row, once, by key (the trigger fills the shadow and keeps what
/// cannot be read); on a resumed run only the rows still to do. Answers
/// the rows filled.
async fn fill_shadow(
    conn: &mut PgConnection,
    s: &Shadow<'_>,
    target: Target,
) -> Result<u64, sqlx::Error> {
    let (qualified, col, sh, k) = (s.qualified, s.col, s.sh, s.k);
    let read = target.read(col);
    let pending = if s.keep {
        format!(
            "{sh} IS DISTINCT FROM {read}
             OR ({col} IS NOT NULL AND btrim({col}::text) <> '' AND {read} IS NULL
                 AND metadata->'legacy'->>{c} IS DISTINCT FROM {col}::text)",
            c = literal(s.column)
        )
    } else {
        format!("{sh} IS DISTINCT FROM {read}")
    };
    let fill = format!(
        "UPDATE {qualified} SET {sh} = {read}
          WHERE {k} IN (SELECT {k} FROM {qualified} WHERE ({k} > $2 OR $2 IS NULL) AND ({pending})
                         ORDER BY {k} LIMIT $1)
          RETURNING {k}"
    );
    by_key(conn, &fill).await
}

/// NOT NULL, kept as a validated check on the shadow before the swap —
/// unless a value could not be read (then the column becomes nullable, and
/// says so in the log).
async fn keep_not_null(
    conn: &mut PgConnection,
    s: &Shadow<'_>,
    table: &str,
) -> Result<(), sqlx::Error> {
    let unread: bool = sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE {} IS NULL)",
        s.qualified, s.sh
    ))
    .fetch_one(&mut *conn)
    .await?;
    if unread {
        tracing::warn!(
            table,
            column = s.column,
            "some values could not be read: the column is no longer NOT NULL"
        );
        return Ok(());
    }
    not_null_check(conn, s.qualified, table, s.column, s.sh).await
}
