-- Why: an archived duplicate says which kept row it duplicated (issue 13). A
-- database hardened before this had the column added here; newer ones got it
-- with the archive (migration 4). Metadata-only.
ALTER TABLE enrich.archived_rows ADD COLUMN IF NOT EXISTS duplicate_of text;
-- And a reason for e-mail rows without an e-mail (archived by migration 5).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'chk_archived_rows_reason'
                      AND conrelid = 'enrich.archived_rows'::regclass
                      AND pg_get_constraintdef(oid) LIKE '%invalid_email%') THEN
        ALTER TABLE enrich.archived_rows DROP CONSTRAINT IF EXISTS chk_archived_rows_reason;
        ALTER TABLE enrich.archived_rows ADD CONSTRAINT chk_archived_rows_reason
            CHECK (reason IN ('duplicate', 'duplicate_e164', 'orphan', 'invalid_phone', 'invalid_email'));
    END IF;
END $$;
