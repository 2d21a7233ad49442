-- c2s:no-transaction
-- Why: the seed found statistics badly outdated; the planner needs them after
-- de-duplication and the new indexes.
-- step
ANALYZE core.entities, core.entity_profiles, core.entity_financials, core.entity_phones, core.entity_emails,
        core.addresses, core.entity_addresses, core.entity_relationships, core.properties;
