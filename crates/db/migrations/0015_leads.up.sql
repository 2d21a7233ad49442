-- Why: each lead's processing state, so a job retried after a crash resumes after
-- its last completed step, the note is posted once (pending → sent), and an
-- update webhook can tell whether the customer's contacts changed.
CREATE TABLE IF NOT EXISTS enrich.leads (
    lead_id text PRIMARY KEY,
    state text NOT NULL DEFAULT 'pending',
    step text NOT NULL DEFAULT 'lead',
    contact_fingerprint text,
    context jsonb NOT NULL DEFAULT '{}'::jsonb,
    outcome text,
    note_status text NOT NULL DEFAULT 'none',
    note_text text,
    lease_by text,
    lease_until timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    CONSTRAINT chk_leads_lead_id CHECK (lead_id ~ '^[0-9a-f]{32}$'),
    CONSTRAINT chk_leads_state CHECK (state IN ('pending', 'processing', 'completed', 'failed')),
    CONSTRAINT chk_leads_step CHECK (step IN ('lead', 'discover', 'dossier', 'store', 'note', 'done')),
    CONSTRAINT chk_leads_note_status CHECK (note_status IN ('none', 'pending', 'sent'))
);
