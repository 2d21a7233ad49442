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

mod checks;
mod readers;
mod run;
mod swap;
mod target;

pub(crate) use checks::conversion_obstacle;
pub use run::convert_columns;
pub(crate) use target::{describe, needed, string_like, Target, INTEGER_PATTERN};

#[cfg(test)]
mod tests {
    use super::swap::replace_ident;
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
