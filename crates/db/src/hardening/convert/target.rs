//! What a legacy column becomes, and whether it needs converting (pure).

use crate::hardening::shape::REFERENCE_COLUMNS;

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
    pub(super) fn read(self, value: &str) -> String {
        match self {
            Target::Text => format!("{value}::text"),
            t => format!("enrich.c2s_read_{}({value}::text)", t.sql()),
        }
    }

    /// Whether a value that cannot be read is kept in `metadata->'legacy'`
    /// (text and jsonb read every value).
    pub(super) fn keeps_unreadable(self) -> bool {
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

/// A live column, as the catalogs describe it.
#[derive(Debug)]
pub(super) struct ColumnInfo {
    pub(super) attnum: i16,
    pub(super) found: String,
    pub(super) kind: String,
    pub(super) default: Option<String>,
    /// The default is a constant (not `now()`, `CURRENT_DATE`, a sequence…).
    pub(super) default_const: bool,
    pub(super) not_null: bool,
    pub(super) has_acl: bool,
    pub(super) comment: Option<String>,
}
