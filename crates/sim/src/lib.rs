//! c2s-sim: a local sandbox of the three providers c2s-enrich talks to —
//! Contact2Sale (C2S), Diretrix and the Work API — with their real request and
//! response shapes and quirks, a deterministic synthetic population, fault
//! injection, a record of every call for tests, and webhook delivery.
//!
//! One HTTP listener serves all three (their paths do not overlap): C2S under
//! `/integration`, Diretrix under `/Consultas`, the Work API at `/api`, and the
//! sandbox's own admin API under `/__admin`.

pub mod faults;
mod labelled;
pub mod population;
pub mod render;
mod routes;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use chrono::Offset as _;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Serialize;

pub use faults::{Fault, Faults};
pub use population::{LeadKind, Person, Population, SimLead};

/// The providers the sandbox plays.
pub const PROVIDERS: [&str; 3] = ["c2s", "diretrix", "work_api"];

/// Sandbox settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub leads: usize,
    /// 0 picks a free port.
    pub port: u16,
    pub c2s_token: String,
    pub diretrix_user: String,
    pub diretrix_pass: String,
    pub work_token: String,
    /// Faults per provider at start.
    pub faults: HashMap<String, Faults>,
    /// Header (name, value) sent with the webhooks the sandbox fires by itself
    /// (the shared secret configured in the C2S dashboard).
    pub hook_header: Option<(String, String)>,
    /// Which synthetic world: the classic one (default) or the labelled one
    /// with production's confounders (households, shared and recycled lines,
    /// nicknames, …).
    pub world: World,
}

/// The sandbox's synthetic world.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum World {
    /// Simple people and leads, every contact its owner's (or a sibling's).
    #[default]
    Classic,
    /// Families and labelled leads with production's confounders.
    Labelled,
}

impl World {
    /// This world's people and `leads` leads, the same for the same seed.
    pub fn population(self, seed: u64, leads: usize) -> Population {
        match self {
            Self::Classic => Population::generate(seed, leads),
            Self::Labelled => labelled::generate(seed, leads),
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            leads: 100,
            port: 0,
            c2s_token: "sim-c2s-token".into(),
            diretrix_user: "sim".into(),
            diretrix_pass: "sim-pass".into(),
            work_token: "sim-work-token".into(),
            faults: HashMap::new(),
            hook_header: None,
            world: World::Classic,
        }
    }
}

impl SimConfig {
    /// The same latency for every provider.
    pub fn with_latency_ms(mut self, ms: u64) -> Self {
        for p in PROVIDERS {
            self.faults.entry(p.to_owned()).or_default().latency_ms = ms;
        }
        self
    }
}

/// One call the sandbox answered.
#[derive(Debug, Clone, Serialize)]
pub struct CallRecord {
    pub provider: &'static str,
    pub operation: &'static str,
    /// The lead id, phone, e-mail or CPF asked for (synthetic data).
    pub query: String,
    pub status: u16,
    /// When the request arrived, in milliseconds since the sandbox started.
    pub at_ms: u64,
}

impl CallRecord {
    /// A call to a paid provider (Diretrix, the Work API): not C2S, not the
    /// free company-name source.
    pub fn paid(&self) -> bool {
        matches!(self.provider, "diretrix" | "work_api")
    }
}

/// A note posted on a lead.
#[derive(Debug, Clone, Serialize)]
pub struct NoteRecord {
    pub lead_id: String,
    pub body: String,
}

/// Everything the sandbox saw, for assertions.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Journal {
    pub calls: Vec<CallRecord>,
    pub notes: Vec<NoteRecord>,
    pub created_leads: Vec<serde_json::Value>,
    /// Messages posted to the sandbox's Slack-like incoming webhook
    /// (`POST /hooks/slack/...`), as received.
    pub slack_messages: Vec<serde_json::Value>,
    pub subscriptions: Vec<(String, String)>,
}

impl Journal {
    /// Calls to `provider`/`operation`.
    pub fn count(&self, provider: &str, operation: &str) -> usize {
        self.calls
            .iter()
            .filter(|c| c.provider == provider && c.operation == operation)
            .count()
    }

    /// Notes posted on `lead_id`.
    pub fn notes_for(&self, lead_id: &str) -> Vec<&NoteRecord> {
        self.notes.iter().filter(|n| n.lead_id == lead_id).collect()
    }
}

