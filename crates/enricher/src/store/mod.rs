//! Everything that writes the customer database. SQL lives here.

pub mod dossier;
pub mod ledger;
