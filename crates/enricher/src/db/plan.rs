//! `c2s-enrich migrate --plan`: what the hardening would do to the database
//! it is pointed at, found by reading the catalogs and counting rows — in a
//! read-only transaction, so it cannot change anything (not even the
//! migrations table).
//!
//! The shape it compares against is the one the migrations build (the
//! columns of migration 3, the keys and checks of 9 and 10, the indexes of
//! 11); a test keeps these lists and the migrations' texts in step.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::{Connection, PgConnection, PgPool};

use crate::db::hardening::convert;
use crate::db::hardening::shape::{columns_of, SHAPE};

/// Named constraints the hardening adds (table, name), from migrations 9–10.
pub(crate) const CONSTRAINTS: &[(&str, &str)] = &[
    ("entity_phones", "uq_entity_phones_per_entity"),
    ("entity_phones", "uq_entity_phones_e164"),
    ("entity_emails", "uq_entity_emails"),
    ("entity_addresses", "uq_entity_addresses"),
    ("addresses", "uq_addresses_hash"),
    ("entity_relationships", "uq_entity_relationships"),
    ("entity_financials", "uq_entity_financials_period"),
    ("entity_profiles", "fk_entity_profiles_entity"),
    ("entity_financials", "fk_entity_financials_entity"),
    ("entity_phones", "fk_entity_phones_entity"),
    ("entity_emails", "fk_entity_emails_entity"),
    ("entity_addresses", "fk_entity_addresses_entity"),
    ("entity_addresses", "fk_entity_addresses_address"),
    ("entity_relationships", "fk_entity_relationships_source"),
    ("entity_relationships", "fk_entity_relationships_target"),
    ("entity_relationships", "fk_relationship_type"),
    ("properties", "fk_property_type_ref"),
    ("addresses", "fk_street_type_catalog"),
    ("addresses", "chk_addresses_zip_code"),
    ("addresses", "chk_addresses_state_uf"),
    ("entity_phones", "chk_entity_phones_e164"),
    ("entity_addresses", "chk_entity_addresses_confidence"),
    ("entity_financials", "chk_entity_financials_risk_score"),
];

/// Indexes built `CONCURRENTLY` (table, name), from migrations 9 and 11.
pub(crate) const INDEXES: &[(&str, &str)] = &[
    ("entities", "idx_entities_metadata_c2s_lead_id"),
    ("addresses", "idx_addresses_neighborhood_lower"),
    ("entity_addresses", "idx_entity_addresses_confidence_high"),
    ("entities", "idx_entities_enriched_at"),
    ("entity_phones", "idx_entity_phones_e164"),
    ("entity_emails", "idx_entity_emails_email"),
    ("entity_addresses", "idx_entity_addresses_address"),
    ("entity_relationships", "idx_entity_relationships_target"),
    ("entity_financials", "idx_entity_financials_entity"),
];

