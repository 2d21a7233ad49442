ALTER TABLE enrich.leads DROP COLUMN IF EXISTS tier_reasons;
ALTER TABLE enrich.leads DROP COLUMN IF EXISTS tier_rules;
ALTER TABLE enrich.leads DROP COLUMN IF EXISTS tier_score;
ALTER TABLE enrich.leads DROP COLUMN IF EXISTS tier;
ALTER TABLE enrich.leads DROP COLUMN IF EXISTS c2s_created_at;
ALTER TABLE enrich.leads DROP COLUMN IF EXISTS c2s_status;
ALTER TABLE enrich.leads DROP COLUMN IF EXISTS seller_name;
ALTER TABLE enrich.leads DROP COLUMN IF EXISTS seller_id;
