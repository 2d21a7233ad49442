-- Why: correction (issue 18, LGPD art. 18 III). A field of the golden record
-- the person showed to be wrong is set to what they showed, with the
-- correction's source; the store puts every correction back after a later
-- enrichment (provenance per field), so a provider's old value never returns.
-- Removed with the person (an erasure deletes the entity). And the register
-- keeps what a request left to do by hand: an erasure's list of C2S notes.
CREATE TABLE IF NOT EXISTS enrich.subject_corrections (
    entity_id uuid NOT NULL REFERENCES core.entities (entity_id) ON DELETE CASCADE,
    field text NOT NULL,
    value text NOT NULL,
    source text NOT NULL,
    request_id bigint REFERENCES enrich.subject_requests (id) ON DELETE SET NULL,
    corrected_by text,
    corrected_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_id, field),
    CONSTRAINT chk_subject_corrections_field CHECK (field IN ('name', 'birth_date', 'sex', 'nationality',
                                                              'marital_status', 'education_level', 'occupation')),
    CONSTRAINT chk_subject_corrections_value CHECK (length(value) BETWEEN 1 AND 200),
    CONSTRAINT chk_subject_corrections_typed CHECK ((field <> 'birth_date' OR value ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
                                                   AND (field <> 'sex' OR value IN ('M', 'F')))
);

ALTER TABLE enrich.subject_requests ADD COLUMN IF NOT EXISTS details jsonb;
