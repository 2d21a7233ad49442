-- c2s:no-transaction
-- Why: unique keys cannot be built over duplicates (the seed found 1,522 duplicate
-- phones). Keeps the oldest row of each group; the others move to
-- enrich.archived_rows in batches of 5,000 (each batch its own short transaction),
-- from where `c2s-enrich archive restore` can put them back.
-- step
-- c2s:repeat
WITH dup AS (
    SELECT id, row_number() OVER (PARTITION BY entity_id, phone ORDER BY created_at ASC NULLS LAST, id) AS rn
      FROM core.entity_phones
     WHERE (entity_id, phone) IN (SELECT entity_id, phone FROM core.entity_phones GROUP BY 1, 2 HAVING count(*) > 1)
), victim AS (
    SELECT id FROM dup WHERE rn > 1 LIMIT 5000
), moved AS (
    DELETE FROM core.entity_phones p USING victim v WHERE p.id = v.id RETURNING p.*
)
INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data)
SELECT 'core.entity_phones', moved.id::text, 'duplicate', to_jsonb(moved) FROM moved;
-- step
-- c2s:repeat
WITH dup AS (
    SELECT id, row_number() OVER (PARTITION BY entity_id, lower(btrim(email)) ORDER BY created_at ASC NULLS LAST, id) AS rn
      FROM core.entity_emails
     WHERE (entity_id, lower(btrim(email))) IN
           (SELECT entity_id, lower(btrim(email)) FROM core.entity_emails GROUP BY 1, 2 HAVING count(*) > 1)
), victim AS (
    SELECT id FROM dup WHERE rn > 1 LIMIT 5000
), moved AS (
    DELETE FROM core.entity_emails e USING victim v WHERE e.id = v.id RETURNING e.*
)
INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data)
SELECT 'core.entity_emails', moved.id::text, 'duplicate', to_jsonb(moved) FROM moved;
-- step
-- c2s:repeat
WITH dup AS (
    SELECT id, row_number() OVER (PARTITION BY entity_id, address_id ORDER BY created_at ASC NULLS LAST, id) AS rn
      FROM core.entity_addresses
     WHERE (entity_id, address_id) IN
           (SELECT entity_id, address_id FROM core.entity_addresses GROUP BY 1, 2 HAVING count(*) > 1)
), victim AS (
    SELECT id FROM dup WHERE rn > 1 LIMIT 5000
), moved AS (
    DELETE FROM core.entity_addresses ea USING victim v WHERE ea.id = v.id RETURNING ea.*
)
INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data)
SELECT 'core.entity_addresses', moved.id::text, 'duplicate', to_jsonb(moved) FROM moved;
-- step
-- c2s:repeat
-- E-mails are stored lower-case (no collision left after the step above).
UPDATE core.entity_emails SET email = lower(btrim(email)), updated_at = now()
 WHERE id IN (SELECT id FROM core.entity_emails WHERE email <> lower(btrim(email)) LIMIT 5000);
