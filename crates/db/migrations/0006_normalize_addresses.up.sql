-- c2s:no-transaction
-- Why: CHECKs on CEP and UF and the street-type FK need clean values. Repairable
-- values are normalised (`11060-002` → `11060002`, `sp`/`São Paulo` → `SP`,
-- `AVENIDA` → `AV`); the rest become NULL. Every changed value's original is kept
-- in metadata->'legacy' (the down path restores it). Addresses are never deleted.
-- Key range by key range (each statement reads 5,000 keys by the primary key
-- and commits: no rescans, no row held while the statement reads on).
-- step
-- c2s:by-key core.addresses id id
-- name: normalise CEP, UF and street type
WITH batch AS (
    SELECT id FROM core.addresses
     WHERE :range
       AND ((zip_code IS NOT NULL AND zip_code !~ '^[0-9]{8}$')
            OR (state IS NOT NULL AND state NOT IN ('AC','AL','AM','AP','BA','CE','DF','ES','GO','MA','MG','MS','MT','PA',
                                                    'PB','PE','PI','PR','RJ','RN','RO','RR','RS','SC','SE','SP','TO'))
            OR (street_type IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ref.street_type_catalog c WHERE c.code = street_type)))
), fixed AS (
    SELECT a.id,
           enrich.normalize_cep(a.zip_code) AS zip_code,
           enrich.normalize_uf(a.state) AS state,
           enrich.normalize_street_type(a.street_type) AS street_type,
           a.zip_code AS old_zip, a.state AS old_state, a.street_type AS old_street_type
      FROM core.addresses a JOIN batch USING (id)
)
UPDATE core.addresses a
   SET zip_code = f.zip_code,
       state = f.state,
       street_type = f.street_type,
       metadata = coalesce(a.metadata, '{}'::jsonb) || jsonb_build_object('legacy',
           coalesce(a.metadata->'legacy', '{}'::jsonb)
           || CASE WHEN f.zip_code IS DISTINCT FROM f.old_zip THEN jsonb_build_object('zip_code', f.old_zip) ELSE '{}' END
           || CASE WHEN f.state IS DISTINCT FROM f.old_state THEN jsonb_build_object('state', f.old_state) ELSE '{}' END
           || CASE WHEN f.street_type IS DISTINCT FROM f.old_street_type THEN jsonb_build_object('street_type', f.old_street_type) ELSE '{}' END),
       updated_at = now()
  FROM fixed f
 WHERE a.id = f.id;
