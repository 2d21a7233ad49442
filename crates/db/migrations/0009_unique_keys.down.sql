ALTER TABLE core.entity_phones DROP CONSTRAINT IF EXISTS uq_entity_phones_per_entity;
ALTER TABLE core.entity_phones DROP CONSTRAINT IF EXISTS uq_entity_phones_e164;
ALTER TABLE core.entity_emails DROP CONSTRAINT IF EXISTS uq_entity_emails;
ALTER TABLE core.entity_addresses DROP CONSTRAINT IF EXISTS uq_entity_addresses;
ALTER TABLE core.addresses DROP CONSTRAINT IF EXISTS uq_addresses_hash;
ALTER TABLE core.entity_relationships DROP CONSTRAINT IF EXISTS uq_entity_relationships;
ALTER TABLE core.entity_financials DROP CONSTRAINT IF EXISTS uq_entity_financials_period;
