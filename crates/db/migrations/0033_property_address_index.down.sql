-- c2s:no-transaction
-- step
DROP INDEX CONCURRENTLY IF EXISTS core.idx_properties_address;
