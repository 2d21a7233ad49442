//! Google Ads deliveries: recorded once per Google lead id, with their job, in
//! one transaction.

use serde::Serialize;
use sqlx::PgPool;

use crate::domain::google_ads::GoogleAdsLead;
use crate::store::jobs::{self, NewJob};

/// The job kind that processes a Google Ads lead.
pub const GOOGLE_ADS_LEAD: &str = "google_ads_lead";

/// What intake decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    let inserted = sqlx::query(
        "INSERT INTO enrich.google_ads_leads (google_lead_id, campaign_id, form_id, gcl_id, is_test, answers, state, c2s_status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (google_lead_id) DO NOTHING",
    )
    .bind(&lead.lead_id)
    .bind(&lead.campaign_id)
    .bind(&lead.form_id)
    .bind(&lead.gcl_id)
    .bind(lead.is_test)
    .bind(answers)
    .bind(state)
    .bind(c2s_status)
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
