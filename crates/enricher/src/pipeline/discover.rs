//! Discovery: who is behind the lead's contacts — our own records first,
//! then the providers' phone and e-mail lookups (through the ledger, paid at
//! most once) — weighed by the identity model.

use brazil::Cpf;

use super::context::{Discovery, LeadFacts};
use super::error::{fence_check, RunError};
use super::resolve::resolve;
use super::setup::{DiscoveryMode, IdentityPolicy, Pipeline};
use crate::domain::identity::{Contact, Found, Source, Via};
use crate::domain::Candidate;
use crate::store::lease::Fence;
use crate::store::ledger::{CallKind, Spender};

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
        if self.settings.discovery_mode == DiscoveryMode::Waterfall
            && policy == IdentityPolicy::Evidence
        {
            return self.discover_waterfall(facts, typed_cpf, fence).await;
        }
        let (phone_found, email_found) = tokio::join!(
            self.phone_answers(facts, fence),
            self.email_answers(facts, fence)
        );
        let (phone_found, phone_earlier) = phone_found?;
        let (email_found, email_earlier) = email_found?;
        let mut found = phone_found;
        found.extend(email_found);
        self.drop_erased(&mut found).await?;
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

    /// `DISCOVERY_MODE=waterfall`: our own records, then one paid source at a
    /// time in the order of `DISCOVERY_SOURCES`, identifying after each; it
    /// stops at the first source after which someone is `confirmed`. Fewer
    /// paid calls than asking every source at once, more rounds of latency.
    async fn discover_waterfall(
        &self,
        facts: &LeadFacts,
        typed_cpf: Option<&Cpf>,
        fence: &Fence,
    ) -> Result<Discovery, RunError> {
        let email_enabled = self.settings.discovery.contains(&Source::DiretrixEmail);
        let (own_phone, own_email) = tokio::join!(self.own_answers(facts, Contact::Phone), async {
            if email_enabled {
                self.own_answers(facts, Contact::Email).await
            } else {
                Ok(None)
            }
        });
        let (mut found, mut earlier) = (Vec::new(), Vec::new());
        let mut ask = |contact: Contact, own: Option<(Vec<Found>, Vec<Candidate>)>| match own {
            Some((f, e)) => {
                found.extend(f);
                earlier.extend(e.into_iter().map(|c| (contact, c)));
                false
            }
            None => true,
        };
        let ask_phone = facts.phone.is_some() && ask(Contact::Phone, own_phone?);
        let ask_email = email_enabled && facts.email.is_some() && ask(Contact::Email, own_email?);
        self.drop_erased(&mut found).await?;
        let mut d = self
            .identify_people(facts, &found, &earlier, typed_cpf, fence)
            .await?;
        for src in &self.settings.discovery {
            if confirmed(&d) {
                break;
            }
            let asked = match src {
                Source::DiretrixPhone | Source::WorkApiPhone => ask_phone,
                Source::DiretrixEmail => ask_email,
                _ => false,
            };
            if !asked {
                continue;
            }
            fence_check(fence)?;
            let mut more = self.source_answers(facts, *src, fence.spender).await?;
            if more.is_empty() {
                continue;
            }
            self.drop_erased(&mut more).await?;
            found.extend(more);
            d = self
                .identify_people(facts, &found, &earlier, typed_cpf, fence)
                .await?;
        }
        Ok(d)
    }

    /// Leaves out an erased person the lookups still name (they came back
    /// with a new contact): not a candidate — no dossier bought, nothing stored.
    async fn drop_erased(&self, found: &mut Vec<Found>) -> Result<(), RunError> {
        let named: Vec<Cpf> = found.iter().map(|f| f.candidate.cpf.clone()).collect();
        if named.is_empty() {
            return Ok(());
        }
        let erased = crate::store::erasure::erased_cpfs(&self.pool, &self.ledger, &named).await?;
        if !erased.is_empty() {
            crate::metrics::METRICS.event("erased_subject_candidate");
            found.retain(|f| !erased.contains(&f.candidate.cpf));
        }
        Ok(())
    }

    /// One paid source's candidates for the lead's contact (through the
    /// ledger); none when the lead lacks that contact.
    async fn source_answers(
        &self,
        facts: &LeadFacts,
        src: Source,
        spender: Spender,
    ) -> Result<Vec<Found>, RunError> {
        let p = &self.providers;
        let empty_none = |v: Vec<Candidate>| (!v.is_empty()).then_some(v);
        let looked = match (src, &facts.phone, &facts.email) {
            (Source::DiretrixPhone, Some(phone), _) => {
                self.ledger
                    .lookup_as(DIRETRIX_PHONE, phone.national(), spender, || async {
                        p.diretrix.by_phone(phone).await.map(empty_none)
                    })
                    .await?
            }
            (Source::WorkApiPhone, Some(phone), _) => {
                self.ledger
                    .lookup_as(WORK_PHONE, phone.national(), spender, || async {
                        p.work_api.by_phone(phone).await.map(empty_none)
                    })
                    .await?
            }
            (Source::DiretrixEmail, _, Some(email)) => {
                self.ledger
                    .lookup_as(DIRETRIX_EMAIL, email.as_str(), spender, || async {
                        p.diretrix.by_email(email).await.map(empty_none)
                    })
                    .await?
            }
            _ => return Ok(Vec::new()),
        };
        let by_phone = src != Source::DiretrixEmail;
        Ok(looked
            .value
            .unwrap_or_default()
            .into_iter()
            .map(|c| {
                if by_phone {
                    Found::phone(c, src)
                } else {
                    Found::email(c, src)
                }
            })
            .collect())
    }

    /// The phone's candidates: our own free answers if any qualify, else the
    /// providers' (through the ledger); and people confirmed for it before.
    async fn phone_answers(
        &self,
        facts: &LeadFacts,
        fence: &Fence,
    ) -> Result<(Vec<Found>, Vec<Candidate>), RunError> {
        if facts.phone.is_none() {
            return Ok((Vec::new(), Vec::new()));
        }
        if let Some(own) = self.own_answers(facts, Contact::Phone).await? {
            return Ok(own);
        }
        fence_check(fence)?;
        let enabled = |src: Source| self.settings.discovery.contains(&src);
        let ask = |src: Source| async move {
            if enabled(src) {
                self.source_answers(facts, src, fence.spender).await
            } else {
                Ok(Vec::new())
            }
        };
        let (d, w) = tokio::join!(ask(Source::DiretrixPhone), ask(Source::WorkApiPhone));
        let (mut d, mut w) = (Some(d?), Some(w?));
        // In the order of preference.
        let mut out: Vec<Found> = Vec::new();
        for src in &self.settings.discovery {
            out.extend(
                match src {
                    Source::DiretrixPhone => d.take(),
                    Source::WorkApiPhone => w.take(),
                    _ => None,
                }
                .unwrap_or_default(),
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
        if facts.email.is_none() || !self.settings.discovery.contains(&Source::DiretrixEmail) {
            return Ok((Vec::new(), Vec::new()));
        }
        if let Some(own) = self.own_answers(facts, Contact::Email).await? {
            return Ok(own);
        }
        fence_check(fence)?;
        let found = self
            .source_answers(facts, Source::DiretrixEmail, fence.spender)
            .await?;
        Ok((found, Vec::new()))
    }
}

/// What a paid discovery source's lookup is, for the ledger.
pub(crate) fn source_kind(src: Source) -> Option<CallKind> {
    match src {
        Source::DiretrixPhone => Some(DIRETRIX_PHONE),
        Source::WorkApiPhone => Some(WORK_PHONE),
        Source::DiretrixEmail => Some(DIRETRIX_EMAIL),
        _ => None,
    }
}

/// Someone is `confirmed` among the people presented.
fn confirmed(d: &Discovery) -> bool {
    d.identities
        .iter()
        .any(|i| i.confidence == crate::domain::identity::Confidence::Confirmed)
}
