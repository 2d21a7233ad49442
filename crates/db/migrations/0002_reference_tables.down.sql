-- ref.relationship_types existed in production before us and is kept.
DROP FUNCTION IF EXISTS enrich.address_hash(text, text, text, text, text, text, text);
DROP FUNCTION IF EXISTS enrich.normalize_street_type(text);
DROP FUNCTION IF EXISTS enrich.normalize_uf(text);
DROP FUNCTION IF EXISTS enrich.normalize_cep(text);
DROP FUNCTION IF EXISTS enrich.normalize_text(text);
DROP TABLE IF EXISTS ref.street_type_aliases;
DROP TABLE IF EXISTS ref.street_type_catalog;
DROP TABLE IF EXISTS ref.property_types;
