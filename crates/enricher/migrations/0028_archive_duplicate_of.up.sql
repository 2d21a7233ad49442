-- Why: an archived duplicate says which kept row it duplicated (issue 13). A
-- database hardened before this had the column added here; newer ones got it
-- with the archive (migration 4). Metadata-only.
ALTER TABLE enrich.archived_rows ADD COLUMN IF NOT EXISTS duplicate_of text;
