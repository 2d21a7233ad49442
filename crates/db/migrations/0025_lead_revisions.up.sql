-- Why: a contact update that arrives while the lead is being processed must
-- not be lost (issue 12). Intake counts contact changes in `revision`; a run
-- records, with the lead's facts, the revision it read them at
-- (`facts_revision`). A run that ends with the two apart leaves the lead to
-- be run again from the start (its queued job does so), never "done" on
-- stale contacts.
ALTER TABLE enrich.leads ADD COLUMN IF NOT EXISTS revision bigint NOT NULL DEFAULT 0;
ALTER TABLE enrich.leads ADD COLUMN IF NOT EXISTS facts_revision bigint NOT NULL DEFAULT 0;
