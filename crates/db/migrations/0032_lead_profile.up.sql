-- Why: what the sales agent needs to act (issue 17). Each lead keeps the
-- seller and status C2S gave it when read (so a later lead of the same person
-- can say "already a lead of <seller> since <date>"), and its tier: the tier,
-- score, the rule set's version and the reasons (LGPD art. 20: an automated
-- assessment is explained on request). Metadata-only column additions on the
-- service's own table; nothing is rewritten.
ALTER TABLE enrich.leads ADD COLUMN IF NOT EXISTS seller_id text;
ALTER TABLE enrich.leads ADD COLUMN IF NOT EXISTS seller_name text;
ALTER TABLE enrich.leads ADD COLUMN IF NOT EXISTS c2s_status text;
ALTER TABLE enrich.leads ADD COLUMN IF NOT EXISTS c2s_created_at timestamptz;
ALTER TABLE enrich.leads ADD COLUMN IF NOT EXISTS tier text;
ALTER TABLE enrich.leads ADD COLUMN IF NOT EXISTS tier_score integer;
ALTER TABLE enrich.leads ADD COLUMN IF NOT EXISTS tier_rules text;
ALTER TABLE enrich.leads ADD COLUMN IF NOT EXISTS tier_reasons jsonb;
