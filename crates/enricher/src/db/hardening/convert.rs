//! Online column conversions (a hook of migration 3): a legacy column whose
//! type stands in the way of the foreign keys, of the hardening's own reads
//! (the oldest row by `created_at`) or of the service's typed reads and
//! writes is converted without a rewrite under an exclusive lock:
//!
//! 1. a shadow column of the wanted type, kept equal by a trigger (named to
//!    run last, so it sees what the table's own triggers leave);
//! 2. every row filled by key, in batches, each its own short transaction;
//! 3. the column's plain indexes rebuilt on the shadow `CONCURRENTLY`;
//! 4. one short catalog-only transaction drops the old column and renames the
//!    shadow and its indexes, keeping the name, default and comment.
//!
//! Which columns: an enum-typed reference column becomes `text` (the
//! reference foreign keys need it); a column kept as text (or a string type)
//! where the shape has a boolean, a number, a date, a timestamp or `jsonb` is
//! read into that type. A value that cannot be read becomes NULL and its
//! original is kept in the row's `metadata->'legacy'` under the column's
//! name; `jsonb` keeps unreadable text as `{"legacy_text": …}`. Anything
//! that depends on the column other than its default and plain indexes (a
//! view, a constraint, an expression index, …) stops the conversion with
//! the column named, before any change.

use std::time::Duration;

use sqlx::{Connection, PgConnection};

use super::shape::{columns_of, key_of, REFERENCE_COLUMNS, SHAPE};
use super::HookFuture;
use super::{by_key, literal, quote, run, run_retrying, LOCK_RETRIES};

/// The type a legacy column is converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Text,
    Boolean,
    Integer,
    Numeric,
    Date,
    Timestamptz,
    Jsonb,
}

impl Target {
    /// The SQL type (also the suffix of the shadow column's name).
    pub(crate) fn sql(self) -> &'static str {
        match self {
            Target::Text => "text",
            Target::Boolean => "boolean",
            Target::Integer => "integer",
            Target::Numeric => "numeric",
            Target::Date => "date",
            Target::Timestamptz => "timestamptz",
            Target::Jsonb => "jsonb",
        }
    }

    /// SQL reading `value` (of any type) as this type: NULL when it cannot.
    fn read(self, value: &str) -> String {
        match self {
            Target::Text => format!("{value}::text"),
            t => format!("enrich.c2s_read_{}({value}::text)", t.sql()),
        }
    }

    /// Whether a value that cannot be read is kept in `metadata->'legacy'`
    /// (text and jsonb read every value).
    fn keeps_unreadable(self) -> bool {
        !matches!(self, Target::Text | Target::Jsonb)
    }
}

/// A string type: text, varchar, char or citext.
pub(crate) fn string_like(found: &str) -> bool {
    found == "text"
        || found == "citext"
        || found.ends_with(".citext")
        || found == "bpchar"
        || found.starts_with("character varying")
        || found.starts_with("character(")
        || found == "character"
}

/// The conversion `core.table.column` needs, if any: `expected` is the
/// shape's type, `found` the live type as `format_type` prints it and
/// `kind` its `pg_type.typtype` (`e` for an enum).
pub(crate) fn needed(
    table: &str,
    column: &str,
    expected: &str,
    found: &str,
    kind: &str,
) -> Option<Target> {
    let reference = REFERENCE_COLUMNS
        .iter()
        .any(|(t, c, _)| *t == table && *c == column);
    if kind == "e" {
        return reference.then_some(Target::Text);
    }
    let target = match expected {
        "boolean" => Target::Boolean,
        "integer" => Target::Integer,
        "numeric" => Target::Numeric,
        "date" => Target::Date,
        "timestamptz" => Target::Timestamptz,
        "jsonb" => Target::Jsonb,
        _ => return None,
    };
    let convertible = string_like(found)
        || (target == Target::Boolean && ["smallint", "integer", "bigint"].contains(&found))
        || (target == Target::Jsonb && found == "json");
    convertible.then_some(target)
}

