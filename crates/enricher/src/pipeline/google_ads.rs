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

use super::resolve::{Decision, Via};
use super::run::{timed, Discovery, LeadFacts, Pipeline, RunContext, RunError, Track};
use crate::domain::dossier::Dossier;
use crate::domain::google_ads::{form_contacts, Answer};
use crate::domain::lead::LeadId;
use crate::providers::c2s::{LeadQuery, NewLead};
use crate::providers::ProviderError;
use crate::store::leads::Fence;

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

/// The first line of the description: how a retry recognises the lead it
/// created (contains no personal data).
pub fn reference_line(google_lead_id: &str) -> String {
    format!("Ref. Google Ads: {google_lead_id}")
}

/// The description sent to C2S: reference, note, the form's answers; cut to
/// `max_chars` characters (the reference line always survives).
pub fn description(
    google_lead_id: &str,
    note: &str,
    answers: &[Answer],
    max_chars: usize,
) -> String {
    let mut out = reference_line(google_lead_id);
    out.push_str("\n\n");
    out.push_str(note.trim_end());
    if !answers.is_empty() {
        out.push_str("\n\n📝 RESPOSTAS DO FORMULÁRIO\n");
        for a in answers {
            let q = if a.column_name.trim().is_empty() {
                a.column_id.trim()
            } else {
                a.column_name.trim()
            };
            out.push_str(&format!("{q}: {}\n", a.value.trim()));
        }
    }
    let out = out.trim_end().to_owned();
    if out.chars().count() <= max_chars {
        return out;
    }
    let cut: String = out.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{cut}…")
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

type Row = (
    String,
    String,
    serde_json::Value,
    serde_json::Value,
    String,
    Option<String>,
);

/// The C2S lead a form became: its id, the description sent, the outcome.
#[derive(Debug, Clone, Copy)]
struct Created<'a> {
    c2s_lead_id: &'a str,
    description: &'a str,
    outcome: &'a str,
}

