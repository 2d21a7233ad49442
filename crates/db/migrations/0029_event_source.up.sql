-- Why: a lead reaches the service by C2S's webhook or by the reconciliation
-- sweep that lists C2S's leads (issue 16: deliveries lost during a deploy or
-- an outage). Each recorded event says which, so the sweep's catches can be
-- counted and shown. The column is metadata-only (a constant default); the
-- check is added NOT VALID: new rows are checked, and the existing ones all
-- hold the default, so validating them would only scan the table while
-- webhook intake waits.
ALTER TABLE enrich.webhook_events ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'webhook';
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'chk_webhook_events_source'
                      AND conrelid = 'enrich.webhook_events'::regclass) THEN
        ALTER TABLE enrich.webhook_events ADD CONSTRAINT chk_webhook_events_source
            CHECK (source IN ('webhook', 'reconcile')) NOT VALID;
    END IF;
END $$;
