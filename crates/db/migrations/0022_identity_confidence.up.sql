-- Why: identity confidence (issue 11) — each lead ↔ person link records how
-- sure we are the person is the lead (confirmed/probable; unconfirmed people
-- are never linked), the reasons (no personal data), and which contact it
-- was resolved through, so a later lead with the same contact can reuse a
-- confirmed resolution for free and nothing else.
ALTER TABLE enrich.lead_entities ADD COLUMN IF NOT EXISTS confidence text;
ALTER TABLE enrich.lead_entities ADD COLUMN IF NOT EXISTS identity_reasons text;
ALTER TABLE enrich.lead_entities ADD COLUMN IF NOT EXISTS contact_phone text;
ALTER TABLE enrich.lead_entities ADD COLUMN IF NOT EXISTS contact_email text;
ALTER TABLE enrich.lead_entities DROP CONSTRAINT IF EXISTS chk_lead_entities_confidence;
ALTER TABLE enrich.lead_entities ADD CONSTRAINT chk_lead_entities_confidence
    CHECK (confidence IS NULL OR confidence IN ('confirmed', 'probable'));
CREATE INDEX IF NOT EXISTS idx_lead_entities_confirmed_phone ON enrich.lead_entities (contact_phone)
    WHERE confidence = 'confirmed' AND contact_phone IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_lead_entities_confirmed_email ON enrich.lead_entities (contact_email)
    WHERE confidence = 'confirmed' AND contact_email IS NOT NULL;
