//! Processing one lead, step by step, each step's result persisted in
//! `enrich.leads.context` so a retry resumes after the last completed step:
//! lead → discover → dossier → store → note.

use std::sync::Arc;
use std::time::Duration;

use brazil::{Cpf, Email, PhoneBr};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::identify::{unshown_line, Identity, IdentityPolicy};
use super::note::{
    format_identified_note, NoteIdentity, NoteSettings, PersonLine, Resolution as NoteResolution,
};
use super::resolve::resolve;
use crate::domain::dossier::Dossier;
use crate::domain::identity::{Confidence, Contact, Decision, Found, Source, Unshown, Via};
use crate::domain::lead::LeadId;
use crate::domain::Candidate;
use crate::providers::{ProviderError, Providers};
use crate::store::dossier::{
    store_dossier_guarded, CpfGuard, LeadContext, MatchKind, StoreError, StoreOptions,
};
use crate::store::leads::{release_lead, take_lead, Fence, LeaseKeeper, Leases};
use crate::store::ledger::{CallKind, Ledger, LedgerError};

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
const WORK_CPF: CallKind = CallKind {
    provider: "work_api",
    module: "cpf",
    credits: 1,
    dossier: true,
};

/// Pipeline settings.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    pub note: NoteSettings,
    /// A stored dossier younger than this is reused instead of paid again.
    pub dossier_freshness: Duration,
    /// Discovery lookups to make, in order of preference (the order breaks ties
    /// between equally good candidates).
    pub discovery: Vec<Source>,
    pub google_ads: GoogleAdsSettings,
    /// The least confidence at which a person is presented in full
    /// (`IDENTITY_MIN_CONFIDENCE`, default `probable`).
    pub identity_min_confidence: Confidence,
    /// How people are chosen (the bench's baselines; production: `Evidence`).
    pub identity_policy: IdentityPolicy,
}

/// How Google Ads leads become C2S leads.
#[derive(Debug, Clone)]
pub struct GoogleAdsSettings {
    /// The seller the created leads go to (`C2S_SELLER_ID`; C2S's default when unset).
    pub seller_id: Option<String>,
    /// Longest description sent (`C2S_DESCRIPTION_MAX_LENGTH`).
    pub description_max_chars: usize,
}

impl Default for GoogleAdsSettings {
    fn default() -> Self {
        Self {
            seller_id: None,
            description_max_chars: 4000,
        }
    }
}

/// The default discovery lookups.
pub fn default_discovery() -> Vec<Source> {
    vec![
        Source::DiretrixPhone,
        Source::WorkApiPhone,
        Source::DiretrixEmail,
    ]
}

/// Everything a run needs, built once and shared by the workers.
#[derive(Debug)]
pub struct Pipeline {
    pub pool: PgPool,
    pub providers: Arc<Providers>,
    pub ledger: Arc<Ledger>,
    pub settings: PipelineSettings,
}

