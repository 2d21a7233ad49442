//! Recording webhook events and enqueuing their work in one transaction.

use serde::Serialize;
use sqlx::PgPool;

use crate::domain::lead::{contact_fingerprint, usable_contacts, HookAction, WebhookEvent};
use crate::store::jobs::ENRICH_LEAD;
use crate::store::jobs::{self, NewJob};

/// What intake decided for one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookEventOutcome)]
pub struct Recorded {
    pub lead_id: String,
    /// `enrich`, `contacts_unchanged`, `close_recorded`, or `duplicate`.
    pub decision: &'static str,
    pub job_id: Option<i64>,
}

/// Records every event of one delivery (see [`record_in`]) — each with its
/// own JSON, never the batch — in one transaction: a delivery is stored whole
/// or not at all.
pub async fn record_delivery(
    pool: &PgPool,
    events: &[WebhookEvent],
) -> Result<Vec<Recorded>, sqlx::Error> {
    record_events(pool, events, Source::Webhook).await
}

/// How a lead reached the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// C2S's webhook delivery.
    Webhook,
    /// The reconciliation sweep (a lead listed from C2S that no delivery
    /// brought, or whose contacts changed unannounced).
    Reconcile,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Reconcile => "reconcile",
        }
    }
}

/// [`record_delivery`] for events from `source`: the same idempotency keys
/// (lead, its `updated_at`, the action), so a lead both delivered and swept
/// is recorded, and enqueued, once.
pub async fn record_events(
    pool: &PgPool,
    events: &[WebhookEvent],
    source: Source,
) -> Result<Vec<Recorded>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut recorded = Vec::with_capacity(events.len());
    for event in events {
        recorded.push(record_in(&mut tx, event, source).await?);
    }
    tx.commit().await?;
    Ok(recorded)
}

