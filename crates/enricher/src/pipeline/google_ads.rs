//! A Google Ads form lead: the same discovery, dossier and store steps as a C2S
//! lead, ending by creating the C2S lead (the note goes into its description).
//!
//! Steps, persisted in `enrich.google_ads_leads`: discover → dossier → store →
//! create → done. Creating is not idempotent at C2S, so it is tracked
//! `none → creating → created`: a retry that finds `creating` (the previous
//! answer was lost or unclear) first looks the lead up by its reference line
//! and only creates it when C2S does not have it.

use serde::Serialize;
use uuid::Uuid;

use super::context::{lead_context, Discovery, LeadFacts, RunContext};
use super::error::{fence_check, unreadable, Cause, RunError};
use super::resolve::Decision;
use super::setup::Pipeline;
use super::steps::{timed, Advanced, Step, Track};
use crate::domain::dossier::Dossier;
use crate::domain::google_ads::{description, form_contacts, reference_line, Answer, FormContacts};
use crate::domain::lead::LeadId;
use crate::domain::products::{AdIds, Product};
use crate::providers::c2s::{LeadQuery, NewLead};
use crate::providers::ProviderError;
use crate::store::google_ads::{self, Created, CreatedLead};
use crate::store::lease::Fence;

/// The `source` C2S shows for these leads.
pub const SOURCE: &str = "Google Ads";

/// How a Google Ads lead ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoogleOutcome {
    pub google_lead_id: String,
    pub persons: usize,
    pub entity_ids: Vec<Uuid>,
    pub c2s_lead_id: Option<String>,
    pub outcome: String,
}

/// A typed CPF is the form's person when its dossier's name agrees with the
/// form's name, or it lists the form's phone or e-mail.
fn typed_cpf_fits(d: &Dossier, facts: &LeadFacts) -> bool {
    let named = facts
        .name
        .as_deref()
        .is_some_and(|n| brazil::compare_names(n, &d.name).agrees());
    named || super::identify::lists_phone(d, facts) || super::identify::lists_email(d, facts)
}

/// The Google Ads track (see [`Track`]): a form, its contacts, and whether
/// the person who filled it in was erased.
struct Form<'a> {
    google_lead_id: &'a str,
    contacts: &'a FormContacts,
    erased: bool,
}

impl Track for Form<'_> {
    const FIRST: Step = Step::Discover;
    const DELIVER: Step = Step::Create;

    fn linked_lead(&self) -> Option<&LeadId> {
        None
    }

    async fn discover(
        &self,
        p: &Pipeline,
        ctx: &mut RunContext,
        facts: &LeadFacts,
        fence: &Fence,
    ) -> Result<Discovery, RunError> {
        if self.erased {
            // An erased person filled in the form: the lead is created in C2S
            // as they asked, but nothing is looked up or kept about them.
            crate::metrics::METRICS.event("erased_subject_lead");
            return Ok(Discovery::default());
        }
        let discovery = p
            .discover_form(self.contacts.cpf.as_ref(), facts, fence)
            .await?;
        ctx.lead = Some(facts.clone());
        Ok(discovery)
    }

    async fn record(
        &self,
        p: &Pipeline,
        next: Step,
        context: serde_json::Value,
        fence: &Fence,
    ) -> Result<bool, sqlx::Error> {
        let job = fence.job.as_ref().map(|(id, w)| (*id, w.as_str()));
        google_ads::save_step(&p.pool, self.google_lead_id, next.as_str(), context, job).await
    }
}

/// The C2S lead to create for a form: its description, where an earlier
/// attempt left it (`creating`: look for it first), and its product.
struct NewC2sLead<'a> {
    description: &'a str,
    c2s_status: &'a str,
    product: Option<&'a Product>,
}

