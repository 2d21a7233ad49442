-- Why: the service's own records, outside `core`: every dossier as received
-- (history is never overwritten), which lead led to which person, and the archive
-- of rows the hardening removed (so de-duplication can be undone).
CREATE TABLE IF NOT EXISTS enrich.enrichment_snapshots (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entity_id uuid NOT NULL,
    provider text NOT NULL,
    module text NOT NULL,
    national_id text NOT NULL,
    lead_id text,
    payload jsonb NOT NULL,
    fetched_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT fk_snapshots_entity FOREIGN KEY (entity_id) REFERENCES core.entities (entity_id) ON DELETE CASCADE,
    CONSTRAINT uq_snapshots_fetch UNIQUE (entity_id, provider, module, fetched_at)
);
CREATE INDEX IF NOT EXISTS idx_snapshots_entity ON enrich.enrichment_snapshots (entity_id, fetched_at DESC);

CREATE TABLE IF NOT EXISTS enrich.lead_entities (
    lead_id text NOT NULL,
    entity_id uuid NOT NULL,
    match_kind text NOT NULL,
    name_score numeric(4,3),
    linked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lead_id, entity_id),
    CONSTRAINT fk_lead_entities_entity FOREIGN KEY (entity_id) REFERENCES core.entities (entity_id) ON DELETE CASCADE,
    CONSTRAINT chk_lead_entities_lead_id CHECK (lead_id ~ '^[0-9a-f]{32}$|^gads:[A-Za-z0-9_-]{1,100}$'),
    CONSTRAINT chk_lead_entities_match_kind CHECK (match_kind IN ('phone', 'email', 'phone_and_email', 'form_cpf', 'manual'))
);
CREATE INDEX IF NOT EXISTS idx_lead_entities_entity ON enrich.lead_entities (entity_id);

CREATE TABLE IF NOT EXISTS enrich.archived_rows (
    id bigserial PRIMARY KEY,
    source_table text NOT NULL,
    source_id text NOT NULL,
    reason text NOT NULL,
    row_data jsonb NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT now(),
    restored_at timestamptz,
    CONSTRAINT chk_archived_rows_reason CHECK (reason IN ('duplicate', 'duplicate_e164', 'orphan', 'invalid_phone', 'invalid_email'))
);
CREATE INDEX IF NOT EXISTS idx_archived_rows_source ON enrich.archived_rows (source_table, reason) WHERE restored_at IS NULL;
-- Which kept row an archived duplicate duplicated (its id).
ALTER TABLE enrich.archived_rows ADD COLUMN IF NOT EXISTS duplicate_of text;
