//! Domain types of the service, built from provider payloads at the edge.

pub mod dossier;
mod json;
pub mod lead;
