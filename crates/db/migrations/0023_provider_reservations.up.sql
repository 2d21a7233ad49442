-- Why: a provider call must never hold a transaction or a pooled connection
-- (issue 12). Identical lookups are single-flighted by a short reservation —
-- one row per (provider, module, key) taken in its own short transaction,
-- kept alive by its holder's heartbeat while the call runs with no connection
-- held, and removed when the answer is recorded. A reservation whose holder
-- died expires; whoever takes it over records the dead holder's call as
-- outcome 'unknown' (it may have been paid), so it stays visible.
CREATE TABLE IF NOT EXISTS enrich.provider_reservations (
    provider text NOT NULL,
    module text NOT NULL,
    key_hash bytea NOT NULL,
    holder uuid NOT NULL,
    reserved_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (provider, module, key_hash),
    CONSTRAINT chk_provider_reservations_key_hash CHECK (octet_length(key_hash) = 32)
);
ALTER TABLE enrich.provider_calls DROP CONSTRAINT IF EXISTS chk_provider_calls_outcome;
ALTER TABLE enrich.provider_calls ADD CONSTRAINT chk_provider_calls_outcome
    CHECK (outcome IN ('found', 'not_found', 'error', 'hit', 'unknown'));
