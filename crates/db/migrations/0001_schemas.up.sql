-- Why: the customer database lives in `core` (golden records) and `ref` (reference
-- tables), both named by the users; the service's own operational tables live in
-- `enrich`, kept apart from `core` (DATABASE.md).
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS ref;
CREATE SCHEMA IF NOT EXISTS enrich;
COMMENT ON SCHEMA enrich IS 'c2s-enrich operational state: events, jobs, provider ledger, snapshots';
