DROP TABLE IF EXISTS enrich.leads;
