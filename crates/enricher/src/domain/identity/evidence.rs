//! The evidence a candidate gathers: sources, contacts, the dossier's
//! signals, relatives, earlier confirmations, a typed CPF.

use std::collections::{BTreeMap, BTreeSet};

use brazil::{compare_names, Cpf};
use serde::{Deserialize, Serialize};

use crate::domain::Candidate;

/// Where a candidate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Our own database: a stored person whose dossier lists the contact.
    Database,
    DiretrixPhone,
    DiretrixEmail,
    WorkApiPhone,
}

impl Source {
    /// A paid discovery lookup (independent evidence), not our own records.
    pub fn is_provider(self) -> bool {
        self != Self::Database
    }
}

/// Which of the lead's contacts a piece of evidence is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Contact {
    Phone,
    Email,
}

/// A candidate with its source and which contact it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub candidate: Candidate,
    pub source: Source,
    /// `true`: found for the phone; `false`: for the e-mail.
    pub by_phone: bool,
}

impl Found {
    pub fn phone(candidate: Candidate, source: Source) -> Self {
        Self {
            candidate,
            source,
            by_phone: true,
        }
    }

    pub fn email(candidate: Candidate, source: Source) -> Self {
        Self {
            candidate,
            source,
            by_phone: false,
        }
    }

    fn contact(&self) -> Contact {
        if self.by_phone {
            Contact::Phone
        } else {
            Contact::Email
        }
    }
}

/// How a chosen person relates to the lead's contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    PhoneAndEmail,
    Phone,
    Email,
    /// The customer typed a valid CPF in a lead form (Google Ads).
    Form,
}

/// A decision about one CPF, for the record (the CPF is masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub cpf_masked: String,
    pub chosen: bool,
    pub reason: String,
}

/// How sure we are that a person *is the lead*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Unconfirmed,
    Probable,
    Confirmed,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unconfirmed => "unconfirmed",
            Self::Probable => "probable",
            Self::Confirmed => "confirmed",
        }
    }

    /// `confirmed` or `probable` (the settings `IDENTITY_MIN_CONFIDENCE` takes).
    pub fn parse_minimum(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "confirmed" => Some(Self::Confirmed),
            "probable" => Some(Self::Probable),
            _ => None,
        }
    }
}

/// Signals from a candidate's own dossier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DossierSignals {
    /// The registry name (authoritative over discovery's).
    pub name: String,
    /// The person's sex, when the registry says (for the household header).
    pub female: Option<bool>,
    pub deceased: bool,
    /// Registration suspended, cancelled, null or "titular falecido".
    pub irregular: bool,
    /// The dossier lists the lead's phone / e-mail among the person's own.
    pub lists_phone: bool,
    pub lists_email: bool,
    /// The person's relatives (CPF, name, degree as the provider writes it).
    pub relatives: Vec<(Cpf, Option<String>, Option<String>)>,
}

/// A household link: the candidate is a relative listed in the dossier of
/// the registered owner of one of the lead's contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelativeLink {
    pub contact: Contact,
    pub owner: Cpf,
    pub owner_name: String,
    /// How the relative is listed in the owner's dossier (e.g. `FILHA(O)`).
    pub degree: Option<String>,
    /// The owner's name contradicts the lead's: the contact is evidently
    /// someone else's, the lead perhaps a member of their household.
    pub owner_contradicted: bool,
    /// How many of the owner's relatives the lead's given name fits (this
    /// one included): one is telling, several (siblings Rafael and Rafaela for
    /// "Rafa") are not.
    #[serde(default)]
    pub fitting: usize,
}

/// Everything known about one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateEvidence {
    pub cpf: Cpf,
    /// Best-known registry name: the dossier's, else the first discovery name.
    pub discovery_name: Option<String>,
    pub sources: BTreeSet<(Contact, Source)>,
    pub earlier_confirmed: BTreeSet<Contact>,
    pub typed_cpf: bool,
    pub relative_of: Option<RelativeLink>,
    pub dossier: Option<DossierSignals>,
}

impl CandidateEvidence {
    fn new(cpf: Cpf) -> Self {
        Self {
            cpf,
            discovery_name: None,
            sources: BTreeSet::new(),
            earlier_confirmed: BTreeSet::new(),
            typed_cpf: false,
            relative_of: None,
            dossier: None,
        }
    }

    /// The registry name we would compare (dossier's first).
    pub fn name(&self) -> Option<&str> {
        self.dossier
            .as_ref()
            .map(|d| d.name.as_str())
            .filter(|n| !n.trim().is_empty())
            .or(self.discovery_name.as_deref())
    }

