//! The step machine both tracks run — a C2S lead (`lead → discover →
//! dossier → store → note`) and a Google Ads form (`discover → dossier →
//! store → create`) — each completed step persisted with the context the
//! next one needs, so a retry resumes after the last one done. What differs
//! between the tracks is a [`Track`]: where progress is recorded, how it
//! discovers, and the step that delivers.

use chrono::Utc;
use uuid::Uuid;

use super::context::{lead_context, Discovery, LeadFacts, RunContext};
use super::error::{fence_check, Cause, RunError};
use super::setup::Pipeline;
use crate::domain::dossier::Dossier;
use crate::domain::lead::LeadId;
use crate::providers::work_api::DossierAnswer;
use crate::store::dossier::{store_dossier_guarded, CpfGuard, StoreError, StoreOptions};
use crate::store::lease::Fence;
use crate::store::ledger::CallKind;

/// The Work API's dossier by CPF (the one paid lookup that returns a dossier).
pub(crate) const WORK_CPF: CallKind = CallKind {
    provider: "work_api",
    module: "cpf",
    credits: 1,
    dossier: true,
};

/// A run's steps, in order, as recorded in the `step` column of either
/// track's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Read the lead from C2S (C2S track only).
    Lead,
    /// Find and identify the people behind the contacts.
    Discover,
    /// Fetch the presented people's dossiers.
    Dossier,
    /// Store them in the customer database.
    Store,
    /// Post the note (C2S track).
    Note,
    /// Create the C2S lead (Google Ads track).
    Create,
    /// Nothing left to do.
    Done,
}

impl Step {
    /// As recorded.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Lead => "lead",
            Self::Discover => "discover",
            Self::Dossier => "dossier",
            Self::Store => "store",
            Self::Note => "note",
            Self::Create => "create",
            Self::Done => "done",
        }
    }

    /// A recorded step of track `T`; any other stops the run (a row this
    /// version does not understand is not guessed at).
    pub(crate) fn recorded<T: Track>(recorded: &str) -> Result<Self, RunError> {
        let step = [
            Self::Lead,
            Self::Discover,
            Self::Dossier,
            Self::Store,
            Self::Note,
            Self::Create,
            Self::Done,
        ]
        .into_iter()
        .find(|s| s.as_str() == recorded)
        .filter(|s| *s == Self::Done || (T::FIRST..=T::DELIVER).contains(s))
        .filter(|s| {
            !matches!(
                (T::DELIVER, s),
                (Self::Note, Self::Create) | (Self::Create, Self::Note)
            )
        });
        step.ok_or_else(|| {
            RunError::Fatal(Cause::from(format!(
                "the recorded step {:?} is not a step of this track; the run stops",
                recorded.chars().take(16).collect::<String>()
            )))
        })
    }
}

/// What differs between the two tracks.
pub(crate) trait Track {
    /// The track's first step.
    const FIRST: Step;
    /// The step that delivers: the note (C2S) or the C2S lead (Google Ads).
    const DELIVER: Step;

    /// The C2S lead the people found are linked to when stored, if known.
    fn linked_lead(&self) -> Option<&LeadId>;

    /// Discovery; may record what it read in `ctx`.
    async fn discover(
        &self,
        p: &Pipeline,
        ctx: &mut RunContext,
        facts: &LeadFacts,
        fence: &Fence,
    ) -> Result<Discovery, RunError>;

    /// Records `next` and `context` while the run is still the lease or
    /// job holder's; `false` when it no longer is.
    async fn record(
        &self,
        p: &Pipeline,
        next: Step,
        context: serde_json::Value,
        fence: &Fence,
    ) -> Result<bool, sqlx::Error>;
}

/// Where the shared steps left a run: the step to run next (the track's
/// delivery or done), who is presented, and their dossiers.
#[derive(Debug)]
pub(crate) struct Advanced {
    pub step: Step,
    pub discovery: Discovery,
    pub dossiers: Vec<Dossier>,
}

/// Runs one step in a span of its own (`step`), recording its latency and
/// outcome in the metrics.
pub(crate) async fn timed<T>(
    step: &'static str,
    fut: impl std::future::Future<Output = Result<T, RunError>>,
) -> Result<T, RunError> {
    let started = std::time::Instant::now();
    let r = tracing::Instrument::instrument(fut, tracing::info_span!("step", step)).await;
    let outcome = match &r {
        Ok(_) => "ok",
        Err(RunError::Retryable(_)) => "retryable",
        Err(RunError::Paused { .. } | RunError::OverBudget(_)) => "paused",
        Err(RunError::Deferred { .. }) => "deferred",
        Err(RunError::LeaseLost | RunError::LeadBusy) => "lease_lost",
        Err(_) => "failed",
    };
    crate::metrics::METRICS.step(step, outcome, started.elapsed().as_secs_f64());
    r
}

