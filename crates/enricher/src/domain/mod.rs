//! Domain types of the service, built from provider payloads at the edge.

pub mod dossier;
pub mod google_ads;
pub mod identity;
pub mod lead;
pub mod products;
pub mod tier;

/// A person a discovery lookup points to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Candidate {
    pub cpf: brazil::Cpf,
    /// Registry name (upper case), when the provider gave one.
    pub name: Option<String>,
}
