DROP INDEX IF EXISTS core.idx_properties_address;
