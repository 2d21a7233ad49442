//! Storing a dossier: one transaction writes the golden record, its contacts,
//! addresses, relatives, companies, the raw snapshot and the lead link.
//!
//! Idempotent (every write is an upsert on a unique key; the same dossier stored
//! twice leaves the same rows) and safe under concurrency: before writing, the
//! transaction takes advisory locks on every person/company and address it will
//! touch, in sorted order, so two stores sharing a relative or an address queue
//! instead of deadlocking, and unique keys never surface as errors.

mod links;
mod model;
mod person;
mod write;

pub use crate::store::erasure::CpfGuard;
pub use links::relationship_type;
pub use model::{LeadContext, MatchKind, StoreError, StoreOptions, Stored};
pub use write::{store_dossier, store_dossier_guarded};
