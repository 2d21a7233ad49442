-- Why: Google Ads lead-form deliveries, recorded once per Google lead id (the
-- unique key concurrent retries collide on), processed by a durable job whose
-- steps resume like a C2S lead's, and mapped to the C2S lead we create. The
-- C2S creation is tracked (none → creating → created) so a retry after an
-- unclear answer looks the lead up instead of creating a second one.
CREATE TABLE IF NOT EXISTS enrich.google_ads_leads (
    google_lead_id text PRIMARY KEY,
    campaign_id text,
    form_id text,
    gcl_id text,
    is_test boolean NOT NULL DEFAULT false,
    -- The form's answers (personal data; cleared by an erasure).
    answers jsonb NOT NULL DEFAULT '[]'::jsonb,
    state text NOT NULL DEFAULT 'pending',
    step text NOT NULL DEFAULT 'discover',
    context jsonb NOT NULL DEFAULT '{}'::jsonb,
    outcome text,
    c2s_status text NOT NULL DEFAULT 'none',
    c2s_attempt_at timestamptz,
    c2s_lead_id text,
    description text,
    last_error text,
    received_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    CONSTRAINT chk_google_ads_leads_id CHECK (length(google_lead_id) BETWEEN 1 AND 200),
    CONSTRAINT chk_google_ads_leads_state CHECK (state IN ('pending', 'processing', 'completed', 'test_recorded', 'failed')),
    CONSTRAINT chk_google_ads_leads_step CHECK (step IN ('discover', 'dossier', 'store', 'create', 'done')),
    CONSTRAINT chk_google_ads_leads_c2s_status CHECK (c2s_status IN ('none', 'creating', 'created', 'skipped_test')),
    CONSTRAINT chk_google_ads_leads_created CHECK (c2s_status <> 'created' OR c2s_lead_id IS NOT NULL)
);
CREATE UNIQUE INDEX IF NOT EXISTS uq_google_ads_leads_c2s_lead ON enrich.google_ads_leads (c2s_lead_id) WHERE c2s_lead_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_google_ads_leads_received ON enrich.google_ads_leads (received_at DESC);
