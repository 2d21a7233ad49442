//! Rust steps of the hardening migrations (see `migrate.rs`).

use std::time::Duration;

use brazil::PhoneBr;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::migrate::futures_hook::HookFuture;

const BATCH: i64 = 2000;

/// Fills `phone_e164` for every phone that lacks a valid one (migration 7).
pub fn backfill_e164(conn: &mut PgConnection) -> HookFuture<'_> {
    Box::pin(async move {
        let mut after = Uuid::nil();
        let (mut filled, mut archived) = (0u64, 0u64);
        loop {
            let batch = match backfill_batch(conn, after).await {
                Ok(b) => b,
                // Gave way to traffic under lock_timeout: wait, then retry the batch.
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let Some(last) = batch.last_id else { break };
            after = last;
            filled += batch.filled;
            archived += batch.archived;
        }
        tracing::info!(filled, archived, "phone_e164 back-fill done");
        Ok(())
    })
}

struct BatchResult {
    last_id: Option<Uuid>,
    filled: u64,
    archived: u64,
}

async fn backfill_batch(conn: &mut PgConnection, after: Uuid) -> Result<BatchResult, sqlx::Error> {
    let mut tx = conn.begin().await?;
    // A NULL phone (legacy rows have them) cannot be repaired: archived, as
    // an invalid one.
    let rows: Vec<(Uuid, Option<String>)> = sqlx::query_as(
        r"SELECT id, phone FROM core.entity_phones
           WHERE id > $1 AND (phone_e164 IS NULL OR phone_e164 !~ '^\+55[1-9][1-9][0-9]{8,9}$')
           ORDER BY id LIMIT $2 FOR UPDATE",
    )
    .bind(after)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    let last_id = rows.last().map(|(id, _)| *id);
    let (mut ids, mut e164s, mut invalid) = (Vec::new(), Vec::new(), Vec::new());
    for (id, phone) in rows {
        match phone.as_deref().map(PhoneBr::parse) {
            Some(Ok(p)) => {
                ids.push(id);
                e164s.push(p.e164());
            }
            Some(Err(_)) | None => invalid.push(id),
        }
    }
    let filled = sqlx::query(
        "UPDATE core.entity_phones p
            SET metadata = coalesce(p.metadata, '{}'::jsonb) || jsonb_build_object('legacy',
                    coalesce(p.metadata->'legacy', '{}'::jsonb) || jsonb_build_object('phone_e164', p.phone_e164)),
                phone_e164 = u.e164,
                updated_at = now()
           FROM unnest($1::uuid[], $2::text[]) AS u(id, e164)
          WHERE p.id = u.id",
    )
    .bind(&ids)
    .bind(&e164s)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let archived = sqlx::query(
        "WITH moved AS (DELETE FROM core.entity_phones p WHERE p.id = ANY($1) RETURNING p.*)
         INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data)
         SELECT 'core.entity_phones', id::text, 'invalid_phone', to_jsonb(moved) FROM moved",
    )
    .bind(&invalid)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(BatchResult {
        last_id,
        filled,
        archived,
    })
}

/// Fills `year` (and `month`) of a legacy `core.entity_financials` whose
/// period was under other names (migration 3 added ours and the trigger that
/// keeps both equal; an update through the trigger fills ours), in batches.
/// Values that are not plain numbers stay NULL on our side.
pub fn backfill_financial_period(conn: &mut PgConnection) -> HookFuture<'_> {
    Box::pin(async move {
        let mapped: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'c2s_financial_period'
                              AND tgrelid = 'core.entity_financials'::regclass)",
        )
        .fetch_one(&mut *conn)
        .await?;
        if !mapped {
            return Ok(());
        }
        let (year, month): (String, String) = sqlx::query_as(
            "SELECT current_setting('c2s.financial_year_column', true), current_setting('c2s.financial_month_column', true)",
        )
        .fetch_one(&mut *conn)
        .await?;
        if year.is_empty() {
            return Err(sqlx::Error::Protocol(
                "core.entity_financials keeps its period under other names: set HARDENING_FINANCIAL_PERIOD again to finish its back-fill".into(),
            ));
        }
        let ident = |c: &str| format!("\"{}\"", c.replace('"', "\"\""));
        let mut pending = format!(
            "(f.year IS NULL AND btrim(f.{}::text) ~ '^[0-9]{{1,4}}$')",
            ident(&year)
        );
        if !month.is_empty() && month != "month" {
            pending.push_str(&format!(
                " OR (f.month IS NULL AND btrim(f.{}::text) ~ '^[0-9]{{1,2}}$')",
                ident(&month)
            ));
        }
        let sql = format!(
            "UPDATE core.entity_financials SET year = year
              WHERE id IN (SELECT f.id FROM core.entity_financials f WHERE {pending} LIMIT $1)"
        );
        let filled = in_batches(conn, &sql).await?;
        tracing::info!(filled, "financial period back-fill done");
        Ok(())
    })
}

