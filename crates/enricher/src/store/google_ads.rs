//! Google Ads forms (`enrich.google_ads_leads`): each delivery recorded once
//! per Google lead id with its job, in one transaction; then its run's
//! progress, every write made only while the run's job is its own.

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::google_ads::GoogleAdsLead;
use crate::domain::lead::LeadId;
use crate::store::dossier::LeadContext;
use crate::store::jobs::{self, NewJob};

/// The job kind that processes a Google Ads lead.
pub const GOOGLE_ADS_LEAD: &str = "google_ads_lead";

/// What intake decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = GoogleAdsOutcome)]
pub struct Recorded {
    /// `accepted`, `test_recorded` or `duplicate`.
    pub decision: &'static str,
    pub job_id: Option<i64>,
}

/// Records the delivery unless its lead id was seen; enqueues its job unless
/// it is one of Google's test leads (recorded, never sent to C2S, no lookups).
pub async fn record(pool: &PgPool, lead: &GoogleAdsLead) -> Result<Recorded, sqlx::Error> {
    let answers = serde_json::to_value(&lead.answers).unwrap_or_default();
    let mut tx = pool.begin().await?;
    let (state, c2s_status) = if lead.is_test {
        ("test_recorded", "skipped_test")
    } else {
        ("pending", "none")
    };
    let inserted = sqlx::query!("INSERT INTO enrich.google_ads_leads (google_lead_id, campaign_id, form_id, gcl_id, is_test, answers, state, c2s_status, adgroup_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (google_lead_id) DO NOTHING", &lead.lead_id, lead.campaign_id.as_deref(), lead.form_id.as_deref(), lead.gcl_id.as_deref(), lead.is_test, answers, state, c2s_status,
         lead.adgroup_id.as_deref())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        tx.rollback().await?;
        return Ok(Recorded {
            decision: "duplicate",
            job_id: None,
        });
    }
    if lead.is_test {
        tx.commit().await?;
        return Ok(Recorded {
            decision: "test_recorded",
            job_id: None,
        });
    }
    let key = format!("gads:{}", lead.lead_id);
    let job_id = jobs::enqueue(
        &mut *tx,
        &NewJob {
            kind: GOOGLE_ADS_LEAD,
            job_key: Some(&key),
            lead_id: None,
            payload: serde_json::json!({ "google_lead_id": lead.lead_id }),
            max_attempts: 8,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Recorded {
        decision: "accepted",
        job_id,
    })
}

/// A form's recorded run.
#[derive(Debug, sqlx::FromRow)]
pub struct FormProgress {
    pub step: String,
    pub state: String,
    pub context: serde_json::Value,
    pub answers: serde_json::Value,
    /// `none`, `creating` (asked, answer unknown) or `created`.
    pub c2s_status: String,
    pub c2s_lead_id: Option<String>,
    pub campaign_id: Option<String>,
    pub adgroup_id: Option<String>,
    pub form_id: Option<String>,
}

/// The form's recorded run; `None` for a form never recorded.
pub async fn progress(
    pool: &PgPool,
    google_lead_id: &str,
) -> Result<Option<FormProgress>, sqlx::Error> {
    sqlx::query_as!(
        FormProgress,
        "SELECT step, state, context, answers, c2s_status, c2s_lead_id, campaign_id, adgroup_id, form_id
           FROM enrich.google_ads_leads WHERE google_lead_id = $1",
        google_lead_id
    )
    .fetch_optional(pool)
    .await
}

