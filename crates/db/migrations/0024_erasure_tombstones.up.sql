-- Why: an erasure must hold (issue 12, LGPD). A tombstone remembers an
-- erased person's CPF, phones and e-mails only as keyed hashes (HMAC with the
-- ledger's key, never in clear), so a later lead with those contacts makes no
-- provider call and stores nothing about them. The ledger key's fingerprint
-- is kept in enrich.settings: a service started with another key (whose
-- hashes would find neither the cache nor the tombstones) refuses to run.
CREATE TABLE IF NOT EXISTS enrich.erasure_tombstones (
    kind text NOT NULL,
    key_hash bytea NOT NULL,
    erasure_id bigint REFERENCES enrich.erasures (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, key_hash),
    CONSTRAINT chk_erasure_tombstones_kind CHECK (kind IN ('cpf', 'phone', 'email')),
    CONSTRAINT chk_erasure_tombstones_key_hash CHECK (octet_length(key_hash) = 32)
);
