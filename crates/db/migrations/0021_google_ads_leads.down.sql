DROP TABLE IF EXISTS enrich.google_ads_leads;