/// Records `next` as the step to run and the context it needs, while the
/// run's `job` (id, worker) is still its own; `false` when it is not.
/// (`job` is `None` for a run outside any job.) An erasure cancels the job,
/// which stops a run of the erased person's form at its next write.
pub async fn save_step(
    pool: &PgPool,
    google_lead_id: &str,
    next: &str,
    context: serde_json::Value,
    job: Option<(i64, &str)>,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "UPDATE enrich.google_ads_leads SET step = $2, context = $3, state = 'processing', updated_at = now()
          WHERE google_lead_id = $1
            AND ($4::bigint IS NULL OR EXISTS (
                 SELECT 1 FROM enrich.jobs j WHERE j.id = $4 AND j.locked_by = $5 AND j.state = 'running'))",
        google_lead_id,
        next,
        context,
        job.map(|(id, _)| id),
        job.map(|(_, w)| w)
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// Records that the C2S lead is being created (with the description sent),
/// while the run's `job` is still its own; `false` when it is not.
pub async fn mark_creating(
    pool: &PgPool,
    google_lead_id: &str,
    description: &str,
    job: Option<(i64, &str)>,
    product_ref: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "UPDATE enrich.google_ads_leads SET c2s_status = 'creating', c2s_attempt_at = now(), description = $2, updated_at = now(),
                product_ref = $5
          WHERE google_lead_id = $1
            AND ($3::bigint IS NULL OR EXISTS (
                 SELECT 1 FROM enrich.jobs j WHERE j.id = $3 AND j.locked_by = $4 AND j.state = 'running'))",
        google_lead_id,
        description,
        job.map(|(id, _)| id),
        job.map(|(_, w)| w),
        product_ref
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// Marks a form whose job died failed, with the error (no personal data).
pub async fn mark_failed(
    pool: &PgPool,
    google_lead_id: &str,
    error: &str,
) -> Result<(), sqlx::Error> {
    // A created lead stays completed (see `leads::mark_failed`).
    sqlx::query!("UPDATE enrich.google_ads_leads SET state = 'failed', last_error = $2, updated_at = now() WHERE google_lead_id = $1 AND state <> 'completed'", google_lead_id, error)
    .execute(pool)
    .await
    .map(|_| ())
}

/// The C2S lead a form became.
#[derive(Debug)]
pub struct Created<'a> {
    pub google_lead_id: &'a str,
    pub c2s_lead_id: &'a str,
    pub description: &'a str,
    pub outcome: &'a str,
    /// When C2S's id is a lead id: that lead, recorded done with its note
    /// (the description) sent, so C2S's own webhooks for it cost nothing
    /// and post no second note; and the people found, linked to it.
    pub lead: Option<CreatedLead>,
    /// The person was erased: nothing they typed is kept.
    pub forget: bool,
}

/// The C2S lead's own record (see [`Created::lead`]).
#[derive(Debug)]
pub struct CreatedLead {
    pub lead_id: LeadId,
    pub fingerprint: String,
    pub context: serde_json::Value,
    pub people: Vec<(Uuid, LeadContext)>,
    /// The lead's tier, recorded with it (its tag and alerts follow).
    pub tier: Option<crate::domain::tier::Assessment>,
}

/// Records the created lead, all in one transaction.
pub async fn finish(pool: &PgPool, created: &Created<'_>) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!("UPDATE enrich.google_ads_leads
            SET step = 'done', state = 'completed', outcome = $3, c2s_status = 'created', c2s_lead_id = $2,
                last_error = NULL, completed_at = now(), updated_at = now()
          WHERE google_lead_id = $1", created.google_lead_id, created.c2s_lead_id, created.outcome)
    .execute(&mut *tx)
    .await?;
    if let Some(lead) = &created.lead {
        let tier = lead.tier.as_ref();
        let reasons = tier.and_then(|t| serde_json::to_value(&t.reasons).ok());
        sqlx::query!("INSERT INTO enrich.leads (lead_id, state, step, contact_fingerprint, context, outcome, note_status, note_text, completed_at,
                                              tier, tier_score, tier_rules, tier_reasons)
             VALUES ($1, 'completed', 'done', $2, $3, $4, 'sent', $5, now(), $6, $7, $8, $9)
             ON CONFLICT (lead_id) DO NOTHING", lead.lead_id.as_str(), &lead.fingerprint, &lead.context, created.outcome, created.description,
             tier.map(|t| t.tier.as_str()), tier.map(|t| t.score), tier.map(|t| t.rules.as_str()), reasons)
        .execute(&mut *tx)
        .await?;
        for (entity_id, link) in &lead.people {
            sqlx::query!("INSERT INTO enrich.lead_entities (lead_id, entity_id, match_kind, confidence, identity_reasons, contact_phone, contact_email)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (lead_id, entity_id) DO NOTHING", lead.lead_id.as_str(), entity_id, link.match_kind.as_str(), link.confidence.map(|c| c.as_str()), link.identity_reasons.as_deref(), link.contact_phone.as_deref(), link.contact_email.as_deref())
            .execute(&mut *tx)
            .await?;
        }
    }
    if created.forget {
        // An erased person asked to be contacted: the C2S lead is theirs,
        // but nothing they typed is kept here (same transaction: a crash
        // cannot leave it behind).
        sqlx::query!("UPDATE enrich.google_ads_leads SET answers = '[]'::jsonb, description = NULL, context = '{}'::jsonb
              WHERE google_lead_id = $1", created.google_lead_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE enrich.leads SET note_text = NULL, context = '{}'::jsonb WHERE lead_id = $1",
            created.c2s_lead_id
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
