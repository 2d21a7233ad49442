-- c2s:no-transaction
-- Why: the note lists the real-estate records the customer database holds at
-- the person's addresses (issue 17, `🏘️ IMÓVEIS`), and the lead tier counts
-- them; core.properties (1.4 M rows in production) is reached by address, so
-- it needs this index. Built CONCURRENTLY: the users' dashboards go on
-- reading and writing the table meanwhile.
-- step
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_properties_address ON core.properties (address_id) WHERE address_id IS NOT NULL;