impl Pipeline {
    /// Records a completed step and the context the next one needs — only
    /// while the run is still its holder's ([`RunError::LeaseLost`] if not).
    pub(crate) async fn save<T: Track>(
        &self,
        track: &T,
        next: Step,
        ctx: &RunContext,
        fence: &Fence,
    ) -> Result<Step, RunError> {
        fence_check(fence)?;
        let context =
            serde_json::to_value(ctx).map_err(|e| RunError::Fatal(Cause::of("context", e)))?;
        if !track.record(self, next, context, fence).await? {
            // The row exists (the run read it): the lease or the job is gone.
            return Err(RunError::LeaseLost);
        }
        Ok(next)
    }

    /// The steps both tracks share, from `step` up to the track's delivery:
    /// discover, fetch the dossiers, store. A run resumed at delivery (or
    /// later) only re-reads the dossiers — from the snapshots or the ledger,
    /// so at no cost.
    pub(crate) async fn advance<T: Track>(
        &self,
        track: &T,
        mut step: Step,
        ctx: &mut RunContext,
        facts: &LeadFacts,
        fence: &Fence,
    ) -> Result<Advanced, RunError> {
        if step == Step::Discover {
            let found = timed("discover", track.discover(self, ctx, facts, fence)).await?;
            ctx.discovery = Some(found);
            step = self.save(track, Step::Dossier, ctx, fence).await?;
        }
        let mut discovery = ctx.discovery.clone().unwrap_or_default();
        // Dossiers are not copied into the context: the ledger holds them,
        // so re-reading them on a resumed run is free.
        let mut dossiers = Vec::new();
        if matches!(step, Step::Dossier | Step::Store) || step == T::DELIVER {
            // At most two people (phone's and e-mail's): fetched in parallel.
            let stored = step == T::DELIVER;
            dossiers = timed("dossier", self.dossiers(&discovery, stored, fence)).await?;
            if step == Step::Dossier {
                // Not recorded: the context is unchanged, and a run resumed
                // here reads the dossiers again from the ledger, free — one
                // write saved per lead.
                step = Step::Store;
            }
        }
        if step == Step::Store {
            ctx.entity_ids = timed(
                "store",
                self.store_step(track.linked_lead(), facts, &mut discovery, &mut dossiers),
            )
            .await?;
            ctx.discovery = Some(discovery.clone());
            step = self.save(track, T::DELIVER, ctx, fence).await?;
        }
        Ok(Advanced {
            step,
            discovery,
            dossiers,
        })
    }

    /// The dossier from the ledger, which pays at most once and keeps the
    /// answer for `CACHE_DOSSIER_DAYS`: the one cache of paid answers (the
    /// snapshots record what was stored about a person, read back only by a
    /// run resumed after storing). Parsed once, whether it comes from the
    /// provider or the ledger.
    pub(crate) async fn dossier(
        &self,
        cpf: &brazil::Cpf,
        fence: &Fence,
    ) -> Result<Dossier, RunError> {
        fence_check(fence)?;
        let work = &self.providers.work_api;
        let looked = self
            .ledger
            .lookup_as(WORK_CPF, cpf.digits(), fence.spender, || async {
                work.dossier(cpf).await.map(|d| Some(DossierAnswer(d)))
            })
            .await?;
        let at = looked.answered_at;
        let DossierAnswer(mut dossier) = looked.value.ok_or_else(|| {
            RunError::Fatal("the Work API has no dossier for a discovered CPF".into())
        })?;
        // When the provider answered: a dossier served again keeps its own
        // time (its age is what freshness and `enriched_at` speak of).
        dossier.fetched_at = Some(at);
        Ok(dossier)
    }

    /// The dossiers of the discovered persons (at most two): those bought
    /// while identifying are in hand; a run resumed after storing them reads
    /// what it stored; the others come from the ledger, in parallel.
    pub(crate) async fn dossiers(
        &self,
        discovery: &Discovery,
        stored: bool,
        fence: &Fence,
    ) -> Result<Vec<Dossier>, RunError> {
        let in_hand =
            |cpf: &brazil::Cpf| discovery.in_hand.0.iter().find(|d| &d.cpf == cpf).cloned();
        let one = |cpf: &brazil::Cpf| {
            let held = in_hand(cpf);
            let cpf = cpf.clone();
            async move {
                if let Some(d) = held {
                    return Ok(d);
                }
                if stored {
                    if let Some(d) = self.stored_dossier(&cpf).await? {
                        return Ok(d);
                    }
                }
                self.dossier(&cpf, fence).await
            }
        };
        Ok(match discovery.persons.as_slice() {
            [] => Vec::new(),
            [(a, _)] => vec![one(a).await?],
            [(a, _), (b, _)] => {
                let (x, y) = tokio::join!(one(a), one(b));
                vec![x?, y?]
            }
            _ => return Err(RunError::Fatal("more than two people resolved".into())),
        })
    }