impl Pipeline {
    /// Runs (or resumes) a recorded Google Ads lead to its C2S lead.
    /// `fence`: raised when the job's lease is lost (the run then stops
    /// before its next outside effect).
    #[tracing::instrument(name = "google_ads_lead", skip_all, fields(google_lead_id = %google_lead_id))]
    // Longer than 70 lines on purpose: The Google Ads track from end to end, its steps in order; the shared ones are `advance`.
    pub async fn process_google(
        &self,
        google_lead_id: &str,
        fence: &Fence,
    ) -> Result<GoogleOutcome, RunError> {
        let Some(recorded) = google_ads::progress(&self.pool, google_lead_id).await? else {
            return Err(RunError::Fatal("unknown Google Ads lead".into()));
        };
        let answers: Vec<Answer> =
            serde_json::from_value(recorded.answers).map_err(|e| unreadable("form answers", &e))?;
        let mut ctx = RunContext::read(recorded.context)?;
        if recorded.state == "test_recorded" {
            return Ok(GoogleOutcome {
                google_lead_id: google_lead_id.to_owned(),
                persons: 0,
                entity_ids: Vec::new(),
                c2s_lead_id: None,
                outcome: "test_recorded".into(),
            });
        }
        let contacts = form_contacts(&answers);
        let facts = LeadFacts {
            name: contacts.name.clone(),
            phone: contacts.phone.clone(),
            email: contacts.email.clone(),
            dropped: contacts.dropped.clone(),
            lead_updated_at: None,
            seller: super::context::Seller::default(),
            withhold_note: false,
        };
        let erased = self.form_erased(&contacts).await?;
        let track = Form {
            google_lead_id,
            contacts: &contacts,
            erased,
        };
        let step = Step::recorded::<Form>(&recorded.step)?;
        let Advanced {
            step,
            discovery,
            dossiers,
        } = self.advance(&track, step, &mut ctx, &facts, fence).await?;
        let outcome = if discovery.persons.is_empty() {
            "nobody_found"
        } else {
            "enriched"
        };
        let mut c2s_lead_id = recorded.c2s_lead_id;
        if step == Step::Create {
            let for_lead = crate::store::profile::ForLead {
                lead: google_lead_id,
                seller_id: self.settings.google_ads.seller_id.as_deref(),
                seller_name: None,
            };
            let (note, tier) = self
                .note_text(&facts, &discovery, &dossiers, for_lead)
                .await?;
            let shown = shown_answers(&answers, contacts.cpf.as_ref(), &discovery);
            let text = description(
                google_lead_id,
                &note,
                &shown,
                self.settings.google_ads.description_max_chars,
            );
            let ids = AdIds {
                campaign_id: recorded.campaign_id.as_deref(),
                adgroup_id: recorded.adgroup_id.as_deref(),
                form_id: recorded.form_id.as_deref(),
            };
            let product = self.settings.google_ads.products.find(ids);
            if product.is_none() {
                // Recorded (product_ref stays NULL) and counted: an ad to map.
                tracing::warn!(campaign_id = ?ids.campaign_id, adgroup_id = ?ids.adgroup_id, form_id = ?ids.form_id,
                    "no product is mapped for this ad (GOOGLE_ADS_PRODUCTS_FILE); the C2S lead is created without one");
                crate::metrics::METRICS.event("google_ads_unmapped_ad");
            }
            fence_check(fence)?;
            let new = NewC2sLead {
                description: &text,
                c2s_status: &recorded.c2s_status,
                product,
            };
            let id = timed(
                "create",
                self.create_c2s_lead(google_lead_id, &facts, &new, fence),
            )
            .await?;
            crate::metrics::METRICS.event("c2s_lead_created");
            // Erased while C2S created the lead: it is theirs, but what they
            // typed is not kept.
            let erased = erased || self.form_erased(&contacts).await?;
            let created = Created {
                google_lead_id,
                c2s_lead_id: &id,
                description: &text,
                outcome,
                lead: created_lead(&id, &ctx, &discovery, tier)?,
                forget: erased,
            };
            google_ads::finish(&self.pool, &created).await?;
            c2s_lead_id = Some(id);
        }
        // The created lead's tag and alerts, each once (also on a run
        // resumed after a refused delivery).
        if let Some(lead) = c2s_lead_id.as_deref().and_then(|i| LeadId::parse(i).ok()) {
            timed("deliver", self.deliver_step(&lead, fence)).await?;
        }
        Ok(GoogleOutcome {
            google_lead_id: google_lead_id.to_owned(),
            persons: discovery.persons.len(),
            entity_ids: ctx.entity_ids,
            c2s_lead_id,
            outcome: outcome.into(),
        })
    }