/// Rows a rule would change, with the columns it needs.
const RULES: &[(&str, &str, &[&str], &str)] = &[
    (
        "entity_phones",
        "archive duplicate (entity_id, phone), keeping the oldest",
        &["entity_id", "phone"],
        "SELECT coalesce(sum(n - 1), 0)::bigint FROM (SELECT count(*) n FROM core.entity_phones WHERE phone IS NOT NULL GROUP BY entity_id, phone HAVING count(*) > 1) d",
    ),
    (
        "entity_phones",
        "fill phone_e164 (back-fill; unparseable numbers are archived)",
        &["phone_e164"],
        r"SELECT count(*) FROM core.entity_phones WHERE phone IS NOT NULL AND (phone_e164 IS NULL OR phone_e164 !~ '^\+55[1-9][1-9][0-9]{8,9}$')",
    ),
    (
        "entity_phones",
        "archive phones without a number",
        &["phone"],
        "SELECT count(*) FROM core.entity_phones WHERE phone IS NULL",
    ),
    (
        "entity_emails",
        "archive e-mail rows without an e-mail (NULL or blank)",
        &["email"],
        "SELECT count(*) FROM core.entity_emails WHERE email IS NULL OR btrim(email) = ''",
    ),
    (
        "entity_financials",
        "archive duplicate periods (entity_id, year, month, source), keeping the oldest",
        &["entity_id", "year", "month", "source"],
        "SELECT coalesce(sum(n - 1), 0)::bigint FROM (SELECT count(*) n FROM core.entity_financials GROUP BY entity_id, year, month, source HAVING count(*) > 1) d",
    ),
    (
        "entity_emails",
        "archive duplicate (entity_id, lower(trim(email))), keeping the oldest",
        &["entity_id", "email"],
        "SELECT coalesce(sum(n - 1), 0)::bigint FROM (SELECT count(*) n FROM core.entity_emails WHERE email IS NOT NULL GROUP BY entity_id, lower(btrim(email)) HAVING count(*) > 1) d",
    ),
    (
        "entity_emails",
        "store e-mails lower-case and trimmed",
        &["email"],
        "SELECT count(*) FROM core.entity_emails WHERE email <> lower(btrim(email))",
    ),
    (
        "entity_addresses",
        "archive duplicate (entity_id, address_id) links, keeping the oldest",
        &["entity_id", "address_id"],
        "SELECT coalesce(sum(n - 1), 0)::bigint FROM (SELECT count(*) n FROM core.entity_addresses GROUP BY entity_id, address_id HAVING count(*) > 1) d",
    ),
    (
        "entity_addresses",
        "archive links to a missing person or address",
        &["entity_id", "address_id"],
        "SELECT count(*) FROM core.entity_addresses x WHERE NOT EXISTS (SELECT 1 FROM core.entities e WHERE e.entity_id = x.entity_id) OR NOT EXISTS (SELECT 1 FROM core.addresses a WHERE a.id = x.address_id)",
    ),
    (
        "entity_phones",
        "archive phones of a missing person",
        &["entity_id"],
        "SELECT count(*) FROM core.entity_phones x WHERE NOT EXISTS (SELECT 1 FROM core.entities e WHERE e.entity_id = x.entity_id)",
    ),
    (
        "entity_emails",
        "archive e-mails of a missing person",
        &["entity_id"],
        "SELECT count(*) FROM core.entity_emails x WHERE NOT EXISTS (SELECT 1 FROM core.entities e WHERE e.entity_id = x.entity_id)",
    ),
    (
        "addresses",
        "normalise the CEP (digits only; what cannot be repaired becomes NULL, the original kept in metadata)",
        &["zip_code"],
        "SELECT count(*) FROM core.addresses WHERE zip_code IS NOT NULL AND zip_code::text !~ '^[0-9]{8}$'",
    ),
    (
        "addresses",
        "normalise the UF (upper-case, state names to codes; else NULL, kept in metadata)",
        &["state"],
        "SELECT count(*) FROM core.addresses WHERE state IS NOT NULL AND state::text !~ '^[A-Z]{2}$'",
    ),
    (
        "addresses",
        "normalise the street type (spellings to catalog codes; an unknown type becomes NULL, kept in metadata)",
        &["street_type"],
        "SELECT count(*) FROM core.addresses WHERE street_type IS NOT NULL AND street_type::text NOT IN (
             'R', 'AV', 'AL', 'PC', 'TV', 'EST', 'ESTR', 'LRG', 'VD', 'VLA', 'ROD', 'RDV', 'PSG', 'CAM', 'CRG',
             'FAZ', 'PRQ', 'VIA', 'AREA', 'JD', 'VL')",
    ),
    (
        "addresses",
        "clear a repeated address_hash on the younger rows (kept in metadata)",
        &["address_hash"],
        "SELECT coalesce(sum(n - 1), 0)::bigint FROM (SELECT count(*) n FROM core.addresses WHERE address_hash IS NOT NULL GROUP BY address_hash HAVING count(*) > 1) d",
    ),
];

/// One column the hardening adds.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AddColumn {
    pub column: String,
    pub r#type: String,
}

/// A column whose type differs from the shape's, and what is done about it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TypeDifference {
    pub column: String,
    pub found: String,
    pub expected: String,
    pub handling: String,
}

/// A data rule and the rows it would change.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RuleCount {
    pub rule: String,
    pub rows: i64,
}

