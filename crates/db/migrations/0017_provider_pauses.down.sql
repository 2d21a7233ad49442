DROP TABLE IF EXISTS enrich.provider_pauses;