    /// The person who filled in the form (by the CPF they typed, or their
    /// contacts) was erased.
    async fn form_erased(&self, contacts: &FormContacts) -> Result<bool, RunError> {
        Ok(crate::store::erasure::is_erased_subject(
            &self.pool,
            &self.ledger,
            contacts.cpf.as_ref(),
            contacts.phone.as_slice(),
            contacts.email.as_ref(),
        )
        .await?)
    }

    /// Discovery for a form: a typed CPF counts only when its dossier fits
    /// the form; otherwise (or without one) the contacts' discovery.
    async fn discover_form(
        &self,
        typed: Option<&brazil::Cpf>,
        facts: &LeadFacts,
        fence: &Fence,
    ) -> Result<Discovery, RunError> {
        let Some(cpf) = typed else {
            return self.discover_step(facts, fence).await;
        };
        let ignored = match self.dossier(cpf, fence).await {
            // Anyone can type anyone's CPF in a public form: it counts
            // only when its dossier names the person who filled it in,
            // or lists the form's phone or e-mail.
            Ok(d) if typed_cpf_fits(&d, facts) => {
                return self
                    .identify_people(facts, &[], &[], Some(cpf), fence)
                    .await;
            }
            Ok(_) => {
                crate::metrics::METRICS.event("typed_cpf_ignored");
                "typed in the form, but its dossier matches neither the form's name nor its phone or e-mail; ignored"
            }
            // A well-formed CPF nobody has (a typo): fall back to the contacts.
            Err(RunError::Fatal(_)) => "typed in the form, unknown to the Work API",
            Err(e) => return Err(e),
        };
        let mut d = self.discover_step(facts, fence).await?;
        d.decisions.push(Decision {
            cpf_masked: cpf.masked(),
            chosen: false,
            reason: ignored.into(),
        });
        Ok(d)
    }

    /// Creates the C2S lead once. After an unclear previous attempt
    /// (`creating`), adopts the lead C2S already has, if any.
    async fn create_c2s_lead(
        &self,
        google_lead_id: &str,
        facts: &LeadFacts,
        lead: &NewC2sLead<'_>,
        fence: &Fence,
    ) -> Result<String, RunError> {
        let c2s = &self.providers.c2s;
        let description = lead.description;
        if lead.c2s_status == "creating" {
            if let Some(found) = self.find_created(google_lead_id, facts).await? {
                tracing::info!("the C2S lead of an earlier, unclear attempt exists; adopting it");
                return Ok(found);
            }
        }
        // Only while the job is still ours (an erasure may have cancelled it).
        let job = fence.job.as_ref().map(|(id, w)| (*id, w.as_str()));
        let product_ref = lead
            .product
            .map(|p| p.reference.as_deref().unwrap_or(&p.description));
        if !google_ads::mark_creating(&self.pool, google_lead_id, description, job, product_ref)
            .await?
        {
            return Err(RunError::LeaseLost);
        }
        let new = NewLead {
            name: facts
                .name
                .clone()
                .unwrap_or_else(|| "Lead Google Ads".into()),
            phone: facts.phone.as_ref().map(|p| p.e164()),
            email: facts.email.as_ref().map(|e| e.as_str().to_owned()),
            description: description.to_owned(),
            source: SOURCE.into(),
            seller_id: self.settings.google_ads.seller_id.clone(),
            product: lead.product.cloned(),
        };
        Ok(c2s.create_lead(&new).await?)
    }

