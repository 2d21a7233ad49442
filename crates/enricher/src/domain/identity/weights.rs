//! The m/u estimates and the comparison levels they weigh.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use brazil::NameComparison;
use serde::{Deserialize, Serialize};

use super::evidence::{CandidateEvidence, Contact, Source};

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
    serde_json::from_str(include_str!("../identity_weights.json")).unwrap_or_else(|e| {
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

    pub(super) fn prior_weight(&self) -> f64 {
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
// Longer than 70 lines on purpose: The table of comparisons and their levels, one row each.
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
