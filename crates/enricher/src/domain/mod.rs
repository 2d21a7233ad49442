//! Domain types of the service, built from provider payloads at the edge.

pub mod dossier;
pub mod google_ads;
pub mod identity;
pub mod lead;
pub mod privacy;
pub mod products;
pub mod tier;

/// A person a discovery lookup points to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Candidate {
    pub cpf: brazil::Cpf,
    /// Registry name (upper case), when the provider gave one.
    pub name: Option<String>,
}

/// Outside text (a provider's answer, C2S's seller name) as one line of the
/// note: control characters and line breaks become spaces, spaces collapse,
/// at most `max` characters — it can never add a line of its own.
pub fn one_line(raw: &str, max: usize) -> String {
    raw.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}
