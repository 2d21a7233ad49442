//! Everything that writes the customer database. SQL lives here.

pub mod api_keys;
pub mod console;
pub mod console_actions;
pub mod console_figures;
pub mod console_leads;
pub mod console_timeline;
pub mod customers;
pub mod deliveries;
pub mod dossier;
pub mod erasure;
pub mod events;
pub mod google_ads;
pub mod jobs;
pub mod leads;
pub mod lease;
pub mod ledger;
pub mod pauses;
pub mod people;
pub mod pii_audit;
pub mod profile;
pub mod retention;
pub mod rollups;
pub mod settings;
pub mod subjects;
