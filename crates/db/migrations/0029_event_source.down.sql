ALTER TABLE enrich.webhook_events DROP CONSTRAINT IF EXISTS chk_webhook_events_source;
ALTER TABLE enrich.webhook_events DROP COLUMN IF EXISTS source;
