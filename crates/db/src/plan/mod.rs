//! `c2s-enrich migrate --plan`: what the hardening would do to the database
//! it is pointed at, found by reading the catalogs and counting rows — in a
//! read-only transaction, so it cannot change anything (not even the
//! migrations table).
//!
//! The shape it compares against is the one the migrations build (the
//! columns of migration 3, the keys and checks of 9 and 10, the indexes of
//! 11); a test keeps these lists and the migrations' texts in step.

mod catalogue;
mod model;
mod survey;
mod table;

pub use model::{AddColumn, Plan, PlanError, RuleCount, TablePlan, TypeDifference};
pub use survey::plan;

#[cfg(test)]
mod tests {
    use super::catalogue::{CONSTRAINTS, INDEXES, RULES};
    use super::table::handling;
    use crate::hardening::shape::SHAPE;

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
        let all: String = crate::migrate::MIGRATIONS
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
