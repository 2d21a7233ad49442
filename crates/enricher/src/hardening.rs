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
        // The mapping migration 3 applied (kept as the trigger's comment).
        let mapping: Option<Option<String>> = sqlx::query_scalar(
            "SELECT obj_description(t.oid, 'pg_trigger') FROM pg_trigger t
              WHERE t.tgname = 'c2s_financial_period' AND t.tgrelid = 'core.entity_financials'::regclass",
        )
        .fetch_optional(&mut *conn)
        .await?;
        let Some(Some(mapping)) = mapping else {
            return Ok(());
        };
        let mut columns = mapping.split(',');
        let year = columns.next().unwrap_or_default().to_owned();
        let month = columns.next().map(str::to_owned);
        let mut pending = format!(
            "(f.year IS NULL AND btrim(f.{}::text) ~ '^[0-9]{{1,4}}$')",
            quote(&year)
        );
        if let Some(month) = &month {
            pending.push_str(&format!(
                " OR (f.month IS NULL AND btrim(f.{}::text) ~ '^(0?[1-9]|1[0-2])$')",
                quote(month)
            ));
        }
        // The trigger fills ours on a no-op update.
        let sql = format!(
            "UPDATE core.entity_financials SET year = year
              WHERE id IN (SELECT f.id FROM core.entity_financials f
                            WHERE f.id > $2 AND ({pending}) ORDER BY f.id LIMIT $1)
              RETURNING id"
        );
        let filled = by_key(conn, &sql).await?;
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

pub(crate) fn quote(ident: &str) -> String {
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
    type Info = (i16, Option<String>, bool, bool, Option<String>);
    let info: Option<Info> = sqlx::query_as(
        "SELECT a.attnum, pg_get_expr(d.adbin, d.adrelid), a.attnotnull, a.attacl IS NOT NULL,
                col_description(a.attrelid, a.attnum)
           FROM pg_attribute a
           JOIN pg_type t ON t.oid = a.atttypid
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped AND t.typtype = 'e'",
    )
    .bind(&qualified)
    .bind(column)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((attnum, default, not_null, has_acl, comment)) = info else {
        return Ok(());
    };
    if let Some(why) = conversion_obstacle(conn, table, column, attnum, has_acl).await? {
        return Err(sqlx::Error::Protocol(why));
    }
    let shadow = format!("{column}__c2s_text");
    let (col, sh) = (quote(column), quote(&shadow));
    let func = quote(&format!("c2s_text_{table}_{column}"));
    // Last in name order: BEFORE triggers fire alphabetically, so the shadow
    // takes the value the table's own triggers leave.
    let trg = quote(&format!("zzz_c2s_text_{column}"));
    tracing::info!(
        table,
        column,
        "converting an enum-typed reference column to text, online"
    );
    run_retrying(
        conn,
        format!(
            "ALTER TABLE {qualified} ADD COLUMN IF NOT EXISTS {sh} text;
             CREATE OR REPLACE FUNCTION core.{func}() RETURNS trigger LANGUAGE plpgsql AS $f$
                 BEGIN NEW.{sh} := NEW.{col}::text; RETURN NEW; END $f$;
             DROP TRIGGER IF EXISTS {trg} ON {qualified};
             CREATE TRIGGER {trg} BEFORE INSERT OR UPDATE ON {qualified} FOR EACH ROW EXECUTE FUNCTION core.{func}();"
        ),
    )
    .await?;
    // Every row, once, by key; also a row whose shadow went stale.
    let fill = format!(
        "UPDATE {qualified} SET {sh} = {col}::text
          WHERE {k} IN (SELECT {k} FROM {qualified} WHERE {k} > $2 AND {sh} IS DISTINCT FROM {col}::text
                         ORDER BY {k} LIMIT $1)
          RETURNING {k}",
        k = quote(key)
    );
    by_key(conn, &fill).await?;
    // NOT NULL, kept as a validated check on the shadow before the swap.
    if not_null {
        let check = quote(&format!("chk_{table}_{column}_not_null"));
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2)",
        )
        .bind(&qualified)
        .bind(format!("chk_{table}_{column}_not_null"))
        .fetch_one(&mut *conn)
        .await?;
        if !exists {
            run_retrying(
                conn,
                format!("ALTER TABLE {qualified} ADD CONSTRAINT {check} CHECK ({sh} IS NOT NULL) NOT VALID"),
            )
            .await?;
        }
        run_retrying(
            conn,
            format!("ALTER TABLE {qualified} VALIDATE CONSTRAINT {check}"),
        )
        .await?;
    }
    // The column's plain indexes, rebuilt on the shadow under temporary
    // names (an invalid one left by an interrupted build is dropped first).
    let indexes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, quote_ident(c.relname), pg_get_indexdef(i.indexrelid)
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE i.indrelid = to_regclass($1) AND $2 = ANY(i.indkey)",
    )
    .bind(&qualified)
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
        let on_shadow = replace_ident(def, column, &shadow)
            .replacen(printed.as_str(), &quote(&temp), 1)
            .replacen("INDEX ", "INDEX CONCURRENTLY IF NOT EXISTS ", 1);
        run(conn, on_shadow).await?;
        renames.push((temp, name.clone()));
    }
    // The swap: catalog changes only, in one short transaction.
    let mut swap = format!(
        "DROP TRIGGER IF EXISTS {trg} ON {qualified};
         ALTER TABLE {qualified} DROP COLUMN {col};
         ALTER TABLE {qualified} RENAME COLUMN {sh} TO {col};"
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
    if let Some(c) = &comment {
        swap.push_str(&format!(
            "COMMENT ON COLUMN {qualified}.{col} IS {};",
            literal(c)
        ));
    }
    let mut attempt = 0;
    loop {
        let mut tx = conn.begin().await?;
        match run(&mut tx, swap.clone()).await {
            Ok(()) => {
                tx.commit().await?;
                break;
            }
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
    run(conn, format!("DROP FUNCTION IF EXISTS core.{func}()")).await?;
    // Fresh statistics for the planner (the old column's went with it).
    run(conn, format!("ANALYZE {qualified} ({col})")).await?;
    tracing::info!(table, column, indexes = renames.len(), "converted to text");
    Ok(())
}

/// Why the enum column `core.table.column` (attribute `attnum`) cannot be
/// converted online, if it cannot: what depends on it, apart from its default
/// and the plain indexes the conversion rebuilds.
pub(crate) async fn conversion_obstacle(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    attnum: i16,
    has_acl: bool,
) -> Result<Option<String>, sqlx::Error> {
    let qualified = format!("core.{}", quote(table));
    let check = format!("chk_{table}_{column}_not_null");
    let (views, others): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE d.classid = 'pg_rewrite'::regclass),
                count(*) FILTER (WHERE d.classid <> 'pg_rewrite'::regclass)
           FROM pg_depend d
          WHERE d.refobjid = to_regclass($1) AND d.refobjsubid = $2
            AND d.classid <> 'pg_attrdef'::regclass
            AND NOT (d.classid = 'pg_class'::regclass
                     AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indexrelid = d.objid
                                   AND i.indexprs IS NULL AND i.indpred IS NULL))
            AND NOT (d.classid = 'pg_constraint'::regclass
                     AND EXISTS (SELECT 1 FROM pg_constraint c WHERE c.oid = d.objid AND c.conname = $3))",
    )
    .bind(&qualified)
    .bind(attnum)
    .bind(&check)
    .fetch_one(&mut *conn)
    .await?;
    let constraints: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_constraint
          WHERE conrelid = to_regclass($1) AND $2 = ANY(conkey) AND contype <> 'n' AND conname <> $3",
    )
    .bind(&qualified)
    .bind(attnum)
    .bind(&check)
    .fetch_one(&mut *conn)
    .await?;
    let why = if views > 0 {
        "a view uses it"
    } else if constraints > 0 {
        "a constraint uses it"
    } else if others > 0 {
        "an expression or partial index, a statistics object, a policy, a trigger or a publication uses it"
    } else if has_acl {
        "it has column-level privileges"
    } else {
        return Ok(None);
    };
    Ok(Some(format!(
        "core.{table}.{column} is an enum and {why}: convert it to text by hand (ALTER TABLE … ALTER COLUMN {column} TYPE text), then migrate again"
    )))
}

