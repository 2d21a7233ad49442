-- c2s:no-transaction
-- Why: referential integrity and Brazilian validation. Each constraint is added
-- NOT VALID (instant, checks new rows only), then validated in its own statement,
-- which scans under a lock that does not block reads or writes.
-- step
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT * FROM (VALUES
        ('core.entity_profiles', 'fk_entity_profiles_entity', 'FOREIGN KEY (entity_id) REFERENCES core.entities (entity_id) ON DELETE CASCADE'),
        ('core.entity_financials', 'fk_entity_financials_entity', 'FOREIGN KEY (entity_id) REFERENCES core.entities (entity_id) ON DELETE CASCADE'),
        ('core.entity_phones', 'fk_entity_phones_entity', 'FOREIGN KEY (entity_id) REFERENCES core.entities (entity_id) ON DELETE CASCADE'),
        ('core.entity_emails', 'fk_entity_emails_entity', 'FOREIGN KEY (entity_id) REFERENCES core.entities (entity_id) ON DELETE CASCADE'),
        ('core.entity_addresses', 'fk_entity_addresses_entity', 'FOREIGN KEY (entity_id) REFERENCES core.entities (entity_id) ON DELETE CASCADE'),
        ('core.entity_addresses', 'fk_entity_addresses_address', 'FOREIGN KEY (address_id) REFERENCES core.addresses (id)'),
        ('core.entity_relationships', 'fk_entity_relationships_source', 'FOREIGN KEY (source_entity_id) REFERENCES core.entities (entity_id) ON DELETE CASCADE'),
        ('core.entity_relationships', 'fk_entity_relationships_target', 'FOREIGN KEY (target_entity_id) REFERENCES core.entities (entity_id) ON DELETE CASCADE'),
        ('core.entity_relationships', 'fk_relationship_type', 'FOREIGN KEY (relationship_type) REFERENCES ref.relationship_types (type)'),
        ('core.properties', 'fk_property_type_ref', 'FOREIGN KEY (property_type) REFERENCES ref.property_types (code)'),
        ('core.addresses', 'fk_street_type_catalog', 'FOREIGN KEY (street_type) REFERENCES ref.street_type_catalog (code)'),
        ('core.addresses', 'chk_addresses_zip_code', 'CHECK (zip_code IS NULL OR zip_code ~ ''^[0-9]{8}$'')'),
        ('core.addresses', 'chk_addresses_state_uf', 'CHECK (state IS NULL OR (state ~ ''^[A-Z]{2}$'' AND state IN (''AC'',''AL'',''AM'',''AP'',''BA'',''CE'',''DF'',''ES'',''GO'',''MA'',''MG'',''MS'',''MT'',''PA'',''PB'',''PE'',''PI'',''PR'',''RJ'',''RN'',''RO'',''RR'',''RS'',''SC'',''SE'',''SP'',''TO'')))'),
        ('core.entity_phones', 'chk_entity_phones_e164', 'CHECK (phone_e164 IS NULL OR phone_e164 ~ ''^\+55[1-9][1-9][0-9]{8,9}$'')'),
        ('core.entity_addresses', 'chk_entity_addresses_confidence', 'CHECK (confidence_score IS NULL OR confidence_score BETWEEN 0 AND 1)'),
        ('core.entity_financials', 'chk_entity_financials_risk_score', 'CHECK (risk_score IS NULL OR risk_score BETWEEN 0 AND 1)')
    ) AS v(tbl, name, definition)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = c.name AND conrelid = c.tbl::regclass) THEN
            EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s NOT VALID', c.tbl, c.name, c.definition);
        END IF;
    END LOOP;
END $$;
-- step
ALTER TABLE core.entity_profiles VALIDATE CONSTRAINT fk_entity_profiles_entity;
-- step
ALTER TABLE core.entity_financials VALIDATE CONSTRAINT fk_entity_financials_entity;
-- step
ALTER TABLE core.entity_phones VALIDATE CONSTRAINT fk_entity_phones_entity;
-- step
ALTER TABLE core.entity_emails VALIDATE CONSTRAINT fk_entity_emails_entity;
-- step
ALTER TABLE core.entity_addresses VALIDATE CONSTRAINT fk_entity_addresses_entity;
-- step
ALTER TABLE core.entity_addresses VALIDATE CONSTRAINT fk_entity_addresses_address;
-- step
ALTER TABLE core.entity_relationships VALIDATE CONSTRAINT fk_entity_relationships_source;
-- step
ALTER TABLE core.entity_relationships VALIDATE CONSTRAINT fk_entity_relationships_target;
-- step
ALTER TABLE core.entity_relationships VALIDATE CONSTRAINT fk_relationship_type;
-- step
ALTER TABLE core.properties VALIDATE CONSTRAINT fk_property_type_ref;
-- step
ALTER TABLE core.addresses VALIDATE CONSTRAINT fk_street_type_catalog;
-- step
ALTER TABLE core.addresses VALIDATE CONSTRAINT chk_addresses_zip_code;
-- step
ALTER TABLE core.addresses VALIDATE CONSTRAINT chk_addresses_state_uf;
-- step
ALTER TABLE core.entity_phones VALIDATE CONSTRAINT chk_entity_phones_e164;
-- step
ALTER TABLE core.entity_addresses VALIDATE CONSTRAINT chk_entity_addresses_confidence;
-- step
ALTER TABLE core.entity_financials VALIDATE CONSTRAINT chk_entity_financials_risk_score;
