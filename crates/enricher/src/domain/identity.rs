//! Who is this lead, and how sure are we? An evidence model in the
//! Fellegi–Sunter tradition (as Splink implements it), pure and without I/O.
//!
//! Every candidate CPF gathers evidence: which discovery sources returned it
//! for which contact, how its registry name compares with the lead's, whether
//! it is a relative listed in another candidate's dossier (a household phone),
//! whether the same contact was resolved to it before with `confirmed`, whether
//! the customer typed it in a form, and signals of its dossier (deceased,
//! registration status, whether it lists the lead's contact). Each comparison
//! has agreement levels with `m` = P(level | the candidate is the lead) and
//! `u` = P(level | it is not); `log2(m/u)` is the level's weight. The weights
//! plus the prior add up to a match weight and a probability; the confidence
//! levels are thresholds on it, with rules no weight can buy (a contradicting
//! name is never shown). The reasons are the largest contributions (Splink's
//! "waterfall"). The m/u estimates are `identity_weights.json`, produced by
//! `c2s-enrich identity-weights` from the labelled sandbox population.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use brazil::{compare_names, Cpf, GivenAgreement, NameComparison, SurnameAgreement};
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

    fn provider_contacts(&self) -> BTreeSet<Contact> {
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

// ------------------------------------------------------------------ weights

/// m and u of one agreement level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MU {
    pub m: f64,
    pub u: f64,
}

/// One model: the prior and the m/u of every comparison level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Labelled candidates the estimates come from.
    pub pairs: usize,
    /// P(a candidate of this class is the lead), before any evidence.
    pub prior: f64,
    /// comparison → level → m/u.
    pub comparisons: BTreeMap<String, BTreeMap<String, MU>>,
}

/// The model's parameters (`identity_weights.json`). Candidates come in two
/// classes with their own estimates, because their evidence is not
/// independent across classes: *direct* ones (a lookup, an earlier
/// confirmation or a typed CPF points at them) and *relatives* (listed in
/// the dossier of a contact's owner — a household phone), among whom the
/// surname says little (families share it) and the given name says much.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// How the estimates were made (the command), for the record.
    pub produced_by: String,
    pub direct: Model,
    pub relative: Model,
    /// How much of the surname-frequency adjustment applies (Splink's
    /// `tf_adjustment_weight`), 0..=1.
    pub surname_tf_weight: f64,
}

/// The committed estimates.
pub static WEIGHTS: LazyLock<Weights> = LazyLock::new(|| {
    serde_json::from_str(include_str!("identity_weights.json")).unwrap_or_else(|e| {
        panic!("identity_weights.json is part of the build and must parse: {e}")
    })
});

impl Model {
    /// `log2(m/u)` of a level; 0 for a level without an estimate.
    pub fn weight(&self, comparison: &str, level: &str) -> f64 {
        self.comparisons
            .get(comparison)
            .and_then(|l| l.get(level))
            .map_or(0.0, |mu| (mu.m.max(1e-6) / mu.u.max(1e-6)).log2())
    }

    fn prior_weight(&self) -> f64 {
        let p = self.prior.clamp(1e-6, 1.0 - 1e-6);
        (p / (1.0 - p)).log2()
    }
}

impl Weights {
    /// The model for a candidate's class.
    pub fn model_for(&self, e: &CandidateEvidence) -> &Model {
        if e.is_direct() {
            &self.direct
        } else {
            &self.relative
        }
    }
}

/// The comparisons, each with its level for one candidate.
pub fn comparison_levels(
    e: &CandidateEvidence,
    name: Option<&NameComparison>,
) -> Vec<(&'static str, String)> {
    let given = match name {
        None => "unknown".to_owned(),
        Some(n) => format!("{:?}", n.given).to_lowercase(),
    };
    let surname = match name {
        None => "unknown".to_owned(),
        Some(n) => format!("{:?}", n.surname).to_lowercase(),
    };
    let providers: BTreeSet<(Contact, Source)> = e
        .sources
        .iter()
        .filter(|(_, s)| s.is_provider())
        .copied()
        .collect();
    let contacts: BTreeSet<Contact> = providers.iter().map(|(c, _)| *c).collect();
    let sources = if contacts.len() == 2 {
        "both_contacts"
    } else if providers.len() >= 2 {
        "two_sources"
    } else if providers.len() == 1 {
        "one_source"
    } else {
        "none"
    };
    let listed = match &e.dossier {
        Some(d) if d.lists_phone || d.lists_email => "contact_listed",
        Some(_) => "not_listed",
        None if e.sources.iter().any(|(_, s)| *s == Source::Database) => "contact_listed",
        None => "unknown",
    };
    let yes_no = |b: bool, yes: &str| if b { yes.to_owned() } else { "none".to_owned() };
    vec![
        ("given", given),
        ("surname", surname),
        ("sources", sources.to_owned()),
        (
            "relative",
            match &e.relative_of {
                Some(r) if r.owner_contradicted => "relative_of_other_owner".to_owned(),
                Some(_) => "relative_of_owner".to_owned(),
                None => "none".to_owned(),
            },
        ),
        (
            // Within the relative class only (a direct candidate's household
            // link is the `relative` comparison).
            "household_fit",
            match &e.relative_of {
                Some(_) if e.is_direct() => "none".to_owned(),
                Some(r) if r.fitting > 1 => "several".to_owned(),
                Some(_) => "sole".to_owned(),
                None => "none".to_owned(),
            },
        ),
        (
            "earlier",
            yes_no(!e.earlier_confirmed.is_empty(), "confirmed"),
        ),
        ("typed_cpf", yes_no(e.typed_cpf, "typed")),
        ("listed", listed.to_owned()),
        (
            "deceased",
            yes_no(e.dossier.as_ref().is_some_and(|d| d.deceased), "deceased"),
        ),
        (
            "registration",
            yes_no(e.dossier.as_ref().is_some_and(|d| d.irregular), "irregular"),
        ),
    ]
}

