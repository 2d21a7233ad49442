-- Why: Google Ads leads reach C2S with the product the ad is about (issue 17),
-- mapped from the ad's form, ad group or campaign id (GOOGLE_ADS_PRODUCTS_FILE).
-- The ad group id is kept beside the campaign and form ids it was not before,
-- and `product_ref` records what the lead was created with: the map entry's
-- reference or description, NULL for an ad no entry maps (those are counted
-- and listed for the operators to map). Metadata-only column additions.
ALTER TABLE enrich.google_ads_leads ADD COLUMN IF NOT EXISTS adgroup_id text;
ALTER TABLE enrich.google_ads_leads ADD COLUMN IF NOT EXISTS product_ref text;
