DELETE FROM enrich.provider_calls WHERE outcome = 'unknown';
ALTER TABLE enrich.provider_calls DROP CONSTRAINT IF EXISTS chk_provider_calls_outcome;
ALTER TABLE enrich.provider_calls ADD CONSTRAINT chk_provider_calls_outcome
    CHECK (outcome IN ('found', 'not_found', 'error', 'hit'));
DROP TABLE IF EXISTS enrich.provider_reservations;
