//! What storing a dossier is told and answers.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::domain::lead::LeadId;

/// How the lead led to this person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchKind {
    Phone,
    Email,
    PhoneAndEmail,
    FormCpf,
    #[default]
    Manual,
}

impl MatchKind {
    /// As recorded in `enrich.lead_entities.match_kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Email => "email",
            Self::PhoneAndEmail => "phone_and_email",
            Self::FormCpf => "form_cpf",
            Self::Manual => "manual",
        }
    }
}

/// The lead a dossier is stored for.
#[derive(Debug, Clone, Default)]
pub struct LeadContext {
    pub lead_id: Option<LeadId>,
    pub lead_name: Option<String>,
    pub match_kind: MatchKind,
    /// How sure we are the person is the lead (`None`: not assessed).
    pub confidence: Option<crate::domain::identity::Confidence>,
    /// The identity model's reasons (no personal data).
    pub identity_reasons: Option<String>,
    /// The contacts the person was resolved through (E.164 / e-mail), so a
    /// later lead with the same contact can reuse a confirmed resolution.
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
}

/// Store settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Operators' income factor (1.9).
    pub income_factor: Decimal,
    /// When the provider answered (snapshot time; also `enriched_at`).
    pub fetched_at: DateTime<Utc>,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub entity_id: Uuid,
    pub relatives: usize,
    pub companies: usize,
}

/// Why storing failed. Nothing is written in any case.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("income out of range after applying the factor")]
    IncomeOutOfRange,
    /// The person was erased (a tombstone holds their CPF): nothing stored.
    #[error("the person was erased; nothing stored")]
    Erased,
    /// Fewer rows were written than given, twice (never expected; the
    /// transaction is rolled back rather than store part of the dossier).
    #[error("storing the dossier wrote fewer {0} than given; nothing stored")]
    Incomplete(&'static str),
    #[error("database error while storing the dossier: {0}")]
    Sql(#[from] sqlx::Error),
}

/// The transaction a dossier is stored in.
pub(super) type Tx<'c> = sqlx::Transaction<'c, sqlx::Postgres>;
