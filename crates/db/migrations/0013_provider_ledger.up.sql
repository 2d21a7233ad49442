-- Why: every provider call is recorded (what it cost, how it ended) and successful
-- answers are reused within their freshness window, so the same lookup is never
-- paid twice — across restarts and instances. The query itself is stored only as
-- a keyed hash (HMAC), never in clear. Also: shared pacing slots per provider (a
-- rate limit that holds across processes) and service settings.
CREATE TABLE IF NOT EXISTS enrich.settings (
    name text PRIMARY KEY,
    value text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS enrich.provider_pacing (
    provider text PRIMARY KEY,
    next_slot timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS enrich.provider_calls (
    id bigserial PRIMARY KEY,
    provider text NOT NULL,
    module text NOT NULL,
    key_hash bytea NOT NULL,
    outcome text NOT NULL,
    error_kind text,
    http_status integer,
    latency_ms integer,
    credits integer NOT NULL DEFAULT 0,
    response jsonb,
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT chk_provider_calls_outcome CHECK (outcome IN ('found', 'not_found', 'error', 'hit')),
    CONSTRAINT chk_provider_calls_key_hash CHECK (octet_length(key_hash) = 32),
    CONSTRAINT chk_provider_calls_cacheable CHECK ((outcome IN ('found', 'not_found')) = (expires_at IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS idx_provider_calls_cache
    ON enrich.provider_calls (provider, module, key_hash, created_at DESC) WHERE outcome IN ('found', 'not_found');
CREATE INDEX IF NOT EXISTS idx_provider_calls_day ON enrich.provider_calls (created_at, provider);
CREATE INDEX IF NOT EXISTS idx_provider_calls_key ON enrich.provider_calls (key_hash);
