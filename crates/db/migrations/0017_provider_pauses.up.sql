-- Why: when a provider refuses our credentials or credits, every job must wait
-- (not only the one that hit it) instead of calling and failing again.
CREATE TABLE IF NOT EXISTS enrich.provider_pauses (
    provider text PRIMARY KEY,
    paused_until timestamptz NOT NULL,
    reason text NOT NULL,
    paused_at timestamptz NOT NULL DEFAULT now()
);
