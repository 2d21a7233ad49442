DROP TABLE IF EXISTS enrich.pii_access_audit;
