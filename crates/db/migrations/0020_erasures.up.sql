-- Why: an erasure (LGPD) leaves a record that it happened — without any
-- personal data: when, by whom, how many rows went.
CREATE TABLE IF NOT EXISTS enrich.erasures (
    id bigserial PRIMARY KEY,
    erased_at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    request_id text,
    rows_removed bigint NOT NULL,
    ledger_rows_removed bigint NOT NULL
);
