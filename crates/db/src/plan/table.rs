//! One table's plan: its size, the columns to add or convert, the rows each
//! rule would change, the constraints and indexes to build.

use std::collections::BTreeMap;

use super::catalogue::{CONSTRAINTS, INDEXES, RULES};
use super::model::{AddColumn, PlanError, RuleCount, TablePlan, TypeDifference};
use crate::hardening::convert;
use crate::hardening::shape::columns_of;

pub(super) type Tx<'c> = sqlx::Transaction<'c, sqlx::Postgres>;

/// What the hardening would do to `core.<table>` (`shape`: its columns).
/// What stops it goes to `blockers`, settings it needs to `settings`.
pub(super) async fn table_plan(
    tx: &mut Tx<'_>,
    table: &str,
    shape: &[(&str, &str)],
    blockers: &mut Vec<String>,
    settings: &mut Vec<String>,
    financial_period: Option<&(String, Option<String>)>,
) -> Result<TablePlan, PlanError> {
    let qualified = format!("core.{table}");
    let Some((rows_estimate, size_bytes)) = size(tx, &qualified).await? else {
        return Ok(TablePlan::absent(qualified));
    };
    let found = columns(tx, &qualified).await?;
    let mut add_columns = Vec::new();
    let mut type_differences = Vec::new();
    let mut conversions = 0u32;
    for (column, expected) in &columns_of(table) {
        match found.get(*column) {
            None if table == "entity_financials" && *column == "year" => {
                let period =
                    financial_year(tx, &found, financial_period, blockers, settings).await?;
                add_columns.extend(period);
            }
            // The timestamps are added without a value (below).
            None if matches!(*column, "created_at" | "updated_at") => {}
            None => add_columns.push(AddColumn {
                column: (*column).to_owned(),
                r#type: (*expected).to_owned(),
            }),
            Some((found_type, kind)) => {
                let column = Column {
                    table,
                    qualified: &qualified,
                    name: column,
                    expected,
                    found: found_type,
                    kind,
                };
                if differing_column(tx, &column, blockers, &mut type_differences).await? {
                    conversions += 1;
                }
            }
        }
    }
    let unknown_columns = timestamps_and_unknown(shape, &found, &mut add_columns);
    let rules = rule_counts(tx, table, &found).await?;
    let (constraints_to_add, indexes_to_build) = missing_objects(tx, table, &qualified).await?;
    // Measured on the machine in docs/benchmarks.md, rounded down: batched
    // updates ~20,000 rows/s, a concurrent index build or validation
    // ~200,000 rows/s.
    let changed: i64 = rules.iter().map(|r| r.rows).sum();
    let builds = (constraints_to_add.len() + indexes_to_build.len()) as f64;
    // A conversion rewrites every row once (batched updates) and builds the
    // column's indexes again.
    let estimate_secs = (changed as f64 + f64::from(conversions) * rows_estimate as f64) / 20_000.0
        + builds * rows_estimate as f64 / 200_000.0;
    Ok(TablePlan {
        table: qualified,
        exists: true,
        rows_estimate,
        size_bytes,
        add_columns,
        type_differences,
        unknown_columns,
        rules,
        constraints_to_add,
        indexes_to_build,
        estimate_secs,
    })
}

/// Adds the timestamps the table lacks (without a value for the existing
/// rows); answers the columns the shape does not know (left alone).
fn timestamps_and_unknown(
    shape: &[(&str, &str)],
    found: &BTreeMap<String, (String, String)>,
    add_columns: &mut Vec<AddColumn>,
) -> Vec<String> {
    for ts in ["created_at", "updated_at"] {
        if !found.contains_key(ts) {
            add_columns.push(AddColumn {
                column: ts.into(),
                r#type: "timestamptz (empty for the existing rows, now() for new ones)".into(),
            });
        }
    }
    let known: Vec<&str> = shape
        .iter()
        .map(|(c, _)| *c)
        .chain(["created_at", "updated_at"])
        .collect();
    found
        .keys()
        .filter(|c| !known.contains(&c.as_str()))
        .cloned()
        .collect()
}

/// The table's row estimate and size; `None` when it does not exist.
async fn size(tx: &mut Tx<'_>, qualified: &str) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let size: Option<(i64, i64)> = sqlx::query_as(
        "SELECT greatest(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid)
           FROM pg_class c WHERE c.oid = to_regclass($1)",
    )
    .bind(qualified)
    .fetch_optional(&mut **tx)
    .await?;
    match size {
        // Never analysed (reltuples -1, shown as 0): count.
        Some((0, bytes)) if bytes > 16_384 => {
            let rows = sqlx::query_scalar(&format!("SELECT count(*) FROM {qualified}"))
                .fetch_one(&mut **tx)
                .await?;
            Ok(Some((rows, bytes)))
        }
        other => Ok(other),
    }
}