/// What the hardening would do to one table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TablePlan {
    pub table: String,
    pub exists: bool,
    /// The planner's row estimate (`reltuples`), and the table's size.
    pub rows_estimate: i64,
    pub size_bytes: i64,
    pub add_columns: Vec<AddColumn>,
    pub type_differences: Vec<TypeDifference>,
    /// Columns the hardening does not know: left alone.
    pub unknown_columns: Vec<String>,
    pub rules: Vec<RuleCount>,
    pub constraints_to_add: Vec<String>,
    pub indexes_to_build: Vec<String>,
    /// A rough duration (seconds) from the rows to change and the indexes to
    /// build; no step holds a lock longer than `lock_timeout` waiting, and
    /// none but the catalog-only ones takes an exclusive lock.
    pub estimate_secs: f64,
}

/// The whole plan.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Plan {
    /// `empty`, `legacy` (customer tables, no migrations), `partial` or
    /// `hardened`.
    pub state: String,
    pub applied_migrations: usize,
    pub pending_migrations: Vec<String>,
    pub tables: Vec<TablePlan>,
    /// What stops the hardening; empty when it can run.
    pub blockers: Vec<String>,
    /// Settings this database needs for `migrate`.
    pub settings: Vec<String>,
    pub estimate_secs: f64,
    pub lock_note: String,
}

/// Why planning failed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("reading the database failed: {0}")]
    Sql(#[from] sqlx::Error),
}

/// Reads the database (in a read-only transaction) and says what `migrate`
/// would do; `financial_period` is `HARDENING_FINANCIAL_PERIOD`.
pub async fn plan(
    pool: &PgPool,
    financial_period: Option<&(String, Option<String>)>,
) -> Result<Plan, PlanError> {
    let mut conn = pool.acquire().await?.detach();
    let result = plan_read_only(&mut conn, financial_period).await;
    let _ = conn.close().await;
    result
}

async fn plan_read_only(
    conn: &mut PgConnection,
    financial_period: Option<&(String, Option<String>)>,
) -> Result<Plan, PlanError> {
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION READ ONLY")
        .execute(&mut *tx)
        .await?;
    // Never queue behind a migration or other DDL holding a table.
    sqlx::query("SET LOCAL lock_timeout = '5s'")
        .execute(&mut *tx)
        .await?;
    let has_migrations: bool =
        sqlx::query_scalar("SELECT to_regclass('enrich.schema_migrations') IS NOT NULL")
            .fetch_one(&mut *tx)
            .await?;
    let applied: Vec<i64> = if has_migrations {
        sqlx::query_scalar("SELECT version FROM enrich.schema_migrations ORDER BY version")
            .fetch_all(&mut *tx)
            .await?
    } else {
        Vec::new()
    };
    let pending: Vec<String> = crate::db::migrate::MIGRATIONS
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .map(|m| format!("{:04} {}", m.version, m.name))
        .collect();
    let mut tables = Vec::new();
    let mut blockers = Vec::new();
    let mut settings = Vec::new();
    let mut any_table = false;
    for (table, columns) in SHAPE {
        let t = table_plan(
            &mut tx,
            table,
            columns,
            &mut blockers,
            &mut settings,
            financial_period,
        )
        .await?;
        any_table |= t.exists;
        tables.push(t);
    }
    // Production's national_id is unique; a copy without the index cannot be
    // given one online by us (it is their key, and duplicates need a decision).
    if tables.iter().any(|t| t.table == "entities" && t.exists) {
        let unique: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_index i
                              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                             WHERE i.indrelid = 'core.entities'::regclass AND i.indisunique AND i.indnatts = 1
                               AND a.attname = 'national_id')",
        )
        .fetch_one(&mut *tx)
        .await?;
        if !unique {
            blockers.push(
                "core.entities.national_id has no unique index (production has one): create it CONCURRENTLY, resolving duplicates first, then migrate".into(),
            );
        }
    }
    tx.rollback().await?;
    let state = match (any_table, applied.len()) {
        (false, 0) => "empty",
        (true, 0) => "legacy",
        (_, n) if n == crate::db::migrate::MIGRATIONS.len() => "hardened",
        _ => "partial",
    }
    .to_owned();
    let estimate_secs = tables.iter().map(|t| t.estimate_secs).sum();
    Ok(Plan {
        state,
        applied_migrations: applied.len(),
        pending_migrations: pending,
        tables,
        blockers,
        settings,
        estimate_secs,
        lock_note: "every data change runs in batches of 5,000 rows, each its own short transaction; indexes are built CONCURRENTLY and constraints added NOT VALID then validated (no write lock); the catalog-only changes wait at most lock_timeout (1 s) for their lock and are retried; a column converted online gets a shadow column kept by a trigger and filled by key, its indexes rebuilt CONCURRENTLY, then one catalog-only swap keeping its name, default, comment and index names".into(),
    })
}

