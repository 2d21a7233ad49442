-- c2s:no-transaction
-- Why: the seed's performance indexes, built CONCURRENTLY this time, plus the
-- lookups the service makes (by E.164 phone, by e-mail) and indexes behind the
-- foreign keys (so deleting a person does not scan whole tables).
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_entities_metadata_c2s_lead_id ON core.entities ((metadata->>'c2s_lead_id'));
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_addresses_neighborhood_lower ON core.addresses (lower(neighborhood));
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_entity_addresses_confidence_high ON core.entity_addresses (entity_id, confidence_score) WHERE confidence_score >= 0.75;
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_entities_enriched_at ON core.entities (enriched_at) WHERE is_enriched;
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_entity_phones_e164 ON core.entity_phones (phone_e164);
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_entity_emails_email ON core.entity_emails (email);
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_entity_addresses_address ON core.entity_addresses (address_id);
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_entity_relationships_target ON core.entity_relationships (target_entity_id);
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_entity_financials_entity ON core.entity_financials (entity_id);