/// Column name → (type as printed, kind: b base, e enum, d domain…).
async fn columns(
    tx: &mut Tx<'_>,
    qualified: &str,
) -> Result<BTreeMap<String, (String, String)>, sqlx::Error> {
    Ok(sqlx::query_as::<_, (String, String, String)>(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), t.typtype::text
           FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
          WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
    )
    .bind(qualified)
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|(n, t, k)| (n, (t, k)))
    .collect())
}

/// `core.entity_financials` without a `year` column: the period kept under
/// other names (`HARDENING_FINANCIAL_PERIOD`), checked; or what to set.
// Longer than 70 lines on purpose: The three cases of a missing `year` column, each with its own message.
async fn financial_year(
    tx: &mut Tx<'_>,
    found: &BTreeMap<String, (String, String)>,
    financial_period: Option<&(String, Option<String>)>,
    blockers: &mut Vec<String>,
    settings: &mut Vec<String>,
) -> Result<Option<AddColumn>, sqlx::Error> {
    match financial_period {
        Some((year, month)) if found.contains_key(year) => {
            if let Some(m) = month.as_ref().filter(|m| !found.contains_key(*m)) {
                blockers.push(format!(
                    "HARDENING_FINANCIAL_PERIOD names the month column {m}, which core.entity_financials does not have"
                ));
            }
            let unparseable = periods_not_matching(tx, year, "^[0-9]{1,4}$", false).await?;
            if unparseable > 0 {
                blockers.push(format!(
                    "{unparseable} rows of core.entity_financials have a year in {year} that is not a plain number: correct them (or set them NULL) first"
                ));
            }
            Ok(Some(AddColumn {
                column: "year".into(),
                r#type: format!(
                    "integer, kept equal to {year}{} by a trigger and back-filled (HARDENING_FINANCIAL_PERIOD)",
                    month.as_ref().map(|m| format!(" (and month to {m})")).unwrap_or_default()
                ),
            }))
        }
        Some((year, _)) => {
            blockers.push(format!(
                "HARDENING_FINANCIAL_PERIOD names {year}, which core.entity_financials does not have"
            ));
            Ok(None)
        }
        None => {
            let token = |c: &str, words: &[&str]| {
                c.to_lowercase()
                    .split('_')
                    .any(|t| words.iter().any(|w| t.starts_with(w)))
            };
            let year_like = ["ano", "year", "exerc", "period", "refer", "compet"];
            let month_like = ["mes", "month"];
            let year_col = found.keys().find(|c| token(c, &year_like));
            let month_col = found
                .keys()
                .find(|c| token(c, &month_like) && Some(*c) != year_col);
            let candidates: Vec<&str> = year_col
                .into_iter()
                .chain(month_col)
                .map(String::as_str)
                .collect();
            blockers.push(format!(
                "core.entity_financials has no column year (columns that look like a period: {})",
                if candidates.is_empty() {
                    "none".to_owned()
                } else {
                    candidates.join(", ")
                }
            ));
            settings.push(format!(
                "HARDENING_FINANCIAL_PERIOD={}",
                if candidates.is_empty() {
                    "<year column>[,<month column>]".to_owned()
                } else {
                    candidates.join(",")
                }
            ));
            Ok(None)
        }
    }
}

/// A column of the shape that the table has.
struct Column<'a> {
    table: &'a str,
    qualified: &'a str,
    name: &'a str,
    expected: &'a str,
    found: &'a str,
    kind: &'a str,
}

