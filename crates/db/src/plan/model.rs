//! What the plan says, and how a DBA reads it.

use serde::Serialize;

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

impl TablePlan {
    /// A table the database does not have: the hardening creates it.
    pub(super) fn absent(table: String) -> Self {
        Self {
            table,
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
        }
    }
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

impl Plan {
    /// The plan as a DBA reads it.
    // Longer than 70 lines on purpose: The plan's report text, section by section.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "database: {} ({} of {} migrations applied); estimated {:.0} s",
            self.state,
            self.applied_migrations,
            crate::migrate::MIGRATIONS.len(),
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
