-- Why: the durable work queue of the pipeline (ADR 0005). A job is claimed with
-- a lease that its worker renews; a worker killed mid-job stops renewing, and
-- another claims the job once the lease expires. Retries back off with jitter up
-- to max_attempts, then the job is `dead` with its last error, until an operator
-- re-queues it. `job_key` de-duplicates enqueues (e.g. one job per webhook event).
CREATE TABLE IF NOT EXISTS enrich.jobs (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    job_key text,
    lead_id text,
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    state text NOT NULL DEFAULT 'queued',
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 8,
    run_at timestamptz NOT NULL DEFAULT now(),
    locked_by text,
    locked_until timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CONSTRAINT uq_jobs_job_key UNIQUE (job_key),
    CONSTRAINT chk_jobs_state CHECK (state IN ('queued', 'running', 'done', 'dead')),
    CONSTRAINT chk_jobs_attempts CHECK (attempts >= 0 AND max_attempts >= 1)
);
CREATE INDEX IF NOT EXISTS idx_jobs_ready ON enrich.jobs (run_at) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS idx_jobs_leases ON enrich.jobs (locked_until) WHERE state = 'running';
CREATE INDEX IF NOT EXISTS idx_jobs_lead ON enrich.jobs (lead_id, state);
