-- c2s:no-transaction
-- Why: idempotent writes (INSERT … ON CONFLICT) and no more duplicates. Each index
-- is built CONCURRENTLY (no write lock on a live table), then attached as a named
-- constraint (a brief catalog-only lock, retried under lock_timeout).
-- step
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_entity_phones_per_entity ON core.entity_phones (entity_id, phone);
-- step
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_entity_phones_e164 ON core.entity_phones (entity_id, phone_e164);
-- step
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_entity_emails ON core.entity_emails (entity_id, email);
-- step
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_entity_addresses ON core.entity_addresses (entity_id, address_id);
-- step
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_addresses_hash ON core.addresses (address_hash);
-- step
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_entity_relationships ON core.entity_relationships (source_entity_id, target_entity_id, relationship_type);
-- step
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_entity_financials_period ON core.entity_financials (entity_id, year, month, source) NULLS NOT DISTINCT;
-- step
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN SELECT * FROM (VALUES
        ('core.entity_phones', 'uq_entity_phones_per_entity'),
        ('core.entity_phones', 'uq_entity_phones_e164'),
        ('core.entity_emails', 'uq_entity_emails'),
        ('core.entity_addresses', 'uq_entity_addresses'),
        ('core.addresses', 'uq_addresses_hash'),
        ('core.entity_relationships', 'uq_entity_relationships'),
        ('core.entity_financials', 'uq_entity_financials_period')) AS v(tbl, name)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = item.name AND connamespace = 'core'::regnamespace) THEN
            EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE USING INDEX %I', item.tbl, item.name, item.name);
        END IF;
    END LOOP;
    -- Production already has a unique national_id; a legacy copy without it gets one.
    IF NOT EXISTS (
        SELECT 1 FROM pg_index i
         WHERE i.indrelid = 'core.entities'::regclass AND i.indisunique AND i.indnatts = 1
           AND i.indkey[0] = (SELECT attnum FROM pg_attribute WHERE attrelid = 'core.entities'::regclass AND attname = 'national_id')
    ) THEN
        RAISE EXCEPTION 'core.entities.national_id has no unique index: production has one; create it (CONCURRENTLY) before migrating';
    END IF;
END $$;
