//! Discovery: who is behind the lead's contacts — our own records first,
//! then the providers' phone and e-mail lookups (through the ledger, paid at
//! most once) — weighed by the identity model.

use brazil::Cpf;

use super::context::{Discovery, LeadFacts};
use super::error::{fence_check, RunError};
use super::resolve::resolve;
use super::setup::{IdentityPolicy, Pipeline};
use crate::domain::identity::{Contact, Found, Source, Via};
use crate::domain::Candidate;
use crate::store::lease::Fence;
use crate::store::ledger::{CallKind, LedgerError};

const DIRETRIX_PHONE: CallKind = CallKind {
    provider: "diretrix",
    module: "phone",
    credits: 1,
    dossier: false,
};
const DIRETRIX_EMAIL: CallKind = CallKind {
    provider: "diretrix",
    module: "email",
    credits: 1,
    dossier: false,
};
const WORK_PHONE: CallKind = CallKind {
    provider: "work_api",
    module: "phone",
    credits: 1,
    dossier: false,
};
impl Pipeline {
    pub(crate) async fn discover_step(
        &self,
        facts: &LeadFacts,
        fence: &Fence,
    ) -> Result<Discovery, RunError> {
        self.discover_with(facts, None, fence).await
    }

    /// Discovery (own records first, then the providers) and identification;
    /// `typed_cpf` is a CPF the customer typed in a form, weighed as evidence.
    pub(crate) async fn discover_with(
        &self,
        facts: &LeadFacts,
        typed_cpf: Option<&Cpf>,
        fence: &Fence,
    ) -> Result<Discovery, RunError> {
        let policy = self.settings.identity_policy;
        let (phone_found, email_found) = tokio::join!(
            self.phone_answers(facts, fence),
            self.email_answers(facts, fence)
        );
        let (phone_found, phone_earlier) = phone_found?;
        let (email_found, email_earlier) = email_found?;
        let mut found = phone_found;
        found.extend(email_found);
        // An erased person the lookups still name (they came back with a new
        // contact): not a candidate — no dossier bought, nothing stored.
        let named: Vec<Cpf> = found.iter().map(|f| f.candidate.cpf.clone()).collect();
        let erased = crate::store::erasure::erased_cpfs(&self.pool, &self.ledger, &named).await?;
        if !erased.is_empty() {
            crate::metrics::METRICS.event("erased_subject_candidate");
            found.retain(|f| !erased.contains(&f.candidate.cpf));
        }
        match policy {
            IdentityPolicy::Evidence => {
                let earlier: Vec<(Contact, Candidate)> = phone_earlier
                    .into_iter()
                    .map(|c| (Contact::Phone, c))
                    .chain(email_earlier.into_iter().map(|c| (Contact::Email, c)))
                    .collect();
                self.identify_people(facts, &found, &earlier, typed_cpf, fence)
                    .await
            }
            IdentityPolicy::PreviousRelease => {
                let r = resolve(&found, facts.name.as_deref());
                Ok(Discovery {
                    persons: r.persons,
                    decisions: r.decisions,
                    ..Discovery::default()
                })
            }
            IdentityPolicy::FirstPhoneResult => {
                let first = found
                    .iter()
                    .find(|f| f.by_phone)
                    .map(|f| (f.candidate.cpf.clone(), Via::Phone))
                    .or_else(|| found.first().map(|f| (f.candidate.cpf.clone(), Via::Email)));
                Ok(Discovery {
                    persons: first.into_iter().collect(),
                    ..Discovery::default()
                })
            }
        }
    }

    /// The phone's candidates: our own free answers if any qualify, else the
    /// providers' (through the ledger); and people confirmed for it before.
    async fn phone_answers(
        &self,
        facts: &LeadFacts,
        fence: &Fence,
    ) -> Result<(Vec<Found>, Vec<Candidate>), RunError> {
        let Some(phone) = &facts.phone else {
            return Ok((Vec::new(), Vec::new()));
        };
        if let Some(own) = self.own_answers(facts, Contact::Phone).await? {
            return Ok(own);
        }
        fence_check(fence)?;
        let p = &self.providers;
        let empty_none = |v: Vec<Candidate>| (!v.is_empty()).then_some(v);
        let enabled = |src: Source| self.settings.discovery.contains(&src);
        let (d, w) = tokio::join!(
            async {
                if !enabled(Source::DiretrixPhone) {
                    return Ok(Vec::new());
                }
                let looked = self
                    .ledger
                    .lookup(DIRETRIX_PHONE, phone.national(), || async {
                        p.diretrix.by_phone(phone).await.map(empty_none)
                    })
                    .await?;
                Ok::<_, LedgerError>(looked.value.unwrap_or_default())
            },
            async {
                if !enabled(Source::WorkApiPhone) {
                    return Ok(Vec::new());
                }
                let looked = self
                    .ledger
                    .lookup(WORK_PHONE, phone.national(), || async {
                        p.work_api.by_phone(phone).await.map(empty_none)
                    })
                    .await?;
                Ok::<_, LedgerError>(looked.value.unwrap_or_default())
            },
        );
        let (mut d, mut w) = (Some(d?), Some(w?));
        let mut out: Vec<Found> = Vec::new();
        for src in &self.settings.discovery {
            let batch = match src {
                Source::DiretrixPhone => d.take(),
                Source::WorkApiPhone => w.take(),
                _ => None,
            };
            out.extend(
                batch
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| Found::phone(c, *src)),
            );
        }
        Ok((out, Vec::new()))
    }

    /// The e-mail's candidates, as [`Self::phone_answers`].
    async fn email_answers(
        &self,
        facts: &LeadFacts,
        fence: &Fence,
    ) -> Result<(Vec<Found>, Vec<Candidate>), RunError> {
        let Some(email) = &facts.email else {
            return Ok((Vec::new(), Vec::new()));
        };
        if !self.settings.discovery.contains(&Source::DiretrixEmail) {
            return Ok((Vec::new(), Vec::new()));
        }
        if let Some(own) = self.own_answers(facts, Contact::Email).await? {
            return Ok(own);
        }
        fence_check(fence)?;
        let p = &self.providers;
        let d = self
            .ledger
            .lookup(DIRETRIX_EMAIL, email.as_str(), || async {
                p.diretrix
                    .by_email(email)
                    .await
                    .map(|v| (!v.is_empty()).then_some(v))
            })
            .await?;
        let found = d
            .value
            .unwrap_or_default()
            .into_iter()
            .map(|c| Found::email(c, Source::DiretrixEmail))
            .collect();
        Ok((found, Vec::new()))
    }
}
