//! A candidate's match weight, probability and confidence.

use brazil::{compare_names, Cpf, GivenAgreement, NameComparison, SurnameAgreement};
use serde::{Deserialize, Serialize};

use super::evidence::{is_spouse, CandidateEvidence, Confidence};
use super::weights::{comparison_levels, Weights};

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
pub(super) const AMBIGUITY_BITS: f64 = 3.0;

pub(super) fn surname_tf_adjustment(n: &NameComparison, w: &Weights) -> f64 {
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
pub(super) fn confidence_of(
    e: &CandidateEvidence,
    n: Option<&NameComparison>,
    p: f64,
) -> Confidence {
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