/// One term of the match weight (a bar of the waterfall).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub comparison: String,
    pub level: String,
    /// Bits (log2 Bayes factor).
    pub weight: f64,
}

/// A candidate scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub cpf: Cpf,
    pub name: Option<String>,
    pub comparison: Option<NameComparison>,
    pub match_weight: f64,
    pub probability: f64,
    pub confidence: Confidence,
    /// Largest contributions first (prior excluded).
    pub contributions: Vec<Contribution>,
}

/// Probability at or above which a candidate may be `confirmed`.
pub const CONFIRMED_PROBABILITY: f64 = 0.99;
/// Probability at or above which a candidate is `probable`.
pub const PROBABLE_PROBABILITY: f64 = 0.90;

/// How far (bits) below the best a rival with an agreeing name makes the
/// choice ambiguous (father and son of the same name, say).
const AMBIGUITY_BITS: f64 = 3.0;

fn surname_tf_adjustment(n: &NameComparison, w: &Weights) -> f64 {
    if n.agreeing_surnames.is_empty() {
        return 0.0;
    }
    // Splink-style term-frequency adjustment against the mean share of a
    // surname agreement, bounded: a match on SILVA says less than one on a
    // rare name.
    let mean = brazil::agreement::mean_surname_share();
    let rarest = n
        .agreeing_surnames
        .iter()
        .map(|s| brazil::agreement::surname_share(s))
        .fold(1.0_f64, f64::min);
    (w.surname_tf_weight * (mean / rarest).log2()).clamp(-2.0, 3.0)
}

/// The lead's name compared with a candidate's registry name (`None`: no
/// registry name known). A surname the registry lacks but the candidate's
/// spouse carries counts as the lead's: a married name the registry was never
/// updated with (`Helena Lima` for `HELENA MARQUES DA COSTA`, wife of
/// `JOAO PEREIRA LIMA`).
pub fn name_comparison(e: &CandidateEvidence, lead_name: Option<&str>) -> Option<NameComparison> {
    let registry = e.name()?;
    let Some(lead) = lead_name else {
        return Some(NameComparison {
            given: GivenAgreement::Missing,
            surname: SurnameAgreement::Absent,
            agreeing_surnames: Vec::new(),
        });
    };
    let plain = compare_names(lead, registry);
    let partial = matches!(
        plain.surname,
        SurnameAgreement::Some | SurnameAgreement::Disagree
    );
    if !(partial && plain.given_fits()) {
        return Some(plain);
    }
    let spouse_surname = e.dossier.as_ref().and_then(|d| {
        d.relatives.iter().find_map(|(_, name, degree)| {
            is_spouse(degree.as_deref())
                .then(|| brazil::agreement::name_tokens(name.as_deref()?).pop())
                .flatten()
        })
    });
    let married = spouse_surname.map(|s| compare_names(lead, &format!("{registry} {s}")));
    // Surname levels order All < Some < Disagree: the smaller agrees more.
    Some(match married {
        Some(m) if m.given == plain.given && m.surname < plain.surname => m,
        _ => plain,
    })
}

/// Scores one candidate against the lead.
pub fn score(e: &CandidateEvidence, lead_name: Option<&str>, weights: &Weights) -> Scored {
    let w = weights.model_for(e);
    let name = e.name().map(str::to_owned);
    let comparison = name_comparison(e, lead_name);
    let mut contributions: Vec<Contribution> = comparison_levels(e, comparison.as_ref())
        .into_iter()
        .map(|(c, level)| Contribution {
            weight: w.weight(c, &level),
            comparison: c.to_owned(),
            level,
        })
        .collect();
    if let Some(n) = &comparison {
        let tf = if e.is_direct() {
            surname_tf_adjustment(n, weights)
        } else {
            0.0
        };
        if tf != 0.0 {
            contributions.push(Contribution {
                comparison: "surname_frequency".into(),
                level: n.agreeing_surnames.join(" "),
                weight: tf,
            });
        }
    }
    let match_weight = w.prior_weight() + contributions.iter().map(|c| c.weight).sum::<f64>();
    let odds = match_weight.clamp(-60.0, 60.0).exp2();
    let probability = odds / (1.0 + odds);
    contributions.retain(|c| c.weight != 0.0);
    contributions.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
    let confidence = confidence_of(e, comparison.as_ref(), probability);
    Scored {
        cpf: e.cpf.clone(),
        name,
        comparison,
        match_weight,
        probability,
        confidence,
        contributions,
    }
}

