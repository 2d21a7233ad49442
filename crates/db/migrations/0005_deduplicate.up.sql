-- c2s:no-transaction
-- Why: unique keys cannot be built over duplicates (the seed found 1,522 duplicate
-- phones). Keeps the oldest row of each group; the others move to
-- enrich.archived_rows in batches of 5,000 (each batch its own short transaction),
-- from where `c2s-enrich archive restore` can put them back.
-- step
-- c2s:repeat
-- name: archive duplicate phones (entity_id, phone), keeping the oldest
WITH dup AS (
    SELECT id, row_number() OVER w AS rn, first_value(id) OVER w AS keeper
      FROM core.entity_phones
     WHERE (entity_id, phone) IN (SELECT entity_id, phone FROM core.entity_phones GROUP BY 1, 2 HAVING count(*) > 1)
    WINDOW w AS (PARTITION BY entity_id, phone ORDER BY created_at ASC NULLS LAST, id)
), victim AS (
    SELECT id, keeper FROM dup WHERE rn > 1 LIMIT 5000
), moved AS (
    DELETE FROM core.entity_phones p USING victim v WHERE p.id = v.id RETURNING p.*, v.keeper AS c2s_keeper
)
INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data, duplicate_of)
SELECT 'core.entity_phones', moved.id::text, 'duplicate', to_jsonb(moved) - 'c2s_keeper', c2s_keeper::text FROM moved;
-- step
-- name: let the archive take e-mail rows without an e-mail (an archive made by an earlier release)
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'chk_archived_rows_reason'
                      AND conrelid = 'enrich.archived_rows'::regclass
                      AND pg_get_constraintdef(oid) LIKE '%invalid_email%') THEN
        ALTER TABLE enrich.archived_rows DROP CONSTRAINT IF EXISTS chk_archived_rows_reason;
        ALTER TABLE enrich.archived_rows ADD CONSTRAINT chk_archived_rows_reason
            CHECK (reason IN ('duplicate', 'duplicate_e164', 'orphan', 'invalid_phone', 'invalid_email'));
    END IF;
END $$;
-- step
-- c2s:by-key core.entity_emails id e.id
-- name: archive e-mail rows without an e-mail (NULL or blank)
WITH moved AS (
    DELETE FROM core.entity_emails e
     WHERE :range AND (e.email IS NULL OR btrim(e.email) = '')
    RETURNING e.*
)
INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data)
SELECT 'core.entity_emails', moved.id::text, 'invalid_email', to_jsonb(moved) FROM moved;
-- step
-- c2s:repeat
-- name: archive duplicate e-mails (entity_id, lower(trim(email))), keeping the oldest
WITH dup AS (
    SELECT id, row_number() OVER w AS rn, first_value(id) OVER w AS keeper
      FROM core.entity_emails
     WHERE (entity_id, lower(btrim(email))) IN
           (SELECT entity_id, lower(btrim(email)) FROM core.entity_emails GROUP BY 1, 2 HAVING count(*) > 1)
    WINDOW w AS (PARTITION BY entity_id, lower(btrim(email)) ORDER BY created_at ASC NULLS LAST, id)
), victim AS (
    SELECT id, keeper FROM dup WHERE rn > 1 LIMIT 5000
), moved AS (
    DELETE FROM core.entity_emails e USING victim v WHERE e.id = v.id RETURNING e.*, v.keeper AS c2s_keeper
)
INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data, duplicate_of)
SELECT 'core.entity_emails', moved.id::text, 'duplicate', to_jsonb(moved) - 'c2s_keeper', c2s_keeper::text FROM moved;
-- step
-- c2s:repeat
-- name: archive duplicate entity-address links, keeping the oldest
WITH dup AS (
    SELECT id, row_number() OVER w AS rn, first_value(id) OVER w AS keeper
      FROM core.entity_addresses
     WHERE (entity_id, address_id) IN
           (SELECT entity_id, address_id FROM core.entity_addresses GROUP BY 1, 2 HAVING count(*) > 1)
    WINDOW w AS (PARTITION BY entity_id, address_id ORDER BY created_at ASC NULLS LAST, id)
), victim AS (
    SELECT id, keeper FROM dup WHERE rn > 1 LIMIT 5000
), moved AS (
    DELETE FROM core.entity_addresses ea USING victim v WHERE ea.id = v.id RETURNING ea.*, v.keeper AS c2s_keeper
)
INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data, duplicate_of)
SELECT 'core.entity_addresses', moved.id::text, 'duplicate', to_jsonb(moved) - 'c2s_keeper', c2s_keeper::text FROM moved;
-- step
-- c2s:by-key core.entity_emails id id
-- name: store e-mails lower-case and trimmed
-- E-mails are stored lower-case (no collision left after the step above).
UPDATE core.entity_emails SET email = lower(btrim(email)), updated_at = now()
 WHERE :range AND email <> lower(btrim(email));
