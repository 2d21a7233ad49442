-- Why: operators set a credit budget per provider, per day and per month
-- (issue 16: "never overspend"). Every instance charges a paid call against
-- the same rows before making it, in one statement that refuses the charge
-- when it would pass the budget, so the budget holds across instances; a
-- call that cost less than charged (it never reached the provider) is given
-- back. One row per provider, period and the period's first day (São Paulo
-- time); rows of past periods are kept as the spending record.
CREATE TABLE IF NOT EXISTS enrich.provider_budget_spend (
    provider    text NOT NULL,
    period      text NOT NULL CHECK (period IN ('day', 'month')),
    starts      date NOT NULL,
    credits     bigint NOT NULL DEFAULT 0 CHECK (credits >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, period, starts)
);
