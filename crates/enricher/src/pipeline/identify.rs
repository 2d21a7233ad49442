//! Identification in the pipeline: the evidence model of
//! `domain::identity` fed with what discovery found, our own records, and the
//! dossiers of the leading candidates (bought through the ledger at most once,
//! shown only when the candidate proves to be the lead).
//!
//! 1. Own database first, done right: a stored person is a free answer only
//!    when the lead's name agrees with them, or the same contact was resolved
//!    to them before with `confirmed`; otherwise the providers are asked.
//! 2. The best candidate of each contact has its dossier checked (deceased,
//!    registration, its own contacts, its relatives). When the number's owner
//!    is not the lead but a relative in the owner's dossier agrees with the
//!    lead's name, that relative becomes a candidate linked through the owner
//!    (a household phone) and is checked in turn.
//! 3. Only people at `IDENTITY_MIN_CONFIDENCE` or above are presented; the
//!    others become a minimal line (initials) and are not linked to the lead.

use std::collections::BTreeSet;

use brazil::Cpf;

use super::context::{candidates, Discovery, Identity, LeadFacts};
use super::error::RunError;
use super::setup::{IdentityPolicy, Pipeline};
use crate::domain::dossier::Dossier;
use crate::domain::identity::{
    identify, owner_relation_pt, reasons_en, reasons_pt, registered_owner, CandidateEvidence,
    Chosen, Confidence, Contact, Decision, DossierSignals, EvidenceSet, Found, Via, WEIGHTS,
};
use crate::domain::Candidate;
use crate::store::people::{self, ContactRef};

/// Most dossier checks per lead (owner and relative, for each contact).
const MAX_CHECKS: usize = 4;

fn signals(d: &Dossier, facts: &LeadFacts) -> DossierSignals {
    let status = d
        .registration_status
        .as_deref()
        .map(brazil::normalize_name)
        .unwrap_or_default();
    let irregular = ["SUSPENSA", "CANCELADA", "NULA", "FALECID", "PENDENTE"]
        .iter()
        .any(|bad| status.contains(bad));
    DossierSignals {
        name: d.name.clone(),
        female: d.sex.map(|s| s == 'F'),
        deceased: d.deceased == Some(true),
        irregular,
        lists_phone: lists_phone(d, facts),
        lists_email: lists_email(d, facts),
        relatives: d
            .relatives
            .iter()
            .map(|r| (r.cpf.clone(), r.name.clone(), r.degree.clone()))
            .collect(),
    }
}

/// The dossier lists the lead's phone among the person's own.
pub(crate) fn lists_phone(d: &Dossier, facts: &LeadFacts) -> bool {
    facts
        .phone
        .as_ref()
        .is_some_and(|p| d.phones.iter().any(|x| &x.phone == p))
}

/// The dossier lists the lead's e-mail among the person's own.
pub(crate) fn lists_email(d: &Dossier, facts: &LeadFacts) -> bool {
    facts
        .email
        .as_ref()
        .is_some_and(|e| d.emails.iter().any(|x| &x.email == e))
}

/// The lead's name agrees with a stored person's (for own-database-first).
fn name_agrees(lead: Option<&str>, stored: Option<&str>) -> bool {
    matches!((lead, stored), (Some(l), Some(s)) if brazil::compare_names(l, s).agrees())
}

