-- Only the service's own schema is dropped: `core` and `ref` hold the users' data
-- on a legacy database and are never dropped by a down migration.
DROP SCHEMA IF EXISTS enrich CASCADE;
