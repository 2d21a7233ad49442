//! Erasing a person (LGPD): the entity and everything hanging from it, the
//! addresses only they used, their snapshots and lead links, the personal data
//! kept in the leads' processing state, notes and webhook payloads, the
//! cached provider answers for their CPF, phones and e-mails — and anything
//! else that mentions them: failed leads' records, archived rows, Google Ads
//! answers, other people's cached dossiers and snapshots listing them — in one
//! transaction, with their open jobs cancelled. Relatives and shared
//! addresses survive; a record without personal data remains.
//!
//! The erasure then *holds*: tombstones keep the CPF, phones and e-mails as
//! keyed hashes, and a later lead with those contacts makes no provider call
//! and stores nothing about the person ([`is_erased_subject`]).

mod erase;
mod needles;
mod tombstones;

pub use erase::{erase, Erased, ToRemove};
pub(crate) use needles::Needles;
pub use tombstones::{erased_cpfs, held_subject, is_erased_subject, CpfGuard, Hold};
