ALTER TABLE enrich.google_ads_leads DROP COLUMN IF EXISTS product_ref;
ALTER TABLE enrich.google_ads_leads DROP COLUMN IF EXISTS adgroup_id;
