DROP TABLE IF EXISTS enrich.console_sessions;
DROP TABLE IF EXISTS enrich.console_users;
