-- c2s:no-transaction
-- Why: the console's lead timeline (issue 19) shows the provider calls made
-- for a lead — paid or answered from the cache, with their credits. Calls made
-- while a C2S lead is processed (new, retried or back-filled) carry its id;
-- others (a Google Ads form before its C2S lead, a lost call recorded by the
-- next taker) leave it empty. A nullable column without
-- a default is a catalog-only change; the index is partial (only tagged rows)
-- and built CONCURRENTLY, so instances keep recording calls during the deploy.
ALTER TABLE enrich.provider_calls ADD COLUMN IF NOT EXISTS lead_id text;
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_provider_calls_lead
    ON enrich.provider_calls (lead_id, created_at) WHERE lead_id IS NOT NULL;
-- step
-- The console's overview counts the last day's links by confidence.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_lead_entities_linked ON enrich.lead_entities (linked_at);
-- step
-- The console's leads list: newest first, by received date.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_leads_created ON enrich.leads (created_at);
