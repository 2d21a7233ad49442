-- Why: the operator console (issue 19) has its own logins: people, not API
-- keys. A user has a role (viewer, operator, admin) that maps onto the API's
-- scopes, a password hashed with Argon2id (the PHC string), and a lock-out
-- after repeated failures. A session is a random token the browser keeps in an
-- HttpOnly cookie; only its SHA-256 is stored, with the form token (CSRF) that
-- every form of the session must carry, its last use (idle expiry) and an
-- absolute end.
CREATE TABLE IF NOT EXISTS enrich.console_users (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    role text NOT NULL,
    password_hash text NOT NULL,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    last_login_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz,
    CONSTRAINT uq_console_users_name UNIQUE (name),
    CONSTRAINT chk_console_users_name CHECK (name ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
    CONSTRAINT chk_console_users_role CHECK (role IN ('viewer', 'operator', 'admin')),
    CONSTRAINT chk_console_users_hash CHECK (password_hash LIKE '$argon2id$%')
);

CREATE TABLE IF NOT EXISTS enrich.console_sessions (
    token_hash bytea PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES enrich.console_users (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CONSTRAINT chk_console_sessions_hash CHECK (octet_length(token_hash) = 32)
);
CREATE INDEX IF NOT EXISTS idx_console_sessions_user ON enrich.console_sessions (user_id);
CREATE INDEX IF NOT EXISTS idx_console_sessions_expiry ON enrich.console_sessions (expires_at);

-- What people did through the console (retries, note re-sends): who, what,
-- which lead, when, how it ended. A re-send carries the one-time id of the
-- confirmation it came from, so a second click (or a resubmitted form) does
-- nothing.
CREATE TABLE IF NOT EXISTS enrich.console_actions (
    id bigserial PRIMARY KEY,
    action_key text NOT NULL,
    user_name text NOT NULL,
    action text NOT NULL,
    lead_id text NOT NULL,
    outcome text,
    at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_console_actions_key UNIQUE (action_key),
    CONSTRAINT chk_console_actions_action CHECK (action IN ('retry', 'resend_note'))
);
CREATE INDEX IF NOT EXISTS idx_console_actions_lead ON enrich.console_actions (lead_id, at);

-- A view of a lead's personal data in the console is audited like an API read.
-- The check only widens: added NOT VALID, then validated (a read of the rows
-- that blocks no writer).
ALTER TABLE enrich.pii_access_audit DROP CONSTRAINT IF EXISTS chk_pii_access_audit_kind;
ALTER TABLE enrich.pii_access_audit ADD CONSTRAINT chk_pii_access_audit_kind
    CHECK (query_kind IN ('cpf', 'phone', 'email', 'lead')) NOT VALID;
ALTER TABLE enrich.pii_access_audit VALIDATE CONSTRAINT chk_pii_access_audit_kind;
