DROP TABLE IF EXISTS enrich.jobs;
