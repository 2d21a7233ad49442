-- Why: /metrics and the status page must not scan whole tables per scrape
-- (issue 12). Provider calls are counted as they are recorded, per São Paulo
-- calendar day, provider, module and outcome (no personal data: counts and
-- credits only) — the figures survive the ledger's retention prune, and the
-- budgets and the console's charts read them. The trigger runs inside the
-- recording transaction: no extra round trip, never out of step.
CREATE TABLE IF NOT EXISTS enrich.provider_usage_daily (
    day date NOT NULL,
    provider text NOT NULL,
    module text NOT NULL,
    outcome text NOT NULL,
    calls bigint NOT NULL DEFAULT 0,
    credits bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, provider, module, outcome)
);
COMMENT ON COLUMN enrich.provider_usage_daily.day IS 'calendar day in America/Sao_Paulo';

CREATE OR REPLACE FUNCTION enrich.count_provider_call() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO enrich.provider_usage_daily AS u (day, provider, module, outcome, calls, credits)
    VALUES ((NEW.created_at AT TIME ZONE 'America/Sao_Paulo')::date, NEW.provider, NEW.module,
            NEW.outcome, 1, coalesce(NEW.credits, 0))
    ON CONFLICT (day, provider, module, outcome)
    DO UPDATE SET calls = u.calls + 1, credits = u.credits + EXCLUDED.credits;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS trg_provider_calls_usage ON enrich.provider_calls;
-- What is already recorded, counted once (same transaction as the trigger).
INSERT INTO enrich.provider_usage_daily (day, provider, module, outcome, calls, credits)
SELECT (created_at AT TIME ZONE 'America/Sao_Paulo')::date, provider, module, outcome, count(*), coalesce(sum(credits), 0)
  FROM enrich.provider_calls
 GROUP BY 1, 2, 3, 4
ON CONFLICT (day, provider, module, outcome) DO NOTHING;
CREATE TRIGGER trg_provider_calls_usage AFTER INSERT ON enrich.provider_calls
    FOR EACH ROW EXECUTE FUNCTION enrich.count_provider_call();