/// The thresholds, and the rules no weight overrides: a contradicting name or
/// a deceased person is never more than `unconfirmed`; `confirmed` needs the
/// name to agree and an independent source (a provider's lookup, an earlier
/// confirmed match, a typed CPF or a household link).
fn confidence_of(e: &CandidateEvidence, n: Option<&NameComparison>, p: f64) -> Confidence {
    let dossier_bad = e
        .dossier
        .as_ref()
        .is_some_and(|d| d.deceased || d.irregular);
    if n.is_some_and(NameComparison::contradicts) || dossier_bad {
        return Confidence::Unconfirmed;
    }
    let independent = e.sources.iter().any(|(_, s)| s.is_provider())
        || !e.earlier_confirmed.is_empty()
        || e.typed_cpf
        || e.relative_of.is_some();
    if p >= CONFIRMED_PROBABILITY && n.is_some_and(NameComparison::agrees) && independent {
        Confidence::Confirmed
    } else if p >= PROBABLE_PROBABILITY {
        Confidence::Probable
    } else {
        Confidence::Unconfirmed
    }
}

// ----------------------------------------------------------------- decision

/// A person the note may present (one per contact, or one for both).
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub scored: Scored,
    pub via: Via,
    /// Set when the lead was found as a relative of the contact's owner.
    pub household: Option<RelativeLink>,
}

/// The registered owner of a contact nobody was confirmed for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unshown {
    pub contact: Contact,
    /// Initials only (`A. J. P.`).
    pub owner_initials: String,
    pub deceased: bool,
}

/// The outcome of identification.
#[derive(Debug, Clone, PartialEq)]
pub struct Identification {
    /// The best candidate per contact (phone's first), at any confidence.
    pub best: Vec<Chosen>,
    /// Every candidate scored, best first (ties by CPF).
    pub scored: Vec<Scored>,
}

/// Why the best candidate of a contact cannot be told from someone else, and
/// the most confidence it may keep: a rival candidate whose name fits the
/// lead's as well, within [`AMBIGUITY_BITS`]; or a relative in the
/// candidate's own dossier whose name fits the lead's too (a father and son
/// of one name: the phone is the father's, the lead may be either). Both make
/// the candidate `unconfirmed` (not shown), unless something only the
/// candidate has points at them: both contacts, an earlier confirmed match,
/// or their dossier listing the lead's e-mail.
fn ambiguity<'a>(
    best: &Scored,
    e: &CandidateEvidence,
    mut rivals: impl Iterator<Item = &'a Scored>,
    lead: Option<&str>,
) -> Option<(&'static str, Confidence)> {
    if best.confidence == Confidence::Unconfirmed {
        return None;
    }
    let rival = rivals.any(|s| {
        s.comparison.as_ref().is_some_and(NameComparison::agrees)
            && best.match_weight - s.match_weight < AMBIGUITY_BITS
    });
    if rival {
        return Some(("rival_with_the_same_name", Confidence::Unconfirmed));
    }
    // Both contacts explain the candidate: their own phone, say, and the
    // e-mail of someone whose dossier lists them as spouse. (A namesake child
    // listed there too explains only the e-mail; the labelled world has
    // leads giving their own phone and a spouse's e-mail, not a parent's
    // phone and the other parent's e-mail — counting only direct contacts
    // here cost 0.7 points of recall and avoided no wrong-person note.)
    let strong = e.contacts().len() == 2
        || !e.earlier_confirmed.is_empty()
        || e.dossier.as_ref().is_some_and(|d| d.lists_email);
    let namesake = lead.zip(e.dossier.as_ref()).is_some_and(|(l, d)| {
        d.relatives.iter().any(|(cpf, name, _)| {
            cpf != &e.cpf
                && name
                    .as_deref()
                    .is_some_and(|n| compare_names(l, n).agrees())
        })
    });
    (namesake && !strong).then_some(("relative_with_the_same_name", Confidence::Unconfirmed))
}

/// Caps a candidate's confidence at `cap`, the reason the first bar of the
/// waterfall.
fn mark(s: &mut Scored, why: &str, cap: Confidence) {
    s.confidence = s.confidence.min(cap);
    s.contributions.insert(
        0,
        Contribution {
            comparison: "ambiguity".into(),
            level: why.into(),
            weight: 0.0,
        },
    );
}

/// Two different people, relatives of each other (either dossier lists the
/// other), whose names both agree with the lead's.
fn namesake_relatives(
    a: &Scored,
    ae: &CandidateEvidence,
    b: &Scored,
    be: &CandidateEvidence,
) -> bool {
    let lists = |e: &CandidateEvidence, other: &Cpf| {
        e.dossier
            .as_ref()
            .is_some_and(|d| d.relatives.iter().any(|(c, _, _)| c == other))
    };
    let agrees = |s: &Scored| s.comparison.as_ref().is_some_and(NameComparison::agrees);
    a.cpf != b.cpf && agrees(a) && agrees(b) && (lists(ae, &b.cpf) || lists(be, &a.cpf))
}

