//! What the console's operators do to a lead: run a failed lead again,
//! re-send its note (once per confirmation), each recorded in
//! `enrich.console_actions`.

use sqlx::PgPool;

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

/// Runs a failed lead (or one whose enrichment job died) again, recorded
/// as `by`'s. A completed lead is never run again from here (that would pay
/// its lookups again).
pub async fn retry(pool: &PgPool, lead_id: &str, by: &str) -> Result<Retried, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The lead's row, locked: a worker finishing it, or another retry, waits.
    let state: Option<String> = sqlx::query_scalar!(
        "SELECT state FROM enrich.leads WHERE lead_id = $1 FOR UPDATE",
        lead_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let jobs = sqlx::query!(
        "SELECT id, state FROM enrich.jobs WHERE lead_id = $1 AND kind = $2 ORDER BY id DESC",
        lead_id,
        super::jobs::ENRICH_LEAD
    )
    .fetch_all(&mut *tx)
    .await?;
    let outcome = if jobs
        .iter()
        .any(|j| j.state == "queued" || j.state == "running")
    {
        Retried::AlreadyQueued
    } else if state.as_deref() == Some("completed") || state.is_none() {
        Retried::NotFailed
    } else if let Some(dead) = jobs.iter().find(|j| j.state == "dead") {
        let n = sqlx::query!("UPDATE enrich.jobs SET state = 'queued', attempts = 0, run_at = now(), finished_at = NULL, updated_at = now()
              WHERE id = $1 AND state = 'dead'", dead.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 1 {
            Retried::Requeued(dead.id)
        } else {
            Retried::AlreadyQueued
        }
    } else if state.as_deref() == Some("failed") {
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

/// A re-send confirmation offered to `by` for the lead: its one-time key.
pub async fn offer_resend(pool: &PgPool, lead_id: &str, by: &str) -> Result<String, sqlx::Error> {
    let key = uuid::Uuid::new_v4().simple().to_string();
    let mut tx = pool.begin().await?;
    record(
        &mut tx,
        &format!("resend:{key}"),
        by,
        "resend_note",
        lead_id,
        "offered",
    )
    .await?;
    tx.commit().await?;
    Ok(key)
}

/// What claiming a re-send came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Post this text (then call [`resent`]).
    Post(String),
    /// This confirmation was not offered to this user for this lead, or was
    /// used already.
    Used,
    /// The lead's note was re-sent in the last ten minutes.
    Recent,
    /// No note text is kept for the lead (never sent, or cleared).
    NoNote,
}

/// Claims the re-send offered as `key` to `by` for the lead: once.
pub async fn claim_resend(
    pool: &PgPool,
    key: &str,
    lead_id: &str,
    by: &str,
) -> Result<Claim, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The lead's row, locked: two confirmations cannot both pass the checks.
    let text: Option<Option<String>> = sqlx::query_scalar!(
        "SELECT CASE WHEN note_status = 'sent' THEN note_text END FROM enrich.leads WHERE lead_id = $1 FOR UPDATE",
        lead_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let recent: bool = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM enrich.console_actions WHERE lead_id = $1 AND action = 'resend_note'
                           AND outcome IN ('pending', 'sent') AND at > now() - interval '10 minutes') AS "r!""#,
        lead_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let claimed = sqlx::query!(
        "UPDATE enrich.console_actions SET outcome = $4, at = now()
          WHERE action_key = $1 AND user_name = $2 AND lead_id = $3 AND outcome = 'offered'",
        format!("resend:{key}"),
        by,
        lead_id,
        match (&text, recent) {
            (_, true) => "refused_recent",
            (Some(Some(_)), false) => "pending",
            _ => "no_note",
        }
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(match (claimed, recent, text.flatten()) {
        (0, _, _) => Claim::Used,
        (_, true, _) => Claim::Recent,
        (_, false, Some(t)) => Claim::Post(t),
        (_, false, None) => Claim::NoNote,
    })
}

/// How a claimed re-send ended (`sent`, `held`, or the error kind).
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

/// Whether the lead's person has since been erased or objects (their
/// contacts or a linked CPF match a tombstone or a block): then their data is
/// not posted again.
pub async fn held(
    pool: &PgPool,
    ledger: &super::ledger::Ledger,
    lead_id: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT l.context->'lead'->>'phone' AS phone, l.context->'lead'->>'email' AS email,
                  ARRAY(SELECT e.national_id FROM enrich.lead_entities le JOIN core.entities e USING (entity_id)
                         WHERE le.lead_id = l.lead_id AND e.national_id IS NOT NULL) AS "cpfs!"
             FROM enrich.leads l WHERE l.lead_id = $1"#,
        lead_id
    )
    .fetch_optional(pool)
    .await?;
    let Some(r) = r else {
        return Ok(false);
    };
    let phones: Vec<brazil::PhoneBr> = r
        .phone
        .as_deref()
        .and_then(|p| brazil::PhoneBr::parse(p).ok())
        .into_iter()
        .collect();
    let email = r
        .email
        .as_deref()
        .and_then(|e| brazil::Email::parse(e).ok());
    if super::erasure::is_erased_subject(pool, ledger, None, &phones, email.as_ref()).await? {
        return Ok(true);
    }
    let cpfs: Vec<brazil::Cpf> = r
        .cpfs
        .iter()
        .filter_map(|c| brazil::Cpf::parse(c).ok())
        .collect();
    Ok(!super::erasure::erased_cpfs(pool, ledger, &cpfs)
        .await?
        .is_empty())
}