    /// Looks for a lead whose description starts with our reference line,
    /// among C2S's leads with the form's phone or e-mail (newest first).
    async fn find_created(
        &self,
        google_lead_id: &str,
        facts: &LeadFacts,
    ) -> Result<Option<String>, RunError> {
        let reference = reference_line(google_lead_id);
        let mut query = LeadQuery {
            page: 1,
            perpage: 50,
            sort: Some("-created_at".into()),
            ..LeadQuery::default()
        };
        if let Some(p) = &facts.phone {
            query.phone = Some(p.national().to_owned());
        } else if let Some(e) = &facts.email {
            query.email = Some(e.as_str().to_owned());
        } else {
            query.created_gte = Some(
                (chrono::Utc::now() - chrono::Duration::days(2))
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string(),
            );
        }
        for page in 1..=5 {
            query.page = page;
            let found = match self.providers.c2s.list_leads(&query).await {
                Ok(found) => found,
                Err(ProviderError::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            if let Some(lead) = found.leads.iter().find(|l| {
                l.description
                    .as_deref()
                    .is_some_and(|d| d.trim_start().starts_with(&reference))
            }) {
                return Ok(Some(lead.id.to_string()));
            }
            if found.leads.len() < query.perpage as usize {
                break;
            }
        }
        Ok(None)
    }
}

/// A typed CPF that did not prove to be the form's person is not written
/// into the CRM in clear.
fn shown_answers(answers: &[Answer], typed: Option<&brazil::Cpf>, d: &Discovery) -> Vec<Answer> {
    match typed {
        Some(cpf) if !d.persons.iter().any(|(c, _)| c == cpf) => answers
            .iter()
            .map(|a| match brazil::Cpf::parse(a.value.trim()) {
                Ok(c) if &c == cpf => Answer {
                    value: cpf.masked(),
                    ..a.clone()
                },
                _ => a.clone(),
            })
            .collect(),
        _ => answers.to_vec(),
    }
}

/// When C2S's id is a lead id: that lead's own record — done, its note (the
/// description) sent, so C2S's webhooks for it cost nothing and post no
/// second note — with the people found linked to it.
fn created_lead(
    c2s_lead_id: &str,
    ctx: &RunContext,
    discovery: &Discovery,
    tier: Option<crate::domain::tier::Assessment>,
) -> Result<Option<CreatedLead>, RunError> {
    let Ok(lead_id) = LeadId::parse(c2s_lead_id) else {
        tracing::warn!(
            "C2S answered a lead id that is not 32 hex characters; the mapping is kept, C2S webhooks for it will be enriched normally"
        );
        return Ok(None);
    };
    let facts = ctx.lead.clone().unwrap_or_default();
    let fingerprint =
        crate::domain::lead::contact_fingerprint(facts.phone.as_ref(), facts.email.as_ref());
    let context =
        serde_json::to_value(ctx).map_err(|e| RunError::Fatal(Cause::of("context", e)))?;
    let people = discovery
        .persons
        .iter()
        .zip(&ctx.entity_ids)
        .enumerate()
        .map(|(i, ((_, via), entity_id))| {
            let identity = discovery.identities.get(i);
            (*entity_id, lead_context(None, &facts, *via, identity))
        })
        .collect();
    Ok(Some(CreatedLead {
        lead_id,
        fingerprint,
        context,
        people,
        tier,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(q: &str, v: &str) -> Answer {
        Answer {
            column_id: q.to_uppercase(),
            column_name: q.into(),
            value: v.into(),
        }
    }

    #[test]
    fn the_description_holds_reference_note_and_answers() {
        let d = description(
            "g-1",
            "📞 Encontrado pelo telefone\n",
            &[answer("Orçamento", "5 milhões")],
            4000,
        );
        assert_eq!(
            d,
            "Ref. Google Ads: g-1\n\n📞 Encontrado pelo telefone\n\n📝 RESPOSTAS DO FORMULÁRIO\nOrçamento: 5 milhões"
        );
    }

    #[test]
    fn a_long_description_is_cut_to_the_limit_in_characters_keeping_the_reference() {
        let note = "é".repeat(500);
        let d = description("g-2", &note, &[answer("q", &"x".repeat(300))], 120);
        assert_eq!(d.chars().count(), 120);
        assert!(d.starts_with("Ref. Google Ads: g-2\n"));
        assert!(d.ends_with('…'));
    }
}