/// The reference columns that carry foreign keys to text-keyed reference
/// tables (migration 10): (table, column, the table's key column).
pub(crate) const REFERENCE_COLUMNS: &[(&str, &str, &str)] = &[
    ("entity_relationships", "relationship_type", "id"),
    ("properties", "property_type", "property_id"),
    ("addresses", "street_type", "id"),
];

/// Converts enum-typed reference columns of a legacy database to `text`,
/// online (migration 3): a shadow text column kept equal by a trigger, filled
/// in batches, the column's indexes built on it CONCURRENTLY, then swapped in
/// one short transaction (drop the enum column, rename the shadow and its
/// indexes, keep the default). Only columns whose enum is what stands in the
/// way of the foreign keys and of the service's writes; a column a view uses,
/// or that carries a constraint, is left as it is and named in the error.
pub fn text_reference_columns(conn: &mut PgConnection) -> HookFuture<'_> {
    Box::pin(async move {
        for &(table, column, key) in REFERENCE_COLUMNS {
            convert_enum_column(&mut *conn, table, column, key).await?;
        }
        Ok(())
    })
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn convert_enum_column<'c>(
    conn: &'c mut PgConnection,
    table: &'static str,
    column: &'static str,
    key: &'static str,
) -> HookFuture<'c> {
    Box::pin(convert_enum_column_inner(conn, table, column, key))
}

