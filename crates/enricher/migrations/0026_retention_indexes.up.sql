-- Why: every operational table has a retention policy (issue 12); the prune
-- (`c2s-enrich prune`, and every few hours in the workers) finds what is past
-- its life by these indexes instead of scanning whole tables.
CREATE INDEX IF NOT EXISTS idx_jobs_finished ON enrich.jobs (finished_at) WHERE state IN ('done', 'dead');
CREATE INDEX IF NOT EXISTS idx_webhook_events_received ON enrich.webhook_events (received_at);
CREATE INDEX IF NOT EXISTS idx_provider_calls_answer_expiry ON enrich.provider_calls (expires_at) WHERE response IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_provider_calls_created ON enrich.provider_calls (created_at);
CREATE INDEX IF NOT EXISTS idx_snapshots_fetched ON enrich.enrichment_snapshots (fetched_at);
CREATE INDEX IF NOT EXISTS idx_leads_completed_details ON enrich.leads (completed_at) WHERE note_text IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_google_ads_leads_completed ON enrich.google_ads_leads (completed_at);
