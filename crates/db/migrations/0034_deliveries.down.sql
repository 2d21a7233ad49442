DROP TABLE IF EXISTS enrich.source_health;
DROP TABLE IF EXISTS enrich.lead_deliveries;