type Tx<'c> = sqlx::Transaction<'c, sqlx::Postgres>;

async fn table_plan(
    tx: &mut Tx<'_>,
    table: &str,
    shape: &[(&str, &str)],
    blockers: &mut Vec<String>,
    settings: &mut Vec<String>,
    financial_period: Option<&(String, Option<String>)>,
) -> Result<TablePlan, PlanError> {
    let qualified = format!("core.{table}");
    let size: Option<(i64, i64)> = sqlx::query_as(
        "SELECT greatest(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid)
           FROM pg_class c WHERE c.oid = to_regclass($1)",
    )
    .bind(&qualified)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((mut rows_estimate, size_bytes)) = size else {
        return Ok(TablePlan {
            table: qualified,
            exists: false,
            rows_estimate: 0,
            size_bytes: 0,
            add_columns: Vec::new(),
            type_differences: Vec::new(),
            unknown_columns: Vec::new(),
            rules: vec![RuleCount {
                rule: "create the table, hardened".into(),
                rows: 0,
            }],
            constraints_to_add: Vec::new(),
            indexes_to_build: Vec::new(),
            estimate_secs: 0.0,
        });
    };
    // Never analysed (reltuples -1, shown as 0): count.
    if rows_estimate == 0 && size_bytes > 16_384 {
        rows_estimate = sqlx::query_scalar(&format!("SELECT count(*) FROM {qualified}"))
            .fetch_one(&mut **tx)
            .await?;
    }
    // Column name → (type as printed, kind: b base, e enum, d domain…).
    let found: BTreeMap<String, (String, String)> = sqlx::query_as::<_, (String, String, String)>(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), t.typtype::text
           FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
          WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
    )
    .bind(&qualified)
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|(n, t, k)| (n, (t, k)))
    .collect();
    let mut add_columns = Vec::new();
    let mut type_differences = Vec::new();
    let mut conversions = 0u32;
    for (column, expected) in &columns_of(table) {
        match found.get(*column) {
            None if table == "entity_financials" && *column == "year" => match financial_period {
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
                    add_columns.push(AddColumn {
                    column: "year".into(),
                    r#type: format!(
                        "integer, kept equal to {year}{} by a trigger and back-filled (HARDENING_FINANCIAL_PERIOD)",
                        month.as_ref().map(|m| format!(" (and month to {m})")).unwrap_or_default()
                    ),
                    });
                }
                Some((year, _)) => blockers.push(format!(
                    "HARDENING_FINANCIAL_PERIOD names {year}, which core.entity_financials does not have"
                )),
                None => {
                    let token = |c: &str, words: &[&str]| {
                        c.to_lowercase()
                            .split('_')
                            .any(|t| words.iter().any(|w| t.starts_with(w)))
                    };
                    let year_like = ["ano", "year", "exerc", "period", "refer", "compet"];
                    let month_like = ["mes", "month"];
                    let year_col = found.keys().find(|c| token(c, &year_like));
                    let month_col = found.keys().find(|c| token(c, &month_like) && Some(*c) != year_col);
                    let candidates: Vec<&str> = year_col
                        .into_iter()
                        .chain(month_col)
                        .map(String::as_str)
                        .collect();
                    blockers.push(format!(
                        "core.entity_financials has no column year (columns that look like a period: {})",
                        if candidates.is_empty() { "none".to_owned() } else { candidates.join(", ") }
                    ));
                    settings.push(format!(
                        "HARDENING_FINANCIAL_PERIOD={}",
                        if candidates.is_empty() { "<year column>[,<month column>]".to_owned() } else { candidates.join(",") }
                    ));
                }
            },
            // The timestamps are added without a value (below).
            None if matches!(*column, "created_at" | "updated_at") => {}
            None => add_columns.push(AddColumn {
                column: (*column).to_owned(),
                r#type: (*expected).to_owned(),
            }),
            Some((found_type, kind)) => {
                if let Some(target) = convert::needed(table, column, expected, found_type, kind) {
                    let (attnum, has_acl): (i16, bool) = sqlx::query_as(
                        "SELECT attnum, attacl IS NOT NULL FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2",
                    )
                    .bind(&qualified)
                    .bind(column)
                    .fetch_one(&mut **tx)
                    .await?;
                    if let Some(why) = convert::conversion_obstacle(
                        tx, table, column, attnum, has_acl, found_type, target,
                    )
                    .await?
                    {
                        blockers.push(why);
                    }
                    conversions += 1;
                    if table == "entity_financials"
                        && matches!(*column, "year" | "month")
                        && target == convert::Target::Integer
                    {
                        // What migrate's integer reader would not read.
                        let unreadable =
                            periods_not_matching(tx, column, convert::INTEGER_PATTERN, true).await?;
                        if unreadable > 0 {
                            blockers.push(format!(
                                "{unreadable} rows of core.entity_financials have a {column} that is not a plain number: correct them (or set them NULL) first"
                            ));
                        }
                    }
                }
                if let Some(handling) = handling(table, column, expected, found_type, kind) {
                    type_differences.push(TypeDifference {
                        column: (*column).to_owned(),
                        found: found_type.clone(),
                        expected: (*expected).to_owned(),
                        handling,
                    });
                }
                if *expected == "uuid" && found_type != "uuid" {
                    blockers.push(format!(
                        "{qualified}.{column} is {found_type}; the keys are uuid (DATABASE.md): the foreign keys cannot be built over it"
                    ));
                }
            }
        }
    }
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
    let unknown_columns: Vec<String> = found
        .keys()
        .filter(|c| !known.contains(&c.as_str()))
        .cloned()
        .collect();
    let mut rules = Vec::new();
    for (rule_table, rule, needs, sql) in RULES {
        if *rule_table != table {
            continue;
        }
        if !needs.iter().all(|c| found.contains_key(*c)) {
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
    let existing: Vec<String> = sqlx::query_scalar(
        "SELECT conname::text FROM pg_constraint WHERE conrelid = to_regclass($1)
         UNION SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass($1)",
    )
    .bind(&qualified)
    .fetch_all(&mut **tx)
    .await?;
    let constraints_to_add: Vec<String> = CONSTRAINTS
        .iter()
        .filter(|(t, n)| *t == table && !existing.iter().any(|e| e == n))
        .map(|(_, n)| (*n).to_owned())
        .collect();
    let indexes_to_build: Vec<String> = INDEXES
        .iter()
        .filter(|(t, n)| *t == table && !existing.iter().any(|e| e == n))
        .map(|(_, n)| (*n).to_owned())
        .collect();
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
        c = crate::db::hardening::quote(column)
    ))
    .bind(pattern)
    .bind(skip_blank)
    .fetch_one(&mut **tx)
    .await
}

