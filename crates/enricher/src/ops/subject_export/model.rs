//! The export's shape: what the JSON says (and the page shows).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::privacy::Controller;

/// Why (purpose) and on what legal basis an item is held.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Why {
    pub purpose: &'static str,
    pub purpose_description: String,
    pub legal_basis: String,
}

/// One value held about the person.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// `identificação`, `perfil`, `contato`, `endereço`, `financeiro`,
    /// `contato informado no lead`, `formulário`.
    pub category: &'static str,
    /// The stored field (`phone_e164`, `metadata.income_band`).
    pub field: String,
    /// Its name in Portuguese.
    pub label: String,
    pub value: serde_json::Value,
    /// Where it came from: a provider and module, a lead, a correction.
    pub origin: String,
    /// When it was first obtained, and last confirmed.
    pub obtained_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub why: Why,
    /// Until when it is kept.
    pub kept_until: String,
    /// Where it is stored (table).
    pub stored_in: &'static str,
}

/// A relative or company, as a link only.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    /// `mãe`, `sócio`… as the source named it.
    pub relation: String,
    /// `out`: theirs (their mother); `in`: another person's record lists
    /// them.
    pub direction: String,
    /// A person's name as initials; a company's name as registered.
    pub who: String,
    /// A person's CPF masked; a company's CNPJ (public registry data).
    pub national_id: String,
    pub role: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub origin: String,
    #[serde(flatten)]
    pub why: Why,
    pub kept_until: String,
}

/// A lead the person came through, or that mentions them.
#[derive(Debug, Clone, Serialize)]
pub struct LeadEntry {
    pub lead_id: String,
    pub received_at: DateTime<Utc>,
    pub state: String,
    pub outcome: Option<String>,
    /// How the lead led to the person (`None`: it only mentions one of
    /// their contacts — then nothing else of it is shown: it may be someone
    /// else's).
    pub linked_by: Option<String>,
    pub confidence: Option<String>,
    /// Why the person was taken to be the lead (no personal data).
    pub identity_reasons: Option<String>,
    pub name_score: Option<f64>,
    pub seller: Option<String>,
    /// The note as posted on the lead.
    pub note: Option<NoteEntry>,
    pub tier: Option<TierEntry>,
    /// Until when the note's text and the lead's details are kept.
    pub kept_until: String,
}

/// A note as posted — what it says of anyone else taken out: the other
/// person's block, other CPFs (masked), relatives' names (as initials).
#[derive(Debug, Clone, Serialize)]
pub struct NoteEntry {
    pub text: String,
    /// `sent`, or `pending` (posting was under way or unclear).
    pub status: String,
    pub posted_at: Option<DateTime<Utc>>,
}

/// The lead's tier and why.
#[derive(Debug, Clone, Serialize)]
pub struct TierEntry {
    pub tier: String,
    pub reasons: serde_json::Value,
    #[serde(flatten)]
    pub why: Why,
}

/// Data sent outside the service.
#[derive(Debug, Clone, Serialize)]
pub struct Sharing {
    pub recipient: String,
    pub what: String,
    /// The first (and, for repeated queries, the last) time.
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub times: usize,
    #[serde(flatten)]
    pub why: Why,
}

/// A record kept about the processing (no value of its own to list).
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub what: String,
    pub origin: String,
    pub at: DateTime<Utc>,
    pub kept_until: String,
    pub stored_in: &'static str,
    #[serde(flatten)]
    pub why: Why,
}

/// A request in the register.
#[derive(Debug, Clone, Serialize)]
pub struct RequestEntry {
    pub id: i64,
    pub kind: String,
    pub received_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub status: String,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A purpose and its texts.
#[derive(Debug, Clone, Serialize)]
pub struct PurposeEntry {
    pub purpose: &'static str,
    pub description: String,
    pub legal_basis: String,
}

/// The export.
#[derive(Debug, Clone, Serialize)]
pub struct Export {
    /// The person found (for the access audit; not exported).
    #[serde(skip)]
    pub entity_id: Option<uuid::Uuid>,
    /// `c2s-enrich/subject-export/1`.
    pub format: &'static str,
    pub generated_at: DateTime<Utc>,
    /// The access request this export answers.
    pub request_id: i64,
    /// How the person was named (`cpf`, `phone`, `email`).
    pub identifier_kind: &'static str,
    pub controller: Controller,
    /// Whether anything is held.
    pub found: bool,
    pub items: Vec<Item>,
    /// Their relatives and companies.
    pub links: Vec<Link>,
    /// How many other people's records list them (as a relative): a count
    /// only, those records are other people's.
    pub listed_by_others: usize,
    pub leads: Vec<LeadEntry>,
    pub shared_with: Vec<Sharing>,
    pub records: Vec<Record>,
    pub requests: Vec<RequestEntry>,
    pub purposes: Vec<PurposeEntry>,
}
