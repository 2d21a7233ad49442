//! The end of a conversion: the indexes rebuilt on the shadow, its default,
//! and the one catalog-only swap.

use std::time::Duration;

use sqlx::{Connection, PgConnection};

use super::target::{ColumnInfo, Target};
use crate::hardening::{literal, quote, run, LOCK_RETRIES};

/// The column's plain indexes, rebuilt on the shadow under temporary names
/// (an invalid one left by an interrupted build is dropped first); returns
/// (temporary name, name) pairs for the swap.
pub(super) async fn rebuild_indexes(
    conn: &mut PgConnection,
    qualified: &str,
    column: &str,
    shadow: &str,
    attnum: i16,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let indexes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, quote_ident(c.relname), pg_get_indexdef(i.indexrelid)
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE i.indrelid = to_regclass($1) AND $2 = ANY(i.indkey)",
    )
    .bind(qualified)
    .bind(attnum)
    .fetch_all(&mut *conn)
    .await?;
    let mut renames = Vec::new();
    for (name, printed, def) in &indexes {
        let temp = format!("c2s_tmp_{:016x}", fnv(name));
        let invalid: Option<bool> = sqlx::query_scalar(
            "SELECT NOT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass('core.' || quote_ident($1))",
        )
        .bind(&temp)
        .fetch_optional(&mut *conn)
        .await?;
        if invalid == Some(true) {
            run(
                conn,
                format!("DROP INDEX CONCURRENTLY IF EXISTS core.{}", quote(&temp)),
            )
            .await?;
        }
        let on_shadow = replace_ident(def, column, shadow)
            .replacen(printed.as_str(), &quote(&temp), 1)
            .replacen("INDEX ", "INDEX CONCURRENTLY IF NOT EXISTS ", 1);
        run(conn, on_shadow).await?;
        renames.push((temp, name.clone()));
    }
    Ok(renames)
}

/// The default the converted column keeps: the timestamps' `now()`; a text
/// column's default as text; another type's default read into it when it is
/// a constant that can be read — never a default that changes with time or
/// calls a function (`CURRENT_DATE` would be frozen, and a function is not
/// ours to run): those are dropped, as the plan says.
pub(super) async fn new_default(
    conn: &mut PgConnection,
    column: &str,
    target: Target,
    info: &ColumnInfo,
) -> Result<Option<String>, sqlx::Error> {
    let Some(old) = info.default.as_deref() else {
        return Ok(None);
    };
    if target == Target::Text {
        return Ok(Some(format!("({old})::text")));
    }
    if matches!(column, "created_at" | "updated_at") {
        return Ok(Some("now()".to_owned()));
    }
    if !info.default_const {
        return Ok(None);
    }
    let value: Option<String> = sqlx::query_scalar(&format!(
        "SELECT ({})::text",
        target.read(&format!("({old})"))
    ))
    .fetch_one(&mut *conn)
    .await?;
    Ok(value.map(|v| format!("{}::{}", literal(&v), target.sql())))
}

/// The swap: catalog changes only, in one short transaction, retried while
/// it gives way to traffic.
#[allow(clippy::too_many_arguments)]
pub(super) async fn swap(
    conn: &mut PgConnection,
    qualified: &str,
    col: &str,
    sh: &str,
    trg: &str,
    default: Option<&str>,
    renames: &[(String, String)],
    comment: Option<&str>,
) -> Result<(), sqlx::Error> {
    let mut sql = format!(
        "DROP TRIGGER IF EXISTS {trg} ON {qualified};
         ALTER TABLE {qualified} DROP COLUMN {col};
         ALTER TABLE {qualified} RENAME COLUMN {sh} TO {col};"
    );
    if let Some(d) = default {
        sql.push_str(&format!(
            "ALTER TABLE {qualified} ALTER COLUMN {col} SET DEFAULT {d};"
        ));
    }
    for (temp, name) in renames {
        sql.push_str(&format!(
            "ALTER INDEX core.{} RENAME TO {};",
            quote(temp),
            quote(name)
        ));
    }
    if let Some(c) = comment {
        sql.push_str(&format!(
            "COMMENT ON COLUMN {qualified}.{col} IS {};",
            literal(c)
        ));
    }
    let mut attempt = 0;
    loop {
        let mut tx = conn.begin().await?;
        match run(&mut tx, sql.clone()).await {
            Ok(()) => return tx.commit().await,
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("55P03") && attempt < LOCK_RETRIES =>
            {
                tx.rollback().await?;
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// FNV-1a 64, for short stable names.
pub(super) fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `text` with every whole-word occurrence of the plain identifier `from`
/// outside string literals and quoted identifiers replaced by `to` (quoted).
pub(super) fn replace_ident(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len() + to.len());
    let (mut in_literal, mut in_ident) = (false, false);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let c = bytes[i];
        if c == b'\'' && !in_ident {
            in_literal = !in_literal;
        } else if c == b'"' && !in_literal {
            in_ident = !in_ident;
        }
        let word_start = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if !in_literal && !in_ident && word_start && text[i..].starts_with(from) {
            let end = i + from.len();
            let word_end =
                end == text.len() || !(bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_');
            if word_end {
                out.push_str(&quote(to));
                i = end;
                continue;
            }
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}