/// Why a run stopped before completing.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// C2S does not know this lead.
    #[error("lead not found in C2S")]
    LeadNotFound,
    /// Worth retrying later (provider outage, rate limit, database hiccup).
    #[error("retryable: {0}")]
    Retryable(#[source] Cause),
    /// A provider refuses us (quota, token): wait for an operator, do not burn attempts.
    #[error("provider paused: {reason}")]
    Paused {
        provider: &'static str,
        reason: String,
    },
    /// A provider's circuit is open (it failed repeatedly): wait for its
    /// cool-down without spending an attempt — an outage must not kill jobs,
    /// nor turn into a retry storm.
    #[error("provider {provider} unavailable (circuit open); deferred")]
    Deferred { provider: &'static str },
    /// Will not succeed by retrying.
    #[error("failed: {0}")]
    Fatal(#[source] Cause),
    /// Another run holds the lead's lease (a worker, the API or `enrich`).
    #[error("the lead is being processed by another run right now")]
    LeadBusy,
    /// This run's lease was taken by someone else (it was presumed dead):
    /// it stopped before its next outside effect; the new holder goes on.
    #[error("the run lost its lease to another run and stopped")]
    LeaseLost,
}

/// Why a run failed: a message without personal data, and the error it came
/// from kept as its source (the whole chain reaches whoever logs it).
#[derive(Debug)]
pub struct Cause {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Cause {
    /// `context: error`, keeping `error` as the source.
    pub fn of<E>(context: &str, error: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self {
            message: if context.is_empty() {
                error.to_string()
            } else {
                format!("{context}: {error}")
            },
            source: Some(Box::new(error)),
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<String> for Cause {
    fn from(message: String) -> Self {
        Self {
            message,
            source: None,
        }
    }
}

impl From<&str> for Cause {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

/// How long a lead lease taken by [`Pipeline::process`] lives unrenewed.
pub const RUN_LEASE: Duration = Duration::from_secs(60);

/// How long a job waits when a provider's circuit is open (plus jitter).
pub const DEFER_FOR: Duration = Duration::from_secs(5);

impl From<ProviderError> for RunError {
    fn from(e: ProviderError) -> Self {
        match e {
            ProviderError::QuotaExhausted { .. }
            | ProviderError::Unauthorized { .. }
            | ProviderError::ModuleUnavailable { .. } => Self::Paused {
                provider: e.provider(),
                reason: e.to_string(),
            },
            ProviderError::CircuitOpen { provider } => Self::Deferred { provider },
            e if e.is_retryable() => Self::Retryable(Cause::of("", e)),
            e => Self::Fatal(Cause::of("", e)),
        }
    }
}

impl From<LedgerError> for RunError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Provider(p) => p.into(),
            other => Self::Retryable(Cause::of("", other)),
        }
    }
}

impl From<sqlx::Error> for RunError {
    fn from(e: sqlx::Error) -> Self {
        Self::Retryable(Cause::of("database", e))
    }
}

/// The lead's contacts that led to a person found `via` them (recorded with
/// the link: an erasure tombstones exactly these). A form's CPF fitted the
/// form, so the form's contacts are the person's own.
pub(crate) fn used_contacts(via: Via, facts: &LeadFacts) -> (Option<String>, Option<String>) {
    let phone = matches!(via, Via::Phone | Via::PhoneAndEmail | Via::Form)
        .then(|| facts.phone.as_ref().map(PhoneBr::e164))
        .flatten();
    let email = matches!(via, Via::Email | Via::PhoneAndEmail | Via::Form)
        .then(|| facts.email.as_ref().map(|e| e.as_str().to_owned()))
        .flatten();
    (phone, email)
}

/// SQL: a run's job is still its own and running (`$n`: job id, `$n+1`:
/// worker; a run outside any job passes NULLs). An erasure cancels the job,
/// which stops a run of the erased person's Google Ads form at its next write.
pub(crate) fn job_is_ours(n: u8) -> String {
    let w = n + 1;
    format!("(${n}::bigint IS NULL OR EXISTS (SELECT 1 FROM enrich.jobs j WHERE j.id = ${n} AND j.locked_by = ${w} AND j.state = 'running'))")
}

/// Stops a run whose lease was taken (raised by its lease keeper).
pub(crate) fn fence_check(fence: &Fence) -> Result<(), RunError> {
    if fence.is_lost() {
        return Err(RunError::LeaseLost);
    }
    Ok(())
}

/// Stored people as candidates: `(national_id, name)` rows, those whose
/// national id is not a valid CPF left out.
pub(crate) fn candidates(rows: Vec<(String, Option<String>)>) -> Vec<Candidate> {
    rows.into_iter()
        .filter_map(|(nid, name)| Cpf::parse(&nid).ok().map(|cpf| Candidate { cpf, name }))
        .collect()
}

/// The lead's contacts after normalisation (kept in the lead's context).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LeadFacts {
    pub name: Option<String>,
    pub phone: Option<PhoneBr>,
    pub email: Option<Email>,
    /// Why a contact was not used (error kinds, no personal data).
    pub dropped: Vec<String>,
    /// The lead's `updated_at` when we read it: a note that lands moves it,
    /// which tells a retry after an unclear post whether the note arrived.
    #[serde(default)]
    pub lead_updated_at: Option<String>,
}

/// Discovery's result: who is presented, how sure we are, and the
/// contacts whose owners are not shown.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Discovery {
    /// The people presented in full (at the minimum confidence or above).
    pub persons: Vec<(Cpf, Via)>,
    pub decisions: Vec<Decision>,
    /// One per presented person, same order (empty: not assessed — a context
    /// from before the identity model, or a bench baseline).
    #[serde(default)]
    pub identities: Vec<Identity>,
    /// Contacts whose registered owner did not reach the minimum.
    #[serde(default)]
    pub unshown: Vec<Unshown>,
    /// The identity model decided this (contexts written before it did not).
    #[serde(default)]
    pub assessed: bool,
}

impl Discovery {
    /// Drops `cpfs` (people erased during the run) from what is presented.
    fn forget(&mut self, cpfs: &[Cpf]) {
        if self.identities.len() == self.persons.len() {
            let mut keep = self.persons.iter().map(|(c, _)| !cpfs.contains(c));
            self.identities.retain(|_| keep.next().unwrap_or(true));
        }
        self.persons.retain(|(c, _)| !cpfs.contains(c));
        let masked: Vec<String> = cpfs.iter().map(Cpf::masked).collect();
        self.decisions.retain(|d| !masked.contains(&d.cpf_masked));
    }
}

/// Everything persisted between steps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunContext {
    pub lead: Option<LeadFacts>,
    pub discovery: Option<Discovery>,
    pub entity_ids: Vec<Uuid>,
}

impl RunContext {
    /// The context a run recorded (`{}` before its first step). One that
    /// cannot be read stops the run: resumed as empty it would present
    /// nobody — a "nobody found" note on a lead whose person was found.
    /// The error says where, never what (the text may hold personal data).
    pub fn read(recorded: serde_json::Value) -> Result<Self, RunError> {
        serde_json::from_value(recorded).map_err(|e| unreadable("context", &e))
    }
}

/// A recorded JSON that cannot be read, as a fatal run error without the
/// value serde quotes.
pub(crate) fn unreadable(what: &str, e: &serde_json::Error) -> RunError {
    RunError::Fatal(Cause::from(format!(
        "the lead's recorded {what} cannot be read ({:?} error at line {}, column {}); the run stops rather than go on without it",
        e.classify(),
        e.line(),
        e.column()
    )))
}

/// How a lead ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub lead_id: String,
    pub persons: usize,
    pub entity_ids: Vec<Uuid>,
    pub note_sent: bool,
    pub outcome: String,
}

