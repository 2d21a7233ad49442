-- De-duplication is not reverted by `migrate --down`: the removed rows stay in
-- enrich.archived_rows; `c2s-enrich archive restore` puts them back once the
-- unique keys are gone (revert to version 4 or below first).
SELECT 1;
