//! A C2S lead's run: read the lead, then the shared steps (discover, dossier,
//! store), then post its one note. Recorded in `enrich.leads`, under the
//! lead's lease.

use uuid::Uuid;

use super::context::{Discovery, LeadFacts, Outcome, RunContext};
use super::error::{fence_check, RunError};
use super::setup::{IdentityPolicy, Pipeline, RUN_LEASE};
use super::steps::{timed, Advanced, Step, Track};
use crate::domain::dossier::Dossier;
use crate::domain::lead::LeadId;
use crate::providers::ProviderError;
use crate::store::leads;
use crate::store::lease::{release_lead, take_lead, Fence, LeaseKeeper, Leases, NotePolicy};
use crate::store::ledger::Spender;
use crate::store::profile::ForLead;

/// The C2S track (see [`Track`]).
struct C2sLead<'a> {
    lead_id: &'a LeadId,
}

impl Track for C2sLead<'_> {
    const FIRST: Step = Step::Lead;
    const DELIVER: Step = Step::Note;

    fn linked_lead(&self) -> Option<&LeadId> {
        Some(self.lead_id)
    }

    async fn discover(
        &self,
        p: &Pipeline,
        _: &mut RunContext,
        facts: &LeadFacts,
        fence: &Fence,
    ) -> Result<Discovery, RunError> {
        p.discover_step(facts, fence).await
    }

    async fn record(
        &self,
        p: &Pipeline,
        next: Step,
        context: serde_json::Value,
        fence: &Fence,
    ) -> Result<bool, sqlx::Error> {
        leads::save_step(
            &p.pool,
            self.lead_id,
            next.as_str(),
            context,
            fence.holder.as_deref(),
        )
        .await
    }
}

impl Pipeline {
    /// Runs (or resumes) the lead to its note under a lead lease of its own
    /// (`c2s-enrich enrich`, tests, benchmarks): [`RunError::LeadBusy`] when
    /// another run holds the lead.
    pub async fn process(&self, lead_id: &LeadId) -> Result<Outcome, RunError> {
        self.process_as(lead_id, Spender::New, NotePolicy::Post)
            .await
    }

    /// [`Self::process`], its paid calls charged to `spender`'s share of the
    /// budgets, its note posted or not.
    pub async fn process_as(
        &self,
        lead_id: &LeadId,
        spender: Spender,
        notes: NotePolicy,
    ) -> Result<Outcome, RunError> {
        let holder = format!("run-{}", Uuid::new_v4().simple());
        if !take_lead(&self.pool, lead_id, &holder, RUN_LEASE).await? {
            return Err(RunError::LeadBusy);
        }
        let mut fence = Fence::holder(holder.clone()).spending(spender);
        fence.notes = notes;
        let keeper = LeaseKeeper::start(
            self.pool.clone(),
            Leases {
                lead: Some(lead_id.clone()),
                job: None,
                lease: RUN_LEASE,
                every: RUN_LEASE / 4,
            },
            fence.clone(),
            || {},
        );
        let result = self.process_fenced(lead_id, &fence).await;
        keeper.stop().await;
        release_lead(&self.pool, lead_id, &holder).await?;
        result
    }

    /// Runs (or resumes) the lead to its note; the caller holds the lead's
    /// lease as `fence.holder`. Every write of the run's progress is made
    /// only while that lease is still ours: a run whose lease was taken
    /// stops with [`RunError::LeaseLost`] before its next outside effect.
    /// The provider calls it makes are recorded as the lead's.
    #[tracing::instrument(name = "lead", skip_all, fields(lead_id = %lead_id))]
    pub async fn process_fenced(
        &self,
        lead_id: &LeadId,
        fence: &Fence,
    ) -> Result<Outcome, RunError> {
        // A boxed trait object: the run's future type is deep, and the
        // scope around it would take every caller's type past the compiler's
        // recursion limit (a plain `Box` keeps the type, not the depth).
        let run: std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Outcome, RunError>> + Send + '_>,
        > = Box::pin(self.run_fenced(lead_id, fence));
        crate::store::ledger::for_lead(lead_id.as_str(), run).await
    }

