DROP TABLE IF EXISTS enrich.subject_blocks;
DROP TABLE IF EXISTS enrich.subject_requests;