/// Where a run's steps are persisted.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Track {
    /// `enrich.leads` (C2S leads).
    Lead,
    /// `enrich.google_ads_leads`.
    GoogleAds,
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
        Err(RunError::Paused { .. }) => "paused",
        Err(RunError::Deferred { .. }) => "deferred",
        Err(RunError::LeaseLost | RunError::LeadBusy) => "lease_lost",
        Err(_) => "failed",
    };
    crate::metrics::METRICS.step(step, outcome, started.elapsed().as_secs_f64());
    r
}

impl Pipeline {
    /// Runs (or resumes) the lead to its note under a lead lease of its own
    /// (`c2s-enrich enrich`, tests, benchmarks): [`RunError::LeadBusy`] when
    /// another run holds the lead.
    pub async fn process(&self, lead_id: &LeadId) -> Result<Outcome, RunError> {
        let holder = format!("run-{}", Uuid::new_v4().simple());
        if !take_lead(&self.pool, lead_id, &holder, RUN_LEASE).await? {
            return Err(RunError::LeadBusy);
        }
        let fence = Fence::holder(holder.clone());
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
    #[tracing::instrument(name = "lead", skip_all, fields(lead_id = %lead_id))]
    pub async fn process_fenced(
        &self,
        lead_id: &LeadId,
        fence: &Fence,
    ) -> Result<Outcome, RunError> {
        sqlx::query(
            "INSERT INTO enrich.leads (lead_id) VALUES ($1) ON CONFLICT (lead_id) DO NOTHING",
        )
        .bind(lead_id.as_str())
        .execute(&self.pool)
        .await?;
        let (step, context, note_status, revision, facts_revision): (
            String,
            serde_json::Value,
            String,
            i64,
            i64,
        ) = sqlx::query_as(
            "SELECT step, context, note_status, revision, facts_revision FROM enrich.leads WHERE lead_id = $1",
        )
        .bind(lead_id.as_str())
        .fetch_one(&self.pool)
        .await?;
        let mut ctx = RunContext::read(context)?;
        let mut step = step;
        if step != "lead" && facts_revision < revision {
            // The lead's contacts changed after its facts were read (an update
            // arrived during or after the last run): from the start again —
            // the lookups already made cost nothing, the note stays posted once.
            step = "lead".into();
        }
        let unassessed = ctx.discovery.as_ref().is_some_and(|d| !d.assessed);
        if unassessed
            && self.settings.identity_policy == IdentityPolicy::Evidence
            && matches!(step.as_str(), "dossier" | "store")
        {
            // Decided before the identity model: decide again (the lookups
            // are in the ledger, so this costs nothing).
            step = "discover".into();
        }
        // The revision the facts in hand were read at.
        let mut read_at = facts_revision;
        if step == "lead" {
            // An earlier post whose fate is unclear is judged against the
            // lead as it was before that post — never against a fresh read,
            // which would already show the note and let it be posted twice.
            let baseline = ctx.lead.as_ref().and_then(|f| f.lead_updated_at.clone());
            let mut facts = timed("lead", self.lead_step(lead_id)).await?;
            if note_status == "pending" && baseline.is_some() {
                facts.lead_updated_at = baseline;
            }
            ctx.lead = Some(facts);
            read_at = revision;
            step = self.save_facts(lead_id, &ctx, revision, fence).await?;
        }
        let facts = ctx.lead.clone().unwrap_or_default();
        if step == "discover" {
            ctx.discovery = Some(timed("discover", self.discover_step(&facts, fence)).await?);
            step = self.save(lead_id, "dossier", &ctx, fence).await?;
        }
        let mut discovery = ctx.discovery.clone().unwrap_or_default();
        // Dossiers are not copied into the context: the ledger and the snapshots
        // hold them, so re-reading them on a resumed run is free.
        let mut dossiers = Vec::new();
        if matches!(step.as_str(), "dossier" | "store" | "note") {
            // At most two people (phone's and e-mail's): fetched in parallel.
            dossiers = timed("dossier", self.dossiers(&discovery, fence)).await?;
            if step == "dossier" {
                step = self.save(lead_id, "store", &ctx, fence).await?;
            }
        }
        if step == "store" {
            ctx.entity_ids = timed(
                "store",
                self.store_step(Some(lead_id), &facts, &mut discovery, &mut dossiers),
            )
            .await?;
            ctx.discovery = Some(discovery.clone());
            step = self.save(lead_id, "note", &ctx, fence).await?;
        }
        let mut note_sent = note_status == "sent";
        if step == "note" {
            note_sent = timed(
                "note",
                self.note_step(lead_id, &facts, &discovery, &dossiers, fence),
            )
            .await?;
            // Done — unless the contacts changed while we ran: then the lead
            // waits to be run again from the start (the update's queued job).
            let finished: Option<bool> = sqlx::query_scalar(
                "UPDATE enrich.leads
                    SET step = CASE WHEN revision = $3 THEN 'done' ELSE 'lead' END,
                        state = CASE WHEN revision = $3 THEN 'completed' ELSE 'pending' END,
                        outcome = $2, completed_at = now(), updated_at = now()
                  WHERE lead_id = $1 AND ($4::text IS NULL OR lease_by = $4)
                  RETURNING revision = $3",
            )
            .bind(lead_id.as_str())
            .bind(if discovery.persons.is_empty() {
                "nobody_found"
            } else {
                "enriched"
            })
            .bind(read_at)
            .bind(fence.holder.as_deref())
            .fetch_optional(&self.pool)
            .await?;
            match finished {
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
        Ok(Outcome {
            lead_id: lead_id.to_string(),
            persons: discovery.persons.len(),
            entity_ids: ctx.entity_ids,
            note_sent,
            outcome: if discovery.persons.is_empty() {
                "nobody_found".into()
            } else {
                "enriched".into()
            },
        })
    }

    async fn save(
        &self,
        lead_id: &LeadId,
        next: &str,
        ctx: &RunContext,
        fence: &Fence,
    ) -> Result<String, RunError> {
        self.save_step(Track::Lead, lead_id.as_str(), next, ctx, fence)
            .await
    }

    /// Records the lead step (its facts, read at `revision`).
    async fn save_facts(
        &self,
        lead_id: &LeadId,
        ctx: &RunContext,
        revision: i64,
        fence: &Fence,
    ) -> Result<String, RunError> {
        fence_check(fence)?;
        let context =
            serde_json::to_value(ctx).map_err(|e| RunError::Fatal(Cause::of("context", e)))?;
        let n = sqlx::query(
            "UPDATE enrich.leads SET step = 'discover', context = $2, facts_revision = $3, state = 'processing', updated_at = now()
              WHERE lead_id = $1 AND ($4::text IS NULL OR lease_by = $4)",
        )
        .bind(lead_id.as_str())
        .bind(context)
        .bind(revision)
        .bind(fence.holder.as_deref())
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(RunError::LeaseLost);
        }
        Ok("discover".into())
    }

    /// Records a completed step and the context the next one needs — only
    /// while the run's lease is ours.
    pub(crate) async fn save_step(
        &self,
        track: Track,
        key: &str,
        next: &str,
        ctx: &RunContext,
        fence: &Fence,
    ) -> Result<String, RunError> {
        fence_check(fence)?;
        let context =
            serde_json::to_value(ctx).map_err(|e| RunError::Fatal(Cause::of("context", e)))?;
        let n = match track {
            Track::Lead => sqlx::query(
                "UPDATE enrich.leads SET step = $2, context = $3, state = 'processing', updated_at = now()
                  WHERE lead_id = $1 AND ($4::text IS NULL OR lease_by = $4)",
            )
            .bind(key)
            .bind(next)
            .bind(context)
            .bind(fence.holder.as_deref())
            .execute(&self.pool)
            .await?
            .rows_affected(),
            Track::GoogleAds => sqlx::query(&format!(
                "UPDATE enrich.google_ads_leads SET step = $2, context = $3, state = 'processing', updated_at = now()
                  WHERE google_lead_id = $1 AND {}",
                job_is_ours(4)
            ))
            .bind(key)
            .bind(next)
            .bind(context)
            .bind(fence.job.as_ref().map(|(id, _)| *id))
            .bind(fence.job.as_ref().map(|(_, w)| w.as_str()))
            .execute(&self.pool)
            .await?
            .rows_affected(),
        };
        if n == 0 {
            // The row exists (the run read it): the lease or the job is gone.
            return Err(RunError::LeaseLost);
        }
        Ok(next.to_owned())
    }

    async fn lead_step(&self, lead_id: &LeadId) -> Result<LeadFacts, RunError> {
        let lead = match self.providers.c2s.get_lead(lead_id).await {
            Err(ProviderError::NotFound { .. }) => return Err(RunError::LeadNotFound),
            other => other?,
        };
        let (phone, email, dropped) = crate::domain::lead::usable_contacts(&lead);
        if crate::store::erasure::is_erased_subject(
            &self.pool,
            &self.ledger,
            None,
            phone.as_slice(),
            email.as_ref(),
        )
        .await?
        {
            // The person behind these contacts was erased: nothing is looked
            // up or kept about them; the lead gets the neutral note.
            crate::metrics::METRICS.event("erased_subject_lead");
            return Ok(LeadFacts {
                lead_updated_at: lead.updated_at.clone(),
                ..LeadFacts::default()
            });
        }
        let fingerprint = crate::domain::lead::contact_fingerprint(phone.as_ref(), email.as_ref());
        sqlx::query("UPDATE enrich.leads SET contact_fingerprint = $2 WHERE lead_id = $1")
            .bind(lead_id.as_str())
            .bind(fingerprint)
            .execute(&self.pool)
            .await?;
        let facts = LeadFacts {
            name: lead.customer_name.clone(),
            phone,
            email,
            dropped,
            lead_updated_at: lead.updated_at.clone(),
        };
        Ok(facts)
    }

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

    /// People we already enriched recently with this phone: a free answer.
    pub(crate) async fn known_by_phone(&self, phone: &PhoneBr) -> Result<Vec<Candidate>, RunError> {
        self.known("SELECT e.national_id, e.name FROM core.entity_phones p JOIN core.entities e USING (entity_id)
                     WHERE p.phone_e164 = $1 AND e.is_enriched AND e.enriched_at > now() - make_interval(secs => $2)
                     ORDER BY e.enriched_at DESC", &phone.e164())
            .await
    }

    pub(crate) async fn known_by_email(&self, email: &Email) -> Result<Vec<Candidate>, RunError> {
        self.known("SELECT e.national_id, e.name FROM core.entity_emails m JOIN core.entities e USING (entity_id)
                     WHERE m.email = $1 AND e.is_enriched AND e.enriched_at > now() - make_interval(secs => $2)
                     ORDER BY e.enriched_at DESC", email.as_str())
            .await
    }

    async fn known(&self, sql: &str, value: &str) -> Result<Vec<Candidate>, RunError> {
        let rows = sqlx::query_as(sql)
            .bind(value)
            .bind(self.settings.dossier_freshness.as_secs_f64())
            .fetch_all(&self.pool)
            .await?;
        Ok(candidates(rows))
    }

    /// A fresh stored snapshot, else the ledger (which pays at most once).
    pub(crate) async fn dossier(&self, cpf: &Cpf, fence: &Fence) -> Result<Dossier, RunError> {
        let snapshot: Option<(serde_json::Value, chrono::DateTime<Utc>)> = sqlx::query_as(
            "SELECT payload, fetched_at FROM enrich.enrichment_snapshots
              WHERE national_id = $1 AND provider = 'work_api' AND module = 'cpf'
                AND fetched_at > now() - make_interval(secs => $2)
              ORDER BY fetched_at DESC LIMIT 1",
        )
        .bind(cpf.digits())
        .bind(self.settings.dossier_freshness.as_secs_f64())
        .fetch_optional(&self.pool)
        .await?;
        // When the provider answered: a dossier served again keeps its own
        // time (its age is what freshness and `enriched_at` speak of).
        let (raw, fetched_at) = match snapshot {
            Some(found) => found,
            None => {
                fence_check(fence)?;
                let work = &self.providers.work_api;
                let looked = self
                    .ledger
                    .lookup(WORK_CPF, cpf.digits(), || async {
                        work.dossier(cpf).await.map(|d| Some(d.raw))
                    })
                    .await?;
                let at = looked.answered_at;
                let raw = looked.value.ok_or_else(|| {
                    RunError::Fatal("the Work API has no dossier for a discovered CPF".into())
                })?;
                (raw, at)
            }
        };
        let mut dossier =
            Dossier::from_work_api(raw).map_err(|e| RunError::Fatal(Cause::of("dossier", e)))?;
        dossier.fetched_at = Some(fetched_at);
        Ok(dossier)
    }

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
        let cpfs: Vec<Cpf> = d.persons.iter().map(|(c, _)| c.clone()).collect();
        let mut erased =
            crate::store::erasure::erased_cpfs(&self.pool, &self.ledger, &cpfs).await?;
        for (i, ((cpf, via), dossier)) in d.persons.iter().zip(dossiers.iter()).enumerate() {
            if erased.contains(cpf) {
                continue;
            }
            let identity = d.identities.get(i);
            let lead = LeadContext {
                lead_id: lead_id.cloned(),
                lead_name: facts.name.clone(),
                match_kind: match via {
                    Via::PhoneAndEmail => MatchKind::PhoneAndEmail,
                    Via::Phone => MatchKind::Phone,
                    Via::Email => MatchKind::Email,
                    Via::Form => MatchKind::FormCpf,
                },
                confidence: identity.map(|x| x.confidence),
                identity_reasons: identity.map(|x| x.reasons.clone()),
                contact_phone: used_contacts(*via, facts).0,
                contact_email: used_contacts(*via, facts).1,
            };
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
        let status: String =
            sqlx::query_scalar("SELECT note_status FROM enrich.leads WHERE lead_id = $1")
                .bind(lead_id.as_str())
                .fetch_one(&self.pool)
                .await?;
        if status == "sent" {
            return Ok(true);
        }
        if status == "pending" && self.note_landed(lead_id, facts).await? {
            // An earlier attempt posted it, and we never learned (crash or
            // lost answer between C2S's 2xx and our update): do not post again.
            tracing::warn!("an earlier, unclear note post did land (the lead changed since we read it); not posting again");
            crate::metrics::METRICS.event("note_presumed_delivered");
            sqlx::query("UPDATE enrich.leads SET note_status = 'sent', updated_at = now() WHERE lead_id = $1")
                .bind(lead_id.as_str())
                .execute(&self.pool)
                .await?;
            return Ok(true);
        }
        let text = self.note_text(facts, d, dossiers)?;
        // The decision to post is the lease holder's alone, while its lease
        // is live (renewed every third of its life, so most of it is left).
        fence_check(fence)?;
        let mine = sqlx::query(
            "UPDATE enrich.leads SET note_status = 'pending', note_text = $2, updated_at = now()
              WHERE lead_id = $1 AND ($3::text IS NULL OR (lease_by = $3 AND lease_until > now()))",
        )
        .bind(lead_id.as_str())
        .bind(&text)
        .bind(fence.holder.as_deref())
        .execute(&self.pool)
        .await?
        .rows_affected();
        if mine == 0 {
            return Err(RunError::LeaseLost);
        }
        if let Err(e) = self.providers.c2s.post_note(lead_id, &text).await {
            if e.refused_before_acting() {
                // C2S clearly did not take it: the next run posts without
                // asking whether it landed (a later edit of the lead would
                // otherwise pass for our note).
                sqlx::query(
                    "UPDATE enrich.leads SET note_status = 'none', updated_at = now()
                      WHERE lead_id = $1 AND note_status = 'pending' AND ($2::text IS NULL OR lease_by = $2)",
                )
                .bind(lead_id.as_str())
                .bind(fence.holder.as_deref())
                .execute(&self.pool)
                .await?;
            }
            return Err(e.into());
        }
        crate::metrics::METRICS.event("note_posted");
        sqlx::query(
            "UPDATE enrich.leads SET note_status = 'sent', updated_at = now() WHERE lead_id = $1",
        )
        .bind(lead_id.as_str())
        .execute(&self.pool)
        .await?;
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

    /// The note's text for what discovery found.
    pub(crate) fn note_text(
        &self,
        facts: &LeadFacts,
        d: &Discovery,
        dossiers: &[Dossier],
    ) -> Result<String, RunError> {
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
        let identity = NoteIdentity {
            persons: d
                .identities
                .iter()
                .map(|i| PersonLine {
                    confirmed: i.confidence == Confidence::Confirmed,
                    reasons: i.note_reasons.clone(),
                    name_differs: i.name_differs,
                    household: i.household.clone(),
                })
                .collect(),
            unshown: d.unshown.iter().map(unshown_line).collect(),
        };
        Ok(format_identified_note(
            resolution,
            &identity,
            facts.name.as_deref(),
            &self.settings.note,
        ))
    }

    /// Fetches the dossiers of the discovered persons (at most two, in parallel).
    pub(crate) async fn dossiers(
        &self,
        discovery: &Discovery,
        fence: &Fence,
    ) -> Result<Vec<Dossier>, RunError> {
        Ok(match discovery.persons.as_slice() {
            [] => Vec::new(),
            [(a, _)] => vec![self.dossier(a, fence).await?],
            [(a, _), (b, _)] => {
                let (x, y) = tokio::join!(self.dossier(a, fence), self.dossier(b, fence));
                vec![x?, y?]
            }
            _ => return Err(RunError::Fatal("more than two people resolved".into())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_error_keeps_the_error_it_came_from() {
        use std::error::Error as _;
        let err = RunError::from(sqlx::Error::RowNotFound);
        assert!(matches!(err, RunError::Retryable(_)));
        assert_eq!(
            err.to_string(),
            format!("retryable: database: {}", sqlx::Error::RowNotFound)
        );
        let cause = err.source().expect("the cause");
        let root = cause.source().expect("the database error");
        assert!(root.downcast_ref::<sqlx::Error>().is_some());
        // A reason alone has no source.
        let plain = RunError::Fatal("more than two people resolved".into());
        assert!(plain.source().and_then(|c| c.source()).is_none());
    }
}
