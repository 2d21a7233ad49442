-- c2s:no-transaction
-- step
DROP INDEX CONCURRENTLY IF EXISTS core.idx_entities_metadata_c2s_lead_id;
-- step
DROP INDEX CONCURRENTLY IF EXISTS core.idx_addresses_neighborhood_lower;
-- step
DROP INDEX CONCURRENTLY IF EXISTS core.idx_entity_addresses_confidence_high;
-- step
DROP INDEX CONCURRENTLY IF EXISTS core.idx_entities_enriched_at;
-- step
DROP INDEX CONCURRENTLY IF EXISTS core.idx_entity_phones_e164;
-- step
DROP INDEX CONCURRENTLY IF EXISTS core.idx_entity_emails_email;
-- step
DROP INDEX CONCURRENTLY IF EXISTS core.idx_entity_addresses_address;
-- step
DROP INDEX CONCURRENTLY IF EXISTS core.idx_entity_relationships_target;
-- step
DROP INDEX CONCURRENTLY IF EXISTS core.idx_entity_financials_entity;
