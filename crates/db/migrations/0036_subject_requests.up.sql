-- Why: the data subject's rights beyond erasure (issue 18, LGPD art. 18/19).
-- Every request — access, correction, block, unblock, erasure — is
-- registered with when it arrived, its 15-day deadline (art. 19), its status
-- and who acted; the person is named only by a keyed hash of the identifier
-- given (CPF, phone or e-mail, as the erasure tombstones). A block (art. 18
-- opposition) holds like a tombstone: a blocked person's contacts cause no
-- provider call and nothing is stored about them, until it is lifted.
CREATE TABLE IF NOT EXISTS enrich.subject_requests (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    identifier_kind text NOT NULL,
    identifier_hash bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    deadline timestamptz NOT NULL DEFAULT now() + interval '15 days',
    status text NOT NULL DEFAULT 'open',
    acted_by text,
    completed_at timestamptz,
    CONSTRAINT chk_subject_requests_kind CHECK (kind IN ('access', 'correction', 'block', 'unblock', 'erasure')),
    CONSTRAINT chk_subject_requests_identifier_kind CHECK (identifier_kind IN ('cpf', 'phone', 'email')),
    CONSTRAINT chk_subject_requests_hash CHECK (octet_length(identifier_hash) = 32),
    CONSTRAINT chk_subject_requests_status CHECK (status IN ('open', 'done', 'refused'))
);
CREATE INDEX IF NOT EXISTS idx_subject_requests_open ON enrich.subject_requests (deadline) WHERE status = 'open';

CREATE TABLE IF NOT EXISTS enrich.subject_blocks (
    kind text NOT NULL,
    key_hash bytea NOT NULL,
    request_id bigint REFERENCES enrich.subject_requests (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, key_hash),
    CONSTRAINT chk_subject_blocks_kind CHECK (kind IN ('cpf', 'phone', 'email')),
    CONSTRAINT chk_subject_blocks_key_hash CHECK (octet_length(key_hash) = 32)
);
