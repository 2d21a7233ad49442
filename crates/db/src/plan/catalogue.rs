//! What the hardening builds, as the plan checks for it: the named
//! constraints and indexes of migrations 9–11, and the data rules with the
//! query that counts the rows each would change.

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
pub(super) const RULES: &[(&str, &str, &[&str], &str)] = &[
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
