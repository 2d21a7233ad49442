-- Why: what the service sends about a lead besides its note (issue 17) — the
-- C2S tag of its tier, the Slack and e-mail alerts for a high-value lead —
-- each once per lead. A delivery is recorded `pending` before it is sent and
-- `sent` after, like the note: a retry never sends again what was sent, and a
-- send whose fate is unclear (a timeout after the request went out) stays
-- `pending` and is not repeated. `failed` is a send the receiver clearly
-- refused, tried again by the lead's job up to a few times, then `abandoned`;
-- `skipped` an alert deliberately not sent (a back-filled old lead), so a
-- later run of the lead does not send it either. The rows are kept as long
-- as the lead's own record (they hold no personal data).
-- No personal data: the channel, the tier, error kinds.
CREATE TABLE IF NOT EXISTS enrich.lead_deliveries (
    lead_id text NOT NULL,
    channel text NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    detail text,
    attempts integer NOT NULL DEFAULT 1,
    last_error text,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    PRIMARY KEY (lead_id, channel),
    CONSTRAINT chk_lead_deliveries_channel CHECK (channel IN ('tag', 'slack', 'email')),
    CONSTRAINT chk_lead_deliveries_status CHECK (status IN ('pending', 'sent', 'failed', 'abandoned', 'skipped'))
);

-- Why: a discovery source that stops finding anyone (one peer's phone source
-- found nothing for five days and nobody knew) fires one alert when its last
-- answers hold no hit, and another only after it has found someone again.
CREATE TABLE IF NOT EXISTS enrich.source_health (
    source text PRIMARY KEY,
    silent_since timestamptz,
    alerted_at timestamptz,
    checked_at timestamptz NOT NULL DEFAULT now()
);