    /// The contacts this candidate answers for.
    pub fn contacts(&self) -> BTreeSet<Contact> {
        let mut c: BTreeSet<Contact> = self.sources.iter().map(|(c, _)| *c).collect();
        c.extend(self.earlier_confirmed.iter().copied());
        if let Some(r) = &self.relative_of {
            c.insert(r.contact);
        }
        c
    }

    /// Pointed at by a lookup, our records, an earlier confirmation or a
    /// typed CPF (not only listed as someone's relative).
    pub fn is_direct(&self) -> bool {
        !self.sources.is_empty() || !self.earlier_confirmed.is_empty() || self.typed_cpf
    }

    pub(super) fn provider_contacts(&self) -> BTreeSet<Contact> {
        self.sources
            .iter()
            .filter(|(_, s)| s.is_provider())
            .map(|(c, _)| *c)
            .collect()
    }
}

/// Every candidate of a lead, keyed by CPF (so arrival order never matters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvidenceSet {
    pub lead_name: Option<String>,
    pub candidates: BTreeMap<Cpf, CandidateEvidence>,
}

impl EvidenceSet {
    pub fn new(lead_name: Option<&str>) -> Self {
        Self {
            lead_name: lead_name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
            candidates: BTreeMap::new(),
        }
    }

    fn entry(&mut self, cpf: &Cpf) -> &mut CandidateEvidence {
        self.candidates
            .entry(cpf.clone())
            .or_insert_with(|| CandidateEvidence::new(cpf.clone()))
    }

    /// A discovery answer (or a stored person listing the contact).
    pub fn add_found(&mut self, f: &Found) {
        let e = self.entry(&f.candidate.cpf);
        e.sources.insert((f.contact(), f.source));
        if e.discovery_name.is_none() {
            e.discovery_name = f.candidate.name.clone().filter(|n| !n.trim().is_empty());
        }
    }

    /// The same contact was resolved to this person before, with `confirmed`.
    pub fn add_earlier_confirmed(&mut self, contact: Contact, c: &Candidate) {
        let e = self.entry(&c.cpf);
        e.earlier_confirmed.insert(contact);
        if e.discovery_name.is_none() {
            e.discovery_name = c.name.clone();
        }
    }

    /// The customer typed this CPF (a lead form).
    pub fn add_typed_cpf(&mut self, cpf: &Cpf) {
        self.entry(cpf).typed_cpf = true;
    }

    /// A candidate's dossier: its signals, and its relatives as candidates
    /// linked through it for the contacts it answers.
    pub fn add_dossier(&mut self, cpf: &Cpf, signals: DossierSignals) {
        let owner_contacts: Vec<Contact> = self
            .candidates
            .get(cpf)
            .map(|e| e.provider_contacts().into_iter().collect())
            .unwrap_or_default();
        let owner_name = signals.name.clone();
        let owner_contradicted = self
            .lead_name
            .as_deref()
            .is_some_and(|l| compare_names(l, &owner_name).contradicts());
        // Relatives are candidates only when the owner is evidently not the
        // lead (the household case), and only those whose given name fits the
        // lead's — a blocking rule, as record linkage compares only pairs that
        // agree on something; the relative model is estimated on exactly
        // these pairs.
        let lead = self.lead_name.clone();
        let blocked = |name: &Option<String>| {
            owner_contradicted
                && matches!((&lead, name), (Some(l), Some(n)) if compare_names(l, n).given_fits())
        };
        let relatives: Vec<&(Cpf, Option<String>, Option<String>)> = signals
            .relatives
            .iter()
            .filter(|(rel, n, _)| rel != cpf && blocked(n))
            .collect();
        let fitting = relatives.len();
        for (rel, name, degree) in relatives {
            for contact in &owner_contacts {
                let e = self.entry(rel);
                if e.discovery_name.is_none() {
                    e.discovery_name = name.clone();
                }
                if e.relative_of.is_none() {
                    e.relative_of = Some(RelativeLink {
                        contact: *contact,
                        owner: cpf.clone(),
                        owner_name: owner_name.clone(),
                        degree: degree.clone(),
                        owner_contradicted,
                        fitting,
                    });
                }
            }
        }
        self.entry(cpf).dossier = Some(signals);
    }
}

/// The first word of a degree of kinship as the provider writes it,
/// normalised: `"Filha(o)"` → `FILHA`.
pub(super) fn degree_word(degree: Option<&str>) -> String {
    let d = degree.map(brazil::normalize_name).unwrap_or_default();
    d.split(' ').next().unwrap_or_default().to_owned()
}

/// The degree names a spouse.
pub(super) fn is_spouse(degree: Option<&str>) -> bool {
    matches!(
        degree_word(degree).as_str(),
        "CONJUGE" | "ESPOSA" | "ESPOSO" | "MARIDO"
    )
}