    // Longer than 70 lines on purpose: The C2S track from end to end, its steps in order; the shared ones are `advance`.
    async fn run_fenced(&self, lead_id: &LeadId, fence: &Fence) -> Result<Outcome, RunError> {
        let track = C2sLead { lead_id };
        let recorded = leads::progress(&self.pool, lead_id).await?;
        let mut ctx = RunContext::read(recorded.context)?;
        let mut step = Step::recorded::<C2sLead>(&recorded.step)?;
        if step != Step::Lead && recorded.facts_revision < recorded.revision {
            // The lead's contacts changed after its facts were read (an update
            // arrived during or after the last run): from the start again —
            // the lookups already made cost nothing, the note stays posted once.
            step = Step::Lead;
        }
        let unassessed = ctx.discovery.as_ref().is_some_and(|d| !d.assessed);
        if unassessed
            && self.settings.identity_policy == IdentityPolicy::Evidence
            && matches!(step, Step::Dossier | Step::Store)
        {
            // Decided before the identity model: decide again (the lookups
            // are in the ledger, so this costs nothing).
            step = Step::Discover;
        }
        // The revision the facts in hand were read at.
        let mut read_at = recorded.facts_revision;
        if step == Step::Lead {
            // An earlier post whose fate is unclear is judged against the
            // lead as it was before that post — never against a fresh read,
            // which would already show the note and let it be posted twice.
            let baseline = ctx.lead.as_ref().and_then(|f| f.lead_updated_at.clone());
            let mut facts = timed("lead", self.lead_step(lead_id)).await?;
            if recorded.note_status == "pending" && baseline.is_some() {
                facts.lead_updated_at = baseline;
            }
            ctx.lead = Some(facts);
            read_at = recorded.revision;
            step = self.save_facts(lead_id, &ctx, read_at, fence).await?;
        }
        let facts = ctx.lead.clone().unwrap_or_default();
        let Advanced {
            step,
            discovery,
            dossiers,
        } = self.advance(&track, step, &mut ctx, &facts, fence).await?;
        let mut note_sent = recorded.note_status == "sent";
        let outcome = if discovery.persons.is_empty() {
            "nobody_found"
        } else {
            "enriched"
        };
        if step == Step::Note {
            if facts.withhold_note {
                // A blocked person's lead, and no note wanted: nothing told.
                crate::metrics::METRICS.event("blocked_note_withheld");
            } else if fence.notes == NotePolicy::Post {
                note_sent = timed(
                    "note",
                    self.note_step(lead_id, &facts, &discovery, &dossiers, fence),
                )
                .await?;
            } else {
                // No note (a back-fill without notes): the lead's tier is
                // recorded all the same.
                let tier = self
                    .tier_only(&discovery, &dossiers, for_lead(lead_id, &facts))
                    .await?;
                if let Some(tier) = tier {
                    crate::store::profile::save_tier(&self.pool, lead_id, &tier).await?;
                }
            }
            // Done — unless the contacts changed while we ran: then the lead
            // waits to be run again from the start (the update's queued job).
            let holder = fence.holder.as_deref();
            let retry = &self.settings.retry;
            match leads::finish(&self.pool, lead_id, outcome, read_at, holder, retry).await? {
                None => return Err(RunError::LeaseLost),
                Some(false) => {
                    tracing::info!(
                        "the lead's contacts changed during the run; it runs again from the start"
                    );
                    crate::metrics::METRICS.event("contacts_changed_during_run");
                }
                Some(true) => {}
            }
        }
        if note_sent && fence.notes == NotePolicy::Post {
            // The tag and alerts, each once; also on a run resumed after
            // the note (a delivery refused last time).
            timed("deliver", self.deliver_step(lead_id, fence)).await?;
        }
        Ok(Outcome {
            lead_id: lead_id.to_string(),
            persons: discovery.persons.len(),
            entity_ids: ctx.entity_ids,
            note_sent,
            outcome: outcome.into(),
        })
    }

    /// Records the lead step (its facts, read at `revision`).
    async fn save_facts(
        &self,
        lead_id: &LeadId,
        ctx: &RunContext,
        revision: i64,
        fence: &Fence,
    ) -> Result<Step, RunError> {
        fence_check(fence)?;
        let context = serde_json::to_value(ctx)
            .map_err(|e| RunError::Fatal(super::error::Cause::of("context", e)))?;
        let holder = fence.holder.as_deref();
        let seller = ctx
            .lead
            .as_ref()
            .map(|f| f.seller.clone())
            .unwrap_or_default();
        if !leads::save_facts(&self.pool, lead_id, context, revision, holder, &seller).await? {
            return Err(RunError::LeaseLost);
        }
        Ok(Step::Discover)
    }

