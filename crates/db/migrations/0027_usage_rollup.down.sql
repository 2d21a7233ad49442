DROP TRIGGER IF EXISTS trg_provider_calls_usage ON enrich.provider_calls;
DROP FUNCTION IF EXISTS enrich.count_provider_call();
DROP TABLE IF EXISTS enrich.provider_usage_daily;
