DROP TABLE IF EXISTS enrich.erasure_tombstones;
DELETE FROM enrich.settings WHERE name = 'ledger_key_fingerprint';
