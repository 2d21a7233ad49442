ALTER TABLE enrich.leads DROP COLUMN IF EXISTS facts_revision;
ALTER TABLE enrich.leads DROP COLUMN IF EXISTS revision;
