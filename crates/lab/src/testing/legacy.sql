-- Rows of the small legacy fixture (the schema is legacy_schema.sql).
-- Bulk, clean-ish rows: :n people, each with a phone, an e-mail, an address and a link.
INSERT INTO core.entities (entity_id, national_id, entity_type, name, canonical_name, is_enriched, enriched_at, metadata, created_at)
SELECT md5('e' || i)::uuid, lpad(i::text, 11, '0'), 'person', 'Pessoa ' || i, 'PESSOA ' || i, i % 2 = 0,
       CASE WHEN i % 2 = 0 THEN timestamptz '2025-01-01' + i * interval '1 minute' END,
       CASE WHEN i % 4 = 0 THEN jsonb_build_object('c2s_lead_id', md5('lead' || i)) ELSE '{}'::jsonb END,
       timestamptz '2024-01-01' + i * interval '1 second'
  FROM generate_series(1, :n) i;
INSERT INTO core.entity_phones (id, entity_id, phone, created_at)
SELECT md5('p' || i)::uuid, md5('e' || i)::uuid, '119' || lpad(i::text, 8, '0'), timestamptz '2024-02-01' + i * interval '1 second'
  FROM generate_series(1, :n) i;
INSERT INTO core.entity_emails (id, entity_id, email, created_at)
SELECT md5('m' || i)::uuid, md5('e' || i)::uuid, 'pessoa' || i || '@correio.com.br', timestamptz '2024-02-01'
  FROM generate_series(1, :n) i;
INSERT INTO core.addresses (id, street_type, street, number, neighborhood, city, state, zip_code, address_hash, created_at)
SELECT md5('a' || i)::uuid, 'R', 'RUA ' || i, i::text, 'CENTRO', 'SAO PAULO', 'SP', lpad((1000000 + i)::text, 8, '0'),
       md5('hash' || i), timestamptz '2024-02-01'
  FROM generate_series(1, :n) i;
INSERT INTO core.entity_addresses (id, entity_id, address_id, address_type, confidence_score, created_at)
SELECT md5('l' || i)::uuid, md5('e' || i)::uuid, md5('a' || i)::uuid, 'residential',
       CASE WHEN i % 3 = 0 THEN 0.90 WHEN i % 3 = 1 THEN 0.75 ELSE NULL END, timestamptz '2024-02-01'
  FROM generate_series(1, :n) i;
INSERT INTO core.entity_profiles (entity_id, sex, created_at)
SELECT md5('e' || i)::uuid, CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END, timestamptz '2024-02-01'
  FROM generate_series(1, :n) i;
INSERT INTO core.properties (property_id, property_type, address_id, created_at)
SELECT md5('prop' || i)::uuid, 'APARTAMENTO', md5('a' || i)::uuid, timestamptz '2024-02-01'
  FROM generate_series(1, :n) i;

-- The dirty rows real users have (entity 1..10 are the victims).
-- Duplicate phones: same person, same number, later created_at (3 duplicates).
INSERT INTO core.entity_phones (entity_id, phone, created_at) VALUES
    (md5('e1')::uuid, '11900000001', '2024-06-01'),
    (md5('e1')::uuid, '11900000001', '2024-07-01'),
    (md5('e2')::uuid, '11900000002', '2024-06-01');
-- Phones with and without DDD or country code.
INSERT INTO core.entity_phones (id, entity_id, phone, created_at) VALUES
    (md5('px1')::uuid, md5('e3')::uuid, '+55 (21) 98765-4321', '2024-03-01'),
    (md5('px2')::uuid, md5('e3')::uuid, '5551987654321', '2024-03-01'),
    (md5('px3')::uuid, md5('e3')::uuid, '(11) 3045-1122', '2024-03-01'),
    (md5('px4')::uuid, md5('e4')::uuid, '98765-4321', '2024-03-01'),
    (md5('px5')::uuid, md5('e4')::uuid, '55987654321', '2024-03-01');
-- The same number written two ways, both already with an E.164 (1 duplicate).
INSERT INTO core.entity_phones (id, entity_id, phone, phone_e164, created_at) VALUES
    (md5('px6')::uuid, md5('e5')::uuid, '11987650000', '+5511987650000', '2024-03-01'),
    (md5('px7')::uuid, md5('e5')::uuid, '+5511987650000', '+5511987650000', '2024-04-01');
-- An orphan phone (its person was deleted long ago).
INSERT INTO core.entity_phones (id, entity_id, phone, created_at) VALUES (md5('px8')::uuid, md5('ghost')::uuid, '11991112222', '2024-03-01');
-- Duplicate e-mails differing only in case (2 duplicates).
INSERT INTO core.entity_emails (entity_id, email, created_at) VALUES
    (md5('e1')::uuid, 'PESSOA1@Correio.com.br', '2024-06-01'),
    (md5('e2')::uuid, 'Pessoa2@correio.com.br ', '2024-06-01'),
    (md5('e3')::uuid, 'Ana.Souza@Gmail.com', '2024-01-01');
-- Dirty CEPs, states and street types (ids a-d1..a-d8).
INSERT INTO core.addresses (id, street_type, street, city, state, zip_code, created_at) VALUES
    (md5('ad1')::uuid, 'AVENIDA', 'PAULISTA', 'SAO PAULO', 'sp', '1144', '2024-01-01'),
    (md5('ad2')::uuid, 'VIA ACESSO', 'DAS PALMEIRAS', 'GUARUJA', 'São Paulo', '11060-002', '2024-01-01'),
    (md5('ad3')::uuid, 'INVALIDO', 'X', 'SANTOS', 'S', 'ABCDEFGH', '2024-01-01'),
    (md5('ad4')::uuid, '{R}', 'AUGUSTA', 'SAO PAULO', 'SP', '1442000', '2024-01-01'),
    (md5('ad5')::uuid, 'Av.', 'ATLANTICA', 'RIO DE JANEIRO', 'rio de janeiro', '22021-001', '2024-01-01'),
    (md5('ad6')::uuid, 'R', 'HASH REPETIDO', 'SAO PAULO', 'SP', '01310100', '2024-01-01'),
    (md5('ad7')::uuid, 'R', 'HASH REPETIDO', 'SAO PAULO', 'SP', '01310100', '2024-05-01');
UPDATE core.addresses SET address_hash = 'same-hash' WHERE id IN (md5('ad6')::uuid, md5('ad7')::uuid);
-- Entity-address links duplicated (2 duplicates) and one to a missing address.
INSERT INTO core.entity_addresses (entity_id, address_id, address_type, created_at) VALUES
    (md5('e1')::uuid, md5('a1')::uuid, 'residential', '2024-06-01'),
    (md5('e1')::uuid, md5('a1')::uuid, 'residential', '2024-07-01'),
    (md5('e2')::uuid, md5('ad1')::uuid, 'residential', '2024-01-01'),
    (md5('e6')::uuid, md5('nowhere')::uuid, 'residential', '2024-01-01');
-- Relationship types missing from ref.relationship_types ('PAI', 'SOGRO').
INSERT INTO core.entity_relationships (source_entity_id, target_entity_id, relationship_type, created_at) VALUES
    (md5('e1')::uuid, md5('e2')::uuid, 'MAE', '2024-01-01'),
    (md5('e1')::uuid, md5('e3')::uuid, 'PAI', '2024-01-01'),
    (md5('e4')::uuid, md5('e5')::uuid, 'SOGRO', '2024-01-01');
-- A property type missing from the (not yet existing) catalog.
INSERT INTO core.properties (property_type, created_at) VALUES ('APTO DUPLEX', '2024-01-01');
