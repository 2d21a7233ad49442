DROP TABLE IF EXISTS enrich.provider_calls;
DROP TABLE IF EXISTS enrich.provider_pacing;
DROP TABLE IF EXISTS enrich.settings;
