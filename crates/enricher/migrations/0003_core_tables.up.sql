-- Why: the users' customer tables. On an empty database they are created here; on
-- a legacy database they already exist (with primary keys and the unique
-- national_id) and only the columns and defaults we rely on are added. Column
-- names are the users' own. Constraints come in later, online-safe migrations so
-- both worlds end in the same hardened state.
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

-- Legacy tables: the columns the hardening writes originals into, and the
-- timestamp defaults the seed listed as future work (metadata-only changes).
ALTER TABLE core.addresses ADD COLUMN IF NOT EXISTS metadata jsonb DEFAULT '{}'::jsonb;
ALTER TABLE core.entity_phones ADD COLUMN IF NOT EXISTS metadata jsonb DEFAULT '{}'::jsonb;
ALTER TABLE core.entity_phones ADD COLUMN IF NOT EXISTS phone_e164 text;
ALTER TABLE core.entity_emails ADD COLUMN IF NOT EXISTS metadata jsonb DEFAULT '{}'::jsonb;
ALTER TABLE core.entity_addresses ADD COLUMN IF NOT EXISTS metadata jsonb DEFAULT '{}'::jsonb;
ALTER TABLE core.entity_relationships ADD COLUMN IF NOT EXISTS metadata jsonb DEFAULT '{}'::jsonb;
ALTER TABLE core.entities ADD COLUMN IF NOT EXISTS metadata jsonb DEFAULT '{}'::jsonb;
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['entities','entity_profiles','entity_financials','entity_phones','entity_emails',
                             'addresses','entity_addresses','entity_relationships','properties']
    LOOP
        EXECUTE format('ALTER TABLE core.%I ALTER COLUMN created_at SET DEFAULT now(), ALTER COLUMN updated_at SET DEFAULT now()', t);
    END LOOP;
END $$;
