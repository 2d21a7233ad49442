//! What a run keeps between its steps (`enrich.leads.context` and
//! `enrich.google_ads_leads.context`), and how it ends.

use brazil::{Cpf, Email, PhoneBr};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::{unreadable, RunError};
use crate::domain::identity::{Confidence, Decision, Unshown, Via};
use crate::domain::lead::LeadId;
use crate::domain::Candidate;
use crate::store::dossier::{LeadContext, MatchKind};

/// What the identity model concluded about a presented person (persisted in
/// the lead's context; no personal data but the owner's initials).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub confidence: Confidence,
    pub probability: f64,
    /// The waterfall's largest bars, in English, for the record.
    pub reasons: String,
    /// The note's few words (`nome confere; telefone e e-mail`).
    pub note_reasons: String,
    /// The name differs in part (a married surname).
    pub name_differs: bool,
    /// A household phone: the owner's initials and relation (`R. L. F.`, `mãe`).
    pub household: Option<(String, String)>,
}

/// The lead's contacts after normalisation (kept in the lead's context).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LeadFacts {
    pub name: Option<String>,
    pub phone: Option<PhoneBr>,
    pub email: Option<Email>,
    /// Why a contact was not used (error kinds, no personal data).
    pub dropped: Vec<String>,
    /// The lead's `updated_at` when we read it: a note that lands moves it,
    /// which tells a retry after an unclear post whether the note arrived.
    #[serde(default)]
    pub lead_updated_at: Option<String>,
    /// Who the lead is with and where it stands in C2S, when read: a later
    /// lead of the same person says "already a lead of <seller>".
    #[serde(default)]
    pub seller: Seller,
    /// The person objected (a block) and `BLOCKED_LEAD_NOTE=none`: no note.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withhold_note: bool,
}

/// The lead's seller and C2S status as read (no personal data of the
/// customer; the seller is MBRAS's own agent).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Seller {
    pub id: Option<String>,
    pub name: Option<String>,
    /// C2S's status alias (`new`, `won`, …).
    pub status: Option<String>,
    /// When C2S created the lead, as C2S wrote it.
    pub created_at: Option<String>,
}

/// Discovery's result: who is presented, how sure we are, and the
/// contacts whose owners are not shown.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Discovery {
    /// The people presented in full (at the minimum confidence or above).
    pub persons: Vec<(Cpf, Via)>,
    pub decisions: Vec<Decision>,
    /// One per presented person, same order (empty: not assessed — a context
    /// from before the identity model, or a bench baseline).
    #[serde(default)]
    pub identities: Vec<Identity>,
    /// Contacts whose registered owner did not reach the minimum.
    #[serde(default)]
    pub unshown: Vec<Unshown>,
    /// The identity model decided this (contexts written before it did not).
    #[serde(default)]
    pub assessed: bool,
    /// The dossiers bought while identifying, for the dossier step of the
    /// same run (never recorded: a resumed run reads them from the ledger).
    #[serde(skip)]
    pub in_hand: InHand,
}

/// Dossiers in hand; equal whatever they hold (they are a copy of what the
/// ledger keeps, not part of the decision).
#[derive(Debug, Clone, Default)]
pub struct InHand(pub Vec<crate::domain::dossier::Dossier>);

impl PartialEq for InHand {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Discovery {
    /// Drops `cpfs` (people erased during the run) from what is presented.
    pub(crate) fn forget(&mut self, cpfs: &[Cpf]) {
        if self.identities.len() == self.persons.len() {
            let mut keep = self.persons.iter().map(|(c, _)| !cpfs.contains(c));
            self.identities.retain(|_| keep.next().unwrap_or(true));
        }
        self.persons.retain(|(c, _)| !cpfs.contains(c));
        let masked: Vec<String> = cpfs.iter().map(Cpf::masked).collect();
        self.decisions.retain(|d| !masked.contains(&d.cpf_masked));
    }
}

/// Everything persisted between steps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunContext {
    pub lead: Option<LeadFacts>,
    pub discovery: Option<Discovery>,
    pub entity_ids: Vec<Uuid>,
}

impl RunContext {
    /// The context a run recorded (`{}` before its first step). One that
    /// cannot be read stops the run: resumed as empty it would present
    /// nobody — a "nobody found" note on a lead whose person was found.
    /// The error says where, never what (the text may hold personal data).
    pub fn read(recorded: serde_json::Value) -> Result<Self, RunError> {
        serde_json::from_value(recorded).map_err(|e| unreadable("context", &e))
    }
}

/// How a lead ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub lead_id: String,
    pub persons: usize,
    pub entity_ids: Vec<Uuid>,
    pub note_sent: bool,
    pub outcome: String,
}

/// The lead's contacts that led to a person found `via` them (recorded with
/// the link: an erasure tombstones exactly these). A form's CPF fitted the
/// form, so the form's contacts are the person's own.
pub(crate) fn used_contacts(via: Via, facts: &LeadFacts) -> (Option<String>, Option<String>) {
    let phone = matches!(via, Via::Phone | Via::PhoneAndEmail | Via::Form)
        .then(|| facts.phone.as_ref().map(PhoneBr::e164))
        .flatten();
    let email = matches!(via, Via::Email | Via::PhoneAndEmail | Via::Form)
        .then(|| facts.email.as_ref().map(|e| e.as_str().to_owned()))
        .flatten();
    (phone, email)
}

/// Stored people as candidates: `(national_id, name)` rows, those whose
/// national id is not a valid CPF left out.
pub(crate) fn candidates(rows: Vec<(String, Option<String>)>) -> Vec<Candidate> {
    rows.into_iter()
        .filter_map(|(nid, name)| Cpf::parse(&nid).ok().map(|cpf| Candidate { cpf, name }))
        .collect()
}

/// The lead a stored person is linked to, and how the lead led to them.
pub(crate) fn lead_context(
    lead_id: Option<&LeadId>,
    facts: &LeadFacts,
    via: Via,
    identity: Option<&Identity>,
) -> LeadContext {
    let (contact_phone, contact_email) = used_contacts(via, facts);
    LeadContext {
        lead_id: lead_id.cloned(),
        lead_name: facts.name.clone(),
        match_kind: match via {
            Via::PhoneAndEmail => MatchKind::PhoneAndEmail,
            Via::Phone => MatchKind::Phone,
            Via::Email => MatchKind::Email,
            Via::Form => MatchKind::FormCpf,
        },
        confidence: identity.map(|x| x.confidence),
        identity_reasons: identity.map(|x| x.reasons.clone()),
        contact_phone,
        contact_email,
    }
}
