//! The note's text for what a run found: the identity lines, and what the
//! customer database holds beside each presented person (properties, an
//! earlier lead of another seller) with the lead's tier — one statement, no
//! provider call.

use chrono::Utc;

use super::context::{Discovery, LeadFacts};
use super::error::RunError;
use super::note::{
    format_identified_note, CompanyName, NoteIdentity, PersonLine, Resolution as NoteResolution,
    UnshownLine,
};
use super::setup::Pipeline;
use crate::domain::dossier::Dossier;
use crate::domain::identity::{Confidence, Contact, Unshown, Via};
use crate::domain::tier::{Assessment, Profile};
use crate::store::ledger::{Spender, CNPJ_COMPANY};
use crate::store::profile::{Beside, ForLead};

impl Pipeline {
    /// The dossiers as their people corrected them (LGPD art. 18 III): the
    /// note shows what the person showed, not the provider's old value.
    async fn corrected<'a>(
        &self,
        dossiers: &'a [Dossier],
    ) -> Result<std::borrow::Cow<'a, [Dossier]>, RunError> {
        use crate::store::subjects::corrections;
        if dossiers.is_empty() {
            return Ok(std::borrow::Cow::Borrowed(dossiers));
        }
        let cpfs: Vec<String> = dossiers.iter().map(|d| d.cpf.digits().to_owned()).collect();
        let found = corrections::for_cpfs(&self.pool, &cpfs).await?;
        if found.is_empty() {
            return Ok(std::borrow::Cow::Borrowed(dossiers));
        }
        let mut owned = dossiers.to_vec();
        for d in &mut owned {
            let theirs: Vec<corrections::Correction> = found
                .iter()
                .filter(|(cpf, _)| cpf == d.cpf.digits())
                .map(|(_, c)| c.clone())
                .collect();
            corrections::patch(d, &theirs);
        }
        Ok(std::borrow::Cow::Owned(owned))
    }

    /// The note's text for what discovery found, and the lead's tier (its
    /// one presented person's; none when nobody, or two people, are).
    pub(crate) async fn note_text(
        &self,
        facts: &LeadFacts,
        d: &Discovery,
        dossiers: &[Dossier],
        lead: ForLead<'_>,
    ) -> Result<(String, Option<Assessment>), RunError> {
        let corrected = self.corrected(dossiers).await?;
        let dossiers: &[Dossier] = &corrected;
        let resolution = match (d.persons.as_slice(), dossiers) {
            ([], _) => NoteResolution::Nobody,
            ([(_, Via::PhoneAndEmail)], [one]) => NoteResolution::SamePerson(one),
            ([(_, Via::Phone)], [one]) => NoteResolution::PhoneOnly(one),
            ([(_, Via::Email)], [one]) => NoteResolution::EmailOnly(one),
            ([(_, Via::Form)], [one]) => NoteResolution::FormCpf(one),
            ([_, _], [a, b]) => match (&facts.phone, &facts.email) {
                (Some(phone), Some(email)) => NoteResolution::DifferentPeople {
                    by_phone: (phone, a),
                    by_email: (email, b),
                },
                _ => NoteResolution::PhoneOnly(a),
            },
            _ => {
                return Err(RunError::Fatal(
                    "dossiers do not match the discovered persons".into(),
                ))
            }
        };
        let (beside, assessed) = self.profiles(dossiers, lead).await?;
        let mut names = Vec::with_capacity(dossiers.len());
        for d in dossiers {
            names.push(self.company_names(d).await);
        }
        let identity = NoteIdentity {
            persons: d
                .identities
                .iter()
                .zip(dossiers.iter().zip(beside.iter().zip(assessed.iter())))
                .zip(names)
                .map(|((i, (dossier, (b, a))), companies)| PersonLine {
                    confirmed: i.confidence == Confidence::Confirmed,
                    reasons: i.note_reasons.clone(),
                    name_differs: i.name_differs,
                    household: i.household.clone(),
                    profile: Some(a.note_line()),
                    earlier_lead: b.earlier_lead.as_ref().map(|e| {
                        (
                            crate::domain::one_line(&e.seller, 60),
                            e.since
                                .with_timezone(&super::listing::brasilia())
                                .date_naive(),
                        )
                    }),
                    properties: (b.properties, b.listed.clone()),
                    data_as_of: self.data_as_of(dossier),
                    companies,
                })
                .collect(),
            unshown: d.unshown.iter().map(unshown_line).collect(),
        };
        let text = format_identified_note(
            resolution,
            &identity,
            facts.name.as_deref(),
            &self.settings.note,
        );
        Ok((text, lead_tier(d, assessed)))
    }

    /// The lead's tier alone (a back-fill posting no notes): no note is
    /// written and no company name asked for.
    pub(crate) async fn tier_only(
        &self,
        d: &Discovery,
        dossiers: &[Dossier],
        lead: ForLead<'_>,
    ) -> Result<Option<Assessment>, RunError> {
        let (_, assessed) = self.profiles(dossiers, lead).await?;
        Ok(lead_tier(d, assessed))
    }

    /// What the customer database holds beside each presented person (one
    /// statement, no provider call), and each one's tier.
    async fn profiles(
        &self,
        dossiers: &[Dossier],
        lead: ForLead<'_>,
    ) -> Result<(Vec<Beside>, Vec<Assessment>), RunError> {
        let cpfs: Vec<brazil::Cpf> = dossiers.iter().map(|d| d.cpf.clone()).collect();
        let profile = &self.settings.profile;
        // What the database adds is never worth holding the note up: if it
        // cannot be read now, the note goes without it.
        let beside = match crate::store::profile::beside(
            &self.pool,
            &profile.ownership,
            &cpfs,
            lead,
        )
        .await
        {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "the customer database's properties and earlier leads could not be read; the note goes without them");
                crate::metrics::METRICS.event("profile_unavailable");
                vec![Beside::default(); dossiers.len()]
            }
        };
        let assessed = dossiers
            .iter()
            .zip(&beside)
            .map(|(d, b)| {
                profile.rules.assess(&Profile {
                    dossier: d,
                    income_factor: self.settings.note.income_factor,
                    properties: b.properties,
                })
            })
            .collect();
        Ok((beside, assessed))
    }

    /// The names and statuses of the companies the note lists (the first
    /// three distinct CNPJs), from the public CNPJ source through the
    /// ledger (free, cached like every outside answer). A name that cannot
    /// be had now is left out — the line keeps its CNPJ and role; a note is
    /// never held up for it.
    async fn company_names(&self, d: &Dossier) -> Vec<(String, CompanyName)> {
        let Some(client) = &self.providers.cnpj else {
            return Vec::new();
        };
        let mut cnpjs: Vec<&brazil::Cnpj> = Vec::new();
        for c in &d.companies {
            if !cnpjs.contains(&&c.cnpj) && cnpjs.len() < 3 {
                cnpjs.push(&c.cnpj);
            }
        }
        let mut out = Vec::new();
        for cnpj in cnpjs {
            let looked = self
                .ledger
                .lookup_as(CNPJ_COMPANY, cnpj.digits(), Spender::New, || {
                    client.company(cnpj)
                })
                .await;
            match looked {
                Ok(l) => {
                    let Some(info) = l.value else { continue };
                    if let Some(name) = info.display_name() {
                        out.push((
                            cnpj.digits().to_owned(),
                            CompanyName {
                                name: name.to_owned(),
                                status: info.status.clone(),
                            },
                        ));
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "a company's name could not be had; its CNPJ is shown");
                    crate::metrics::METRICS.event("company_name_unavailable");
                }
            }
        }
        out
    }

    /// The dossier's date when it is older than `NOTE_DATA_AGE_DAYS`.
    fn data_as_of(&self, d: &Dossier) -> Option<chrono::NaiveDate> {
        let at = d.fetched_at?;
        let window = chrono::Duration::from_std(self.settings.profile.data_age).ok()?;
        // No window: nothing is ever stale.
        (window > chrono::Duration::zero() && Utc::now() - at > window)
            .then(|| at.with_timezone(&super::listing::brasilia()).date_naive())
    }
}

