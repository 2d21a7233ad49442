DROP INDEX IF EXISTS enrich.idx_leads_created;
DROP INDEX IF EXISTS enrich.idx_lead_entities_linked;
DROP INDEX IF EXISTS enrich.idx_provider_calls_lead;
ALTER TABLE enrich.provider_calls DROP COLUMN IF EXISTS lead_id;
