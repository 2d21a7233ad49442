ALTER TABLE enrich.subject_requests DROP COLUMN IF EXISTS details;
DROP TABLE IF EXISTS enrich.subject_corrections;
