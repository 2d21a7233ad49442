//! A person's dossier: the domain values a Work API `modulo=cpf` answer is
//! read into (the reading itself, over the provider's private DTO, is
//! `providers::work_api::dossier`).

use brazil::{Cnpj, Cpf, Email, Money, PhoneBr};
use chrono::NaiveDate;
use serde_json::Value;

/// One phone of the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierPhone {
    pub phone: PhoneBr,
    /// Provider's `tipo` (`TELEFONE MÓVEL`, `CELULAR`, `COMERCIAL`, …).
    pub provider_type: Option<String>,
    pub active: bool,
    pub carrier: Option<String>,
    pub whatsapp: bool,
}

/// One e-mail of the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierEmail {
    pub email: Email,
    pub priority: Option<String>,
    pub quality: Option<String>,
    pub personal: Option<bool>,
}

impl DossierEmail {
    /// The provider rates the address deliverable.
    pub fn verified(&self) -> bool {
        matches!(self.quality.as_deref(), Some("OTIMO" | "ÓTIMO" | "BOM"))
    }
}

/// One address as the provider wrote it (normalised when stored).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DossierAddress {
    pub street_type: Option<String>,
    pub street: Option<String>,
    pub number: Option<String>,
    pub complement: Option<String>,
    pub neighborhood: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip_code: Option<String>,
}

/// A relative (`parentes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relative {
    pub cpf: Cpf,
    pub name: Option<String>,
    /// Provider's `grauParentesco` (`MAE`, `FILHA(O)`, …).
    pub degree: Option<String>,
}

/// A company the person is linked to (`empresas`); one per (CNPJ, kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyLink {
    pub cnpj: Cnpj,
    /// `QSA`, `REPRESENTANTELEGAL`, …
    pub kind: Option<String>,
    /// `SOCIO-ADMINISTRADOR`, `SOCIO`, or none.
    pub role: Option<String>,
    pub since: Option<NaiveDate>,
}

/// The person's financial profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Financial {
    /// `renda`, as provided (before the income factor).
    pub income: Option<Money>,
    pub income_raw: Option<String>,
    pub purchasing_power: Option<String>,
    pub income_band: Option<String>,
    pub credit_score: Option<i32>,
    pub risk_band: Option<String>,
    /// Serasa Mosaic segment, when the provider gives it.
    pub mosaic: Option<Mosaic>,
}

/// The Serasa Mosaic consumer segment (`serasaMosaic`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mosaic {
    pub code: Option<String>,
    pub description: Option<String>,
    pub class: Option<String>,
}

impl Financial {
    /// Risk score from the band: BAIXISSIMO 0.1 … ALTISSIMO 0.9.
    pub fn risk_score(&self) -> Option<rust_decimal::Decimal> {
        let band = brazil::normalize_name(self.risk_band.as_deref()?);
        let tenths = match band.split(' ').next()? {
            "BAIXISSIMO" => 1,
            "BAIXO" => 3,
            "MEDIO" => 5,
            "ALTO" => 7,
            "ALTISSIMO" => 9,
            _ => return None,
        };
        Some(rust_decimal::Decimal::new(tenths, 1))
    }
}

/// A parsed dossier.
#[derive(Debug, Clone)]
pub struct Dossier {
    pub cpf: Cpf,
    pub name: String,
    pub birth_date: Option<NaiveDate>,
    /// `F` or `M`.
    pub sex: Option<char>,
    pub mother_name: Option<String>,
    pub father_name: Option<String>,
    pub nationality: Option<String>,
    pub marital_status: Option<String>,
    pub education: Option<String>,
    pub birthplace: Option<String>,
    pub occupation: Option<String>,
    pub registration_status: Option<String>,
    pub deceased: Option<bool>,
    /// `dataObito`, when the provider gives a date.
    pub death_date: Option<NaiveDate>,
    /// The provider flags a politically exposed person
    /// (`flags.__pessoa_exposta_politicamente__`).
    pub public_figure: Option<bool>,
    pub financial: Financial,
    pub phones: Vec<DossierPhone>,
    pub emails: Vec<DossierEmail>,
    pub addresses: Vec<DossierAddress>,
    pub relatives: Vec<Relative>,
    pub companies: Vec<CompanyLink>,
    /// What was dropped and why (no personal data: positions and error kinds).
    pub dropped: Vec<String>,
    /// The payload as received, for the snapshot.
    pub raw: Value,
    /// When the provider answered (set by whoever fetched it; `None`: not
    /// known — stored as fetched now).
    pub fetched_at: Option<chrono::DateTime<chrono::Utc>>,
}
