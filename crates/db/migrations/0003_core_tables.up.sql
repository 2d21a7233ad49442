-- c2s:no-transaction
-- Why: the users' customer tables. On an empty database they are created here; on
-- a legacy database they already exist (with primary keys and the unique
-- national_id) and only the columns and defaults we rely on are added. Column
-- names are the users' own. Constraints come in later, online-safe migrations so
-- both worlds end in the same hardened state.
-- Each statement below is its own short transaction (a legacy table is locked
-- only for its own catalog change, never while another table's lock is
-- awaited), and changes nothing that is already as wanted (no lock at all).
-- step
CREATE TABLE IF NOT EXISTS core.entities (
    entity_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    national_id text UNIQUE,
    entity_type text NOT NULL DEFAULT 'person',
    name text,
    canonical_name text,
    is_enriched boolean NOT NULL DEFAULT false,
    enriched_at timestamptz,
    data_source text,
    confidence numeric(4,3),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- step
CREATE TABLE IF NOT EXISTS core.entity_profiles (
    entity_id uuid PRIMARY KEY,
    sex text,
    birth_date date,
    death_date date,
    nationality text,
    marital_status text,
    education_level text,
    occupation text,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- step
CREATE TABLE IF NOT EXISTS core.entity_financials (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entity_id uuid NOT NULL,
    year integer NOT NULL,
    month integer,
    reported_income numeric(14,2),
    credit_score integer,
    risk_score numeric(3,2),
    source text,
    confidence numeric(4,3),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- step
CREATE TABLE IF NOT EXISTS core.entity_phones (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entity_id uuid NOT NULL,
    phone text NOT NULL,
    phone_e164 text,
    phone_type text,
    is_primary boolean NOT NULL DEFAULT false,
    is_verified boolean NOT NULL DEFAULT false,
    is_whatsapp boolean NOT NULL DEFAULT false,
    carrier text,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- step
CREATE TABLE IF NOT EXISTS core.entity_emails (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entity_id uuid NOT NULL,
    email text NOT NULL,
    email_type text,
    is_primary boolean NOT NULL DEFAULT false,
    is_verified boolean NOT NULL DEFAULT false,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- step
CREATE TABLE IF NOT EXISTS core.addresses (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    street_type text,
    street text,
    number text,
    complement text,
    neighborhood text,
    city text,
    state text,
    zip_code text,
    formatted_address text,
    address_hash text,
    is_valid boolean NOT NULL DEFAULT true,
    primary_address boolean NOT NULL DEFAULT false,
    latitude numeric(9,6),
    longitude numeric(9,6),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- step
CREATE TABLE IF NOT EXISTS core.entity_addresses (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entity_id uuid NOT NULL,
    address_id uuid NOT NULL,
    address_type text,
    is_primary boolean NOT NULL DEFAULT false,
    is_current boolean NOT NULL DEFAULT true,
    data_source text,
    confidence_score numeric(3,2),
    verified boolean NOT NULL DEFAULT false,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- step
CREATE TABLE IF NOT EXISTS core.entity_relationships (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    source_entity_id uuid NOT NULL,
    target_entity_id uuid NOT NULL,
    relationship_type text NOT NULL,
    relationship_category text,
    valid_from date,
    valid_until date,
    is_current boolean NOT NULL DEFAULT true,
    confidence numeric(4,3),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- step
CREATE TABLE IF NOT EXISTS core.properties (
    property_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_type text,
    address_id uuid,
    title text,
    area_m2 numeric(10,2),
    price numeric(14,2),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- step
-- name: map a financial period kept under other names (HARDENING_FINANCIAL_PERIOD)
-- entity_financials' period is `year` (and `month`). A legacy table that keeps
-- it under other names gets `year` added and kept equal to its own column both
-- ways by a trigger (its dashboards go on writing theirs, the service writes
-- ours); the rows are back-filled in batches by migration 8. Which columns:
-- HARDENING_FINANCIAL_PERIOD=<year column>[,<month column>] (`migrate --plan`
-- lists the candidates); without it, migrating stops here, before any change.
DO $$
DECLARE
    ycol text := nullif(current_setting('c2s.financial_year_column', true), '');
    mcol text := nullif(current_setting('c2s.financial_month_column', true), '');
    candidates text;
    ytype text;
    mtype text;
    body text;
    unparseable bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'core.entity_financials'::regclass
                  AND attname = 'year' AND NOT attisdropped) THEN
        RETURN;
    END IF;
    IF ycol IS NULL THEN
        SELECT string_agg(attname, ', ' ORDER BY attnum) INTO candidates FROM pg_attribute
         WHERE attrelid = 'core.entity_financials'::regclass AND attnum > 0 AND NOT attisdropped
           AND attname ~* '(ano|year|exerc|period|refer|mes|month|compet)';
        RAISE EXCEPTION 'core.entity_financials has no column "year"; if its period is under other names, set HARDENING_FINANCIAL_PERIOD=<year column>[,<month column>] (columns that look like one: %)',
            coalesce(candidates, 'none');
    END IF;
    SELECT format_type(atttypid, atttypmod) INTO ytype FROM pg_attribute
     WHERE attrelid = 'core.entity_financials'::regclass AND attname = ycol AND NOT attisdropped;
    IF ytype IS NULL THEN
        RAISE EXCEPTION 'HARDENING_FINANCIAL_PERIOD names the year column "%", which core.entity_financials does not have', ycol;
    END IF;
    IF mcol IS NOT NULL THEN
        SELECT format_type(atttypid, atttypmod) INTO mtype FROM pg_attribute
         WHERE attrelid = 'core.entity_financials'::regclass AND attname = mcol AND NOT attisdropped;
        IF mtype IS NULL THEN
            RAISE EXCEPTION 'HARDENING_FINANCIAL_PERIOD names the month column "%", which core.entity_financials does not have', mcol;
        END IF;
    END IF;
    -- Only plain text or integer period columns can be kept equal to ours.
    IF ytype !~ '^(text|character varying.*|character\(.*|smallint|integer|bigint|numeric.*)$'
       OR (mtype IS NOT NULL AND mtype !~ '^(text|character varying.*|character\(.*|smallint|integer|bigint|numeric.*)$') THEN
        RAISE EXCEPTION 'HARDENING_FINANCIAL_PERIOD: core.entity_financials.% is %, and only text or integer period columns can be mapped',
            ycol, coalesce(CASE WHEN ytype !~ '^(text|character varying.*|character\(.*|smallint|integer|bigint|numeric.*)$' THEN ytype END, mtype);
    END IF;
    -- A period that is not a plain number would become NULL on our side and
    -- collide under the period key: stop, with the count, before any change.
    EXECUTE format('SELECT count(*) FROM core.entity_financials WHERE %1$I IS NOT NULL AND btrim(%1$I::text) !~ ''^[0-9]{1,4}$''', ycol)
       INTO unparseable;
    IF unparseable > 0 THEN
        RAISE EXCEPTION '% rows of core.entity_financials have a year in % that is not a plain number: correct them (or set them NULL) before migrating',
            unparseable, ycol;
    END IF;
    ALTER TABLE core.entity_financials ADD COLUMN year integer;
    ALTER TABLE core.entity_financials ADD COLUMN IF NOT EXISTS month integer;
    -- Both sides kept equal: on insert each fills the other; on update the
    -- side that changed wins. A month outside 1..12 stays NULL on our side.
    body := format('
        IF TG_OP = ''UPDATE'' AND NEW.%1$I IS DISTINCT FROM OLD.%1$I THEN
            NEW.year := CASE WHEN btrim(NEW.%1$I::text) ~ ''^[0-9]{1,4}$'' THEN btrim(NEW.%1$I::text)::integer END;
        ELSIF TG_OP = ''UPDATE'' AND NEW.year IS DISTINCT FROM OLD.year THEN
            NEW.%1$I := NEW.year::text::%2$s;
        ELSE
            NEW.year := coalesce(NEW.year, CASE WHEN btrim(NEW.%1$I::text) ~ ''^[0-9]{1,4}$'' THEN btrim(NEW.%1$I::text)::integer END);
            NEW.%1$I := coalesce(NEW.%1$I, NEW.year::text::%2$s);
        END IF;', ycol, ytype);
    IF mcol IS NOT NULL AND mcol <> 'month' THEN
        body := body || format('
        IF TG_OP = ''UPDATE'' AND NEW.%1$I IS DISTINCT FROM OLD.%1$I THEN
            NEW.month := CASE WHEN btrim(NEW.%1$I::text) ~ ''^(0?[1-9]|1[0-2])$'' THEN btrim(NEW.%1$I::text)::integer END;
        ELSIF TG_OP = ''UPDATE'' AND NEW.month IS DISTINCT FROM OLD.month THEN
            NEW.%1$I := NEW.month::text::%2$s;
        ELSE
            NEW.month := coalesce(NEW.month, CASE WHEN btrim(NEW.%1$I::text) ~ ''^(0?[1-9]|1[0-2])$'' THEN btrim(NEW.%1$I::text)::integer END);
            NEW.%1$I := coalesce(NEW.%1$I, NEW.month::text::%2$s);
        END IF;', mcol, mtype);
    END IF;
    EXECUTE format('CREATE OR REPLACE FUNCTION core.c2s_financial_period() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN %s RETURN NEW; END $f$', body);
    CREATE TRIGGER c2s_financial_period BEFORE INSERT OR UPDATE ON core.entity_financials
        FOR EACH ROW EXECUTE FUNCTION core.c2s_financial_period();
    -- The mapping, for the back-fill (migration 7) whatever a later run is given.
    EXECUTE format('COMMENT ON TRIGGER c2s_financial_period ON core.entity_financials IS %L',
                   ycol || coalesce(',' || nullif(mcol, 'month'), ''));
END $$;
-- Legacy tables, whatever their shape: every column of the shape above that a
-- table lacks is added — nullable, with the same default where it is a
-- constant (metadata-only in PostgreSQL 11+: no rewrite). A missing timestamp
-- is added without a value for the existing rows (their age is unknown: they
-- sort after dated rows, ties by id), then gets its default for new rows.
-- Columns, tables and schemas we do not know are left alone.
-- step
-- name: add the columns core.entities lacks
DO $$
DECLARE
    spec record;
BEGIN
    FOR spec IN SELECT * FROM (VALUES
        ('national_id', 'text', NULL),
        ('entity_type', 'text', '''person'''),
        ('name', 'text', NULL),
        ('canonical_name', 'text', NULL),
        ('is_enriched', 'boolean', 'false'),
        ('enriched_at', 'timestamptz', NULL),
        ('data_source', 'text', NULL),
        ('confidence', 'numeric(4,3)', NULL),
        ('metadata', 'jsonb', '''{}''::jsonb'),
        ('is_active', 'boolean', 'true'),
        ('created_at', 'timestamptz', NULL),
        ('updated_at', 'timestamptz', NULL)
    ) AS v(col, typ, dflt)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'core.entities'::regclass
                          AND attname = spec.col AND NOT attisdropped) THEN
            EXECUTE format('ALTER TABLE core.entities ADD COLUMN %I %s%s', spec.col, spec.typ,
                           coalesce(' DEFAULT ' || spec.dflt, ''));
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.entities'::regclass AND a.attname = 'created_at') THEN
        ALTER TABLE core.entities ALTER COLUMN created_at SET DEFAULT now();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.entities'::regclass AND a.attname = 'updated_at') THEN
        ALTER TABLE core.entities ALTER COLUMN updated_at SET DEFAULT now();
    END IF;
END $$;
-- step
-- name: add the columns core.entity_profiles lacks
DO $$
DECLARE
    spec record;
BEGIN
    FOR spec IN SELECT * FROM (VALUES
        ('sex', 'text', NULL),
        ('birth_date', 'date', NULL),
        ('death_date', 'date', NULL),
        ('nationality', 'text', NULL),
        ('marital_status', 'text', NULL),
        ('education_level', 'text', NULL),
        ('occupation', 'text', NULL),
        ('metadata', 'jsonb', '''{}''::jsonb'),
        ('created_at', 'timestamptz', NULL),
        ('updated_at', 'timestamptz', NULL)
    ) AS v(col, typ, dflt)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'core.entity_profiles'::regclass
                          AND attname = spec.col AND NOT attisdropped) THEN
            EXECUTE format('ALTER TABLE core.entity_profiles ADD COLUMN %I %s%s', spec.col, spec.typ,
                           coalesce(' DEFAULT ' || spec.dflt, ''));
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.entity_profiles'::regclass AND a.attname = 'created_at') THEN
        ALTER TABLE core.entity_profiles ALTER COLUMN created_at SET DEFAULT now();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.entity_profiles'::regclass AND a.attname = 'updated_at') THEN
        ALTER TABLE core.entity_profiles ALTER COLUMN updated_at SET DEFAULT now();
    END IF;
END $$;
-- step
-- name: add the columns core.entity_financials lacks
DO $$
DECLARE
    spec record;
BEGIN
    FOR spec IN SELECT * FROM (VALUES
        ('entity_id', 'uuid', NULL),
        ('month', 'integer', NULL),
        ('reported_income', 'numeric(14,2)', NULL),
        ('credit_score', 'integer', NULL),
        ('risk_score', 'numeric(3,2)', NULL),
        ('source', 'text', NULL),
        ('confidence', 'numeric(4,3)', NULL),
        ('metadata', 'jsonb', '''{}''::jsonb'),
        ('created_at', 'timestamptz', NULL),
        ('updated_at', 'timestamptz', NULL)
    ) AS v(col, typ, dflt)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'core.entity_financials'::regclass
                          AND attname = spec.col AND NOT attisdropped) THEN
            EXECUTE format('ALTER TABLE core.entity_financials ADD COLUMN %I %s%s', spec.col, spec.typ,
                           coalesce(' DEFAULT ' || spec.dflt, ''));
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.entity_financials'::regclass AND a.attname = 'created_at') THEN
        ALTER TABLE core.entity_financials ALTER COLUMN created_at SET DEFAULT now();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.entity_financials'::regclass AND a.attname = 'updated_at') THEN
        ALTER TABLE core.entity_financials ALTER COLUMN updated_at SET DEFAULT now();
    END IF;
END $$;
-- step
-- name: add the columns core.entity_phones lacks
DO $$
DECLARE
    spec record;
BEGIN
    FOR spec IN SELECT * FROM (VALUES
        ('entity_id', 'uuid', NULL),
        ('phone', 'text', NULL),
        ('phone_e164', 'text', NULL),
        ('phone_type', 'text', NULL),
        ('is_primary', 'boolean', 'false'),
        ('is_verified', 'boolean', 'false'),
        ('is_whatsapp', 'boolean', 'false'),
        ('carrier', 'text', NULL),
        ('metadata', 'jsonb', '''{}''::jsonb'),
        ('created_at', 'timestamptz', NULL),
        ('updated_at', 'timestamptz', NULL)
    ) AS v(col, typ, dflt)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'core.entity_phones'::regclass
                          AND attname = spec.col AND NOT attisdropped) THEN
            EXECUTE format('ALTER TABLE core.entity_phones ADD COLUMN %I %s%s', spec.col, spec.typ,
                           coalesce(' DEFAULT ' || spec.dflt, ''));
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.entity_phones'::regclass AND a.attname = 'created_at') THEN
        ALTER TABLE core.entity_phones ALTER COLUMN created_at SET DEFAULT now();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.entity_phones'::regclass AND a.attname = 'updated_at') THEN
        ALTER TABLE core.entity_phones ALTER COLUMN updated_at SET DEFAULT now();
    END IF;
END $$;
-- step
-- name: add the columns core.entity_emails lacks
DO $$
DECLARE
    spec record;
BEGIN
    FOR spec IN SELECT * FROM (VALUES
        ('entity_id', 'uuid', NULL),
        ('email', 'text', NULL),
        ('email_type', 'text', NULL),
        ('is_primary', 'boolean', 'false'),
        ('is_verified', 'boolean', 'false'),
        ('metadata', 'jsonb', '''{}''::jsonb'),
        ('created_at', 'timestamptz', NULL),
        ('updated_at', 'timestamptz', NULL)
    ) AS v(col, typ, dflt)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'core.entity_emails'::regclass
                          AND attname = spec.col AND NOT attisdropped) THEN
            EXECUTE format('ALTER TABLE core.entity_emails ADD COLUMN %I %s%s', spec.col, spec.typ,
                           coalesce(' DEFAULT ' || spec.dflt, ''));
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.entity_emails'::regclass AND a.attname = 'created_at') THEN
        ALTER TABLE core.entity_emails ALTER COLUMN created_at SET DEFAULT now();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.entity_emails'::regclass AND a.attname = 'updated_at') THEN
        ALTER TABLE core.entity_emails ALTER COLUMN updated_at SET DEFAULT now();
    END IF;
END $$;
-- step
-- name: add the columns core.addresses lacks
DO $$
DECLARE
    spec record;
BEGIN
    FOR spec IN SELECT * FROM (VALUES
        ('street_type', 'text', NULL),
        ('street', 'text', NULL),
        ('number', 'text', NULL),
        ('complement', 'text', NULL),
        ('neighborhood', 'text', NULL),
        ('city', 'text', NULL),
        ('state', 'text', NULL),
        ('zip_code', 'text', NULL),
        ('formatted_address', 'text', NULL),
        ('address_hash', 'text', NULL),
        ('is_valid', 'boolean', 'true'),
        ('primary_address', 'boolean', 'false'),
        ('latitude', 'numeric(9,6)', NULL),
        ('longitude', 'numeric(9,6)', NULL),
        ('metadata', 'jsonb', '''{}''::jsonb'),
        ('created_at', 'timestamptz', NULL),
        ('updated_at', 'timestamptz', NULL)
    ) AS v(col, typ, dflt)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'core.addresses'::regclass
                          AND attname = spec.col AND NOT attisdropped) THEN
            EXECUTE format('ALTER TABLE core.addresses ADD COLUMN %I %s%s', spec.col, spec.typ,
                           coalesce(' DEFAULT ' || spec.dflt, ''));
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.addresses'::regclass AND a.attname = 'created_at') THEN
        ALTER TABLE core.addresses ALTER COLUMN created_at SET DEFAULT now();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.addresses'::regclass AND a.attname = 'updated_at') THEN
        ALTER TABLE core.addresses ALTER COLUMN updated_at SET DEFAULT now();
    END IF;
END $$;
-- step
-- name: add the columns core.entity_addresses lacks
DO $$
DECLARE
    spec record;
BEGIN
    FOR spec IN SELECT * FROM (VALUES
        ('entity_id', 'uuid', NULL),
        ('address_id', 'uuid', NULL),
        ('address_type', 'text', NULL),
        ('is_primary', 'boolean', 'false'),
        ('is_current', 'boolean', 'true'),
        ('data_source', 'text', NULL),
        ('confidence_score', 'numeric(3,2)', NULL),
        ('verified', 'boolean', 'false'),
        ('metadata', 'jsonb', '''{}''::jsonb'),
        ('created_at', 'timestamptz', NULL),
        ('updated_at', 'timestamptz', NULL)
    ) AS v(col, typ, dflt)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'core.entity_addresses'::regclass
                          AND attname = spec.col AND NOT attisdropped) THEN
            EXECUTE format('ALTER TABLE core.entity_addresses ADD COLUMN %I %s%s', spec.col, spec.typ,
                           coalesce(' DEFAULT ' || spec.dflt, ''));
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.entity_addresses'::regclass AND a.attname = 'created_at') THEN
        ALTER TABLE core.entity_addresses ALTER COLUMN created_at SET DEFAULT now();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.entity_addresses'::regclass AND a.attname = 'updated_at') THEN
        ALTER TABLE core.entity_addresses ALTER COLUMN updated_at SET DEFAULT now();
    END IF;
END $$;
-- step
-- name: add the columns core.entity_relationships lacks
DO $$
DECLARE
    spec record;
BEGIN
    FOR spec IN SELECT * FROM (VALUES
        ('source_entity_id', 'uuid', NULL),
        ('target_entity_id', 'uuid', NULL),
        ('relationship_type', 'text', NULL),
        ('relationship_category', 'text', NULL),
        ('valid_from', 'date', NULL),
        ('valid_until', 'date', NULL),
        ('is_current', 'boolean', 'true'),
        ('confidence', 'numeric(4,3)', NULL),
        ('metadata', 'jsonb', '''{}''::jsonb'),
        ('created_at', 'timestamptz', NULL),
        ('updated_at', 'timestamptz', NULL)
    ) AS v(col, typ, dflt)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'core.entity_relationships'::regclass
                          AND attname = spec.col AND NOT attisdropped) THEN
            EXECUTE format('ALTER TABLE core.entity_relationships ADD COLUMN %I %s%s', spec.col, spec.typ,
                           coalesce(' DEFAULT ' || spec.dflt, ''));
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.entity_relationships'::regclass AND a.attname = 'created_at') THEN
        ALTER TABLE core.entity_relationships ALTER COLUMN created_at SET DEFAULT now();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.entity_relationships'::regclass AND a.attname = 'updated_at') THEN
        ALTER TABLE core.entity_relationships ALTER COLUMN updated_at SET DEFAULT now();
    END IF;
END $$;
-- step
-- name: add the columns core.properties lacks
DO $$
DECLARE
    spec record;
BEGIN
    FOR spec IN SELECT * FROM (VALUES
        ('property_type', 'text', NULL),
        ('address_id', 'uuid', NULL),
        ('title', 'text', NULL),
        ('area_m2', 'numeric(10,2)', NULL),
        ('price', 'numeric(14,2)', NULL),
        ('metadata', 'jsonb', '''{}''::jsonb'),
        ('created_at', 'timestamptz', NULL),
        ('updated_at', 'timestamptz', NULL)
    ) AS v(col, typ, dflt)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'core.properties'::regclass
                          AND attname = spec.col AND NOT attisdropped) THEN
            EXECUTE format('ALTER TABLE core.properties ADD COLUMN %I %s%s', spec.col, spec.typ,
                           coalesce(' DEFAULT ' || spec.dflt, ''));
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.properties'::regclass AND a.attname = 'created_at') THEN
        ALTER TABLE core.properties ALTER COLUMN created_at SET DEFAULT now();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                    WHERE d.adrelid = 'core.properties'::regclass AND a.attname = 'updated_at') THEN
        ALTER TABLE core.properties ALTER COLUMN updated_at SET DEFAULT now();
    END IF;
END $$;
