-- c2s:no-transaction
-- Why: the seed's deferred work — every phone gets its E.164 form. The back-fill
-- itself is Rust (`hardening::backfill_e164`, run after this file) so legacy rows
-- are parsed by the same `brazil::PhoneBr` rules as new ones. Numbers that are
-- not Brazilian phones at all (no DDD, unknown DDD, wrong length) move to
-- enrich.archived_rows ('invalid_phone'); the previous phone_e164 of every changed
-- row is kept in metadata->'legacy'.
-- step
SELECT 1;
