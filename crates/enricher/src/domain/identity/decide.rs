//! Who is presented: the best candidate per contact, ambiguity, household
//! phones, namesakes.

use brazil::{compare_names, Cpf, NameComparison};
use serde::{Deserialize, Serialize};

use super::evidence::{
    CandidateEvidence, Confidence, Contact, EvidenceSet, RelativeLink, Source, Via,
};
use super::score::{score, Contribution, Scored, AMBIGUITY_BITS};
use super::weights::Weights;

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
pub(super) fn ambiguity<'a>(
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
pub(super) fn mark(s: &mut Scored, why: &str, cap: Confidence) {
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
pub(super) fn namesake_relatives(
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
pub(super) fn namesakes_across_contacts(
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

pub(super) fn source_rank(e: &CandidateEvidence, preference: &[Source]) -> usize {
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
        one_lead(p, pe, m, me);
    }
    let best = chosen(phone, email, &scored);
    Identification {
        best,
        scored: scored.into_iter().map(|(s, _)| s).collect(),
    }
}

/// A lead is one person: the rules across the phone's best (`p`) and the
/// e-mail's best (`m`) when they are different people the name fits, or
/// one was found only through the other's relatives.
fn one_lead(p: &mut Scored, pe: &CandidateEvidence, m: &mut Scored, me: &CandidateEvidence) {
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
    let direct_shown =
        |s: &Scored, e: &CandidateEvidence| e.is_direct() && s.confidence >= Confidence::Probable;
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

/// The people the note may present: one for both contacts, or one per
/// contact (with the household link of a relative found through the
/// contact's owner), or the typed CPF alone.
fn chosen(
    phone: Option<(Scored, CandidateEvidence)>,
    email: Option<(Scored, CandidateEvidence)>,
    scored: &[(Scored, &CandidateEvidence)],
) -> Vec<Chosen> {
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
    best
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
