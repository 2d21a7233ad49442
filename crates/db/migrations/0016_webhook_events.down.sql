DROP TABLE IF EXISTS enrich.webhook_events;
