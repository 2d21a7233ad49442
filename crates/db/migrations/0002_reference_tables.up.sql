-- Why: reference tables the foreign keys point to (two did not exist in production,
-- so the seed had to skip their FKs), seeded; plus the normalisation functions the
-- hardening and the dossier store share, so legacy rows and new rows are cleaned
-- by the same rules.
CREATE TABLE IF NOT EXISTS ref.relationship_types (
    type text PRIMARY KEY
);
ALTER TABLE ref.relationship_types
    ADD COLUMN IF NOT EXISTS description text,
    ADD COLUMN IF NOT EXISTS category text,
    ADD COLUMN IF NOT EXISTS is_active boolean NOT NULL DEFAULT true,
    ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now();

INSERT INTO ref.relationship_types (type, description, category) VALUES
    ('mother', 'Mãe', 'family'),
    ('father', 'Pai', 'family'),
    ('sibling', 'Irmã(o)', 'family'),
    ('child', 'Filha(o)', 'family'),
    ('spouse', 'Cônjuge', 'family'),
    ('grandparent', 'Avó/Avô', 'family'),
    ('grandchild', 'Neta(o)', 'family'),
    ('uncle_aunt', 'Tia(o)', 'family'),
    ('nephew_niece', 'Sobrinha(o)', 'family'),
    ('cousin', 'Prima(o)', 'family'),
    ('relative', 'Parente', 'family'),
    ('company_partner', 'Sócio (QSA)', 'company'),
    ('company_legal_representative', 'Representante legal', 'company'),
    ('company_link', 'Vínculo com empresa', 'company')
ON CONFLICT (type) DO NOTHING;

CREATE TABLE IF NOT EXISTS ref.property_types (
    code text PRIMARY KEY,
    name text NOT NULL,
    category text,
    description text,
    is_active boolean NOT NULL DEFAULT true
);
INSERT INTO ref.property_types (code, name, category) VALUES
    ('APARTAMENTO', 'Apartamento', 'residential'),
    ('COBERTURA', 'Cobertura', 'residential'),
    ('CASA', 'Casa', 'residential'),
    ('CASA_CONDOMINIO', 'Casa em condomínio', 'residential'),
    ('FLAT', 'Flat', 'residential'),
    ('STUDIO', 'Studio', 'residential'),
    ('TERRENO', 'Terreno', 'land'),
    ('SALA_COMERCIAL', 'Sala comercial', 'commercial'),
    ('LOJA', 'Loja', 'commercial'),
    ('GALPAO', 'Galpão', 'commercial'),
    ('CHACARA', 'Chácara', 'rural'),
    ('FAZENDA', 'Fazenda', 'rural')
ON CONFLICT (code) DO NOTHING;

CREATE TABLE IF NOT EXISTS ref.street_type_catalog (
    code text PRIMARY KEY,
    description text NOT NULL,
    is_active boolean NOT NULL DEFAULT true
);
INSERT INTO ref.street_type_catalog (code, description) VALUES
    ('R', 'Rua'), ('AV', 'Avenida'), ('AL', 'Alameda'), ('PC', 'Praça'), ('TV', 'Travessa'),
    ('EST', 'Estrada'), ('ESTR', 'Estrada'), ('LRG', 'Largo'), ('VD', 'Viaduto'), ('VLA', 'Viela'),
    ('ROD', 'Rodovia'), ('RDV', 'Rodovia'), ('PSG', 'Passagem'), ('CAM', 'Caminho'), ('CRG', 'Córrego'),
    ('FAZ', 'Fazenda'), ('PRQ', 'Parque'), ('VIA', 'Via'), ('AREA', 'Área'), ('JD', 'Jardim'), ('VL', 'Vila')
ON CONFLICT (code) DO NOTHING;

