-- Why: access to the trigger and personal-data endpoints by named API keys with
-- scopes. Only a hash of each key is stored; the key is shown once at creation.
CREATE TABLE IF NOT EXISTS enrich.api_keys (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    prefix text NOT NULL,
    key_hash bytea NOT NULL,
    scopes text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT uq_api_keys_prefix UNIQUE (prefix),
    CONSTRAINT chk_api_keys_scopes CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['enrich', 'read:pii', 'admin']::text[]),
    CONSTRAINT chk_api_keys_hash CHECK (octet_length(key_hash) = 32)
);
CREATE UNIQUE INDEX IF NOT EXISTS uq_api_keys_active_name ON enrich.api_keys (name) WHERE revoked_at IS NULL;
