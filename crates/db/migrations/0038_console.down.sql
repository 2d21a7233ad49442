DELETE FROM enrich.pii_access_audit WHERE query_kind = 'lead';
ALTER TABLE enrich.pii_access_audit DROP CONSTRAINT IF EXISTS chk_pii_access_audit_kind;
ALTER TABLE enrich.pii_access_audit ADD CONSTRAINT chk_pii_access_audit_kind
    CHECK (query_kind IN ('cpf', 'phone', 'email'));
DROP TABLE IF EXISTS enrich.console_actions;
DROP TABLE IF EXISTS enrich.console_sessions;
DROP TABLE IF EXISTS enrich.console_users;
