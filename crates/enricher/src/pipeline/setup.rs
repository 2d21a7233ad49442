//! What a run is built from: the pipeline's parts and settings.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::note::NoteSettings;
use crate::domain::identity::{Confidence, Source};
use crate::providers::Providers;
use crate::store::ledger::Ledger;

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
    /// Every paid source at once, or one at a time until someone is
    /// confirmed (`DISCOVERY_MODE`).
    pub discovery_mode: DiscoveryMode,
    /// When leads nobody was found for are asked about again.
    pub retry: crate::store::leads::RetryPolicy,
    /// What the agent is told beside the dossier: the lead tier's rules,
    /// the customer database's properties.
    pub profile: ProfileSettings,
}

/// The lead tier and what the customer database adds to the note.
#[derive(Debug, Clone)]
pub struct ProfileSettings {
    /// The tier's rules (`TIER_RULES_FILE`; the shipped default otherwise).
    pub rules: Arc<crate::domain::tier::RuleSet>,
    /// The ownership table, looked for once.
    pub ownership: crate::store::profile::Ownership,
    /// Tags and alerts (none by default; the service builds them from its
    /// configuration).
    pub alerts: crate::notify::Alerts,
    /// A dossier older than this says its date on the note's sections
    /// (`NOTE_DATA_AGE_DAYS`, default 30; it shows when `CACHE_DOSSIER_DAYS`
    /// keeps dossiers longer).
    pub data_age: Duration,
    /// What the lead of a person who objected (a block) gets: the neutral
    /// note, or none (`BLOCKED_LEAD_NOTE`).
    pub blocked_note: BlockedNote,
}

/// The note on a blocked person's lead (`BLOCKED_LEAD_NOTE`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BlockedNote {
    /// "Nobody found" — the agent learns nothing (the default).
    #[default]
    Neutral,
    /// No note at all.
    None,
}

impl std::str::FromStr for BlockedNote {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "neutral" => Ok(Self::Neutral),
            "none" => Ok(Self::None),
            _ => Err("expected neutral or none".into()),
        }
    }
}

impl Default for ProfileSettings {
    fn default() -> Self {
        Self {
            rules: Arc::new(crate::domain::tier::RuleSet::builtin()),
            ownership: crate::store::profile::Ownership::default(),
            alerts: crate::notify::Alerts::default(),
            data_age: Duration::from_secs(30 * 24 * 3600),
            blocked_note: BlockedNote::default(),
        }
    }
}

/// How discovery asks its paid sources (`DISCOVERY_MODE`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DiscoveryMode {
    /// Every source of `DISCOVERY_SOURCES` at once: the least latency.
    #[default]
    Parallel,
    /// One source at a time, in order, stopping at the first after which
    /// someone is `confirmed`: the fewest paid calls.
    Waterfall,
}

impl std::str::FromStr for DiscoveryMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "parallel" => Ok(Self::Parallel),
            "waterfall" => Ok(Self::Waterfall),
            other => Err(format!("unknown mode {other:?}; use parallel or waterfall")),
        }
    }
}

/// How Google Ads leads become C2S leads.
#[derive(Debug, Clone)]
pub struct GoogleAdsSettings {
    /// The seller the created leads go to (`C2S_SELLER_ID`; C2S's default when unset).
    pub seller_id: Option<String>,
    /// Longest description sent (`C2S_DESCRIPTION_MAX_LENGTH`).
    pub description_max_chars: usize,
    /// The ad → product map (`GOOGLE_ADS_PRODUCTS_FILE`; empty by default).
    pub products: Arc<crate::domain::products::ProductMap>,
}

impl Default for GoogleAdsSettings {
    fn default() -> Self {
        Self {
            seller_id: None,
            description_max_chars: 4000,
            products: Arc::default(),
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

/// How discovery chooses people (the bench compares the three; production
/// always runs `Evidence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityPolicy {
    /// The evidence model (this service).
    #[default]
    Evidence,
    /// This service before the identity work: any stored person listing the
    /// contact, the name only as a tie-breaker, everyone shown.
    PreviousRelease,
    /// The earlier service: the phone lookup's first result, no name check.
    FirstPhoneResult,
}

/// How long a lead lease taken by [`Pipeline::process`] lives unrenewed.
pub const RUN_LEASE: Duration = Duration::from_secs(60);

/// How long a job waits when a provider's circuit is open (plus jitter).
pub const DEFER_FOR: Duration = Duration::from_secs(5);
