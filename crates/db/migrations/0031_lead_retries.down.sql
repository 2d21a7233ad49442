DROP INDEX IF EXISTS enrich.idx_leads_retry_due;
ALTER TABLE enrich.leads DROP COLUMN IF EXISTS noted_outcome;
ALTER TABLE enrich.leads DROP COLUMN IF EXISTS retry_at;
ALTER TABLE enrich.leads DROP COLUMN IF EXISTS retries;