    async fn lead_step(&self, lead_id: &LeadId) -> Result<LeadFacts, RunError> {
        let lead = match self.providers.c2s.get_lead(lead_id).await {
            Err(ProviderError::NotFound { .. }) => return Err(RunError::LeadNotFound),
            other => other?,
        };
        let (phone, email, dropped) = crate::domain::lead::usable_contacts(&lead);
        let seller = super::context::Seller {
            id: lead.seller_id.clone(),
            name: lead.seller_name.clone(),
            status: lead.status.clone(),
            created_at: lead.created_at.clone(),
        };
        if let Some(hold) = crate::store::erasure::held_subject(
            &self.pool,
            &self.ledger,
            None,
            phone.as_slice(),
            email.as_ref(),
        )
        .await?
        {
            // The person behind these contacts was erased or objects:
            // nothing is looked up or kept about them; the lead gets the
            // neutral note (or, blocked and so configured, none).
            crate::metrics::METRICS.event("erased_subject_lead");
            let withhold = hold == crate::store::erasure::Hold::Blocked
                && self.settings.profile.blocked_note == super::BlockedNote::None;
            return Ok(LeadFacts {
                lead_updated_at: lead.updated_at.clone(),
                withhold_note: withhold,
                ..LeadFacts::default()
            });
        }
        let fingerprint = crate::domain::lead::contact_fingerprint(phone.as_ref(), email.as_ref());
        leads::set_fingerprint(&self.pool, lead_id, &fingerprint).await?;
        Ok(LeadFacts {
            name: lead.customer_name.clone(),
            phone,
            email,
            dropped,
            lead_updated_at: lead.updated_at.clone(),
            seller,
            withhold_note: false,
        })
    }

    /// Posts the note once: recorded `pending` (with its text) before the call,
    /// `sent` after. A lead already `sent` is never posted again.
    async fn note_step(
        &self,
        lead_id: &LeadId,
        facts: &LeadFacts,
        d: &Discovery,
        dossiers: &[Dossier],
        fence: &Fence,
    ) -> Result<bool, RunError> {
        let outcome = if d.persons.is_empty() {
            "nobody_found"
        } else {
            "enriched"
        };
        let (status, noted) = leads::note_status(&self.pool, lead_id).await?;
        // One note per outcome: the lead's note said nobody was found and a
        // later run (a retry, new contacts) found someone — that is news for
        // the agent; anything else was told already.
        let news = noted.as_deref() == Some("nobody_found") && outcome == "enriched";
        if status == "sent" {
            if !news {
                return Ok(true);
            }
            crate::metrics::METRICS.event("found_after_nobody");
        }
        if status == "pending" && self.note_landed(lead_id, facts).await? {
            // An earlier attempt posted it, and we never learned (crash or
            // lost answer between C2S's 2xx and our update): do not post again.
            tracing::warn!("an earlier, unclear note post did land (the lead changed since we read it); not posting again");
            crate::metrics::METRICS.event("note_presumed_delivered");
            leads::note_sent(&self.pool, lead_id).await?;
            return Ok(true);
        }
        let (text, tier) = self
            .note_text(facts, d, dossiers, for_lead(lead_id, facts))
            .await?;
        // The decision to post is the lease holder's alone, while its lease
        // is live (renewed every third of its life, so most of it is left).
        fence_check(fence)?;
        let holder = fence.holder.as_deref();
        if !leads::claim_note(&self.pool, lead_id, &text, outcome, holder, tier.as_ref()).await? {
            return Err(RunError::LeaseLost);
        }
        if let Err(e) = self.providers.c2s.post_note(lead_id, &text).await {
            if e.refused_before_acting() {
                // C2S clearly did not take it: the next run posts without
                // asking whether it landed (a later edit of the lead would
                // otherwise pass for our note).
                leads::unclaim_note(&self.pool, lead_id, holder).await?;
            }
            return Err(e.into());
        }
        crate::metrics::METRICS.event("note_posted");
        leads::note_sent(&self.pool, lead_id).await?;
        Ok(true)
    }

    /// After an unclear post: C2S moves a lead's `updated_at` when a note
    /// lands, so a lead that changed since we read it has the note. (Another
    /// change in those seconds would be taken for it too; ADR 0006.)
    async fn note_landed(&self, lead_id: &LeadId, facts: &LeadFacts) -> Result<bool, RunError> {
        let Some(before) = &facts.lead_updated_at else {
            return Ok(false);
        };
        let now = match self.providers.c2s.get_lead(lead_id).await {
            Err(ProviderError::NotFound { .. }) => return Err(RunError::LeadNotFound),
            other => other?,
        };
        Ok(now.updated_at.as_ref().is_some_and(|u| u != before))
    }
}

/// The lead a note is for, with its seller.
fn for_lead<'a>(lead_id: &'a LeadId, facts: &'a LeadFacts) -> ForLead<'a> {
    ForLead {
        lead: lead_id.as_str(),
        seller_id: facts.seller.id.as_deref(),
        seller_name: facts.seller.name.as_deref(),
    }
}