/// How many times a statement that gave way to traffic is tried again.
const LOCK_RETRIES: u32 = 60;

/// [`run`], tried again while it gives way to traffic (`lock_timeout`).
async fn run_retrying(conn: &mut PgConnection, sql: String) -> Result<(), sqlx::Error> {
    let mut attempt = 0;
    loop {
        match run(&mut *conn, sql.clone()).await {
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("55P03") && attempt < LOCK_RETRIES =>
            {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => return other,
        }
    }
}

/// A string as an SQL literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// FNV-1a 64, for short stable names.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Runs `sql` (one batch: `LIMIT $1`, keys above `$2`, `RETURNING` the uuid
/// keys changed) from the lowest key to the highest, so each batch reads on
/// from where the last stopped; waits when it gave way to traffic. The rows
/// changed.
async fn by_key(conn: &mut PgConnection, sql: &str) -> Result<u64, sqlx::Error> {
    let (mut after, mut total) = (Uuid::nil(), 0u64);
    loop {
        match sqlx::query_scalar::<_, Uuid>(sql)
            .bind(BATCH)
            .bind(after)
            .fetch_all(&mut *conn)
            .await
        {
            Ok(keys) => match keys.iter().max() {
                None => return Ok(total),
                Some(last) => {
                    after = *last;
                    total += keys.len() as u64;
                }
            },
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

/// `text` with every whole-word occurrence of the plain identifier `from`
/// outside string literals and quoted identifiers replaced by `to` (quoted).
fn replace_ident(text: &str, from: &str, to: &str) -> String {
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
        assert_eq!(
            replace_ident(
                "(\"it's relationship_type\", relationship_type)",
                "relationship_type",
                "x"
            ),
            "(\"it's relationship_type\", \"x\")"
        );
    }
}
