-- The legacy shape: production's tables and columns before hardening — primary
-- keys and the unique national_id only, an enum-typed entity_type, no metadata on
-- addresses, timestamps without defaults, ref.relationship_types with the old
-- upper-case codes, and no other reference table.
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS ref;
CREATE TYPE core.entity_type_enum AS ENUM ('person', 'company');
CREATE TABLE ref.relationship_types (type text PRIMARY KEY, description text);
INSERT INTO ref.relationship_types VALUES ('MAE', 'Mãe'), ('CONJUGE', 'Cônjuge');
CREATE TABLE core.entities (
    entity_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), national_id text, entity_type core.entity_type_enum,
    name text, canonical_name text, is_enriched boolean, enriched_at timestamptz, data_source text,
    confidence numeric, metadata jsonb, is_active boolean, created_at timestamptz, updated_at timestamptz,
    CONSTRAINT entities_national_id_key UNIQUE (national_id));
CREATE TABLE core.entity_profiles (
    entity_id uuid PRIMARY KEY, sex text, birth_date date, death_date date, nationality text, marital_status text,
    education_level text, occupation text, metadata jsonb, created_at timestamptz, updated_at timestamptz);
CREATE TABLE core.entity_financials (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), entity_id uuid, year integer, month integer,
    reported_income numeric, credit_score integer, risk_score numeric, source text, confidence numeric,
    metadata jsonb, created_at timestamptz, updated_at timestamptz);
CREATE TABLE core.entity_phones (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), entity_id uuid, phone text, phone_e164 text, phone_type text,
    is_primary boolean, is_verified boolean, is_whatsapp boolean, carrier text, metadata jsonb,
    created_at timestamptz, updated_at timestamptz);
CREATE TABLE core.entity_emails (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), entity_id uuid, email text, email_type text, is_primary boolean,
    is_verified boolean, metadata jsonb, created_at timestamptz, updated_at timestamptz);
CREATE TABLE core.addresses (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), street_type text, street text, number text, complement text,
    neighborhood text, city text, state text, zip_code text, formatted_address text, address_hash text,
    is_valid boolean, primary_address boolean, latitude numeric, longitude numeric,
    created_at timestamptz, updated_at timestamptz);
CREATE TABLE core.entity_addresses (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), entity_id uuid, address_id uuid, address_type text,
    is_primary boolean, is_current boolean, data_source text, confidence_score numeric, verified boolean,
    metadata jsonb, created_at timestamptz, updated_at timestamptz);
CREATE TABLE core.entity_relationships (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), source_entity_id uuid, target_entity_id uuid,
    relationship_type text, relationship_category text, valid_from date, valid_until date, is_current boolean,
    confidence numeric, metadata jsonb, created_at timestamptz, updated_at timestamptz);
CREATE TABLE core.properties (
    property_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), property_type text, address_id uuid, title text,
    area_m2 numeric, price numeric, metadata jsonb, created_at timestamptz, updated_at timestamptz);