/// What is done about a column whose type differs from the shape's; `None`
/// when it is the same in substance.
fn handling(table: &str, column: &str, expected: &str, found: &str, kind: &str) -> Option<String> {
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

impl Plan {
    /// The plan as a DBA reads it.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "database: {} ({} of {} migrations applied); estimated {:.0} s",
            self.state,
            self.applied_migrations,
            crate::db::migrate::MIGRATIONS.len(),
            self.estimate_secs
        );
        if !self.pending_migrations.is_empty() {
            let _ = writeln!(out, "pending: {}", self.pending_migrations.join(", "));
        }
        for t in &self.tables {
            let _ = writeln!(
                out,
                "\n{} — {}",
                t.table,
                if t.exists {
                    format!(
                        "~{} rows, {:.1} MB, ~{:.0} s",
                        t.rows_estimate,
                        t.size_bytes as f64 / 1_048_576.0,
                        t.estimate_secs
                    )
                } else {
                    "absent: created".into()
                }
            );
            for c in &t.add_columns {
                let _ = writeln!(out, "  add column {} {}", c.column, c.r#type);
            }
            for d in &t.type_differences {
                let _ = writeln!(
                    out,
                    "  type of {}: {} (expected {}) — {}",
                    d.column, d.found, d.expected, d.handling
                );
            }
            for r in &t.rules {
                let _ = writeln!(out, "  {:>8} rows: {}", r.rows, r.rule);
            }
            if !t.constraints_to_add.is_empty() {
                let _ = writeln!(
                    out,
                    "  add and validate: {}",
                    t.constraints_to_add.join(", ")
                );
            }
            if !t.indexes_to_build.is_empty() {
                let _ = writeln!(
                    out,
                    "  build concurrently: {}",
                    t.indexes_to_build.join(", ")
                );
            }
            if !t.unknown_columns.is_empty() {
                let _ = writeln!(out, "  left alone: {}", t.unknown_columns.join(", "));
            }
        }
        let _ = writeln!(out, "\nlocks: {}", self.lock_note);
        for s in &self.settings {
            let _ = writeln!(out, "setting needed: {s}");
        }
        if self.blockers.is_empty() {
            let _ = writeln!(
                out,
                "nothing stops the hardening: `c2s-enrich migrate` applies this"
            );
        } else {
            for b in &self.blockers {
                let _ = writeln!(out, "BLOCKER: {b}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_street_type_rule_lists_the_catalog_of_migration_2() {
        let migration = include_str!("../../migrations/0002_reference_tables.up.sql");
        let catalog = &migration[migration
            .find("INSERT INTO ref.street_type_catalog")
            .expect("catalog")..];
        let catalog = &catalog[..catalog.find("ON CONFLICT").expect("end")];
        let rule = RULES
            .iter()
            .find(|r| r.1.starts_with("normalise the street type"))
            .expect("rule")
            .3;
        let codes = |text: &str| -> Vec<String> {
            text.split('\'')
                .skip(1)
                .step_by(2)
                .filter(|c| c.chars().all(|ch| ch.is_ascii_uppercase()))
                .map(str::to_owned)
                .collect()
        };
        let mut in_catalog = codes(catalog);
        let mut in_rule = codes(rule);
        in_catalog.sort();
        in_rule.sort();
        assert_eq!(in_rule, in_catalog);
    }

    #[test]
    fn the_lists_match_the_migrations() {
        let all: String = crate::db::migrate::MIGRATIONS
            .iter()
            .map(|m| m.up_text())
            .collect();
        for (table, columns) in SHAPE {
            // Migration 3's step for this table.
            let marker = format!("-- name: add the columns core.{table} lacks");
            let step = all
                .split("-- step")
                .find(|s| s.contains(&marker))
                .unwrap_or_else(|| panic!("migration 3 has a step for core.{table}"));
            for (column, _) in *columns {
                let key = format!("('{column}', '");
                assert!(
                    step.contains(&key)
                        || matches!(*column, "entity_id" | "id" | "property_id" | "year"),
                    "migration 3 adds {table}.{column}"
                );
            }
        }
        for (_, name) in CONSTRAINTS.iter().chain(INDEXES) {
            assert!(all.contains(name), "{name} is in a migration");
        }
    }

    #[test]
    fn type_differences_say_what_is_done() {
        assert_eq!(
            handling("entity_phones", "phone", "text", "text", "b"),
            None
        );
        assert_eq!(
            handling("entities", "confidence", "numeric", "numeric(4,3)", "b"),
            None
        );
        assert!(handling(
            "entity_phones",
            "phone",
            "text",
            "character varying(40)",
            "b"
        )
        .is_some_and(|h| h.starts_with("text-like")));
        assert!(
            handling("properties", "property_type", "text", "core.t", "e")
                .is_some_and(|h| h.contains("converted to text online"))
        );
        assert!(
            handling("entity_phones", "phone_type", "text", "core.t", "e")
                .is_some_and(|h| h.contains("kept"))
        );
    }
}
