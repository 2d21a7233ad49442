//! The rows an access export is built from (read by `gather`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Request;

/// The person's own rows in `core.*`, each as `to_jsonb` of the row.
#[derive(Debug, Clone)]
pub struct PersonRows {
    pub entity_id: Uuid,
    pub entity: serde_json::Value,
    pub profile: Option<serde_json::Value>,
    pub financials: Vec<serde_json::Value>,
    pub phones: Vec<serde_json::Value>,
    pub emails: Vec<serde_json::Value>,
    /// The address row with its link row under `link`.
    pub addresses: Vec<serde_json::Value>,
    pub relations: Vec<Relation>,
    pub snapshots: Vec<Snapshot>,
    pub corrections: Vec<super::corrections::Correction>,
}

/// A link to another person or a company, either way.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Relation {
    /// `out`: from this person (their mother, their company); `in`: another
    /// person's dossier lists this one.
    pub direction: String,
    pub relationship_type: Option<String>,
    pub category: Option<String>,
    pub other_name: Option<String>,
    pub other_national_id: Option<String>,
    pub other_type: Option<String>,
    pub role: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

/// A dossier as received (the payload itself is not re-read).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Snapshot {
    pub provider: String,
    pub module: String,
    pub lead_id: Option<String>,
    pub fetched_at: DateTime<Utc>,
}

/// A C2S lead that came from the person or mentions them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LeadRow {
    pub lead_id: String,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub state: String,
    pub outcome: Option<String>,
    pub note_status: String,
    pub note_text: Option<String>,
    /// What C2S gave for the lead (`context.lead`: name, phone, e-mail).
    pub given: Option<serde_json::Value>,
    pub tier: Option<String>,
    pub tier_reasons: Option<serde_json::Value>,
    pub seller_name: Option<String>,
    /// How the lead led to this person (`None`: only mentions them).
    pub match_kind: Option<String>,
    pub confidence: Option<String>,
    pub identity_reasons: Option<String>,
    pub name_score: Option<f64>,
    pub linked_at: Option<DateTime<Utc>>,
}

/// A C2S webhook delivery that mentions the person.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub lead_id: String,
    pub hook_action: String,
    pub received_at: DateTime<Utc>,
}

/// A Google Ads form that mentions the person.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FormRow {
    pub google_lead_id: String,
    pub c2s_lead_id: Option<String>,
    pub answers: serde_json::Value,
    pub received_at: DateTime<Utc>,
    pub state: String,
    /// Linked to the person (else it only mentions one of their contacts).
    pub linked: bool,
}

/// A provider call made with one of the person's identifiers.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallRow {
    pub provider: String,
    pub module: String,
    /// `cpf`, `phone` or `email`: what was sent.
    pub identifier_kind: String,
    pub outcome: String,
    pub created_at: DateTime<Utc>,
    /// Until when its answer is kept (`None`: no answer kept).
    pub answer_kept_until: Option<DateTime<Utc>>,
}

/// An alert about one of the person's leads.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub lead_id: String,
    pub channel: String,
    pub status: String,
    pub at: DateTime<Utc>,
}

/// A read of the person's record through the API.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccessRow {
    pub key_name: String,
    pub endpoint: String,
    pub accessed_at: DateTime<Utc>,
}

/// A block (opposition) on one of the person's identifiers.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BlockRow {
    pub kind: String,
    pub created_at: DateTime<Utc>,
}

/// A row of theirs the database clean-up archived (restorable).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ArchivedRow {
    pub source_table: String,
    pub reason: String,
    pub archived_at: DateTime<Utc>,
}

/// Everything held.
#[derive(Debug, Clone, Default)]
pub struct Gathered {
    pub person: Option<PersonRows>,
    pub leads: Vec<LeadRow>,
    pub events: Vec<EventRow>,
    pub forms: Vec<FormRow>,
    pub calls: Vec<CallRow>,
    pub deliveries: Vec<DeliveryRow>,
    pub accesses: Vec<AccessRow>,
    /// Requests made naming any of their identifiers.
    pub requests: Vec<Request>,
    pub blocks: Vec<BlockRow>,
    pub archived: Vec<ArchivedRow>,
}
