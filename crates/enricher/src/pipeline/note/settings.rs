//! What the note is made of: its settings, the resolution it presents, the
//! identity lines.

use brazil::{Email, PhoneBr};
use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::dossier::Dossier;

/// Which sections appear (all by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sections {
    pub personal: bool,
    pub financial: bool,
    pub emails: bool,
    pub phones: bool,
    pub addresses: bool,
    /// `🏘️ IMÓVEIS`: the customer database's properties at the person's addresses.
    pub properties: bool,
    pub companies: bool,
    pub relatives: bool,
}

impl Default for Sections {
    fn default() -> Self {
        Self {
            personal: true,
            financial: true,
            emails: true,
            phones: true,
            addresses: true,
            properties: true,
            companies: true,
            relatives: true,
        }
    }
}

/// Formatting settings.
#[derive(Debug, Clone)]
pub struct NoteSettings {
    pub today: NaiveDate,
    pub income_factor: Decimal,
    pub max_chars: usize,
    pub sections: Sections,
}

/// Who the lead's contacts led to.
#[derive(Debug, Clone, Copy)]
pub enum Resolution<'a> {
    /// Phone and e-mail resolve to the same person.
    SamePerson(&'a Dossier),
    /// Only the phone resolved.
    PhoneOnly(&'a Dossier),
    /// Only the e-mail resolved.
    EmailOnly(&'a Dossier),
    /// Phone and e-mail resolve to different people.
    DifferentPeople {
        by_phone: (&'a PhoneBr, &'a Dossier),
        by_email: (&'a Email, &'a Dossier),
    },
    /// The customer typed this CPF in a lead form.
    FormCpf(&'a Dossier),
    /// Nobody found.
    Nobody,
}

/// What the identity model says of one presented person (spec: "Identity and
/// confidence").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonLine {
    /// `true`: confirmed; `false`: probable.
    pub confirmed: bool,
    /// A few words: `nome confere; telefone e e-mail`.
    pub reasons: String,
    /// The name differs in part (a married surname): `⚠️ Nome diferente…`.
    pub name_differs: bool,
    /// Household phone: the owner's initials and how they relate to the lead
    /// (`R. L. F.`, `mãe`), for the header `📞 Telefone de R. L. F. (mãe)`.
    pub household: Option<(String, String)>,
    /// The lead tier's line (`🏷️ Perfil A — renda alta, bairro nobre`).
    pub profile: Option<String>,
    /// Already an open lead of another seller: (seller, since).
    pub earlier_lead: Option<(String, NaiveDate)>,
    /// How many properties the customer database holds at the person's
    /// addresses, and the ones listed (the three worth most).
    pub properties: (usize, Vec<crate::store::profile::Property>),
    /// Company names and statuses by CNPJ (14 digits), where known.
    pub companies: Vec<(String, CompanyName)>,
    /// The dossier's date, when it is older than the freshness window:
    /// `(dados de MM/AAAA)` on its sections' headers.
    pub data_as_of: Option<NaiveDate>,
}

/// What the note says of a company beside its CNPJ.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompanyName {
    /// Trade name, else legal name.
    pub name: String,
    /// `ATIVA`, `BAIXADA`, …
    pub status: Option<String>,
}

/// A contact whose registered owner is not shown (initials only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnshownLine {
    /// `true`: the phone; `false`: the e-mail.
    pub phone: bool,
    pub initials: String,
    pub deceased: bool,
}

/// Identity lines for a note; empty = the format before identity (no 🔐
/// line; the name warning whenever the names differ).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NoteIdentity {
    /// One per presented person, in the resolution's order.
    pub persons: Vec<PersonLine>,
    pub unshown: Vec<UnshownLine>,
}

impl UnshownLine {
    /// `suffix`: ` — não confirmado` beside a presented person; nothing in a
    /// note that presents nobody (its header already says so).
    pub(super) fn text(&self, suffix: bool) -> String {
        let (icon, what) = if self.phone {
            ("📞", "Telefone")
        } else {
            ("📧", "E-mail")
        };
        let who = if self.initials.is_empty() {
            "outra pessoa".to_owned()
        } else {
            self.initials.clone()
        };
        let dead = if self.deceased { " (falecido)" } else { "" };
        let tail = if suffix { " — não confirmado" } else { "" };
        format!("{icon} {what} registrado em nome de {who}{dead}{tail}")
    }
}