/// A column present with another type: what stops converting it, and how
/// its difference is handled; `true` when it will be converted.
async fn differing_column(
    tx: &mut Tx<'_>,
    c: &Column<'_>,
    blockers: &mut Vec<String>,
    type_differences: &mut Vec<TypeDifference>,
) -> Result<bool, sqlx::Error> {
    let target = convert::needed(c.table, c.name, c.expected, c.found, c.kind);
    if let Some(target) = target {
        let (attnum, has_acl): (i16, bool) = sqlx::query_as(
            "SELECT attnum, attacl IS NOT NULL FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2",
        )
        .bind(c.qualified)
        .bind(c.name)
        .fetch_one(&mut **tx)
        .await?;
        let obstacle =
            convert::conversion_obstacle(tx, c.table, c.name, attnum, has_acl, c.found, target)
                .await?;
        blockers.extend(obstacle);
        if c.table == "entity_financials"
            && matches!(c.name, "year" | "month")
            && target == convert::Target::Integer
        {
            // What migrate's integer reader would not read.
            let unreadable =
                periods_not_matching(tx, c.name, convert::INTEGER_PATTERN, true).await?;
            if unreadable > 0 {
                blockers.push(format!(
                    "{unreadable} rows of core.entity_financials have a {} that is not a plain number: correct them (or set them NULL) first",
                    c.name
                ));
            }
        }
    }
    if let Some(handling) = handling(c.table, c.name, c.expected, c.found, c.kind) {
        type_differences.push(TypeDifference {
            column: c.name.to_owned(),
            found: c.found.to_owned(),
            expected: c.expected.to_owned(),
            handling,
        });
    }
    if c.expected == "uuid" && c.found != "uuid" {
        blockers.push(format!(
            "{}.{} is {}; the keys are uuid (DATABASE.md): the foreign keys cannot be built over it",
            c.qualified, c.name, c.found
        ));
    }
    Ok(target.is_some())
}

/// The rows each data rule of `table` would change (rules whose columns
/// the table lacks are left out; rules changing nothing too).
async fn rule_counts(
    tx: &mut Tx<'_>,
    table: &str,
    found: &BTreeMap<String, (String, String)>,
) -> Result<Vec<RuleCount>, sqlx::Error> {
    let mut rules = Vec::new();
    for (rule_table, rule, needs, sql) in RULES {
        if *rule_table != table || !needs.iter().all(|c| found.contains_key(*c)) {
            continue;
        }
        let rows: i64 = sqlx::query_scalar(sql).fetch_one(&mut **tx).await?;
        if rows > 0 {
            rules.push(RuleCount {
                rule: (*rule).to_owned(),
                rows,
            });
        }
    }
    Ok(rules)
}

/// The named constraints and indexes of `table` the hardening would build.
async fn missing_objects(
    tx: &mut Tx<'_>,
    table: &str,
    qualified: &str,
) -> Result<(Vec<String>, Vec<String>), sqlx::Error> {
    let existing: Vec<String> = sqlx::query_scalar(
        "SELECT conname::text FROM pg_constraint WHERE conrelid = to_regclass($1)
         UNION SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass($1)",
    )
    .bind(qualified)
    .fetch_all(&mut **tx)
    .await?;
    let missing = |list: &[(&str, &str)]| -> Vec<String> {
        list.iter()
            .filter(|(t, n)| *t == table && !existing.iter().any(|e| e == n))
            .map(|(_, n)| (*n).to_owned())
            .collect()
    };
    Ok((missing(CONSTRAINTS), missing(INDEXES)))
}

/// Rows of `core.entity_financials` whose `column` is not NULL (nor blank,
/// with `skip_blank`) and does not match `pattern` — as the step the plan
/// speaks for counts them.
async fn periods_not_matching(
    tx: &mut Tx<'_>,
    column: &str,
    pattern: &str,
    skip_blank: bool,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM core.entity_financials
          WHERE {c} IS NOT NULL AND NOT ($2 AND btrim({c}::text) = '') AND btrim({c}::text) !~ $1",
        c = crate::hardening::quote(column)
    ))
    .bind(pattern)
    .bind(skip_blank)
    .fetch_one(&mut **tx)
    .await
}

/// What is done about a column whose type differs from the shape's; `None`
/// when it is the same in substance.
pub(super) fn handling(
    table: &str,
    column: &str,
    expected: &str,
    found: &str,
    kind: &str,
) -> Option<String> {
    let same = match expected {
        "text" => found == "text",
        "numeric" => found.starts_with("numeric"),
        "timestamptz" => found == "timestamp with time zone",
        other => found == other,
    };
    if same {
        return None;
    }
    if let Some(target) = convert::needed(table, column, expected, found, kind) {
        return Some(if kind == "e" {
            format!("an enum: {}", convert::describe(target))
        } else {
            convert::describe(target)
        });
    }
    Some(if kind == "e" {
        "an enum: kept as it is".to_owned()
    } else if expected == "text" && convert::string_like(found) {
        "text-like: kept as it is".to_owned()
    } else if expected == "numeric"
        && ["integer", "bigint", "smallint", "double precision", "real"].contains(&found)
    {
        "a number: kept as it is".to_owned()
    } else if expected == "timestamptz" && found.starts_with("timestamp") {
        "a timestamp without time zone: kept as it is (read as São Paulo time)".to_owned()
    } else if expected == "integer" && ["smallint", "bigint"].contains(&found) {
        "an integer: kept as it is".to_owned()
    } else {
        "kept as it is; values are cast where the hardening reads them".to_owned()
    })
}
