-- c2s:no-transaction
-- Why: the last obstacles to the unique keys and foreign keys. Phones of one
-- person written differently but equal in E.164 are de-duplicated (archived);
-- a repeated address_hash is cleared on the younger rows (kept in metadata, with a
-- pointer to the row that keeps it); rows pointing at missing people/addresses are
-- archived; relationship/property types missing from the reference tables are
-- added to them as inactive legacy types, so no value is lost.
-- step
-- c2s:repeat
-- name: archive phones equal in E.164, keeping the oldest
WITH dup AS (
    SELECT id, row_number() OVER w AS rn, first_value(id) OVER w AS keeper
      FROM core.entity_phones
     WHERE phone_e164 IS NOT NULL
       AND (entity_id, phone_e164) IN
           (SELECT entity_id, phone_e164 FROM core.entity_phones WHERE phone_e164 IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1)
    WINDOW w AS (PARTITION BY entity_id, phone_e164 ORDER BY created_at ASC NULLS LAST, id)
), victim AS (
    SELECT id, keeper FROM dup WHERE rn > 1 LIMIT 5000
), moved AS (
    DELETE FROM core.entity_phones p USING victim v WHERE p.id = v.id RETURNING p.*, v.keeper AS c2s_keeper
)
INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data, duplicate_of)
SELECT 'core.entity_phones', moved.id::text, 'duplicate_e164', to_jsonb(moved) - 'c2s_keeper', c2s_keeper::text FROM moved;
-- step
-- c2s:repeat
-- name: archive duplicate financial periods (entity_id, year, month, source), keeping the oldest
WITH ranked AS (
    SELECT id, row_number() OVER w AS rn, first_value(id) OVER w AS keeper
      FROM core.entity_financials
    WINDOW w AS (PARTITION BY entity_id, year, month, source ORDER BY created_at ASC NULLS LAST, id)
), victim AS (
    SELECT id, keeper FROM ranked WHERE rn > 1 LIMIT 5000
), moved AS (
    DELETE FROM core.entity_financials f USING victim v WHERE f.id = v.id RETURNING f.*, v.keeper AS c2s_keeper
)
INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data, duplicate_of)
SELECT 'core.entity_financials', moved.id::text, 'duplicate', to_jsonb(moved) - 'c2s_keeper', c2s_keeper::text FROM moved;
-- step
-- c2s:repeat
WITH ranked AS (
    SELECT id, address_hash,
           first_value(id) OVER (PARTITION BY address_hash ORDER BY created_at ASC NULLS LAST, id) AS keeper,
           row_number() OVER (PARTITION BY address_hash ORDER BY created_at ASC NULLS LAST, id) AS rn
      FROM core.addresses
     WHERE address_hash IN (SELECT address_hash FROM core.addresses WHERE address_hash IS NOT NULL
                             GROUP BY 1 HAVING count(*) > 1)
), victim AS (
    SELECT * FROM ranked WHERE rn > 1 LIMIT 5000
)
UPDATE core.addresses a
   SET address_hash = NULL,
       metadata = coalesce(a.metadata, '{}'::jsonb)
                  || jsonb_build_object('duplicate_of', v.keeper)
                  || jsonb_build_object('legacy', coalesce(a.metadata->'legacy', '{}'::jsonb)
                                                  || jsonb_build_object('address_hash', v.address_hash)),
       updated_at = now()
  FROM victim v
 WHERE a.id = v.id;
-- step
-- c2s:by-key core.entity_phones id p.id
-- name: archive orphan rows of core.entity_phones
WITH moved AS (
    DELETE FROM core.entity_phones p
     WHERE :range
       AND (NOT EXISTS (SELECT 1 FROM core.entities e WHERE e.entity_id = p.entity_id))
    RETURNING p.*
)
INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data)
SELECT 'core.entity_phones', id::text, 'orphan', to_jsonb(moved) FROM moved;
-- step
-- c2s:by-key core.entity_emails id p.id
-- name: archive orphan rows of core.entity_emails
WITH moved AS (
    DELETE FROM core.entity_emails p
     WHERE :range
       AND (NOT EXISTS (SELECT 1 FROM core.entities e WHERE e.entity_id = p.entity_id))
    RETURNING p.*
)
INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data)
SELECT 'core.entity_emails', id::text, 'orphan', to_jsonb(moved) FROM moved;
-- step
-- c2s:by-key core.entity_addresses id p.id
-- name: archive orphan rows of core.entity_addresses
WITH moved AS (
    DELETE FROM core.entity_addresses p
     WHERE :range
       AND (NOT EXISTS (SELECT 1 FROM core.entities e WHERE e.entity_id = p.entity_id)
            OR NOT EXISTS (SELECT 1 FROM core.addresses a WHERE a.id = p.address_id))
    RETURNING p.*
)
INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data)
SELECT 'core.entity_addresses', id::text, 'orphan', to_jsonb(moved) FROM moved;
-- step
-- c2s:by-key core.entity_profiles entity_id p.entity_id
-- name: archive orphan rows of core.entity_profiles
WITH moved AS (
    DELETE FROM core.entity_profiles p
     WHERE :range
       AND (NOT EXISTS (SELECT 1 FROM core.entities e WHERE e.entity_id = p.entity_id))
    RETURNING p.*
)
INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data)
SELECT 'core.entity_profiles', entity_id::text, 'orphan', to_jsonb(moved) FROM moved;
-- step
-- c2s:by-key core.entity_financials id p.id
-- name: archive orphan rows of core.entity_financials
WITH moved AS (
    DELETE FROM core.entity_financials p
     WHERE :range
       AND (NOT EXISTS (SELECT 1 FROM core.entities e WHERE e.entity_id = p.entity_id))
    RETURNING p.*
)
INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data)
SELECT 'core.entity_financials', id::text, 'orphan', to_jsonb(moved) FROM moved;
-- step
-- c2s:by-key core.entity_relationships id p.id
-- name: archive orphan rows of core.entity_relationships
WITH moved AS (
    DELETE FROM core.entity_relationships p
     WHERE :range
       AND (NOT EXISTS (SELECT 1 FROM core.entities e WHERE e.entity_id = p.source_entity_id)
            OR NOT EXISTS (SELECT 1 FROM core.entities e WHERE e.entity_id = p.target_entity_id))
    RETURNING p.*
)
INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data)
SELECT 'core.entity_relationships', id::text, 'orphan', to_jsonb(moved) FROM moved;
-- step
INSERT INTO ref.relationship_types (type, description, category, is_active)
SELECT DISTINCT r.relationship_type::text, 'legacy value', 'legacy', false
  FROM core.entity_relationships r
 WHERE r.relationship_type IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM ref.relationship_types t WHERE t.type = r.relationship_type::text)
ON CONFLICT (type) DO NOTHING;
-- step
INSERT INTO ref.property_types (code, name, category, is_active)
SELECT DISTINCT p.property_type::text, p.property_type::text, 'legacy', false
  FROM core.properties p
 WHERE p.property_type IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM ref.property_types t WHERE t.code = p.property_type::text)
ON CONFLICT (code) DO NOTHING;