    /// The dossier stored with the person, when fresh.
    async fn stored_dossier(&self, cpf: &brazil::Cpf) -> Result<Option<Dossier>, RunError> {
        let fresh = self.settings.dossier_freshness;
        let Some((raw, at)) = crate::store::people::stored_dossier(&self.pool, cpf, fresh).await?
        else {
            return Ok(None);
        };
        let mut d = crate::providers::work_api::parse_dossier(raw)
            .map_err(|e| RunError::Fatal(Cause::of("stored dossier", e)))?;
        d.fetched_at = Some(at);
        Ok(Some(d))
    }

    /// Stores the presented people, linked to `lead_id` when there is one.
    pub(crate) async fn store_step(
        &self,
        lead_id: Option<&LeadId>,
        facts: &LeadFacts,
        d: &mut Discovery,
        dossiers: &mut Vec<Dossier>,
    ) -> Result<Vec<Uuid>, RunError> {
        let mut ids = Vec::new();
        // Erased since discovery (an erasure raced this run): not stored, and
        // dropped from what the note presents. An erasure committing while
        // the dossier is being stored is seen inside its transaction.
        let cpfs: Vec<brazil::Cpf> = d.persons.iter().map(|(c, _)| c.clone()).collect();
        let mut erased =
            crate::store::erasure::erased_cpfs(&self.pool, &self.ledger, &cpfs).await?;
        for (i, ((cpf, via), dossier)) in d.persons.iter().zip(dossiers.iter()).enumerate() {
            if erased.contains(cpf) {
                continue;
            }
            let lead = lead_context(lead_id, facts, *via, d.identities.get(i));
            let options = StoreOptions {
                income_factor: self.settings.note.income_factor,
                fetched_at: dossier.fetched_at.unwrap_or_else(Utc::now),
            };
            let guard = CpfGuard::for_dossier(&self.ledger, dossier);
            match store_dossier_guarded(&self.pool, dossier, &lead, &options, &guard).await {
                Ok(stored) => ids.push(stored.entity_id),
                // Erased while this run fetched the dossier: not stored.
                Err(StoreError::Erased) => erased.push(cpf.clone()),
                Err(e) => {
                    crate::metrics::METRICS.event("store_error");
                    return Err(RunError::Retryable(Cause::of("", e)));
                }
            }
        }
        if !erased.is_empty() {
            crate::metrics::METRICS.event("erased_during_run");
            d.forget(&erased);
            dossiers.retain(|x| !erased.contains(&x.cpf));
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A track with no effects: the C2S track's steps, or (`FORM`) the
    /// Google Ads track's.
    struct Steps<const FORM: bool>;
    type C2s = Steps<false>;
    type Form = Steps<true>;

    impl<const FORM: bool> Track for Steps<FORM> {
        const FIRST: Step = if FORM { Step::Discover } else { Step::Lead };
        const DELIVER: Step = if FORM { Step::Create } else { Step::Note };
        fn linked_lead(&self) -> Option<&LeadId> {
            None
        }
        async fn discover(
            &self,
            _: &Pipeline,
            _: &mut RunContext,
            _: &LeadFacts,
            _: &Fence,
        ) -> Result<Discovery, RunError> {
            Ok(Discovery::default())
        }
        async fn record(
            &self,
            _: &Pipeline,
            _: Step,
            _: serde_json::Value,
            _: &Fence,
        ) -> Result<bool, sqlx::Error> {
            Ok(true)
        }
    }

    #[test]
    fn each_track_reads_its_own_steps_and_refuses_the_others() {
        for s in ["lead", "discover", "dossier", "store", "note", "done"] {
            assert_eq!(Step::recorded::<C2s>(s).map(Step::as_str).ok(), Some(s));
        }
        for s in ["discover", "dossier", "store", "create", "done"] {
            assert_eq!(Step::recorded::<Form>(s).map(Step::as_str).ok(), Some(s));
        }
        assert!(Step::recorded::<C2s>("create").is_err());
        assert!(Step::recorded::<Form>("lead").is_err());
        assert!(Step::recorded::<Form>("note").is_err());
        let err = Step::recorded::<C2s>("")
            .expect_err("an empty step is refused")
            .to_string();
        assert!(err.contains("not a step of this track"), "{err}");
    }
}