/// The lead's tier (stored, tagged, alerted) is its person's: only when
/// exactly one person is presented, at probable or better. Two people (phone
/// and e-mail disagree) are each described in the note, but which one is the
/// lead is not known: no tier.
fn lead_tier(d: &Discovery, assessed: Vec<Assessment>) -> Option<Assessment> {
    let one = d.persons.len() == 1
        && d.identities
            .first()
            .is_some_and(|i| i.confidence >= Confidence::Probable);
    if one {
        assessed.into_iter().next()
    } else {
        None
    }
}

/// An unshown contact's line in the note.
fn unshown_line(u: &Unshown) -> UnshownLine {
    UnshownLine {
        phone: u.contact == Contact::Phone,
        initials: u.owner_initials.clone(),
        deceased: u.deceased,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::context::Identity;

    fn assessment(tier: &str) -> Assessment {
        Assessment {
            tier: tier.into(),
            score: 1,
            rules: "t".into(),
            reasons: Vec::new(),
        }
    }

    fn discovery(people: &[(Via, Confidence)]) -> Discovery {
        let cpfs = ["52998224725", "11144477735"];
        Discovery {
            persons: people
                .iter()
                .zip(cpfs)
                .map(|((via, _), c)| (brazil::Cpf::parse(c).expect("cpf"), *via))
                .collect(),
            identities: people
                .iter()
                .map(|(_, confidence)| Identity {
                    confidence: *confidence,
                    probability: 0.9,
                    reasons: String::new(),
                    note_reasons: String::new(),
                    name_differs: false,
                    household: None,
                })
                .collect(),
            assessed: true,
            ..Discovery::default()
        }
    }

    #[test]
    fn only_one_person_shown_with_enough_confidence_gives_the_lead_a_tier() {
        let one = |via, c| lead_tier(&discovery(&[(via, c)]), vec![assessment("A")]);
        assert_eq!(
            one(Via::PhoneAndEmail, Confidence::Confirmed).map(|a| a.tier),
            Some("A".into())
        );
        assert_eq!(
            one(Via::Phone, Confidence::Probable).map(|a| a.tier),
            Some("A".into())
        );
        assert_eq!(
            one(Via::Phone, Confidence::Unconfirmed),
            None,
            "not shown in full"
        );
        let two = discovery(&[
            (Via::Phone, Confidence::Confirmed),
            (Via::Email, Confidence::Confirmed),
        ]);
        assert_eq!(
            lead_tier(&two, vec![assessment("A"), assessment("D")]),
            None,
            "which one is the lead?"
        );
        assert_eq!(lead_tier(&Discovery::default(), Vec::new()), None, "nobody");
        let unassessed = Discovery {
            identities: Vec::new(),
            ..discovery(&[(Via::Phone, Confidence::Confirmed)])
        };
        assert_eq!(lead_tier(&unassessed, vec![assessment("A")]), None);
    }
}