/// Two different people, each found directly through one of the contacts,
/// whose names both agree with the lead's and who would both be shown.
fn namesakes_across_contacts(
    a: &Scored,
    ae: &CandidateEvidence,
    b: &Scored,
    be: &CandidateEvidence,
) -> bool {
    let shown_namesake = |s: &Scored, e: &CandidateEvidence| {
        e.is_direct()
            && s.confidence >= Confidence::Probable
            && s.comparison.as_ref().is_some_and(NameComparison::agrees)
    };
    a.cpf != b.cpf && shown_namesake(a, ae) && shown_namesake(b, be)
}

fn source_rank(e: &CandidateEvidence, preference: &[Source]) -> usize {
    e.sources
        .iter()
        .filter_map(|(_, s)| preference.iter().position(|p| p == s))
        .min()
        .unwrap_or(usize::MAX)
}

/// Scores every candidate and picks the best for each contact. Ties are
/// broken by the configured source preference, then by CPF — never by the
/// order the sources answered.
pub fn identify(set: &EvidenceSet, preference: &[Source], w: &Weights) -> Identification {
    let lead = set.lead_name.as_deref();
    let mut scored: Vec<(Scored, &CandidateEvidence)> = set
        .candidates
        .values()
        .map(|e| (score(e, lead, w), e))
        .collect();
    scored.sort_by(|(a, ea), (b, eb)| {
        b.match_weight
            .total_cmp(&a.match_weight)
            .then(source_rank(ea, preference).cmp(&source_rank(eb, preference)))
            .then(a.cpf.cmp(&b.cpf))
    });
    let best_for = |contact: Contact| {
        let mut of_contact = scored
            .iter()
            .filter(|(_, e)| e.contacts().contains(&contact));
        let (best, e) = of_contact.next()?;
        let mut best = best.clone();
        if let Some((why, cap)) = ambiguity(&best, e, of_contact.map(|(s, _)| s), lead) {
            // Two people the name fits (mother and daughter of one name,
            // twins, a namesake in the family): a rival as likely as the
            // best, or a namesake in the best's own dossier, is not shown
            // unless evidence only the best has says otherwise. The reason
            // is recorded.
            mark(&mut best, why, cap);
        }
        Some((best, (*e).clone()))
    };
    let mut phone = best_for(Contact::Phone);
    let mut email = best_for(Contact::Email);
    if let (Some((p, pe)), Some((m, me))) = (&mut phone, &mut email) {
        if namesake_relatives(p, pe, m, me) {
            // The phone's owner and the e-mail's person are relatives the
            // lead's name fits both (mother and daughter of one name): either
            // could be the lead, so neither is shown.
            mark(p, "namesake_relatives", Confidence::Unconfirmed);
            mark(m, "namesake_relatives", Confidence::Unconfirmed);
        } else if namesakes_across_contacts(p, pe, m, me) {
            // Two people the lead's name fits, one behind each contact
            // (someone else's e-mail, a recycled number whose new owner has
            // the lead's first name): a lead is one person, so the weaker is
            // not shown, and neither is when they are as likely.
            let gap = p.match_weight - m.match_weight;
            if gap < AMBIGUITY_BITS {
                mark(p, "rival_with_the_same_name", Confidence::Unconfirmed);
            }
            if -gap < AMBIGUITY_BITS {
                mark(m, "rival_with_the_same_name", Confidence::Unconfirmed);
            }
        }
        // Only one person is the lead: a relative found through one contact's
        // owner does not stand beside someone the other contact found directly.
        let direct_shown = |s: &Scored, e: &CandidateEvidence| {
            e.is_direct() && s.confidence >= Confidence::Probable
        };
        if p.cpf != m.cpf {
            if !pe.is_direct() && direct_shown(m, me) {
                mark(
                    p,
                    "lead_found_by_the_other_contact",
                    Confidence::Unconfirmed,
                );
            } else if !me.is_direct() && direct_shown(p, pe) {
                mark(
                    m,
                    "lead_found_by_the_other_contact",
                    Confidence::Unconfirmed,
                );
            }
        }
    }
    let household = |e: &CandidateEvidence, contact: Contact| {
        let direct = e
            .sources
            .iter()
            .any(|(c, s)| *c == contact && s.is_provider())
            || e.earlier_confirmed.contains(&contact);
        e.relative_of
            .clone()
            .filter(|r| r.contact == contact && !direct)
    };
    let mut best = Vec::new();
    match (phone, email) {
        (Some((p, _)), Some((m, _))) if p.cpf == m.cpf => {
            best.push(Chosen {
                household: None,
                scored: p,
                via: Via::PhoneAndEmail,
            });
        }
        (phone, email) => {
            if let Some((s, e)) = phone {
                best.push(Chosen {
                    household: household(&e, Contact::Phone),
                    scored: s,
                    via: Via::Phone,
                });
            }
            if let Some((s, e)) = email {
                best.push(Chosen {
                    household: household(&e, Contact::Email),
                    scored: s,
                    via: Via::Email,
                });
            }
        }
    }
    if best.is_empty() {
        // Only a typed CPF (a lead form without usable contacts).
        if let Some((s, _)) = scored.iter().find(|(_, e)| e.typed_cpf) {
            best.push(Chosen {
                scored: s.clone(),
                via: Via::Form,
                household: None,
            });
        }
    }
    Identification {
        best,
        scored: scored.into_iter().map(|(s, _)| s).collect(),
    }
}

