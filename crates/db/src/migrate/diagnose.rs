//! What a failed migration step says besides its name: where PostgreSQL
//! says it failed (table, column, constraint) and, for a constraint a row
//! stands in the way of, which rows — by key, never by value. A message that
//! quotes a value (the data exceptions of class 22: `invalid input syntax
//! for type integer: "…"`) has the value withheld.

use sqlx::postgres::PgDatabaseError;
use sqlx::{Connection, PgConnection};

use crate::hardening::quote;

/// An error's text with where PostgreSQL says it happened — never the row's
/// values (the `DETAIL` of a key violation holds them, and is left out; a
/// data exception's quoted value is withheld).
pub(crate) fn describe(e: &sqlx::Error) -> String {
    let sqlx::Error::Database(d) = e else {
        return e.to_string();
    };
    let mut text = d.message().to_owned();
    if let Some(pg) = d.try_downcast_ref::<PgDatabaseError>() {
        if pg.code().starts_with("22") {
            text = withhold_quoted(&text);
        }
        // A RAISE of the database's own triggers or functions may quote a
        // row's values; ours (in the migrations' DO blocks) never do.
        let ours = pg
            .r#where()
            .is_none_or(|w| w.starts_with("PL/pgSQL function inline_code_block"));
        if pg.code() == "P0001" && !ours {
            text = format!(
                "a trigger or function of the database raised an error (its message is withheld: it may quote a row's values){}",
                pg.r#where()
                    .and_then(|w| w.lines().next())
                    .map(|w| format!("; {w}"))
                    .unwrap_or_default()
            );
        }
        for (what, value) in [
            ("table", pg.table()),
            ("column", pg.column()),
            ("constraint", pg.constraint()),
        ] {
            if let Some(v) = value {
                text.push_str(&format!("; {what} {v}"));
            }
        }
        text.push_str(&format!(" (SQLSTATE {})", pg.code()));
    }
    text
}

/// `text` with every double-quoted part replaced by `"(withheld)"`.
fn withhold_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut parts = text.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    let rest: Vec<&str> = parts.collect();
    // Pairs of (quoted, after): an unpaired quote withholds the rest.
    let mut i = 0;
    while i < rest.len() {
        out.push_str("\"(withheld)\"");
        if i + 1 < rest.len() {
            out.push_str(rest[i + 1]);
        }
        i += 2;
    }
    out
}

/// For an integrity error (not-null, check, foreign key, unique) on a table:
/// up to three keys of rows that stand in the way, as "rows in the way
/// (core.t.id): …". `None` when the error is of another kind, the table has
/// no single-column primary key, or the rows cannot be found (a row being
/// written, not stored; the lookup itself failing).
pub async fn offending_rows(conn: &mut PgConnection, e: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(d) = e else {
        return None;
    };
    let pg = d.try_downcast_ref::<PgDatabaseError>()?;
    let code = pg.code();
    if !matches!(code, "23502" | "23503" | "23505" | "23514") {
        return None;
    }
    let (schema, table) = (pg.schema()?, pg.table()?);
    let qualified = format!("{}.{}", quote(schema), quote(table));
    let mut tx = conn.begin().await.ok()?;
    sqlx::raw_sql("SET LOCAL statement_timeout = '60s'; SET LOCAL lock_timeout = '1s'")
        .execute(&mut *tx)
        .await
        .ok()?;
    let key: String = sqlx::query_scalar(
        "SELECT a.attname::text FROM pg_index i
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
          WHERE i.indrelid = to_regclass($1) AND i.indisprimary AND i.indnatts = 1
            -- A key that is itself personal data (a CPF, an e-mail) is not named.
            AND a.atttypid IN ('uuid'::regtype, 'int2'::regtype, 'int4'::regtype, 'int8'::regtype)",
    )
    .bind(&qualified)
    .fetch_optional(&mut *tx)
    .await
    .ok()??;
    let k = quote(&key);
    let sql = offending_query(&mut tx, pg, &qualified, &k).await?;
    let keys: Vec<String> = sqlx::query_scalar(&sql).fetch_all(&mut *tx).await.ok()?;
    let _ = tx.rollback().await;
    if keys.is_empty() {
        return None;
    }
    Some(format!(
        "rows in the way ({schema}.{table}.{key}): {}",
        keys.join(", ")
    ))
}

type Tx<'c> = sqlx::Transaction<'c, sqlx::Postgres>;

