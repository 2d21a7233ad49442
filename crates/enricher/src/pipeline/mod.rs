//! The enrichment pipeline: from a lead to a stored person and one note.

pub mod google_ads;
pub mod identify;
pub mod note;
pub mod resolve;
pub mod run;
pub mod worker;
