-- Why: a lead nobody was found for is asked about again days later (issue
-- 16: providers learn of people over time). `retries` counts the retries
-- made, `retry_at` is when the next is due (NULL: none), and
-- `noted_outcome` what the posted note said — a retry that finds someone
-- posts one new note, one that finds nobody again posts none. The columns
-- are metadata-only changes; the one UPDATE fills `noted_outcome` for the
-- notes already posted (enrich.leads holds the service's own leads, tens of
-- thousands of rows at most, not the customer database).
ALTER TABLE enrich.leads ADD COLUMN IF NOT EXISTS retries integer NOT NULL DEFAULT 0;
ALTER TABLE enrich.leads ADD COLUMN IF NOT EXISTS retry_at timestamptz;
ALTER TABLE enrich.leads ADD COLUMN IF NOT EXISTS noted_outcome text;
UPDATE enrich.leads SET noted_outcome = outcome
 WHERE note_status = 'sent' AND noted_outcome IS NULL AND outcome IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_leads_retry_due ON enrich.leads (retry_at) WHERE retry_at IS NOT NULL;
