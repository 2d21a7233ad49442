//! A C2S lead's recorded run (`enrich.leads`): its step and context, the
//! revision its facts were read at, its note's state — every write of a run
//! made only while the run's lease is still its own.

use sqlx::PgPool;

use crate::domain::lead::LeadId;

/// A lead's recorded processing state, for the API's views.
#[derive(Debug, sqlx::FromRow)]
pub struct RecordedState {
    pub state: String,
    pub step: String,
    pub outcome: Option<String>,
    pub note_status: String,
    pub last_error: Option<String>,
    pub context: serde_json::Value,
    /// The most attempts of any of the lead's jobs.
    pub attempts: i64,
    pub tier: Option<String>,
    pub tier_score: Option<i32>,
    pub tier_rules: Option<String>,
    pub tier_reasons: Option<serde_json::Value>,
}

/// The lead's recorded state; `None` when it was never seen.
pub async fn recorded_state(
    pool: &PgPool,
    lead: &LeadId,
) -> Result<Option<RecordedState>, sqlx::Error> {
    sqlx::query_as!(RecordedState, "SELECT l.state, l.step, l.outcome, l.note_status, l.last_error, l.context,
                l.tier, l.tier_score, l.tier_rules, l.tier_reasons,
                coalesce((SELECT max(attempts) FROM enrich.jobs j WHERE j.lead_id = l.lead_id), 0)::bigint AS \"attempts!\"
           FROM enrich.leads l WHERE l.lead_id = $1", lead.as_str())
    .fetch_optional(pool)
    .await
}

/// Sends a completed lead back to its first step (a forced re-run: its
/// lookups come from the ledger, its note stays posted once).
pub async fn restart_completed(pool: &PgPool, lead: &LeadId) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE enrich.leads SET step = 'lead', state = 'pending' WHERE lead_id = $1 AND step = 'done'", lead.as_str())
    .execute(pool)
    .await
    .map(|_| ())
}

/// Where a lead's run stands, as recorded.
#[derive(Debug, sqlx::FromRow)]
pub struct Progress {
    pub step: String,
    pub context: serde_json::Value,
    pub note_status: String,
    /// Bumped by every delivery that changes the lead's contacts.
    pub revision: i64,
    /// The revision the recorded facts were read at.
    pub facts_revision: i64,
}

/// The lead's recorded run (a row is made for a lead never seen).
pub async fn progress(pool: &PgPool, lead: &LeadId) -> Result<Progress, sqlx::Error> {
    // One statement: a new row's defaults come from the insert, an existing
    // row from the select (the insert's row is not in the statement's
    // snapshot, and the select's is not inserted).
    let made_or_read = sqlx::query_as!(
        Progress,
        r#"WITH ins AS (
             INSERT INTO enrich.leads (lead_id) VALUES ($1) ON CONFLICT (lead_id) DO NOTHING
             RETURNING step, context, note_status, revision, facts_revision)
         SELECT step AS "step!", context AS "context!", note_status AS "note_status!",
                revision AS "revision!", facts_revision AS "facts_revision!" FROM ins
         UNION ALL
         SELECT step, context, note_status, revision, facts_revision FROM enrich.leads
          WHERE lead_id = $1 AND NOT EXISTS (SELECT 1 FROM ins)"#,
        lead.as_str()
    )
    .fetch_optional(pool)
    .await?;
    if let Some(found) = made_or_read {
        return Ok(found);
    }
    // Inserted by someone else after this statement's snapshot was taken
    // (callers hold the lead's lease, which makes the row first: not seen in
    // practice): the next statement sees it.
    sqlx::query_as!(Progress, "SELECT step, context, note_status, revision, facts_revision FROM enrich.leads WHERE lead_id = $1", lead.as_str())
    .fetch_one(pool)
    .await
}

/// Records the first step's facts (read at `revision`) and `discover` as
/// the next step, while `holder` (if any) holds the lead's lease; `false`
/// when it no longer does.
pub async fn save_facts(
    pool: &PgPool,
    lead: &LeadId,
    context: serde_json::Value,
    revision: i64,
    holder: Option<&str>,
    seller: &crate::pipeline::Seller,
) -> Result<bool, sqlx::Error> {
    // C2S's own creation time when it reads as one; otherwise none (our
    // row's creation stands in for it).
    let created = seller
        .created_at
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t.trim()).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    let n = sqlx::query!("UPDATE enrich.leads SET step = 'discover', context = $2, facts_revision = $3, state = 'processing', updated_at = now(),
                 seller_id = $5, seller_name = $6, c2s_status = $7, c2s_created_at = $8
          WHERE lead_id = $1 AND ($4::text IS NULL OR lease_by = $4)", lead.as_str(), context, revision, holder,
          seller.id, seller.name, seller.status, created)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// Records `next` as the step to run and the context it needs, while
/// `holder` (if any) holds the lead's lease; `false` when it no longer does.
pub async fn save_step(
    pool: &PgPool,
    lead: &LeadId,
    next: &str,
    context: serde_json::Value,
    holder: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "UPDATE enrich.leads SET step = $2, context = $3, state = 'processing', updated_at = now()
          WHERE lead_id = $1 AND ($4::text IS NULL OR lease_by = $4)",
        lead.as_str(),
        next,
        context,
        holder
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// Records the fingerprint of the contacts the lead was read with.
pub async fn set_fingerprint(
    pool: &PgPool,
    lead: &LeadId,
    fingerprint: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE enrich.leads SET contact_fingerprint = $2 WHERE lead_id = $1",
        lead.as_str(),
        fingerprint
    )
    .execute(pool)
    .await
    .map(|_| ())
}

