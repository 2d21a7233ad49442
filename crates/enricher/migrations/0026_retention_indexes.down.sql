DROP INDEX IF EXISTS enrich.idx_google_ads_leads_completed;
DROP INDEX IF EXISTS enrich.idx_leads_completed_details;
DROP INDEX IF EXISTS enrich.idx_snapshots_fetched;
DROP INDEX IF EXISTS enrich.idx_provider_calls_created;
DROP INDEX IF EXISTS enrich.idx_provider_calls_answer_expiry;
DROP INDEX IF EXISTS enrich.idx_webhook_events_received;
DROP INDEX IF EXISTS enrich.idx_jobs_finished;
