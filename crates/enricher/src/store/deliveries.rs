//! What was sent about a lead besides its note (`enrich.lead_deliveries`):
//! the tier's C2S tag and the alerts, each recorded before it is sent and
//! after, so a retry never sends again what was sent.

use std::collections::HashMap;

use sqlx::PgPool;

use crate::domain::lead::LeadId;

/// A lead's tier and seller, and how each delivery stands.
#[derive(Debug, Clone, Default)]
pub struct LeadDeliveries {
    pub tier: Option<String>,
    pub score: Option<i32>,
    pub rules: Option<String>,
    /// The reasons' texts, most points first.
    pub reasons: Vec<String>,
    pub seller: Option<String>,
    /// channel → status (`pending`, `sent`, `failed`, `abandoned`, `skipped`).
    pub status: HashMap<String, String>,
}

impl LeadDeliveries {
    /// Whether `channel` is still to be sent: never tried, or clearly
    /// refused last time. A `pending` one may have arrived: only an
    /// idempotent channel (`retry_pending`: the tag, whose lead is read
    /// first) is tried again.
    pub fn due(&self, channel: &str, retry_pending: bool) -> bool {
        match self.status.get(channel).map(String::as_str) {
            None | Some("failed") => true,
            Some("pending") => retry_pending,
            _ => false,
        }
    }
}

/// The lead's tier, seller and deliveries, in one statement.
pub async fn of_lead(pool: &PgPool, lead: &LeadId) -> Result<LeadDeliveries, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT l.tier, l.tier_score, l.tier_rules, l.tier_reasons, l.seller_name,
                  coalesce((SELECT jsonb_object_agg(d.channel, d.status) FROM enrich.lead_deliveries d
                             WHERE d.lead_id = l.lead_id), '{}'::jsonb) AS "status!"
             FROM enrich.leads l WHERE l.lead_id = $1"#,
        lead.as_str()
    )
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else {
        return Ok(LeadDeliveries::default());
    };
    let reasons = r
        .tier_reasons
        .and_then(|v| serde_json::from_value::<Vec<crate::domain::tier::Reason>>(v).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|x| x.text)
        .collect();
    Ok(LeadDeliveries {
        tier: r.tier,
        score: r.tier_score,
        rules: r.tier_rules,
        reasons,
        seller: r.seller_name,
        status: serde_json::from_value(r.status).unwrap_or_default(),
    })
}

/// Records `channel` as being sent (`detail`: what, e.g. the tag's name);
/// `false` when it is not to be sent (sent, given up, skipped, or in flight
/// elsewhere — a `pending` claim is taken over only with `retry_pending`,
/// and only once it is two minutes old, so two runs of one lead never send
/// together).
pub async fn claim(
    pool: &PgPool,
    lead: &LeadId,
    channel: &str,
    detail: &str,
    retry_pending: bool,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "INSERT INTO enrich.lead_deliveries (lead_id, channel, detail) VALUES ($1, $2, $3)
         ON CONFLICT (lead_id, channel) DO UPDATE
            SET status = 'pending', attempts = enrich.lead_deliveries.attempts + 1,
                claimed_at = now(), detail = EXCLUDED.detail
          WHERE enrich.lead_deliveries.status = 'failed'
             OR (enrich.lead_deliveries.status = 'pending' AND $4
                 AND enrich.lead_deliveries.claimed_at < now() - interval '2 minutes')",
        lead.as_str(),
        channel,
        detail,
        retry_pending
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Delivered.
pub async fn sent(pool: &PgPool, lead: &LeadId, channel: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE enrich.lead_deliveries SET status = 'sent', sent_at = now(), last_error = NULL
          WHERE lead_id = $1 AND channel = $2",
        lead.as_str(),
        channel
    )
    .execute(pool)
    .await
    .map(|_| ())
}

/// Clearly refused (`error`: no personal data): `failed`, tried again by
/// the lead's job — or `abandoned` once it has had `max_attempts`. Returns
/// whether it was abandoned.
pub async fn refused(
    pool: &PgPool,
    lead: &LeadId,
    channel: &str,
    error: &str,
    max_attempts: i32,
) -> Result<bool, sqlx::Error> {
    let status = sqlx::query_scalar!(
        "UPDATE enrich.lead_deliveries
            SET status = CASE WHEN attempts >= $4 THEN 'abandoned' ELSE 'failed' END, last_error = $3
          WHERE lead_id = $1 AND channel = $2
         RETURNING status",
        lead.as_str(),
        channel,
        error,
        max_attempts
    )
    .fetch_optional(pool)
    .await?;
    Ok(status.as_deref() == Some("abandoned"))
}

/// Records `channel` as deliberately not sent (an alert for a back-filled
/// lead): a later run of the lead does not send it either.
pub async fn skip(pool: &PgPool, lead: &LeadId, channel: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO enrich.lead_deliveries (lead_id, channel, status, detail, attempts)
         VALUES ($1, $2, 'skipped', 'back-fill', 0)
         ON CONFLICT (lead_id, channel) DO NOTHING",
        lead.as_str(),
        channel
    )
    .execute(pool)
    .await
    .map(|_| ())
}
