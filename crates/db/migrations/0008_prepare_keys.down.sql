-- c2s:no-transaction
-- Archived rows stay archived (`c2s-enrich archive restore`); legacy reference
-- types stay (harmless, inactive). Cleared address hashes come back.
-- step
-- c2s:repeat
UPDATE core.addresses a
   SET address_hash = a.metadata->'legacy'->>'address_hash',
       metadata = (a.metadata #- '{legacy,address_hash}') - 'duplicate_of'
 WHERE a.id IN (SELECT id FROM core.addresses WHERE metadata->'legacy' ? 'address_hash' LIMIT 5000);
