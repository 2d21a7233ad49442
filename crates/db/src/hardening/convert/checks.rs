//! What must hold before a conversion: no unreadable period, no unique key
//! that reading would collide, the NOT NULL kept only if every row reads,
//! and nothing depending on the column but its default and plain indexes.

use sqlx::PgConnection;

use super::target::{string_like, Target};
use crate::hardening::{quote, run_retrying};

/// A financial period that cannot be read would become NULL and collide
/// with the person's other periods under the period key (archived as
/// duplicates): stop, with the count, before any change.
pub(super) async fn refuse_unreadable_period(
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
pub(super) async fn refuse_colliding_unique_keys(
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

pub(super) async fn not_null_check(
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

/// Why `core.table.column` (attribute `attnum`, of type `found`) cannot be
/// converted to `target` online, if it cannot: what depends on it, apart
/// from its default and the plain indexes the conversion rebuilds.
// Longer than 70 lines on purpose: One catalog read per kind of dependency, each with its own message; listed together so none is missed.
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