/// The candidate a contact is registered to (the best directly returned for
/// it by a provider), for the minimal line of an unconfirmed contact.
pub fn registered_owner(
    set: &EvidenceSet,
    id: &Identification,
    contact: Contact,
) -> Option<Unshown> {
    id.scored.iter().find_map(|s| {
        let e = set.candidates.get(&s.cpf)?;
        let direct = e.sources.iter().any(|(c, _)| *c == contact);
        direct.then(|| Unshown {
            contact,
            owner_initials: brazil::initials(s.name.as_deref().unwrap_or_default()),
            deceased: e.dossier.as_ref().is_some_and(|d| d.deceased),
        })
    })
}

/// The note's few words of reasons: what of the name agrees; which contacts.
pub fn reasons_pt(s: &Scored, e: &CandidateEvidence, household: bool) -> String {
    let name = match &s.comparison {
        Some(n) if n.agrees() && n.given == GivenAgreement::Variant => "apelido e nome conferem",
        Some(n) if n.agrees() => "nome confere",
        Some(n) if n.given_fits() && n.surname != SurnameAgreement::Disagree => {
            "nome confere em parte"
        }
        Some(n) if n.given_fits() => "primeiro nome confere",
        Some(n) if !n.agreeing_surnames.is_empty() => "sobrenome confere",
        _ => "nome não informado",
    };
    let contacts = e.provider_contacts();
    let how = if household {
        "parente do titular do telefone".to_owned()
    } else if e.typed_cpf {
        "CPF do formulário".to_owned()
    } else if contacts.len() == 2 {
        "telefone e e-mail".to_owned()
    } else if !e.earlier_confirmed.is_empty() {
        "confirmado antes".to_owned()
    } else if contacts.contains(&Contact::Phone) {
        let n = e
            .sources
            .iter()
            .filter(|(c, s)| *c == Contact::Phone && s.is_provider())
            .count();
        if n >= 2 {
            "telefone, duas fontes".to_owned()
        } else {
            "só telefone".to_owned()
        }
    } else if contacts.contains(&Contact::Email) {
        "só e-mail".to_owned()
    } else {
        "cadastro próprio".to_owned()
    };
    format!("{name}; {how}")
}

/// The recorded reasons (English, no personal data): the waterfall's largest bars.
pub fn reasons_en(s: &Scored) -> String {
    let bars: Vec<String> = s
        .contributions
        .iter()
        .take(4)
        .map(|c| {
            let level = if c.comparison == "surname_frequency" {
                "tf"
            } else {
                c.level.as_str()
            };
            format!("{}={} ({:+.1})", c.comparison, level, c.weight)
        })
        .collect();
    format!(
        "{} (p={:.3}, weight {:+.1}): {}",
        s.confidence.as_str(),
        s.probability,
        s.match_weight,
        bars.join(", ")
    )
}

/// The first word of a degree of kinship as the provider writes it,
/// normalised: `"Filha(o)"` → `FILHA`.
fn degree_word(degree: Option<&str>) -> String {
    let d = degree.map(brazil::normalize_name).unwrap_or_default();
    d.split(' ').next().unwrap_or_default().to_owned()
}

/// The degree names a spouse.
fn is_spouse(degree: Option<&str>) -> bool {
    matches!(
        degree_word(degree).as_str(),
        "CONJUGE" | "ESPOSA" | "ESPOSO" | "MARIDO"
    )
}

