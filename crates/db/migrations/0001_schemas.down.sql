-- Schemas are never dropped by a down migration: `core` and `ref` hold the users'
-- data on a legacy database, and `enrich` holds the migration ledger itself.
COMMENT ON SCHEMA enrich IS NULL;