/// What the plan says about a conversion (how it is done is said once, in
/// the plan's notes).
pub(crate) fn describe(target: Target) -> String {
    match target {
        Target::Text => "converted to text online".to_owned(),
        Target::Jsonb => {
            "read into jsonb online; text that is not a JSON object is kept as {\"legacy_text\": …}"
                .to_owned()
        }
        t => format!(
            "read into {} online; a value that cannot be read becomes NULL, its original kept in metadata->'legacy' (NOT NULL kept only if every value reads; a default kept only if it is a constant)",
            t.sql()
        ),
    }
}

/// What the integer reader reads: a whole number, with at most a zero
/// fraction (the plan counts what it would not read with the same pattern).
pub(crate) const INTEGER_PATTERN: &str = r"^[+-]?[0-9]{1,9}(,0+|\.0{1,2})?$";

/// The readers the conversions use; created only when a conversion needs
/// them (a database in the shape we create never gets them). Text written
/// the Brazilian way is read too: `sim`/`não`, `1.234,56`, `31/12/2019`
/// (day first); a timestamp without a zone is São Paulo time.
const READERS: &str = r#"
CREATE OR REPLACE FUNCTION enrich.c2s_read_boolean(v text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN lower(btrim(v)) IN ('t', 'true', '1', 'y', 'yes', 's', 'sim', 'on', 'v', 'verdadeiro') THEN true
                WHEN lower(btrim(v)) IN ('f', 'false', '0', 'n', 'no', 'nao', 'não', 'nÃo', 'off', 'falso') THEN false END
$$;
CREATE OR REPLACE FUNCTION enrich.c2s_read_integer(v text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- A whole number, with at most a zero fraction (`12,0`, `12.00`); `1.000`
    -- could be a thousand or one: not read.
    SELECT CASE WHEN btrim(v) ~ '{INTEGER_PATTERN}'
                THEN split_part(split_part(btrim(v), '.', 1), ',', 1)::integer END
$$;
CREATE OR REPLACE FUNCTION enrich.c2s_read_numeric(v text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        -- `1.234,56`, `1.234.567`: thousands by dots (a comma, or more than one dot).
        WHEN s ~ '^[+-]?[0-9]{1,3}(\.[0-9]{3})+,[0-9]{1,30}$' OR s ~ '^[+-]?[0-9]{1,3}(\.[0-9]{3}){2,}$'
            THEN replace(replace(s, '.', ''), ',', '.')::numeric
        -- `1,234.56`, `1,234,567`: thousands by commas.
        WHEN s ~ '^[+-]?[0-9]{1,3}(,[0-9]{3})+\.[0-9]{1,30}$' OR s ~ '^[+-]?[0-9]{1,3}(,[0-9]{3}){2,}$'
            THEN replace(s, ',', '')::numeric
        -- `1.500` (and `1,500`): a thousand and a half, or one and a half — not read
        -- (unless the whole part is 0: `0.750` is a fraction).
        WHEN s ~ '^[+-]?[1-9][0-9]{0,2}[.,][0-9]{3}$' THEN NULL
        WHEN s ~ '^[+-]?[0-9]{1,30}(\.[0-9]{1,30})?$' THEN s::numeric
        WHEN s ~ '^[+-]?[0-9]{1,30},[0-9]{1,30}$' THEN replace(s, ',', '.')::numeric
    END
      FROM (SELECT regexp_replace(btrim(v), '^R\$ *', '') AS s) x
$$;
CREATE OR REPLACE FUNCTION enrich.c2s_read_date(v text) RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE SET DateStyle = 'ISO, DMY' AS $$
DECLARE
    s text := btrim(v);
    -- An optional time after the date, nothing else.
    t text := '([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?( ?([+-][0-9]{2}(:?[0-9]{2})?|Z))?$';
BEGIN
    IF s ~ ('^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}' || t) OR s ~ ('^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}' || t) THEN
        -- The whole value is read (a time that is no time makes it unreadable).
        RETURN s::timestamp::date;
    ELSIF s ~ '^[0-9]{8}$' THEN
        RETURN to_date(s, 'YYYYMMDD');
    END IF;
    RETURN NULL;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION enrich.c2s_read_timestamptz(v text) RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE SET TimeZone = 'America/Sao_Paulo' SET DateStyle = 'ISO, DMY' AS $$
DECLARE
    s text := btrim(v);
    t text := '([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?( ?([+-][0-9]{2}(:?[0-9]{2})?|Z|UTC))?$';
BEGIN
    IF s ~ '^[0-9]{9,10}$' THEN
        RETURN to_timestamp(s::bigint);
    ELSIF s ~ '^[0-9]{8}$' THEN
        RETURN to_date(s, 'YYYYMMDD')::timestamptz;
    ELSIF s ~ ('^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}' || t) OR s ~ ('^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}' || t) THEN
        RETURN s::timestamptz;
    END IF;
    RETURN NULL;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION enrich.c2s_read_jsonb(v text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE j jsonb;
BEGIN
    IF v IS NULL OR btrim(v) = '' THEN
        RETURN NULL;
    END IF;
    BEGIN
        j := v::jsonb;
    EXCEPTION WHEN others THEN
        j := NULL;
    END;
    IF jsonb_typeof(j) = 'object' THEN
        RETURN j;
    END IF;
    RETURN jsonb_build_object('legacy_text', v);
END $$;
CREATE OR REPLACE FUNCTION enrich.c2s_keep_legacy(meta jsonb, col text, original text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- Merged into an object only: a metadata (or its `legacy`) that is not an
    -- object is kept beside, under `earlier`.
    SELECT CASE WHEN meta IS NULL OR jsonb_typeof(meta) = 'object' THEN
                coalesce(meta, '{}'::jsonb) || jsonb_build_object('legacy',
                    CASE WHEN jsonb_typeof(meta->'legacy') = 'object' THEN meta->'legacy'
                         WHEN meta ? 'legacy' THEN jsonb_build_object('earlier', meta->'legacy')
                         ELSE '{}'::jsonb END
                    || jsonb_build_object(col, original))
           ELSE jsonb_build_object('earlier', meta, 'legacy', jsonb_build_object(col, original)) END
$$;
"#;

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

/// A live column, as the catalogs describe it.
#[derive(Debug)]
struct ColumnInfo {
    attnum: i16,
    found: String,
    kind: String,
    default: Option<String>,
    /// The default is a constant (not `now()`, `CURRENT_DATE`, a sequence…).
    default_const: bool,
    not_null: bool,
    has_acl: bool,
    comment: Option<String>,
}

async fn column_info(
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
async fn has_jsonb_metadata(conn: &mut PgConnection, table: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'metadata'
                          AND NOT attisdropped AND atttypid = 'jsonb'::regtype)",
    )
    .bind(format!("core.{}", quote(table)))
    .fetch_one(&mut *conn)
    .await
}

async fn convert(
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
    let read_new = target.read(&format!("NEW.{col}"));
    let keep_new = if keep {
        format!(
            "IF NEW.{col} IS NOT NULL AND btrim(NEW.{col}::text) <> '' AND NEW.{sh} IS NULL THEN
                 NEW.metadata := enrich.c2s_keep_legacy(NEW.metadata, {c}, NEW.{col}::text);
             END IF;",
            c = literal(column)
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
    .await?;
    // Every row, once, by key (the trigger fills the shadow and keeps what
    // cannot be read); on a resumed run only the rows still to do.
    let read = target.read(&col);
    let pending = if keep {
        format!(
            "{sh} IS DISTINCT FROM {read}
             OR ({col} IS NOT NULL AND btrim({col}::text) <> '' AND {read} IS NULL
                 AND metadata->'legacy'->>{c} IS DISTINCT FROM {col}::text)",
            c = literal(column)
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
    let filled = by_key(conn, &fill).await?;
    // NOT NULL, kept as a validated check on the shadow before the swap —
    // unless a value could not be read (then the column becomes nullable,
    // and says so in the log).
    if info.not_null {
        let unread: bool = sqlx::query_scalar(&format!(
            "SELECT EXISTS (SELECT 1 FROM {qualified} WHERE {sh} IS NULL)"
        ))
        .fetch_one(&mut *conn)
        .await?;
        if unread {
            tracing::warn!(
                table,
                column,
                "some values could not be read: the column is no longer NOT NULL"
            );
        } else {
            not_null_check(conn, &qualified, table, column, &sh).await?;
        }
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

/// A financial period that cannot be read would become NULL and collide
/// with the person's other periods under the period key (archived as
/// duplicates): stop, with the count, before any change.
async fn refuse_unreadable_period(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    target: Target,
) -> Result<(), sqlx::Error> {
    if table != "entity_financials" || !matches!(column, "year" | "month") {
        return Ok(());
    }
    let col = quote(column);
    let unreadable: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM core.entity_financials
          WHERE {col} IS NOT NULL AND btrim({col}::text) <> '' AND {} IS NULL",
        target.read(&col)
    ))
    .fetch_one(&mut *conn)
    .await?;
    if unreadable > 0 {
        return Err(sqlx::Error::Protocol(format!(
            "{unreadable} rows of core.entity_financials have a {column} that is not a plain number: correct them (or set them NULL) before migrating — read as NULL they would collide with the person's other periods"
        )));
    }
    Ok(())
}

/// A unique index over the column whose values collide once read (`1` and
/// `01`, `S` and `sim`) could not be rebuilt after the fill: stop first,
/// naming it.
async fn refuse_colliding_unique_keys(
    conn: &mut PgConnection,
    qualified: &str,
    column: &str,
    target: Target,
    attnum: i16,
) -> Result<(), sqlx::Error> {
    let unique: Vec<(String, Vec<String>)> = sqlx::query_as(
        "SELECT c.relname::text,
                array(SELECT quote_ident(a.attname) FROM unnest(i.indkey) WITH ORDINALITY u(n, o)
                        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.n ORDER BY u.o)
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE i.indrelid = to_regclass($1) AND i.indisunique AND $2 = ANY(i.indkey) AND i.indexprs IS NULL",
    )
    .bind(qualified)
    .bind(attnum)
    .fetch_all(&mut *conn)
    .await?;
    let col = quote(column);
    for (index, columns) in unique {
        let keys: Vec<String> = columns
            .iter()
            .map(|c| {
                if *c == col {
                    target.read(&col)
                } else {
                    c.clone()
                }
            })
            .collect();
        let list = keys.join(", ");
        let collide: bool = sqlx::query_scalar(&format!(
            "SELECT EXISTS (SELECT 1 FROM {qualified} WHERE {} IS NOT NULL GROUP BY {list} HAVING count(*) > 1)",
            target.read(&col)
        ))
        .fetch_one(&mut *conn)
        .await?;
        if collide {
            return Err(sqlx::Error::Protocol(format!(
                "the unique index {index} on {qualified}: values of {column} written differently are equal once read as {} (e.g. `1` and `01`): resolve them, then migrate again",
                target.sql()
            )));
        }
    }
    Ok(())
}

async fn not_null_check(
    conn: &mut PgConnection,
    qualified: &str,
    table: &str,
    column: &str,
    sh: &str,
) -> Result<(), sqlx::Error> {
    let name = format!("chk_{table}_{column}_not_null");
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2)",
    )
    .bind(qualified)
    .bind(&name)
    .fetch_one(&mut *conn)
    .await?;
    let check = quote(&name);
    if !exists {
        run_retrying(
            conn,
            format!(
                "ALTER TABLE {qualified} ADD CONSTRAINT {check} CHECK ({sh} IS NOT NULL) NOT VALID"
            ),
        )
        .await?;
    }
    run_retrying(
        conn,
        format!("ALTER TABLE {qualified} VALIDATE CONSTRAINT {check}"),
    )
    .await
}

/// The column's plain indexes, rebuilt on the shadow under temporary names
/// (an invalid one left by an interrupted build is dropped first); returns
/// (temporary name, name) pairs for the swap.
async fn rebuild_indexes(
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
async fn new_default(
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
async fn swap(
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

/// Why `core.table.column` (attribute `attnum`, of type `found`) cannot be
/// converted to `target` online, if it cannot: what depends on it, apart
/// from its default and the plain indexes the conversion rebuilds.
pub(crate) async fn conversion_obstacle(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    attnum: i16,
    has_acl: bool,
    found: &str,
    target: Target,
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
    let ours = format!("zzz_c2s_{}_{column}", target.sql());
    let (later_triggers, odd_indexes, metadata): (i64, i64, Option<String>) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM pg_trigger t
                  WHERE t.tgrelid = to_regclass($1) AND NOT t.tgisinternal
                    AND (t.tgtype & 3) = 3 AND t.tgname > $2 AND t.tgname NOT LIKE 'zzz\\_c2s\\_%'),
                (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                  WHERE i.indrelid = to_regclass($1) AND $3 = ANY(i.indkey)
                    AND (c.relname = $4
                         OR EXISTS (SELECT 1 FROM unnest(i.indclass) oc JOIN pg_opclass o ON o.oid = oc
                                     WHERE NOT o.opcdefault))),
                (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                  WHERE attrelid = to_regclass($1) AND attname = 'metadata' AND NOT attisdropped)",
    )
    .bind(&qualified)
    .bind(&ours)
    .bind(attnum)
    .bind(column)
    .fetch_one(&mut *conn)
    .await?;
    let metadata_unfit = target.keeps_unreadable()
        && metadata
            .as_deref()
            .is_some_and(|m| m != "jsonb" && !string_like(m) && m != "json");
    let why = if later_triggers > 0 {
        "a BEFORE trigger of the table fires after the conversion's (by name) and could change it unseen"
    } else if odd_indexes > 0 {
        "an index on it has a non-default operator class or is named like the column"
    } else if metadata_unfit {
        "the table's metadata is not jsonb, so the originals of values that cannot be read would have nowhere to go"
    } else if views > 0 {
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
    let to = target.sql();
    Ok(Some(format!(
        "core.{table}.{column} is {found} (the hardening needs {to}) and {why}: convert it by hand (ALTER TABLE … ALTER COLUMN {column} TYPE {to} USING …), then migrate again"
    )))
}

/// FNV-1a 64, for short stable names.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
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

    #[test]
    fn which_columns_are_converted() {
        let n = |t, c, e, f, k| needed(t, c, e, f, k);
        assert_eq!(
            n(
                "addresses",
                "street_type",
                "text",
                "core.street_type_t",
                "e"
            ),
            Some(Target::Text)
        );
        // An enum that is not a reference column stays.
        assert_eq!(
            n(
                "entity_phones",
                "phone_type",
                "text",
                "core.phone_type_t",
                "e"
            ),
            None
        );
        assert_eq!(
            n("entity_phones", "is_whatsapp", "boolean", "text", "b"),
            Some(Target::Boolean)
        );
        assert_eq!(
            n("entity_phones", "is_whatsapp", "boolean", "smallint", "b"),
            Some(Target::Boolean)
        );
        assert_eq!(
            n(
                "entities",
                "created_at",
                "timestamptz",
                "character varying(30)",
                "b"
            ),
            Some(Target::Timestamptz)
        );
        assert_eq!(
            n("entities", "metadata", "jsonb", "json", "b"),
            Some(Target::Jsonb)
        );
        // What is the same in substance, or another fine type, stays.
        assert_eq!(n("entities", "name", "text", "citext", "b"), None);
        assert_eq!(
            n(
                "entities",
                "created_at",
                "timestamptz",
                "timestamp without time zone",
                "b"
            ),
            None
        );
        assert_eq!(
            n(
                "entity_financials",
                "reported_income",
                "numeric",
                "double precision",
                "b"
            ),
            None
        );
        assert_eq!(n("entities", "entity_id", "uuid", "text", "b"), None);
    }
}