impl Pipeline {
    /// Runs (or resumes) a recorded Google Ads lead to its C2S lead.
    /// `fence`: raised when the job's lease is lost (the run then stops
    /// before its next outside effect).
    #[tracing::instrument(name = "google_ads_lead", skip_all, fields(google_lead_id = %google_lead_id))]
    pub async fn process_google(
        &self,
        google_lead_id: &str,
        fence: &Fence,
    ) -> Result<GoogleOutcome, RunError> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT step, state, context, answers, c2s_status, c2s_lead_id
               FROM enrich.google_ads_leads WHERE google_lead_id = $1",
        )
        .bind(google_lead_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some((mut step, state, context, answers, c2s_status, mut c2s_lead_id)) = row else {
            return Err(RunError::Fatal("unknown Google Ads lead".into()));
        };
        let answers: Vec<Answer> = serde_json::from_value(answers)
            .map_err(|e| super::run::unreadable("form answers", &e))?;
        let mut ctx = RunContext::read(context)?;
        if state == "test_recorded" {
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
        };
        let erased = crate::store::erasure::is_erased_subject(
            &self.pool,
            &self.ledger,
            contacts.cpf.as_ref(),
            facts.phone.as_slice(),
            facts.email.as_ref(),
        )
        .await?;
        if step == "discover" && erased {
            // An erased person filled in the form: the lead is created in C2S
            // as they asked, but nothing is looked up or kept about them.
            crate::metrics::METRICS.event("erased_subject_lead");
            ctx.discovery = Some(Discovery::default());
            step = self
                .save_step(Track::GoogleAds, google_lead_id, "dossier", &ctx, fence)
                .await?;
        }
        if step == "discover" {
            let discovery = match &contacts.cpf {
                Some(cpf) => match self.dossier(cpf, fence).await {
                    // Anyone can type anyone's CPF in a public form: it counts
                    // only when its dossier names the person who filled it in,
                    // or lists the form's phone or e-mail.
                    Ok(d) if typed_cpf_fits(&d, &facts) => {
                        self.identify_people(&facts, &[], &[], Some(cpf), fence)
                            .await?
                    }
                    Ok(_) => {
                        crate::metrics::METRICS.event("typed_cpf_ignored");
                        let mut d = self.discover_step(&facts, fence).await?;
                        d.decisions.push(Decision {
                            cpf_masked: cpf.masked(),
                            chosen: false,
                            reason: "typed in the form, but its dossier matches neither the form's name nor its phone or e-mail; ignored".into(),
                        });
                        d
                    }
                    // A well-formed CPF nobody has (a typo): fall back to the contacts.
                    Err(RunError::Fatal(_)) => {
                        let mut d = self.discover_step(&facts, fence).await?;
                        d.decisions.push(Decision {
                            cpf_masked: cpf.masked(),
                            chosen: false,
                            reason: "typed in the form, unknown to the Work API".into(),
                        });
                        d
                    }
                    Err(e) => return Err(e),
                },
                None => self.discover_step(&facts, fence).await?,
            };
            ctx.lead = Some(facts.clone());
            ctx.discovery = Some(discovery);
            step = self
                .save_step(Track::GoogleAds, google_lead_id, "dossier", &ctx, fence)
                .await?;
        }
        let mut discovery = ctx.discovery.clone().unwrap_or_default();
        let mut dossiers = Vec::new();
        if matches!(step.as_str(), "dossier" | "store" | "create") {
            dossiers = timed("dossier", self.dossiers(&discovery, fence)).await?;
            if step == "dossier" {
                step = self
                    .save_step(Track::GoogleAds, google_lead_id, "store", &ctx, fence)
                    .await?;
            }
        }
        if step == "store" {
            ctx.entity_ids = timed(
                "store",
                self.store_step(None, &facts, &mut discovery, &mut dossiers),
            )
            .await?;
            ctx.discovery = Some(discovery.clone());
            step = self
                .save_step(Track::GoogleAds, google_lead_id, "create", &ctx, fence)
                .await?;
        }
        let outcome = if discovery.persons.is_empty() {
            "nobody_found"
        } else {
            "enriched"
        };
        if step == "create" {
            let note = self.note_text(&facts, &discovery, &dossiers)?;
            // A typed CPF that did not prove to be the form's person is not
            // written into the CRM in clear.
            let shown_answers: Vec<Answer> = match &contacts.cpf {
                Some(cpf) if !discovery.persons.iter().any(|(c, _)| c == cpf) => answers
                    .iter()
                    .map(|a| match brazil::Cpf::parse(a.value.trim()) {
                        Ok(c) if &c == cpf => Answer {
                            value: cpf.masked(),
                            ..a.clone()
                        },
                        _ => a.clone(),
                    })
                    .collect(),
                _ => answers.clone(),
            };
            let text = description(
                google_lead_id,
                &note,
                &shown_answers,
                self.settings.google_ads.description_max_chars,
            );
            super::run::fence_check(fence)?;
            let id = timed(
                "create",
                self.create_c2s_lead(google_lead_id, &facts, &text, &c2s_status, fence),
            )
            .await?;
            crate::metrics::METRICS.event("c2s_lead_created");
            // Erased while C2S created the lead: it is theirs, but what they
            // typed is not kept.
            let erased = erased
                || crate::store::erasure::is_erased_subject(
                    &self.pool,
                    &self.ledger,
                    contacts.cpf.as_ref(),
                    facts.phone.as_slice(),
                    facts.email.as_ref(),
                )
                .await?;
            self.finish_google(
                google_lead_id,
                Created {
                    c2s_lead_id: &id,
                    description: &text,
                    outcome,
                },
                &ctx,
                &discovery,
                erased,
            )
            .await?;
            c2s_lead_id = Some(id);
        }
        Ok(GoogleOutcome {
            google_lead_id: google_lead_id.to_owned(),
            persons: discovery.persons.len(),
            entity_ids: ctx.entity_ids,
            c2s_lead_id,
            outcome: outcome.into(),
        })
    }

    /// Creates the C2S lead once. After an unclear previous attempt
    /// (`creating`), adopts the lead C2S already has, if any.
    async fn create_c2s_lead(
        &self,
        google_lead_id: &str,
        facts: &LeadFacts,
        description: &str,
        c2s_status: &str,
        fence: &Fence,
    ) -> Result<String, RunError> {
        let c2s = &self.providers.c2s;
        if c2s_status == "creating" {
            if let Some(found) = self.find_created(google_lead_id, facts).await? {
                tracing::info!("the C2S lead of an earlier, unclear attempt exists; adopting it");
                return Ok(found);
            }
        }
        // Only while the job is still ours (an erasure may have cancelled it).
        let mine = sqlx::query(&format!(
            "UPDATE enrich.google_ads_leads SET c2s_status = 'creating', c2s_attempt_at = now(), description = $2, updated_at = now()
              WHERE google_lead_id = $1 AND {}",
            super::run::job_is_ours(3)
        ))
        .bind(google_lead_id)
        .bind(description)
        .bind(fence.job.as_ref().map(|(id, _)| *id))
        .bind(fence.job.as_ref().map(|(_, w)| w.as_str()))
        .execute(&self.pool)
        .await?
        .rows_affected();
        if mine == 0 {
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
            product: None,
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

    /// Records the created lead; when its id is a C2S lead id, also marks that
    /// lead done (C2S's own webhooks for it then cost nothing and post no
    /// second note) and links the people found to it.
    async fn finish_google(
        &self,
        google_lead_id: &str,
        created: Created<'_>,
        ctx: &RunContext,
        discovery: &Discovery,
        erased: bool,
    ) -> Result<(), RunError> {
        let Created {
            c2s_lead_id,
            description,
            outcome,
        } = created;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE enrich.google_ads_leads
                SET step = 'done', state = 'completed', outcome = $3, c2s_status = 'created', c2s_lead_id = $2,
                    last_error = NULL, completed_at = now(), updated_at = now()
              WHERE google_lead_id = $1",
        )
        .bind(google_lead_id)
        .bind(c2s_lead_id)
        .bind(outcome)
        .execute(&mut *tx)
        .await?;
        match LeadId::parse(c2s_lead_id) {
            Ok(lead) => {
                let fingerprint = crate::domain::lead::contact_fingerprint(
                    ctx.lead.as_ref().and_then(|f| f.phone.as_ref()),
                    ctx.lead.as_ref().and_then(|f| f.email.as_ref()),
                );
                let context = serde_json::to_value(ctx).map_err(|e| RunError::Fatal(super::run::Cause::of("context", e)))?;
                sqlx::query(
                    "INSERT INTO enrich.leads (lead_id, state, step, contact_fingerprint, context, outcome, note_status, note_text, completed_at)
                     VALUES ($1, 'completed', 'done', $2, $3, $4, 'sent', $5, now())
                     ON CONFLICT (lead_id) DO NOTHING",
                )
                .bind(lead.as_str())
                .bind(fingerprint)
                .bind(context)
                .bind(outcome)
                .bind(description)
                .execute(&mut *tx)
                .await?;
                let facts = ctx.lead.clone().unwrap_or_default();
                for (i, ((_, via), entity_id)) in discovery.persons.iter().zip(&ctx.entity_ids).enumerate() {
                    let identity = discovery.identities.get(i);
                    let (contact_phone, contact_email) = super::run::used_contacts(*via, &facts);
                    sqlx::query(
                        "INSERT INTO enrich.lead_entities (lead_id, entity_id, match_kind, confidence, identity_reasons, contact_phone, contact_email)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT (lead_id, entity_id) DO NOTHING",
                    )
                    .bind(lead.as_str())
                    .bind(entity_id)
                    .bind(match via {
                        Via::PhoneAndEmail => "phone_and_email",
                        Via::Phone => "phone",
                        Via::Email => "email",
                        Via::Form => "form_cpf",
                    })
                    .bind(identity.map(|x| x.confidence.as_str()))
                    .bind(identity.map(|x| x.reasons.as_str()))
                    .bind(contact_phone)
                    .bind(contact_email)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            Err(_) => tracing::warn!(
                "C2S answered a lead id that is not 32 hex characters; the mapping is kept, C2S webhooks for it will be enriched normally"
            ),
        }
        if erased {
            // An erased person asked to be contacted: the C2S lead is theirs,
            // but nothing they typed is kept here (same transaction: a crash
            // cannot leave it behind).
            sqlx::query(
                "UPDATE enrich.google_ads_leads SET answers = '[]'::jsonb, description = NULL, context = '{}'::jsonb
                  WHERE google_lead_id = $1",
            )
            .bind(google_lead_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE enrich.leads SET note_text = NULL, context = '{}'::jsonb WHERE lead_id = $1")
                .bind(c2s_lead_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
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
