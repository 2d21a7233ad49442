//! The note's text for what a run found: the identity lines, and what the
//! customer database holds beside each presented person (properties, an
//! earlier lead of another seller) with the lead's tier — one statement, no
//! provider call.

use chrono::Utc;

use super::context::{Discovery, LeadFacts};
use super::error::{Cause, RunError};
use super::note::{
    format_identified_note, CompanyName, NoteIdentity, PersonLine, Resolution as NoteResolution,
    UnshownLine,
};
use super::setup::Pipeline;
use crate::domain::dossier::Dossier;
use crate::domain::identity::{Confidence, Contact, Unshown, Via};
use crate::domain::tier::{Assessment, Profile};
use crate::store::ledger::{CallKind, Spender};
use crate::store::profile::{Beside, ForLead};

/// A company's name and status by CNPJ from the public source: free (0
/// credits), kept as long as a dossier.
pub(crate) const CNPJ_COMPANY: CallKind = CallKind {
    provider: "brasilapi",
    module: "cnpj",
    credits: 0,
    dossier: true,
};

impl Pipeline {
    /// The note's text for what discovery found, and the lead's tier (the
    /// best of the presented people's; none when nobody is presented).
    pub(crate) async fn note_text(
        &self,
        facts: &LeadFacts,
        d: &Discovery,
        dossiers: &[Dossier],
        lead: ForLead<'_>,
    ) -> Result<(String, Option<Assessment>), RunError> {
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
                            e.seller.clone(),
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
        let rules = &self.settings.profile.rules;
        let tier = assessed
            .into_iter()
            .min_by_key(|a| rules.rank(&a.tier).unwrap_or(usize::MAX));
        Ok((text, tier))
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
        let beside = crate::store::profile::beside(&self.pool, &profile.ownership, &cpfs, lead)
            .await
            .map_err(|e| RunError::Retryable(Cause::of("profile", e)))?;
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

    /// The dossier's date when it is older than the freshness window.
    fn data_as_of(&self, d: &Dossier) -> Option<chrono::NaiveDate> {
        let at = d.fetched_at?;
        let window = chrono::Duration::from_std(self.settings.dossier_freshness).ok()?;
        // No window (every dossier bought anew): nothing is ever stale.
        (window > chrono::Duration::zero() && Utc::now() - at > window)
            .then(|| at.with_timezone(&super::listing::brasilia()).date_naive())
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