/// Shared state of a running sandbox.
#[derive(Debug)]
pub struct SimState {
    pub config: SimConfig,
    pub population: Population,
    leads: Mutex<Vec<SimLead>>,
    /// C2S tags: (id, name).
    tags: Mutex<Vec<(String, String)>>,
    /// Each lead's tag ids, in the order they were added (a repeat shows).
    lead_tags: Mutex<HashMap<String, Vec<String>>>,
    journal: Mutex<Journal>,
    faults: Mutex<HashMap<String, Faults>>,
    counters: Mutex<HashMap<String, u64>>,
    rng: Mutex<StdRng>,
    http: reqwest::Client,
    started: std::time::Instant,
}

/// The sandbox's clock for changes to leads (a note, an edit, new contacts,
/// a created lead): the current time in São Paulo, and at least one second
/// after the previous change — so a lead's `updated_at` only moves forward
/// and every change has its own stamp, as C2S's do, and stamps compare as
/// text in time order (one offset, one format). Generated leads are stamped
/// November 2026, before any change.
pub fn next_stamp() -> String {
    static LAST: Mutex<i64> = Mutex::new(0);
    let mut last = lock(&LAST);
    *last = (*last + 1).max(chrono::Utc::now().timestamp());
    let offset = chrono::FixedOffset::west_opt(3 * 3600).unwrap_or(chrono::Utc.fix());
    chrono::DateTime::from_timestamp(*last, 0)
        .unwrap_or_default()
        .with_timezone(&offset)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SimState {
    fn new(config: SimConfig) -> Self {
        let population = config.world.population(config.seed, config.leads);
        let leads = population.leads.clone();
        let faults = config.faults.clone();
        Self {
            rng: Mutex::new(StdRng::seed_from_u64(config.seed ^ 0x5EED)),
            population,
            leads: Mutex::new(leads),
            tags: Mutex::new(Vec::new()),
            lead_tags: Mutex::new(HashMap::new()),
            journal: Mutex::new(Journal::default()),
            faults: Mutex::new(faults),
            counters: Mutex::new(HashMap::new()),
            http: reqwest::Client::new(),
            started: std::time::Instant::now(),
            config,
        }
    }

    /// A copy of everything seen so far.
    pub fn journal(&self) -> Journal {
        lock(&self.journal).clone()
    }

    /// Forgets what was seen (faults and leads stay).
    pub fn reset_journal(&self) {
        *lock(&self.journal) = Journal::default();
        lock(&self.counters).clear();
    }

    /// `true` with probability `p`, from the sandbox's seeded generator.
    pub fn chance(&self, p: f64) -> bool {
        use rand::Rng as _;
        lock(&self.rng).gen_bool(p.clamp(0.0, 1.0))
    }

    /// Replaces one provider's faults.
    pub fn set_faults(&self, provider: &str, faults: Faults) {
        lock(&self.faults).insert(provider.to_owned(), faults);
    }

    /// The current faults of one provider.
    pub fn faults(&self, provider: &str) -> Faults {
        lock(&self.faults)
            .get(provider)
            .cloned()
            .unwrap_or_default()
    }

    /// The tag ids on a lead, in the order they were added (a tag added
    /// twice is listed twice).
    pub fn lead_tags(&self, lead_id: &str) -> Vec<String> {
        lock(&self.lead_tags)
            .get(lead_id)
            .cloned()
            .unwrap_or_default()
    }

    /// The names of the tags on a lead, in the order they were added.
    pub fn lead_tag_names(&self, lead_id: &str) -> Vec<String> {
        let tags = lock(&self.tags);
        self.lead_tags(lead_id)
            .iter()
            .filter_map(|t| tags.iter().find(|(id, _)| id == t).map(|(_, n)| n.clone()))
            .collect()
    }

    /// The leads (generated and created).
    pub fn leads(&self) -> Vec<SimLead> {
        lock(&self.leads).clone()
    }

    /// The first lead of `kind` (tests pick their example lead so).
    pub fn first_lead(&self, kind: LeadKind) -> Option<SimLead> {
        lock(&self.leads).iter().find(|l| l.kind == kind).cloned()
    }

    /// Someone edits a lead in C2S (an agent changes its status, say): its
    /// `updated_at` moves, as C2S's does. `false` when there is no such lead.
    pub fn touch_lead(&self, id: &str) -> bool {
        let mut leads = lock(&self.leads);
        let Some(lead) = leads.iter_mut().find(|l| l.id == id) else {
            return false;
        };
        lead.updated_at = next_stamp();
        true
    }

    /// Takes a lead out of C2S (it answers 404 for it until it is put back
    /// with [`Self::put_lead`]): a lead announced before C2S serves it.
    pub fn take_lead(&self, id: &str) -> Option<SimLead> {
        let mut leads = lock(&self.leads);
        let at = leads.iter().position(|l| l.id == id)?;
        Some(leads.remove(at))
    }

    /// Puts a lead (back) into C2S.
    pub fn put_lead(&self, lead: SimLead) {
        lock(&self.leads).push(lead);
    }

    /// An agent changes a lead's contacts in C2S (its `updated_at` moves).
    /// `false` when there is no such lead.
    pub fn set_contacts(&self, id: &str, phone: Option<String>, email: Option<String>) -> bool {
        let mut leads = lock(&self.leads);
        let Some(lead) = leads.iter_mut().find(|l| l.id == id) else {
            return false;
        };
        lead.phone = phone;
        lead.email = email;
        lead.updated_at = next_stamp();
        true
    }

    fn lead(&self, id: &str) -> Option<SimLead> {
        lock(&self.leads).iter().find(|l| l.id == id).cloned()
    }

    /// Milliseconds since the sandbox started.
    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn record(&self, call: CallRecord) {
        lock(&self.journal).calls.push(call);
    }

    /// Decides the fault and latency of the next call to `provider`.
    fn next_call(&self, provider: &str, operation: &str) -> (Fault, std::time::Duration) {
        let n = {
            let mut counters = lock(&self.counters);
            let c = counters.entry(provider.to_owned()).or_default();
            *c += 1;
            *c
        };
        let mut faults = lock(&self.faults);
        let f = faults.entry(provider.to_owned()).or_default();
        let mut rng = lock(&self.rng);
        let targeted =
            f.only_operations.is_empty() || f.only_operations.iter().any(|o| o == operation);
        let fault = if targeted {
            f.decide(n, &mut rng)
        } else {
            Fault::None
        };
        (fault, f.latency(&mut rng))
    }
}

/// A running sandbox; stops when dropped or on [`SimHandle::stop`].
#[derive(Debug)]
pub struct SimHandle {
    pub addr: SocketAddr,
    pub state: Arc<SimState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT` (C2S and Diretrix base URL).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The Work API base URL.
    pub fn work_api_url(&self) -> String {
        format!("{}/api", self.base_url())
    }

    /// The service's configuration for this sandbox (variable, value).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let c = &self.state.config;
        vec![
            ("C2S_BASE_URL", self.base_url()),
            ("C2S_TOKEN", c.c2s_token.clone()),
            ("DIRETRIX_BASE_URL", self.base_url()),
            ("DIRETRIX_USER", c.diretrix_user.clone()),
            ("DIRETRIX_PASS", c.diretrix_pass.clone()),
            ("WORK_API_BASE_URL", self.work_api_url()),
            ("WORK_API", c.work_token.clone()),
            ("CNPJ_BASE_URL", format!("{}/brasilapi", self.base_url())),
        ]
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts the sandbox on 127.0.0.1.
pub async fn start(config: SimConfig) -> std::io::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(SimState::new(config));
    let app = routes::router(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        if let Err(e) = server.await {
            tracing::error!(error = %e, "sandbox server stopped");
        }
    });
    Ok(SimHandle {
        addr,
        state,
        shutdown: Some(tx),
        task: Some(task),
    })
}

pub use routes::{deliver, DeliveryReport, DeliveryRequest};

/// Delivers webhooks for `lead_ids` (all when `None`) to `url`, each `duplicates`
/// times, with an optional secret header. A convenience over [`deliver`].
pub async fn deliver_for_tests(
    sim: &SimHandle,
    url: &str,
    action: &str,
    lead_ids: Option<Vec<String>>,
    duplicates: u32,
    header: Option<(&str, &str)>,
) -> DeliveryReport {
    let req = DeliveryRequest {
        url: url.to_owned(),
        action: Some(action.to_owned()),
        lead_ids,
        duplicates,
        concurrency: 4,
        header_name: header.map(|(k, _)| k.to_owned()),
        header_value: header.map(|(_, v)| v.to_owned()),
        batch: 0,
    };
    deliver(&sim.state, &req).await
}
