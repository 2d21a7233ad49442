//! Domain types of the service, built from provider payloads at the edge.

pub mod dossier;
pub mod lead;
mod json;
