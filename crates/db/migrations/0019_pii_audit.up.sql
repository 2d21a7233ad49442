-- Why: every read of personal data through the API is recorded (who, which
-- endpoint, which person, when, request id) — without the personal data itself,
-- so the record survives an erasure.
CREATE TABLE IF NOT EXISTS enrich.pii_access_audit (
    id bigserial PRIMARY KEY,
    key_name text NOT NULL,
    endpoint text NOT NULL,
    query_kind text NOT NULL,
    entity_id uuid,
    request_id text NOT NULL,
    accessed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT chk_pii_access_audit_kind CHECK (query_kind IN ('cpf', 'phone', 'email'))
);
CREATE INDEX IF NOT EXISTS idx_pii_access_audit_time ON enrich.pii_access_audit (accessed_at);
