DROP TABLE IF EXISTS enrich.api_keys;
