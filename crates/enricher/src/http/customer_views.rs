//! What the customer endpoints answer. The golden record is built by one
//! query in PostgreSQL (`store::customers::read_audited`) and travels as
//! JSON; these types document its shape for the OpenAPI document.

use serde::Serialize;
use utoipa::ToSchema;

/// The people found for one identifier (`{count, customers}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerList {
    /// How many people were found (a phone or e-mail may belong to several).
    pub count: usize,
    #[schema(value_type = Vec<GoldenRecord>)]
    pub customers: Vec<serde_json::Value>,
    /// Said when the identifier cannot belong to anyone (a CPF whose check
    /// digits do not match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// What an erasure answers (`{erased, erasure}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureAnswer {
    /// Always `true` (nobody stored answers 404).
    pub erased: bool,
    pub erasure: crate::store::erasure::Erased,
}

/// One person's golden record. The person asked for is shown in full;
/// relatives' CPFs are masked.
#[allow(dead_code)] // Documentation only: the record is built in SQL.
#[derive(Debug, ToSchema)]
pub struct GoldenRecord {
    entity_id: uuid::Uuid,
    /// The CPF, 11 digits.
    national_id: Option<String>,
    /// `person` or `company`.
    entity_type: String,
    name: Option<String>,
    is_enriched: bool,
    enriched_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `core.entity_profiles`' columns (sex, birth date, nationality,
    /// marital status, education, occupation…), as stored.
    #[schema(value_type = Option<Object>)]
    profile: Option<serde_json::Value>,
    /// Primary first.
    phones: Vec<PhoneView>,
    emails: Vec<EmailView>,
    /// Most confident first.
    addresses: Vec<AddressView>,
    relatives: Vec<RelativeView>,
    companies: Vec<CompanyView>,
    /// The latest period.
    financials: Option<FinancialsView>,
    /// The leads this person was linked to.
    leads: Vec<LinkedLeadView>,
}

#[allow(dead_code)]
#[derive(Debug, ToSchema)]
struct PhoneView {
    /// E.164 (`+5511987654321`).
    phone: Option<String>,
    /// `mobile`, `landline`…
    #[serde(rename = "type")]
    kind: Option<String>,
    whatsapp: bool,
    primary: bool,
    carrier: Option<String>,
}

#[allow(dead_code)]
#[derive(Debug, ToSchema)]
struct EmailView {
    email: String,
    verified: bool,
    primary: bool,
}

#[allow(dead_code)]
#[derive(Debug, ToSchema)]
struct AddressView {
    formatted: Option<String>,
    street_type: Option<String>,
    street: Option<String>,
    number: Option<String>,
    complement: Option<String>,
    neighborhood: Option<String>,
    city: Option<String>,
    /// UF, two letters.
    state: Option<String>,
    /// CEP, eight digits.
    zip_code: Option<String>,
    /// 0 to 1.
    confidence: Option<f64>,
    verified: bool,
    primary: bool,
}

#[allow(dead_code)]
#[derive(Debug, ToSchema)]
struct RelativeView {
    name: Option<String>,
    /// Masked: `***.456.789-**`.
    national_id: Option<String>,
    /// `MAE`, `PAI`, `IRMA(O)`, `CONJUGE`…
    relationship: Option<String>,
}

#[allow(dead_code)]
#[derive(Debug, ToSchema)]
struct CompanyView {
    /// The CNPJ, 14 digits.
    cnpj: Option<String>,
    relationship: Option<String>,
    role: Option<String>,
}

#[allow(dead_code)]
#[derive(Debug, ToSchema)]
struct FinancialsView {
    year: i32,
    month: Option<i32>,
    /// Monthly, in reais, after the income factor.
    reported_income: Option<f64>,
    credit_score: Option<i32>,
    /// 0 to 9.99.
    risk_score: Option<f64>,
}

#[allow(dead_code)]
#[derive(Debug, ToSchema)]
struct LinkedLeadView {
    lead_id: String,
    /// How the lead's contacts led to this person: `phone`, `email`,
    /// `phone_and_email`, `form_cpf` or `manual`.
    match_kind: String,
    /// `confirmed` or `probable`.
    confidence: Option<String>,
    linked_at: chrono::DateTime<chrono::Utc>,
}