async fn convert_enum_column_inner(
    conn: &mut PgConnection,
    table: &'static str,
    column: &'static str,
    key: &'static str,
) -> Result<(), sqlx::Error> {
    let qualified = format!("core.{}", quote(table));
    let info: Option<(i16, Option<String>, bool)> = sqlx::query_as(
        "SELECT a.attnum, pg_get_expr(d.adbin, d.adrelid), a.attnotnull
           FROM pg_attribute a
           JOIN pg_type t ON t.oid = a.atttypid
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped AND t.typtype = 'e'",
    )
    .bind(&qualified)
    .bind(column)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((attnum, default, not_null)) = info else {
        return Ok(());
    };
    let refuse = |why: &str| {
        sqlx::Error::Protocol(format!(
            "core.{table}.{column} is an enum and {why}: convert it to text by hand (ALTER TABLE … ALTER COLUMN {column} TYPE text), then migrate again"
        ))
    };
    let views: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_depend d
          WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = to_regclass($1) AND d.refobjsubid = $2",
    )
    .bind(&qualified)
    .bind(attnum)
    .fetch_one(&mut *conn)
    .await?;
    if views > 0 {
        return Err(refuse("a view uses it"));
    }
    let constraints: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_constraint WHERE conrelid = to_regclass($1) AND $2 = ANY(conkey)",
    )
    .bind(&qualified)
    .bind(attnum)
    .fetch_one(&mut *conn)
    .await?;
    if constraints > 0 {
        return Err(refuse("a constraint uses it"));
    }
    let shadow = format!("{column}__c2s_text");
    let (col, sh) = (quote(column), quote(&shadow));
    tracing::info!(
        table,
        column,
        "converting an enum-typed reference column to text, online"
    );
    run(&mut *conn, format!(
        "ALTER TABLE {qualified} ADD COLUMN IF NOT EXISTS {sh} text;
         CREATE OR REPLACE FUNCTION core.{func}() RETURNS trigger LANGUAGE plpgsql AS $f$
             BEGIN NEW.{sh} := NEW.{col}::text; RETURN NEW; END $f$;
         DROP TRIGGER IF EXISTS {trg} ON {qualified};
         CREATE TRIGGER {trg} BEFORE INSERT OR UPDATE ON {qualified} FOR EACH ROW EXECUTE FUNCTION core.{func}();",
        func = quote(&format!("c2s_text_{table}_{column}")),
        trg = quote(&format!("c2s_text_{column}")),
    ))
    .await?;
    let fill = format!(
        "UPDATE {qualified} SET {sh} = {col}::text
          WHERE {k} IN (SELECT {k} FROM {qualified} WHERE {sh} IS NULL AND {col} IS NOT NULL LIMIT $1)",
        k = quote(key)
    );
    in_batches(conn, &fill).await?;
    // The column's indexes, rebuilt on the shadow under temporary names.
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, pg_get_indexdef(i.indexrelid)
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE i.indrelid = to_regclass($1) AND $2 = ANY(i.indkey)",
    )
    .bind(&qualified)
    .bind(attnum)
    .fetch_all(&mut *conn)
    .await?;
    let mut renames = Vec::new();
    for (name, def) in &indexes {
        let temp = format!("{}_c2s", &name[..name.len().min(55)]);
        let on_shadow = replace_ident(def, column, &shadow)
            .replacen(&quote_if_needed(name), &quote(&temp), 1)
            .replacen("INDEX ", "INDEX CONCURRENTLY IF NOT EXISTS ", 1);
        run(&mut *conn, on_shadow).await?;
        renames.push((temp, name.clone()));
    }
    // The swap: catalog changes only, in one short transaction.
    let mut swap = format!(
        "DROP TRIGGER IF EXISTS {trg} ON {qualified};
         ALTER TABLE {qualified} DROP COLUMN {col};
         ALTER TABLE {qualified} RENAME COLUMN {sh} TO {col};",
        trg = quote(&format!("c2s_text_{column}")),
    );
    if let Some(d) = &default {
        swap.push_str(&format!(
            "ALTER TABLE {qualified} ALTER COLUMN {col} SET DEFAULT ({d})::text;"
        ));
    }
    for (temp, name) in &renames {
        swap.push_str(&format!(
            "ALTER INDEX core.{} RENAME TO {};",
            quote(temp),
            quote(name)
        ));
    }
    loop {
        let mut tx = conn.begin().await?;
        match run(&mut tx, swap.clone()).await {
            Ok(_) => {
                tx.commit().await?;
                break;
            }
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
                tx.rollback().await?;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
    run(
        &mut *conn,
        format!(
            "DROP FUNCTION IF EXISTS core.{}()",
            quote(&format!("c2s_text_{table}_{column}"))
        ),
    )
    .await?;
    if not_null {
        let check = quote(&format!("chk_{table}_{column}_not_null"));
        run(
            &mut *conn,
            format!(
            "ALTER TABLE {qualified} ADD CONSTRAINT {check} CHECK ({col} IS NOT NULL) NOT VALID"
        ),
        )
        .await?;
        run(
            &mut *conn,
            format!("ALTER TABLE {qualified} VALIDATE CONSTRAINT {check}"),
        )
        .await?;
    }
    tracing::info!(table, column, indexes = renames.len(), "converted to text");
    Ok(())
}

/// Runs `sql` (one batch, `LIMIT $1`) until it changes no row, waiting when
/// it gave way to traffic (`lock_timeout`); the rows changed.
async fn in_batches(conn: &mut PgConnection, sql: &str) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        match sqlx::query(sql).bind(BATCH).execute(&mut *conn).await {
            Ok(r) if r.rows_affected() == 0 => return Ok(total),
            Ok(r) => total += r.rows_affected(),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Runs statements (simple protocol: several may be given at once).
async fn run(conn: &mut PgConnection, sql: String) -> Result<(), sqlx::Error> {
    sqlx::Executor::execute(conn, sql.as_str())
        .await
        .map(|_| ())
}

/// An identifier as `pg_get_indexdef` prints it.
fn quote_if_needed(ident: &str) -> String {
    let plain = ident
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && ident
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        ident.to_owned()
    } else {
        quote(ident)
    }
}

/// `text` with every whole-word occurrence of the identifier `from` (outside
/// string literals) replaced by `to` (quoted).
fn replace_ident(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len() + to.len());
    let mut in_literal = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let c = bytes[i];
        if c == b'\'' {
            in_literal = !in_literal;
        }
        let word_start = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if !in_literal && word_start && text[i..].starts_with(from) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_definitions_move_to_the_shadow_column() {
        assert_eq!(
            replace_ident(
                "CREATE INDEX idx_rel_type ON core.entity_relationships USING btree (relationship_type) WHERE (relationship_type <> 'relationship_type')",
                "relationship_type",
                "relationship_type__c2s_text"
            ),
            "CREATE INDEX idx_rel_type ON core.entity_relationships USING btree (\"relationship_type__c2s_text\") WHERE (\"relationship_type__c2s_text\" <> 'relationship_type')"
        );
        assert_eq!(
            replace_ident(
                "(a_relationship_type, relationship_types)",
                "relationship_type",
                "x"
            ),
            "(a_relationship_type, relationship_types)"
        );
        assert_eq!(quote_if_needed("idx_a"), "idx_a");
        assert_eq!(quote_if_needed("Idx A"), "\"Idx A\"");
    }
}
