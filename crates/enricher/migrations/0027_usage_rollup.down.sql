DROP INDEX IF EXISTS enrich.idx_jobs_open;
DROP INDEX IF EXISTS enrich.idx_leads_open;
DROP TRIGGER IF EXISTS trg_provider_calls_usage ON enrich.provider_calls;
DROP FUNCTION IF EXISTS enrich.count_provider_call();
DROP TABLE IF EXISTS enrich.provider_usage_daily;