-- Spellings seen in the data, mapped onto catalog codes.
CREATE TABLE IF NOT EXISTS ref.street_type_aliases (
    alias text PRIMARY KEY,
    code text NOT NULL REFERENCES ref.street_type_catalog (code)
);
INSERT INTO ref.street_type_aliases (alias, code) VALUES
    ('RUA', 'R'), ('AVENIDA', 'AV'), ('AVN', 'AV'), ('ALAMEDA', 'AL'), ('PRACA', 'PC'), ('PCA', 'PC'),
    ('TRAVESSA', 'TV'), ('TRAV', 'TV'), ('ESTRADA', 'EST'), ('LARGO', 'LRG'), ('VIADUTO', 'VD'),
    ('VIELA', 'VLA'), ('RODOVIA', 'ROD'), ('PASSAGEM', 'PSG'), ('CAMINHO', 'CAM'), ('CORREGO', 'CRG'),
    ('FAZENDA', 'FAZ'), ('PARQUE', 'PRQ'), ('VIA ACESSO', 'VIA'), ('VIA DE ACESSO', 'VIA'),
    ('V PEDESTRE', 'VIA'), ('VIA PEDESTRE', 'VIA'), ('JARDIM', 'JD'), ('VILA', 'VL'), ('ESTR', 'ESTR')
ON CONFLICT (alias) DO NOTHING;

-- Upper case, accents and punctuation stripped, spaces collapsed.
CREATE OR REPLACE FUNCTION enrich.normalize_text(raw text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(btrim(regexp_replace(regexp_replace(upper(translate(raw,
        'áàâãäéèêëíìîïóòôõöúùûüçñÁÀÂÃÄÉÈÊËÍÌÎÏÓÒÔÕÖÚÙÛÜÇÑ',
        'aaaaaeeeeiiiiooooouuuucnAAAAAEEEEIIIIOOOOOUUUUCN')), '[^A-Z0-9 ]', ' ', 'g'), '\s+', ' ', 'g')), '')
$$;

-- 8 digits, or 7 digits that lost their leading zero; anything else is NULL.
CREATE OR REPLACE FUNCTION enrich.normalize_cep(raw text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN raw IS NULL OR raw ~ '[A-Za-z]' THEN NULL
        WHEN regexp_replace(raw, '[^0-9]', '', 'g') ~ '^0{7,8}$' THEN NULL
        WHEN regexp_replace(raw, '[^0-9]', '', 'g') ~ '^[0-9]{8}$' THEN regexp_replace(raw, '[^0-9]', '', 'g')
        WHEN regexp_replace(raw, '[^0-9]', '', 'g') ~ '^[0-9]{7}$' THEN '0' || regexp_replace(raw, '[^0-9]', '', 'g')
        ELSE NULL
    END
$$;

-- A UF code from a code or a full name in any case/accents; else NULL.
CREATE OR REPLACE FUNCTION enrich.normalize_uf(raw text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT u.code FROM (VALUES
        ('AC','ACRE'),('AL','ALAGOAS'),('AM','AMAZONAS'),('AP','AMAPA'),('BA','BAHIA'),('CE','CEARA'),
        ('DF','DISTRITO FEDERAL'),('ES','ESPIRITO SANTO'),('GO','GOIAS'),('MA','MARANHAO'),
        ('MG','MINAS GERAIS'),('MS','MATO GROSSO DO SUL'),('MT','MATO GROSSO'),('PA','PARA'),
        ('PB','PARAIBA'),('PE','PERNAMBUCO'),('PI','PIAUI'),('PR','PARANA'),('RJ','RIO DE JANEIRO'),
        ('RN','RIO GRANDE DO NORTE'),('RO','RONDONIA'),('RR','RORAIMA'),('RS','RIO GRANDE DO SUL'),
        ('SC','SANTA CATARINA'),('SE','SERGIPE'),('SP','SAO PAULO'),('TO','TOCANTINS')
    ) AS u(code, name)
    WHERE enrich.normalize_text(raw) IN (u.code, u.name)
$$;

-- A catalog code from a code or known alias (`AVENIDA`, `{R}`, `Av.`); else NULL.
CREATE OR REPLACE FUNCTION enrich.normalize_street_type(raw text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        (SELECT c.code FROM ref.street_type_catalog c WHERE c.code = enrich.normalize_text(raw)),
        (SELECT a.code FROM ref.street_type_aliases a WHERE a.alias = enrich.normalize_text(raw)))
$$;

-- The key that makes one address one row: its normalised parts (the
-- neighbourhood is left out: providers spell it differently for the same place).
CREATE OR REPLACE FUNCTION enrich.address_hash(street_type text, street text, number text, complement text,
                                               city text, state text, zip_code text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT md5(concat_ws('|', enrich.normalize_street_type(street_type), enrich.normalize_text(street),
                         enrich.normalize_text(number), enrich.normalize_text(complement), enrich.normalize_text(city),
                         enrich.normalize_uf(state), enrich.normalize_cep(zip_code)))
$$;
