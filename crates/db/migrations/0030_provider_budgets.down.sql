DROP TABLE IF EXISTS enrich.provider_budget_spend;
