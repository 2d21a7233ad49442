//! A lead's story for the console — its webhook deliveries, jobs, how the
//! person was resolved, the note as posted, the tag and alerts, what people
//! did to it — and those actions: run a failed lead again, re-send its note
//! (once per confirmation), each recorded.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// The lead's own record.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LeadRecord {
    pub lead_id: String,
    pub state: String,
    pub step: String,
    pub outcome: Option<String>,
    pub note_status: String,
    pub note_text: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub seller_name: Option<String>,
    pub c2s_status: Option<String>,
    pub tier: Option<String>,
    pub tier_score: Option<i32>,
    pub tier_reasons: Option<serde_json::Value>,
}

/// One event of the story, in time order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub at: DateTime<Utc>,
    /// `webhook`, `job`, `person`, `delivery`, `action`.
    pub kind: String,
    /// What happened (no personal data: actions, states, reasons).
    pub what: String,
    pub detail: Option<String>,
}

/// The lead and its story.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub lead: LeadRecord,
    pub events: Vec<Event>,
}

/// The lead's story; `None` when the service never heard of it.
pub async fn timeline(pool: &PgPool, lead_id: &str) -> Result<Option<Timeline>, sqlx::Error> {
    let lead = sqlx::query_as!(
        LeadRecord,
        "SELECT lead_id, state, step, outcome, note_status, note_text, attempts, last_error, created_at, updated_at,
                completed_at, seller_name, c2s_status, tier, tier_score, tier_reasons
           FROM enrich.leads WHERE lead_id = $1",
        lead_id
    )
    .fetch_optional(pool)
    .await?;
    let Some(lead) = lead else {
        return Ok(None);
    };
    let events = sqlx::query_as!(
        Event,
        r#"SELECT received_at AS "at!", 'webhook' AS "kind!", hook_action AS "what!", decision AS detail
             FROM enrich.webhook_events WHERE lead_id = $1
           UNION ALL
           SELECT created_at, 'job', 'job ' || id || ' ' || state || ' (' || attempts || '/' || max_attempts || ')',
                  last_error
             FROM enrich.jobs WHERE lead_id = $1
           UNION ALL
           SELECT linked_at, 'person', 'pessoa ligada por ' || match_kind || coalesce(', ' || confidence, ''),
                  identity_reasons
             FROM enrich.lead_entities WHERE lead_id = $1
           UNION ALL
           SELECT coalesce(sent_at, claimed_at), 'delivery', channel || ': ' || status, last_error
             FROM enrich.lead_deliveries WHERE lead_id = $1
           UNION ALL
           SELECT at, 'action', action || ' por ' || user_name, outcome
             FROM enrich.console_actions WHERE lead_id = $1
           ORDER BY 1"#,
        lead_id
    )
    .fetch_all(pool)
    .await?;
    Ok(Some(Timeline { lead, events }))
}

/// What a retry came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retried {
    /// Its dead job was queued again.
    Requeued(i64),
    /// The failed lead got a new job.
    Queued(i64),
    /// A job of the lead is already queued or running.
    AlreadyQueued,
    /// The lead did not fail (nothing to retry).
    NotFailed,
}

impl Retried {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requeued(_) => "requeued",
            Self::Queued(_) => "queued",
            Self::AlreadyQueued => "already_queued",
            Self::NotFailed => "not_failed",
        }
    }
}

/// Runs a failed lead (or one whose job died) again, recorded as `by`'s.
pub async fn retry(pool: &PgPool, lead_id: &str, by: &str) -> Result<Retried, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // One retry of a lead at a time.
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 11))",
        lead_id
    )
    .execute(&mut *tx)
    .await?;
    let jobs = sqlx::query!(
        "SELECT id, state FROM enrich.jobs WHERE lead_id = $1 ORDER BY id DESC",
        lead_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let failed: bool = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM enrich.leads WHERE lead_id = $1 AND state = 'failed') AS "f!""#,
        lead_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let outcome = if jobs
        .iter()
        .any(|j| j.state == "queued" || j.state == "running")
    {
        Retried::AlreadyQueued
    } else if let Some(dead) = jobs.iter().find(|j| j.state == "dead") {
        sqlx::query!("UPDATE enrich.jobs SET state = 'queued', attempts = 0, run_at = now(), finished_at = NULL, updated_at = now()
              WHERE id = $1", dead.id)
        .execute(&mut *tx)
        .await?;
        Retried::Requeued(dead.id)
    } else if failed {
        let key = format!("console-retry:{lead_id}:{}", uuid::Uuid::new_v4().simple());
        let job = super::jobs::NewJob {
            kind: super::jobs::ENRICH_LEAD,
            job_key: Some(&key),
            lead_id: Some(lead_id),
            payload: serde_json::json!({ "lead_id": lead_id, "by": "console" }),
            max_attempts: 8,
        };
        match super::jobs::enqueue(&mut *tx, &job).await? {
            Some(id) => Retried::Queued(id),
            None => Retried::AlreadyQueued,
        }
    } else {
        Retried::NotFailed
    };
    if matches!(outcome, Retried::Requeued(_) | Retried::Queued(_)) {
        let key = format!("retry:{}", uuid::Uuid::new_v4().simple());
        record(&mut tx, &key, by, "retry", lead_id, outcome.as_str()).await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

async fn record(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    key: &str,
    by: &str,
    action: &str,
    lead_id: &str,
    outcome: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query!(
        "INSERT INTO enrich.console_actions (action_key, user_name, action, lead_id, outcome)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (action_key) DO NOTHING",
        key,
        by,
        action,
        lead_id,
        outcome
    )
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Claims a note re-send for the confirmation `key`: `Some(text)` the first
/// time (the caller then posts it and calls [`resent`]), `None` when this
/// confirmation was used already or the lead has no note text left.
pub async fn claim_resend(
    pool: &PgPool,
    key: &str,
    lead_id: &str,
    by: &str,
) -> Result<Option<String>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let text: Option<String> = sqlx::query_scalar!(
        "SELECT note_text FROM enrich.leads WHERE lead_id = $1 AND note_status = 'sent'",
        lead_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .flatten();
    let Some(text) = text else {
        return Ok(None);
    };
    if !record(
        &mut tx,
        &format!("resend:{key}"),
        by,
        "resend_note",
        lead_id,
        "pending",
    )
    .await?
    {
        return Ok(None);
    }
    tx.commit().await?;
    Ok(Some(text))
}

/// How a claimed re-send ended (`sent`, or the error kind).
pub async fn resent(pool: &PgPool, key: &str, outcome: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE enrich.console_actions SET outcome = $2 WHERE action_key = $1",
        format!("resend:{key}"),
        outcome
    )
    .execute(pool)
    .await?;
    Ok(())
}
