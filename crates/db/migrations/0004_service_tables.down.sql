DROP TABLE IF EXISTS enrich.lead_entities;
DROP TABLE IF EXISTS enrich.enrichment_snapshots;
-- The archive is the only way back for de-duplicated rows: kept unless empty.
DO $$
BEGIN
    IF to_regclass('enrich.archived_rows') IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM enrich.archived_rows WHERE restored_at IS NULL) THEN
        DROP TABLE enrich.archived_rows;
    ELSIF to_regclass('enrich.archived_rows') IS NOT NULL THEN
        RAISE NOTICE 'enrich.archived_rows keeps archived rows; restore them with `c2s-enrich archive restore`';
    END IF;
END $$;
