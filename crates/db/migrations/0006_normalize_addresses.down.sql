-- c2s:no-transaction
-- Puts back the original CEP, UF and street type kept in metadata->'legacy'.
-- step
-- c2s:repeat
UPDATE core.addresses a
   SET zip_code = CASE WHEN a.metadata->'legacy' ? 'zip_code' THEN a.metadata->'legacy'->>'zip_code' ELSE a.zip_code END,
       state = CASE WHEN a.metadata->'legacy' ? 'state' THEN a.metadata->'legacy'->>'state' ELSE a.state END,
       street_type = CASE WHEN a.metadata->'legacy' ? 'street_type' THEN a.metadata->'legacy'->>'street_type' ELSE a.street_type END,
       metadata = (a.metadata #- '{legacy,zip_code}' #- '{legacy,state}' #- '{legacy,street_type}')
 WHERE a.id IN (SELECT id FROM core.addresses
                 WHERE metadata->'legacy' ?| ARRAY['zip_code', 'state', 'street_type'] LIMIT 2000);