/// Records `event` (its raw JSON kept) unless already seen, and enqueues the
/// enrichment when the event calls for it — both or neither.
// Longer than 70 lines on purpose: One transaction's statements in order (event, lead, job); split, the transaction would be passed around for no clarity.
async fn record_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    event: &WebhookEvent,
    source: Source,
) -> Result<Recorded, sqlx::Error> {
    let action = event.action.unwrap_or(HookAction::OnCreateLead);
    let lead_id = event.lead.id.as_str();
    let decision = match action {
        HookAction::OnCloseLead => "close_recorded",
        HookAction::OnCreateLead => "enrich",
        HookAction::OnUpdateLead => {
            // Our own note changes the lead too: only new contact data justifies lookups.
            let (phone, email, _) = usable_contacts(&event.lead);
            let fingerprint = contact_fingerprint(phone.as_ref(), email.as_ref());
            let known: Option<Option<String>> = sqlx::query_scalar!(
                "SELECT contact_fingerprint FROM enrich.leads WHERE lead_id = $1",
                lead_id
            )
            .fetch_optional(&mut **tx)
            .await?;
            match known {
                Some(Some(previous)) if previous == fingerprint => "contacts_unchanged",
                _ => "enrich",
            }
        }
    };
    let creates = action == HookAction::OnCreateLead;
    if creates {
        // A lead is created once: its first announcement — by webhook or by
        // the reconciliation sweep, whose `updated_at` may differ — is the
        // one; later ones are duplicates. The lock orders concurrent
        // announcements of one lead; the insert below, a statement of its
        // own, sees the one that went first.
        sqlx::query!(
            "SELECT pg_advisory_xact_lock(hashtextextended('c2s-enrich:lead:' || $1, 0))",
            lead_id
        )
        .execute(&mut **tx)
        .await?;
    }
    let inserted: Option<i64> = sqlx::query_scalar!("INSERT INTO enrich.webhook_events (lead_id, hook_action, lead_updated_at, decision, payload, source)
         SELECT $1, $2, $3, $4, $5, $6
          WHERE NOT $7::bool
             OR (NOT EXISTS (SELECT 1 FROM enrich.webhook_events e WHERE e.lead_id = $1 AND e.hook_action = 'on_create_lead')
                 AND NOT EXISTS (SELECT 1 FROM enrich.leads l WHERE l.lead_id = $1))
         ON CONFLICT (lead_id, lead_updated_at, hook_action) DO NOTHING
         RETURNING id", lead_id, action.as_str(), event.lead.updated_at.clone().unwrap_or_default(), decision, &event.raw, source.as_str(), creates)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(event_id) = inserted else {
        return Ok(Recorded {
            lead_id: lead_id.to_owned(),
            decision: "duplicate",
            job_id: None,
        });
    };
    if action != HookAction::OnCreateLead {
        // The lead's seller and status as C2S says now (a lead closed or
        // handed to another seller is no longer "already a lead" of the
        // first): what an update carries; `closed` for a close.
        let closed = (action == HookAction::OnCloseLead).then_some("closed");
        let lead = &event.lead;
        sqlx::query!(
            "UPDATE enrich.leads
                SET seller_id = coalesce($2, seller_id), seller_name = coalesce($3, seller_name),
                    c2s_status = coalesce($5, $4, c2s_status)
              WHERE lead_id = $1
                AND (seller_id, seller_name, c2s_status) IS DISTINCT FROM
                    (coalesce($2, seller_id), coalesce($3, seller_name), coalesce($5, $4, c2s_status))",
            lead_id,
            lead.seller_id.as_deref(),
            lead.seller_name.as_deref(),
            lead.status.as_deref(),
            closed
        )
        .execute(&mut **tx)
        .await?;
    }
    let mut job_id = None;
    if decision == "enrich" && action == HookAction::OnUpdateLead {
        // New contacts: the lead runs again from the start (new lookups, new
        // rows) — after the current run if one is under way: the revision
        // tells it its facts are stale, so it does not end "done" on them.
        // The note stays posted once: `note_status` is not reset.
        sqlx::query!("UPDATE enrich.leads SET revision = revision + 1,
                    step = CASE WHEN step = 'done' THEN 'lead' ELSE step END,
                    state = CASE WHEN step = 'done' THEN 'pending' ELSE state END, updated_at = now()
              WHERE lead_id = $1", lead_id)
            .execute(&mut **tx)
            .await?;
    }
    if decision == "enrich" {
        let key = format!("event:{event_id}");
        let job = NewJob {
            kind: ENRICH_LEAD,
            job_key: Some(&key),
            lead_id: Some(lead_id),
            payload: serde_json::json!({ "lead_id": lead_id, "event_id": event_id }),
            max_attempts: 8,
        };
        job_id = jobs::enqueue(&mut **tx, &job).await?;
        sqlx::query!(
            "UPDATE enrich.webhook_events SET job_id = $2 WHERE id = $1",
            event_id,
            job_id
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(Recorded {
        lead_id: lead_id.to_owned(),
        decision,
        job_id,
    })
}

/// Of `leads` (id and contact fingerprint, as listed from C2S), the ones the
/// service must hear of: never recorded (no event, no run) — `Some(false)` —
/// or recorded with other contacts than these — `Some(true)`; `None` for a
/// lead already known with the same contacts.
pub async fn unseen_or_changed(
    pool: &PgPool,
    leads: &[(String, String)],
) -> Result<Vec<Option<bool>>, sqlx::Error> {
    let ids: Vec<String> = leads.iter().map(|(id, _)| id.clone()).collect();
    let prints: Vec<String> = leads.iter().map(|(_, f)| f.clone()).collect();
    let rows = sqlx::query!(
        r#"SELECT i.ord AS "ord!",
                  (l.lead_id IS NULL AND NOT EXISTS (
                      SELECT 1 FROM enrich.webhook_events e WHERE e.lead_id = i.id)) AS "unseen!",
                  (l.contact_fingerprint IS DISTINCT FROM i.print
                      AND l.contact_fingerprint IS NOT NULL) AS "changed!"
             FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS i(id, print, ord)
             LEFT JOIN enrich.leads l ON l.lead_id = i.id
            ORDER BY i.ord"#,
        &ids,
        &prints
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| match (r.unseen, r.changed) {
            (true, _) => Some(false),
            (false, true) => Some(true),
            _ => None,
        })
        .collect())
}
