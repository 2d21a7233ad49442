//! Everything that writes the customer database. SQL lives here.

pub mod dossier;
pub mod jobs;
pub mod ledger;
