//! The enrichment pipeline: from a lead to a stored person and one note.
//!
//! - `setup`: the pipeline's parts and settings;
//! - `steps`: the one step machine both tracks run (discover → dossier →
//!   store), the dossiers and the note's text;
//! - `lead`: a C2S lead's track (read the lead, …, post the note);
//! - `google_ads`: a Google Ads form's track (…, create the C2S lead);
//! - `discover` and `identify`: who is behind the contacts;
//! - `context` and `error`: what a run keeps between steps, why it stops;
//! - `note` and `resolve`: the note's text; the earlier release's resolution
//!   (kept for the bench's baselines);
//! - `worker`: the job loop that runs them; `sync`: one lead run now for a
//!   caller that waits (the API's synchronous triggers, `enrich`);
//! - `reconcile` and `retry`: the leads no webhook brought, and the leads
//!   nobody was found for, asked about again days later; `backfill`: the
//!   historical leads, under a credit limit.

pub mod backfill;
pub mod context;
mod deliver;
pub mod discover;
pub mod error;
pub mod google_ads;
pub mod identify;
pub mod lead;
pub mod listing;
pub mod note;
mod note_text;
pub mod reconcile;
pub mod resolve;
pub mod retry;
pub mod setup;
pub mod source_health;
pub mod steps;
pub mod sync;
pub mod worker;

pub use context::{Discovery, LeadFacts, Outcome, RunContext, Seller};
pub use error::{Cause, RunError};
pub use setup::{
    default_discovery, BlockedNote, DiscoveryMode, GoogleAdsSettings, IdentityPolicy, Pipeline,
    PipelineSettings, ProfileSettings, DEFER_FOR, RUN_LEASE,
};