impl Pipeline {
    /// Free answers for a contact from our own records: people confirmed for
    /// it before, and stored people listing it whose name agrees with the lead.
    /// Stored people whose names do not agree are not answers (dossiers list
    /// relatives', old and shared numbers). `None`: no free answer, ask the
    /// providers (always, for the earlier service's policy, which had none).
    pub(crate) async fn own_answers(
        &self,
        facts: &LeadFacts,
        contact: Contact,
    ) -> Result<Option<(Vec<Found>, Vec<Candidate>)>, RunError> {
        if self.settings.identity_policy == IdentityPolicy::FirstPhoneResult {
            return Ok(None);
        }
        let known = match (contact, &facts.phone, &facts.email) {
            (Contact::Phone, Some(p), _) => ContactRef::Phone(p),
            (Contact::Email, _, Some(e)) => ContactRef::Email(e),
            _ => return Ok(None),
        };
        let (listed, confirmed) = self.known_for(known).await?;
        if self.settings.identity_policy == IdentityPolicy::PreviousRelease {
            let found = listed
                .into_iter()
                .map(|c| found_for(contact, c, crate::domain::identity::Source::Database));
            let found: Vec<Found> = found.collect();
            return Ok((!found.is_empty()).then_some((found, Vec::new())));
        }
        let found = listed
            .into_iter()
            .filter(|c| name_agrees(facts.name.as_deref(), c.name.as_deref()))
            .map(|c| found_for(contact, c, crate::domain::identity::Source::Database))
            .collect::<Vec<_>>();
        Ok((!found.is_empty() || !confirmed.is_empty()).then_some((found, confirmed)))
    }

    /// People enriched recently who list the contact, and people an
    /// earlier lead confirmed for it.
    async fn known_for(
        &self,
        contact: ContactRef<'_>,
    ) -> Result<(Vec<Candidate>, Vec<Candidate>), RunError> {
        let fresh = self.settings.dossier_freshness;
        let known = people::known_for(&self.pool, contact, fresh).await?;
        Ok((candidates(known.listed), candidates(known.confirmed)))
    }

    /// Weighs the evidence, checking the leading candidates' dossiers, and
    /// decides who is presented.
    pub(crate) async fn identify_people(
        &self,
        facts: &LeadFacts,
        found: &[Found],
        earlier: &[(Contact, Candidate)],
        typed_cpf: Option<&Cpf>,
        fence: &crate::store::lease::Fence,
    ) -> Result<Discovery, RunError> {
        let mut set = EvidenceSet::new(facts.name.as_deref());
        for f in found {
            set.add_found(f);
        }
        for (contact, c) in earlier {
            set.add_earlier_confirmed(*contact, c);
        }
        if let Some(cpf) = typed_cpf {
            set.add_typed_cpf(cpf);
        }
        let mut decisions: Vec<Decision> = Vec::new();
        let in_hand = self
            .check_leading(&mut set, facts, fence, &mut decisions)
            .await?;
        let mut d = self.present(&set, typed_cpf, decisions);
        d.in_hand = super::context::InHand(in_hand);
        Ok(d)
    }

