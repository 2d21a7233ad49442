-- c2s:no-transaction
-- step
-- c2s:repeat
UPDATE core.entity_phones p
   SET phone_e164 = p.metadata->'legacy'->>'phone_e164',
       metadata = p.metadata #- '{legacy,phone_e164}'
 WHERE p.id IN (SELECT id FROM core.entity_phones WHERE metadata->'legacy' ? 'phone_e164' LIMIT 5000);
