-- Why: every C2S delivery is recorded once; (lead, updated_at, hook_action) is
-- the idempotency key C2S's retries and concurrent duplicates collide on, and
-- the job is enqueued in the same transaction as the event.
CREATE TABLE IF NOT EXISTS enrich.webhook_events (
    id bigserial PRIMARY KEY,
    lead_id text NOT NULL,
    hook_action text NOT NULL,
    lead_updated_at text NOT NULL DEFAULT '',
    decision text NOT NULL,
    job_id bigint,
    payload jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_webhook_events UNIQUE (lead_id, lead_updated_at, hook_action),
    CONSTRAINT chk_webhook_events_lead_id CHECK (lead_id ~ '^[0-9a-f]{32}$'),
    CONSTRAINT chk_webhook_events_action CHECK (hook_action IN ('on_create_lead', 'on_update_lead', 'on_close_lead')),
    CONSTRAINT chk_webhook_events_decision CHECK (decision IN ('enrich', 'contacts_unchanged', 'close_recorded'))
);
CREATE INDEX IF NOT EXISTS idx_webhook_events_lead ON enrich.webhook_events (lead_id, received_at DESC);