/// When a lead nobody was found for is asked about again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Ages of the lead (from its arrival) at which retry 1, 2, … is due
    /// (`RETRY_AFTER_DAYS`, default 1, 7, 30; empty: never).
    pub after: Vec<std::time::Duration>,
    /// How long a "not found" answer is reused (`CACHE_NOT_FOUND_DAYS`): a
    /// retry is never due before the answers of the last run have expired.
    pub not_found: std::time::Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        Self {
            after: [1, 7, 30]
                .map(|d| std::time::Duration::from_secs(d * DAY))
                .to_vec(),
            not_found: std::time::Duration::from_secs(7 * DAY),
        }
    }
}

/// Ends the run with `outcome`: done when the lead's contacts are still
/// those read at `read_at`, else back to its first step (the update's job
/// runs it again). A lead done with nobody found, whose note said so, gets
/// its next retry's due time (none once `retry.after` is used up; none for
/// a lead left without a note, or whose note named someone). `None` when `holder` lost the
/// lease; `Some(false)` when the contacts changed.
pub async fn finish(
    pool: &PgPool,
    lead: &LeadId,
    outcome: &str,
    read_at: i64,
    holder: Option<&str>,
    retry: &RetryPolicy,
) -> Result<Option<bool>, sqlx::Error> {
    let ages: Vec<f64> = retry.after.iter().map(|d| d.as_secs_f64()).collect();
    sqlx::query_scalar!(
        "UPDATE enrich.leads
            SET step = CASE WHEN revision = $3 THEN 'done' ELSE 'lead' END,
                state = CASE WHEN revision = $3 THEN 'completed' ELSE 'pending' END,
                outcome = $2, completed_at = now(), updated_at = now(),
                retry_at = CASE WHEN revision = $3 AND $2 = 'nobody_found' AND noted_outcome = 'nobody_found'
                                     AND retries < cardinality($5::float8[])
                                THEN greatest(created_at + make_interval(secs => ($5::float8[])[retries + 1]),
                                              now() + make_interval(secs => $6))
                           END
          WHERE lead_id = $1 AND ($4::text IS NULL OR lease_by = $4)
          RETURNING revision = $3 AS \"unchanged!\"",
        lead.as_str(),
        outcome,
        read_at,
        holder,
        &ages,
        retry.not_found.as_secs_f64()
    )
    .fetch_optional(pool)
    .await
}

/// Marks a lead whose job died failed, with the error (no personal data).
///
/// A completed lead stays completed: its note is posted, and a job that dies
/// afterwards (a tag or an alert refused too often) says so in `enrich.jobs`
/// and `enrich.lead_deliveries`, not by turning the lead back into a failure.
pub async fn mark_failed(pool: &PgPool, lead: &LeadId, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE enrich.leads SET state = 'failed', last_error = $2, updated_at = now() WHERE lead_id = $1 AND state <> 'completed'", lead.as_str(), error)
    .execute(pool)
    .await
    .map(|_| ())
}

/// The note's state: `none`, `pending` (recorded before the post, its fate
/// unknown until `sent`) or `sent`; and the outcome the posted note told
/// (`nobody_found`, `enriched`).
pub async fn note_status(
    pool: &PgPool,
    lead: &LeadId,
) -> Result<(String, Option<String>), sqlx::Error> {
    let row = sqlx::query!(
        "SELECT note_status, noted_outcome FROM enrich.leads WHERE lead_id = $1",
        lead.as_str()
    )
    .fetch_one(pool)
    .await?;
    Ok((row.note_status, row.noted_outcome))
}

/// The note's text as recorded before it was posted.
pub async fn note_text(pool: &PgPool, lead: &LeadId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT note_text FROM enrich.leads WHERE lead_id = $1",
        lead.as_str()
    )
    .fetch_optional(pool)
    .await
    .map(Option::flatten)
}

/// Records the note `pending` with its text, the outcome it tells and the
/// lead's tier before it is posted, only while `holder` (if any) holds a live lease; `false`
/// when it does not.
pub async fn claim_note(
    pool: &PgPool,
    lead: &LeadId,
    text: &str,
    outcome: &str,
    holder: Option<&str>,
    tier: Option<&crate::domain::tier::Assessment>,
) -> Result<bool, sqlx::Error> {
    let reasons = tier.and_then(|t| serde_json::to_value(&t.reasons).ok());
    let n = sqlx::query!(
        "UPDATE enrich.leads SET note_status = 'pending', note_text = $2, noted_outcome = $4, updated_at = now(),
                tier = $5, tier_score = $6, tier_rules = $7, tier_reasons = $8
          WHERE lead_id = $1 AND ($3::text IS NULL OR (lease_by = $3 AND lease_until > now()))",
        lead.as_str(),
        text,
        holder,
        outcome,
        tier.map(|t| t.tier.as_str()),
        tier.map(|t| t.score),
        tier.map(|t| t.rules.as_str()),
        reasons
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// A post C2S clearly refused: the note is `none` again, so the next run
/// posts it without asking whether it landed.
pub async fn unclaim_note(
    pool: &PgPool,
    lead: &LeadId,
    holder: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE enrich.leads SET note_status = 'none', updated_at = now()
          WHERE lead_id = $1 AND note_status = 'pending' AND ($2::text IS NULL OR lease_by = $2)",
        lead.as_str(),
        holder
    )
    .execute(pool)
    .await
    .map(|_| ())
}

/// The note is posted (it tells the outcome recorded when it was claimed).
pub async fn note_sent(pool: &PgPool, lead: &LeadId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE enrich.leads SET note_status = 'sent', updated_at = now() WHERE lead_id = $1",
        lead.as_str()
    )
    .execute(pool)
    .await
    .map(|_| ())
}