/// How the owner of a household phone relates to the lead, in the note's
/// words, from how the owner's dossier lists the lead (`degree`) and the
/// owner's sex: the lead listed as `FILHA(O)` of a woman → `mãe`.
pub fn owner_relation_pt(degree: Option<&str>, owner_female: Option<bool>) -> &'static str {
    let by_sex = |f: &'static str, m: &'static str, x: &'static str| match owner_female {
        Some(true) => f,
        Some(false) => m,
        None => x,
    };
    match degree_word(degree).as_str() {
        "FILHA" | "FILHO" => by_sex("mãe", "pai", "mãe/pai"),
        "MAE" | "PAI" => by_sex("filha", "filho", "filho(a)"),
        _ if is_spouse(degree) => "cônjuge",
        "IRMA" | "IRMAO" => by_sex("irmã", "irmão", "irmão(ã)"),
        "NETA" | "NETO" => by_sex("avó", "avô", "avô(ó)"),
        "AVO" => by_sex("neta", "neto", "neto(a)"),
        "SOBRINHA" | "SOBRINHO" => by_sex("tia", "tio", "tio(a)"),
        "TIA" | "TIO" => by_sex("sobrinha", "sobrinho", "sobrinho(a)"),
        "PRIMA" | "PRIMO" => by_sex("prima", "primo", "primo(a)"),
        _ => "parente",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PEOPLE: [(&str, &str); 4] = [
        ("52998224725", "HELENA MARQUES DA COSTA"),
        ("31847920560", "LUCIA MARQUES DA COSTA"),
        ("74215630835", "PEDRO COSTA LIMA"),
        ("11144477735", "ROBERTO ALVES SOUZA"),
    ];
    const SOURCES: [(Source, bool); 4] = [
        (Source::DiretrixPhone, true),
        (Source::WorkApiPhone, true),
        (Source::DiretrixEmail, false),
        (Source::Database, true),
    ];
    const LEADS: [&str; 5] = [
        "Helena Costa",
        "Lena Costa",
        "Helena",
        "Pedro Lima",
        "Bia Souza",
    ];

    fn cpf(i: usize) -> Cpf {
        Cpf::parse(PEOPLE[i].0).expect("valid")
    }

    fn found(person: usize, source: usize) -> Found {
        let (s, by_phone) = SOURCES[source];
        Found {
            candidate: Candidate {
                cpf: cpf(person),
                name: Some(PEOPLE[person].1.into()),
            },
            source: s,
            by_phone,
        }
    }

    fn set_of(lead: &str, found: &[Found]) -> EvidenceSet {
        let mut set = EvidenceSet::new(Some(lead));
        for f in found {
            set.add_found(f);
        }
        set
    }

    fn confidence_of_person(set: &EvidenceSet, person: usize) -> Option<Confidence> {
        identify(set, &[], &WEIGHTS)
            .scored
            .into_iter()
            .find(|s| s.cpf == cpf(person))
            .map(|s| s.confidence)
    }

    fn answers() -> impl Strategy<Value = Vec<Found>> {
        proptest::collection::vec((0..PEOPLE.len(), 0..SOURCES.len()), 0..8)
            .prop_map(|v| v.into_iter().map(|(p, s)| found(p, s)).collect())
    }

    proptest! {
        #[test]
        fn the_decision_does_not_depend_on_the_order_sources_answered(
            lead in 0..LEADS.len(), answers in answers(), seed in any::<u64>()
        ) {
            let mut shuffled = answers.clone();
            // A deterministic shuffle from the seed.
            let n = shuffled.len();
            for i in (1..n).rev() {
                let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize;
                shuffled.swap(i, j);
            }
            let a = identify(&set_of(LEADS[lead], &answers), &[], &WEIGHTS);
            let b = identify(&set_of(LEADS[lead], &shuffled), &[], &WEIGHTS);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn a_candidate_whose_name_contradicts_the_leads_is_never_confirmed(
            lead in 0..LEADS.len(), answers in answers()
        ) {
            let set = set_of(LEADS[lead], &answers);
            for s in identify(&set, &[], &WEIGHTS).scored {
                if s.comparison.as_ref().is_some_and(NameComparison::contradicts) {
                    prop_assert_eq!(s.confidence, Confidence::Unconfirmed);
                }
            }
        }

        #[test]
        fn a_contradicting_source_never_raises_a_candidates_confidence(
            lead in 0..LEADS.len(), answers in answers(), other in 0..PEOPLE.len(),
            source in 0..SOURCES.len(), deceased in any::<bool>()
        ) {
            let base = set_of(LEADS[lead], &answers);
            for (person, (_, person_name)) in PEOPLE.iter().enumerate() {
                let Some(before) = confidence_of_person(&base, person) else { continue };
                // Another person returned for a contact: a rival, never support.
                if other != person {
                    let mut more = answers.clone();
                    more.push(found(other, source));
                    let after = confidence_of_person(&set_of(LEADS[lead], &more), person);
                    prop_assert!(after <= Some(before), "{:?} → {:?}", before, after);
                }
                // The person's dossier says deceased or irregular.
                let mut worse = base.clone();
                worse.add_dossier(&cpf(person), DossierSignals {
                    name: (*person_name).into(),
                    deceased,
                    irregular: !deceased,
                    ..DossierSignals::default()
                });
                prop_assert_eq!(confidence_of_person(&worse, person), Some(Confidence::Unconfirmed));
            }
        }
    }

    #[test]
    fn phone_and_email_agreeing_on_the_named_person_is_confirmed() {
        let set = set_of("Helena Costa", &[found(0, 0), found(0, 2), found(1, 0)]);
        let id = identify(&set, &[], &WEIGHTS);
        assert_eq!(id.best.len(), 1);
        assert_eq!(id.best[0].via, Via::PhoneAndEmail);
        assert_eq!(id.best[0].scored.confidence, Confidence::Confirmed);
        assert_eq!(confidence_of_person(&set, 1), Some(Confidence::Unconfirmed));
        let s = &id.best[0].scored;
        assert!(reasons_en(s).starts_with("confirmed"));
        assert!(
            !reasons_en(s).contains("52998224725"),
            "no CPF in the reasons"
        );
    }

    #[test]
    fn a_household_relative_whose_name_agrees_becomes_the_lead_with_the_owner_named_by_initials() {
        // The phone is Lucia's (the mother); her dossier lists Helena.
        let mut set = set_of("Helena Costa", &[found(1, 0), found(1, 1)]);
        set.add_dossier(
            &cpf(1),
            DossierSignals {
                name: PEOPLE[1].1.into(),
                female: Some(true),
                relatives: vec![(cpf(0), Some(PEOPLE[0].1.into()), Some("FILHA(O)".into()))],
                ..DossierSignals::default()
            },
        );
        // The pipeline then checks the relative's own dossier, which lists
        // the number among hers (without that, p stays just under probable).
        set.add_dossier(
            &cpf(0),
            DossierSignals {
                name: PEOPLE[0].1.into(),
                female: Some(true),
                lists_phone: true,
                ..DossierSignals::default()
            },
        );
        let id = identify(&set, &[], &WEIGHTS);
        let chosen = &id.best[0];
        assert_eq!(chosen.scored.cpf, cpf(0));
        assert!(
            chosen.scored.confidence >= Confidence::Probable,
            "{:?}",
            chosen.scored
        );
        let h = chosen.household.as_ref().expect("household");
        assert_eq!(brazil::initials(&h.owner_name), "L. M. C.");
        assert_eq!(owner_relation_pt(h.degree.as_deref(), Some(true)), "mãe");
        let owner = registered_owner(&set, &id, Contact::Phone).expect("owner line");
        assert_eq!(owner.owner_initials, "L. M. C.");
    }

    #[test]
    fn a_married_surname_the_registry_lacks_agrees_through_the_spouse() {
        let mut set = set_of("Helena Lima", &[found(0, 0)]);
        let before = name_comparison(&set.candidates[&cpf(0)], set.lead_name.as_deref());
        assert_eq!(before.map(|c| c.surname), Some(SurnameAgreement::Disagree));
        set.add_dossier(
            &cpf(0),
            DossierSignals {
                name: PEOPLE[0].1.into(),
                relatives: vec![(cpf(2), Some(PEOPLE[2].1.into()), Some("CONJUGE".into()))],
                ..DossierSignals::default()
            },
        );
        let after =
            name_comparison(&set.candidates[&cpf(0)], set.lead_name.as_deref()).expect("compared");
        assert_eq!(after.surname, SurnameAgreement::All);
        assert_eq!(after.agreeing_surnames, ["LIMA"]);
    }

    #[test]
    fn namesake_relatives_behind_the_two_contacts_are_neither_shown() {
        // Mother and daughter of one name: the phone is one's, the e-mail
        // the other's, and each dossier lists the other.
        let (mother, daughter) = ("31847920560", "52998224725");
        let person = |c: &str| Candidate {
            cpf: Cpf::parse(c).expect("valid"),
            name: Some("HELENA MARQUES DA COSTA".into()),
        };
        let mut set = EvidenceSet::new(Some("Helena Costa"));
        set.add_found(&Found::phone(person(mother), Source::DiretrixPhone));
        set.add_found(&Found::email(person(daughter), Source::DiretrixEmail));
        for (who, other, degree) in [(mother, daughter, "FILHA(O)"), (daughter, mother, "MAE")] {
            set.add_dossier(
                &Cpf::parse(who).expect("valid"),
                DossierSignals {
                    name: "HELENA MARQUES DA COSTA".into(),
                    relatives: vec![(
                        Cpf::parse(other).expect("valid"),
                        Some("HELENA MARQUES DA COSTA".into()),
                        Some(degree.into()),
                    )],
                    ..DossierSignals::default()
                },
            );
        }
        let id = identify(&set, &[], &WEIGHTS);
        assert_eq!(id.best.len(), 2);
        for chosen in &id.best {
            assert_eq!(chosen.scored.confidence, Confidence::Unconfirmed);
            assert_eq!(chosen.scored.contributions[0].level, "namesake_relatives");
        }
    }

    /// A phone registered to `JOSE CARLOS PRADO`, whose son is `JOSE PRADO
    /// VILLELA`; the lead typed `lead` (and perhaps an e-mail the father's
    /// dossier lists).
    fn father_and_son(lead: &str, lists_email: bool) -> Identification {
        let (father, son) = ("31847920560", "52998224725");
        let mut set = EvidenceSet::new(Some(lead));
        for source in [Source::DiretrixPhone, Source::WorkApiPhone] {
            set.add_found(&Found::phone(
                Candidate {
                    cpf: Cpf::parse(father).expect("valid"),
                    name: Some("JOSE CARLOS PRADO".into()),
                },
                source,
            ));
        }
        set.add_dossier(
            &Cpf::parse(father).expect("valid"),
            DossierSignals {
                name: "JOSE CARLOS PRADO".into(),
                lists_phone: true,
                lists_email,
                relatives: vec![(
                    Cpf::parse(son).expect("valid"),
                    Some("JOSE PRADO VILLELA".into()),
                    Some("FILHO".into()),
                )],
                ..DossierSignals::default()
            },
        );
        identify(&set, &[], &WEIGHTS)
    }

    #[test]
    fn a_namesake_in_the_owners_own_dossier_keeps_the_owner_unshown() {
        // "Jose Prado" fits the father and the son alike: the phone cannot
        // say which of them called.
        let id = father_and_son("Jose Prado", false);
        assert_eq!(id.best.len(), 1);
        let best = &id.best[0].scored;
        assert_eq!(best.confidence, Confidence::Unconfirmed);
        assert_eq!(best.contributions[0].level, "relative_with_the_same_name");
        // The lead's e-mail in the father's own dossier tells them apart.
        let id = father_and_son("Jose Prado", true);
        assert!(id.best[0].scored.confidence >= Confidence::Probable);
        // A name only the father has: no ambiguity.
        let id = father_and_son("Jose Carlos Prado", false);
        assert!(id.best[0].scored.confidence >= Confidence::Probable);
        assert_ne!(id.best[0].scored.contributions[0].comparison, "ambiguity");
    }

    #[test]
    fn two_unrelated_namesakes_behind_the_two_contacts_are_not_both_shown() {
        // "Pedro": a recycled number now owned by a stranger called Pedro,
        // and the lead's e-mail pointing at another Pedro. A lead is one
        // person; nothing tells which, so neither is shown in full.
        let person = |c: &str, name: &str| Candidate {
            cpf: Cpf::parse(c).expect("valid"),
            name: Some(name.into()),
        };
        let mut set = EvidenceSet::new(Some("Pedro"));
        for source in [Source::DiretrixPhone, Source::WorkApiPhone] {
            set.add_found(&Found::phone(
                person("31847920560", "PEDRO ALVES LIMA"),
                source,
            ));
        }
        set.add_found(&Found::email(
            person("52998224725", "PEDRO SOUZA COSTA"),
            Source::DiretrixEmail,
        ));
        let id = identify(&set, &[], &WEIGHTS);
        assert_eq!(id.best.len(), 2);
        for chosen in &id.best {
            assert_eq!(chosen.scored.confidence, Confidence::Unconfirmed);
            assert_eq!(
                chosen.scored.contributions[0].level,
                "rival_with_the_same_name"
            );
        }
        // When only one of them carries the lead's surname, the other is
        // not a namesake: the one whose name agrees stands alone.
        let mut set = EvidenceSet::new(Some("Pedro Costa"));
        set.add_found(&Found::phone(
            person("31847920560", "PEDRO ALVES LIMA"),
            Source::DiretrixPhone,
        ));
        set.add_found(&Found::email(
            person("52998224725", "PEDRO SOUZA COSTA"),
            Source::DiretrixEmail,
        ));
        let id = identify(&set, &[], &WEIGHTS);
        let shown: Vec<_> = id
            .best
            .iter()
            .filter(|c| c.scored.confidence >= Confidence::Probable)
            .collect();
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].via, Via::Email);
    }

    #[test]
    fn a_relative_the_name_fits_alone_outweighs_one_of_several() {
        // The phone is the mother's; "Rafa" fits her son Rafael and, with a
        // sister Rafaela, fits two of her relatives.
        let (mother, son, daughter) = ("31847920560", "52998224725", "11144477735");
        let relatives = |with_sister: bool| {
            let mut r = vec![(
                Cpf::parse(son).expect("valid"),
                Some("RAFAEL LIMA COSTA".into()),
                Some("FILHA(O)".into()),
            )];
            if with_sister {
                r.push((
                    Cpf::parse(daughter).expect("valid"),
                    Some("RAFAELA LIMA COSTA".into()),
                    Some("FILHA(O)".into()),
                ));
            }
            r
        };
        let son_probability = |with_sister: bool| {
            let mut set = EvidenceSet::new(Some("Rafa Costa"));
            set.add_found(&Found::phone(
                Candidate {
                    cpf: Cpf::parse(mother).expect("valid"),
                    name: Some("HELENA MARQUES LIMA COSTA".into()),
                },
                Source::DiretrixPhone,
            ));
            set.add_dossier(
                &Cpf::parse(mother).expect("valid"),
                DossierSignals {
                    name: "HELENA MARQUES LIMA COSTA".into(),
                    relatives: relatives(with_sister),
                    ..DossierSignals::default()
                },
            );
            let id = identify(&set, &[], &WEIGHTS);
            let s = id
                .scored
                .iter()
                .find(|s| s.cpf == Cpf::parse(son).expect("valid"))
                .expect("the son is a candidate")
                .clone();
            (s.probability, id.best[0].scored.confidence)
        };
        let (alone, _) = son_probability(false);
        let (with_sister, shown) = son_probability(true);
        assert!(alone > with_sister, "{alone} vs {with_sister}");
        assert_eq!(shown, Confidence::Unconfirmed);
    }

    #[test]
    fn the_committed_weights_parse_and_were_estimated() {
        assert!(
            WEIGHTS.produced_by.contains("identity-weights"),
            "{}",
            WEIGHTS.produced_by
        );
        // Relatives are blocked on a fitting given name: far fewer pairs.
        assert!(WEIGHTS.direct.pairs > 1000 && WEIGHTS.relative.pairs > 300);
        assert!(WEIGHTS.direct.weight("given", "disagree") < -5.0);
        assert!(WEIGHTS.direct.weight("given", "exact") > 3.0);
    }
}
