DROP INDEX IF EXISTS enrich.idx_lead_entities_confirmed_email;
DROP INDEX IF EXISTS enrich.idx_lead_entities_confirmed_phone;
ALTER TABLE enrich.lead_entities DROP CONSTRAINT IF EXISTS chk_lead_entities_confidence;
ALTER TABLE enrich.lead_entities DROP COLUMN IF EXISTS contact_email;
ALTER TABLE enrich.lead_entities DROP COLUMN IF EXISTS contact_phone;
ALTER TABLE enrich.lead_entities DROP COLUMN IF EXISTS identity_reasons;
ALTER TABLE enrich.lead_entities DROP COLUMN IF EXISTS confidence;
