DROP TABLE IF EXISTS enrich.erasures;
