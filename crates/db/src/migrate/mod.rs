//! The migration runner.
//!
//! Why not `sqlx::migrate!`: the hardening of a live legacy database needs
//! statements that cannot share a transaction (`CREATE INDEX CONCURRENTLY`,
//! `VALIDATE CONSTRAINT` after `NOT VALID`, updates committed batch by batch),
//! retries when `lock_timeout` makes a statement give way to traffic, and steps
//! written in Rust (E.164 back-fill with the `brazil` parser). sqlx runs a
//! no-transaction migration as one multi-statement query, which PostgreSQL
//! executes as one implicit transaction. See docs/adr/0003-migrations.md.
//!
//! Script format (`migrations/NNNN_name.{up,down}.sql`):
//! - by default the whole file runs in one transaction;
//! - a first line `-- c2s:no-transaction` makes each part between `-- step`
//!   lines its own autocommitted statement; a part starting with
//!   `-- c2s:repeat` runs again until it changes no row (batched updates);
//!   a part with `-- c2s:by-key <table> <key> <expression>` runs once per
//!   range of 5,000 keys, its `:range` replaced by the range's bounds on
//!   `<expression>`, then once over the whole table (see [`run_by_key`]);
//! - `CREATE INDEX CONCURRENTLY IF NOT EXISTS name` first drops an invalid
//!   index of that name left by an interrupted build;
//! - a `-- name: …` line in a step names it in errors (else its number and
//!   first line of SQL); errors name the table, column and constraint
//!   PostgreSQL reports, never a row's values.
//!
//! A migration released and applied is never edited, with one exception: an
//! edit that only makes it adapt to more legacy shapes, listing the earlier
//! text's checksum in `former` (it must do the same on every shape it
//! handled before, and be idempotent). A database that recorded a former
//! text runs the current one again (hooks included) and records it.
//!
//! Every statement runs with `lock_timeout` (default 1 s): a statement that
//! would queue behind traffic fails fast instead of blocking it, and is retried.

mod catalogue;
mod options;
mod runner;
mod steps;

mod diagnose;

pub use catalogue::{Migration, MIGRATIONS};
pub use diagnose::offending_rows;
pub use options::{MigrateError, MigrateOptions, MigrationStatus};
pub use runner::{down, status, up, APPLICATION_NAME};

#[cfg(test)]
mod tests {
    use super::steps::{concurrent_index_name, key_range, step_label, steps, KeyRange};
    use super::*;

    #[test]
    fn scripts_split_on_step_lines_and_skip_comment_only_parts() {
        let s = "-- c2s:no-transaction\n-- header\n-- step\nSELECT 1;\n-- step\n-- c2s:repeat\nUPDATE t SET x = 1;\n";
        let parts = steps(s);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].trim(), "SELECT 1;");
        assert!(parts[1].contains("c2s:repeat"));
    }

    #[test]
    fn concurrent_index_names_are_found() {
        assert_eq!(
            concurrent_index_name(
                "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_x ON core.t (a)"
            ),
            Some("uq_x")
        );
        assert_eq!(
            concurrent_index_name("create index concurrently if not exists idx_y on t(a)"),
            Some("idx_y")
        );
        assert_eq!(concurrent_index_name("CREATE INDEX idx_z ON t (a)"), None);
    }

    #[test]
    fn steps_are_named_in_errors() {
        assert_eq!(
            step_label(
                3,
                "-- c2s:repeat\n-- name: archive duplicate phones\nWITH x AS (SELECT 1) SELECT 1;"
            ),
            "step 3 \"archive duplicate phones\""
        );
        assert_eq!(
            step_label(
                2,
                "-- why\nALTER TABLE core.addresses VALIDATE CONSTRAINT chk_addresses_zip_code;"
            ),
            "step 2 (ALTER TABLE core.addresses VALIDATE CONSTRAINT chk_addresses_zip_code;)"
        );
        let long = format!("SELECT {};", "x".repeat(100));
        assert!(step_label(1, &long).ends_with("…)"));
        let err = MigrateError::Step {
            version: 7,
            name: "phone_e164",
            step: "step \"phone_e164 back-fill\"".into(),
            source: sqlx::Error::RowNotFound,
            rows: None,
        };
        assert!(!err.to_string().contains("18446744073709551615"));
        assert!(err
            .to_string()
            .starts_with("migration 7 (phone_e164) failed at step \"phone_e164 back-fill\": "));
    }

    #[test]
    fn by_key_steps_are_recognised() {
        assert_eq!(
            key_range("-- c2s:by-key core.addresses id a.id\n-- name: x\nUPDATE …"),
            Some(KeyRange {
                table: "core.addresses",
                key: "id",
                expr: "a.id"
            })
        );
        assert_eq!(key_range("-- c2s:repeat\nUPDATE …"), None);
        assert_eq!(key_range("-- c2s:by-key core.addresses id\n"), None);
    }

    #[test]
    fn versions_are_increasing_and_unique() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
    }
}
