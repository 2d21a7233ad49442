-- c2s:no-transaction
-- Why: every operational table has a retention policy (issue 12); the prune
-- (`c2s-enrich prune`, and every few hours in the workers) finds what is past
-- its life by these indexes instead of scanning whole tables, and the metrics
-- count open work by the last two. Built CONCURRENTLY: the old instances keep
-- taking webhooks, claiming jobs and recording calls during a rolling deploy.
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_jobs_finished ON enrich.jobs (finished_at) WHERE state IN ('done', 'dead');
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_webhook_events_received ON enrich.webhook_events (received_at);
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_provider_calls_answer_expiry ON enrich.provider_calls (expires_at) WHERE response IS NOT NULL;
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_provider_calls_created ON enrich.provider_calls (created_at);
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_snapshots_fetched ON enrich.enrichment_snapshots (fetched_at);
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_leads_finished_details ON enrich.leads ((coalesce(completed_at, updated_at)))
    WHERE state IN ('completed', 'failed') AND (note_text IS NOT NULL OR context <> '{}'::jsonb);
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_google_ads_leads_completed ON enrich.google_ads_leads (completed_at);
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_leads_open ON enrich.leads (state, step) WHERE state <> 'completed';
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_jobs_open ON enrich.jobs (state) WHERE state <> 'done';
