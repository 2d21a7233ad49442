-- Why: an archived duplicate says which kept row it duplicated (issue 13). A
-- database hardened before this had the column added here; newer ones got it
-- with the archive (migration 4). Metadata-only.
ALTER TABLE enrich.archived_rows ADD COLUMN IF NOT EXISTS duplicate_of text;
-- And a reason for e-mail rows without an e-mail (archived by migration 5).
ALTER TABLE enrich.archived_rows DROP CONSTRAINT IF EXISTS chk_archived_rows_reason;
ALTER TABLE enrich.archived_rows ADD CONSTRAINT chk_archived_rows_reason
    CHECK (reason IN ('duplicate', 'duplicate_e164', 'orphan', 'invalid_phone', 'invalid_email'));
