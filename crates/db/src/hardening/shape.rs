//! The shape the hardening brings every customer table to: the columns the
//! service reads and writes, with their types (migration 3 creates them;
//! `migrate --plan` compares a live database against them).

/// The customer tables and the columns the hardening needs, with their types.
pub(crate) const SHAPE: &[(&str, &[(&str, &str)])] = &[
    (
        "entities",
        &[
            ("entity_id", "uuid"),
            ("national_id", "text"),
            ("entity_type", "text"),
            ("name", "text"),
            ("canonical_name", "text"),
            ("is_enriched", "boolean"),
            ("enriched_at", "timestamptz"),
            ("data_source", "text"),
            ("confidence", "numeric"),
            ("metadata", "jsonb"),
            ("is_active", "boolean"),
        ],
    ),
    (
        "entity_profiles",
        &[
            ("entity_id", "uuid"),
            ("sex", "text"),
            ("birth_date", "date"),
            ("death_date", "date"),
            ("nationality", "text"),
            ("marital_status", "text"),
            ("education_level", "text"),
            ("occupation", "text"),
            ("metadata", "jsonb"),
        ],
    ),
    (
        "entity_financials",
        &[
            ("id", "uuid"),
            ("entity_id", "uuid"),
            ("year", "integer"),
            ("month", "integer"),
            ("reported_income", "numeric"),
            ("credit_score", "integer"),
            ("risk_score", "numeric"),
            ("source", "text"),
            ("confidence", "numeric"),
            ("metadata", "jsonb"),
        ],
    ),
    (
        "entity_phones",
        &[
            ("id", "uuid"),
            ("entity_id", "uuid"),
            ("phone", "text"),
            ("phone_e164", "text"),
            ("phone_type", "text"),
            ("is_primary", "boolean"),
            ("is_verified", "boolean"),
            ("is_whatsapp", "boolean"),
            ("carrier", "text"),
            ("metadata", "jsonb"),
        ],
    ),
    (
        "entity_emails",
        &[
            ("id", "uuid"),
            ("entity_id", "uuid"),
            ("email", "text"),
            ("email_type", "text"),
            ("is_primary", "boolean"),
            ("is_verified", "boolean"),
            ("metadata", "jsonb"),
        ],
    ),
    (
        "addresses",
        &[
            ("id", "uuid"),
            ("street_type", "text"),
            ("street", "text"),
            ("number", "text"),
            ("complement", "text"),
            ("neighborhood", "text"),
            ("city", "text"),
            ("state", "text"),
            ("zip_code", "text"),
            ("formatted_address", "text"),
            ("address_hash", "text"),
            ("is_valid", "boolean"),
            ("primary_address", "boolean"),
            ("latitude", "numeric"),
            ("longitude", "numeric"),
            ("metadata", "jsonb"),
        ],
    ),
    (
        "entity_addresses",
        &[
            ("id", "uuid"),
            ("entity_id", "uuid"),
            ("address_id", "uuid"),
            ("address_type", "text"),
            ("is_primary", "boolean"),
            ("is_current", "boolean"),
            ("data_source", "text"),
            ("confidence_score", "numeric"),
            ("verified", "boolean"),
            ("metadata", "jsonb"),
        ],
    ),
    (
        "entity_relationships",
        &[
            ("id", "uuid"),
            ("source_entity_id", "uuid"),
            ("target_entity_id", "uuid"),
            ("relationship_type", "text"),
            ("relationship_category", "text"),
            ("valid_from", "date"),
            ("valid_until", "date"),
            ("is_current", "boolean"),
            ("confidence", "numeric"),
            ("metadata", "jsonb"),
        ],
    ),
    (
        "properties",
        &[
            ("property_id", "uuid"),
            ("property_type", "text"),
            ("address_id", "uuid"),
            ("title", "text"),
            ("area_m2", "numeric"),
            ("price", "numeric"),
            ("metadata", "jsonb"),
        ],
    ),
];

/// The reference columns that carry foreign keys to text-keyed reference
/// tables (migration 10): (table, column, the table's key column).
pub(crate) const REFERENCE_COLUMNS: &[(&str, &str, &str)] = &[
    ("entity_relationships", "relationship_type", "id"),
    ("properties", "property_type", "property_id"),
    ("addresses", "street_type", "id"),
];

/// The key column of a customer table.
pub(crate) fn key_of(table: &str) -> &'static str {
    match table {
        "entities" | "entity_profiles" => "entity_id",
        "properties" => "property_id",
        _ => "id",
    }
}

/// The columns of `table` the hardening needs, timestamps included, with the
/// type each must have.
pub(crate) fn columns_of(table: &str) -> Vec<(&'static str, &'static str)> {
    SHAPE
        .iter()
        .filter(|(t, _)| *t == table)
        .flat_map(|(_, columns)| columns.iter().copied())
        .chain([("created_at", "timestamptz"), ("updated_at", "timestamptz")])
        .collect()
}