/// The query listing the first keys of the rows a failed constraint names.
async fn offending_query(
    tx: &mut Tx<'_>,
    pg: &PgDatabaseError,
    qualified: &str,
    k: &str,
) -> Option<String> {
    Some(match pg.code() {
        "23502" => format!(
            "SELECT {k}::text FROM {qualified} WHERE {} IS NULL ORDER BY 1 LIMIT 3",
            quote(pg.column()?)
        ),
        "23514" => {
            let def: String = sqlx::query_scalar(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2",
            )
            .bind(qualified)
            .bind(pg.constraint()?)
            .fetch_optional(&mut **tx)
            .await
            .ok()??;
            let expr = def
                .strip_prefix("CHECK ")?
                .trim_end_matches(" NOT VALID")
                .to_owned();
            format!("SELECT {k}::text FROM {qualified} WHERE NOT {expr} ORDER BY 1 LIMIT 3")
        }
        "23503" => missing_parents(tx, pg, qualified, k).await?,
        _ => duplicates(tx, pg, qualified, k).await?,
    })
}

/// Rows whose foreign key finds no parent.
async fn missing_parents(
    tx: &mut Tx<'_>,
    pg: &PgDatabaseError,
    qualified: &str,
    k: &str,
) -> Option<String> {
    let (columns, parent, parent_columns): (Vec<String>, String, Vec<String>) =
        sqlx::query_as(
            "SELECT array(SELECT quote_ident(attname) FROM unnest(c.conkey) WITH ORDINALITY u(n, o)
                           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = u.n ORDER BY o),
                    c.confrelid::regclass::text,
                    array(SELECT quote_ident(attname) FROM unnest(c.confkey) WITH ORDINALITY u(n, o)
                           JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = u.n ORDER BY o)
               FROM pg_constraint c WHERE c.conrelid = to_regclass($1) AND c.conname = $2 AND c.contype = 'f'",
        )
        .bind(qualified)
        .bind(pg.constraint()?)
        .fetch_optional(&mut **tx)
        .await
        .ok()??;
    let present: Vec<String> = columns
        .iter()
        .map(|c| format!("x.{c} IS NOT NULL"))
        .collect();
    let joined: Vec<String> = columns
        .iter()
        .zip(&parent_columns)
        .map(|(c, p)| format!("r.{p} = x.{c}"))
        .collect();
    Some(format!(
        "SELECT x.{k}::text FROM {qualified} x WHERE {} AND NOT EXISTS (SELECT 1 FROM {parent} r WHERE {}) ORDER BY 1 LIMIT 3",
        present.join(" AND "),
        joined.join(" AND ")
    ))
}

/// Rows sharing the values of a unique index (the constraint is its name)
/// over plain columns.
async fn duplicates(
    tx: &mut Tx<'_>,
    pg: &PgDatabaseError,
    qualified: &str,
    k: &str,
) -> Option<String> {
    // A unique index (the constraint is its name) over plain columns.
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT quote_ident(a.attname) FROM pg_index i
           JOIN pg_class c ON c.oid = i.indexrelid
           JOIN unnest(i.indkey) WITH ORDINALITY u(n, o) ON true
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.n
          WHERE i.indrelid = to_regclass($1) AND c.relname = $2 AND i.indexprs IS NULL
          ORDER BY u.o",
    )
    .bind(qualified)
    .bind(pg.constraint()?)
    .fetch_all(&mut **tx)
    .await
    .ok()?;
    if columns.is_empty() {
        return None;
    }
    let list = columns.join(", ");
    Some(format!(
        "SELECT {k}::text FROM {qualified} WHERE ({list}) IN
           (SELECT {list} FROM {qualified} GROUP BY {list} HAVING count(*) > 1)
         ORDER BY 1 LIMIT 3"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_withheld() {
        assert_eq!(
            withhold_quoted("invalid input syntax for type integer: \"11 9999-0000\""),
            "invalid input syntax for type integer: \"(withheld)\""
        );
        assert_eq!(
            withhold_quoted("a \"x\" b \"y\" c"),
            "a \"(withheld)\" b \"(withheld)\" c"
        );
        assert_eq!(
            withhold_quoted("unpaired \"secret"),
            "unpaired \"(withheld)\""
        );
        assert_eq!(withhold_quoted("no quotes"), "no quotes");
    }
}