    /// Checks the dossiers of the leading candidates (at most `MAX_CHECKS`,
    /// identifying again after each round: a relative found in a dossier
    /// may lead next). A CPF without a dossier drops out. Returns the
    /// dossiers it read.
    async fn check_leading(
        &self,
        set: &mut EvidenceSet,
        facts: &LeadFacts,
        fence: &crate::store::lease::Fence,
        decisions: &mut Vec<Decision>,
    ) -> Result<Vec<Dossier>, RunError> {
        let mut checked: BTreeSet<Cpf> = BTreeSet::new();
        let mut read = Vec::new();
        let preference = &self.settings.discovery;
        while checked.len() < MAX_CHECKS {
            let id = identify(set, preference, &WEIGHTS);
            let pending: Vec<Cpf> = id
                .best
                .iter()
                .map(|c| c.scored.cpf.clone())
                .filter(|c| !checked.contains(c))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if pending.is_empty() {
                break;
            }
            // The round's dossiers are asked for together (the phone's and
            // the e-mail's leading people: one provider round, not two).
            let answers =
                futures_util::future::join_all(pending.iter().map(|cpf| self.dossier(cpf, fence)))
                    .await;
            for (cpf, answer) in pending.into_iter().zip(answers) {
                checked.insert(cpf.clone());
                match answer {
                    Ok(d) => {
                        set.add_dossier(&cpf, signals(&d, facts));
                        read.push(d);
                    }
                    // A discovered CPF the Work API has no dossier for.
                    Err(RunError::Fatal(_)) => {
                        set.candidates.remove(&cpf);
                        decisions.push(Decision {
                            cpf_masked: cpf.masked(),
                            chosen: false,
                            reason: "no dossier for this CPF".into(),
                        });
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(read)
    }

    /// Who is presented (at the minimum confidence or above), the lines for
    /// contacts whose owner is not, and every candidate's decision.
    fn present(
        &self,
        set: &EvidenceSet,
        typed_cpf: Option<&Cpf>,
        mut decisions: Vec<Decision>,
    ) -> Discovery {
        let preference = &self.settings.discovery;
        let id = identify(set, preference, &WEIGHTS);
        let min = self.settings.identity_min_confidence;
        let mut d = Discovery {
            assessed: true,
            ..Discovery::default()
        };
        let mut shown: BTreeSet<Cpf> = BTreeSet::new();
        for chosen in &id.best {
            let s = &chosen.scored;
            let contacts: Vec<Contact> = match chosen.via {
                Via::PhoneAndEmail => vec![Contact::Phone, Contact::Email],
                Via::Email => vec![Contact::Email],
                _ => vec![Contact::Phone],
            };
            crate::metrics::METRICS.event(match s.confidence {
                Confidence::Confirmed => "identity_confirmed",
                Confidence::Probable => "identity_probable",
                Confidence::Unconfirmed => "identity_unconfirmed",
            });
            if s.confidence < min {
                for contact in contacts {
                    if let Some(u) = registered_owner(set, &id, contact) {
                        d.unshown.push(u);
                    }
                }
                continue;
            }
            let Some(e) = set.candidates.get(&s.cpf) else {
                continue;
            };
            let (via, identity) = presented(set, chosen, e, typed_cpf);
            shown.insert(s.cpf.clone());
            d.persons.push((s.cpf.clone(), via));
            d.identities.push(identity);
            decisions.push(Decision {
                cpf_masked: s.cpf.masked(),
                chosen: true,
                reason: reasons_en(s),
            });
        }
        // The same owner can stand behind both contacts: one line each is
        // still right (the note says which contact), but not twice the same.
        d.unshown.dedup_by(|a, b| a.contact == b.contact);
        for s in &id.scored {
            if !shown.contains(&s.cpf) {
                decisions.push(Decision {
                    cpf_masked: s.cpf.masked(),
                    chosen: false,
                    reason: reasons_en(s),
                });
            }
        }
        d.decisions = decisions;
        d
    }
}

/// How a presented person was found, and what the identity model says of
/// them (a household phone's owner by initials and relation only).
fn presented(
    set: &EvidenceSet,
    chosen: &Chosen,
    e: &CandidateEvidence,
    typed_cpf: Option<&Cpf>,
) -> (Via, Identity) {
    let s = &chosen.scored;
    let household = chosen.household.as_ref().map(|h| {
        let owner_female = set
            .candidates
            .get(&h.owner)
            .and_then(|o| o.dossier.as_ref())
            .and_then(|o| o.female);
        (
            brazil::initials(&h.owner_name),
            owner_relation_pt(h.degree.as_deref(), owner_female).to_owned(),
        )
    });
    let via = if typed_cpf == Some(&s.cpf) {
        Via::Form
    } else {
        chosen.via
    };
    let identity = Identity {
        confidence: s.confidence,
        probability: s.probability,
        reasons: reasons_en(s),
        note_reasons: reasons_pt(s, e, household.is_some()),
        name_differs: s.comparison.as_ref().is_some_and(|n| !n.agrees()),
        household,
    };
    (via, identity)
}

fn found_for(contact: Contact, c: Candidate, source: crate::domain::identity::Source) -> Found {
    match contact {
        Contact::Phone => Found::phone(c, source),
        Contact::Email => Found::email(c, source),
    }
}
