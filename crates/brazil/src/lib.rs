//! The vocabulary of c2s-enrich: Brazilian identifiers and contact data that can
//! only exist when valid ("parse, don't validate").
//!
//! Every type here is pure (no I/O), has a typed error whose message never echoes
//! the input (inputs are personal data under the LGPD), displays in the canonical
//! Brazilian format, serialises to its canonical storage form, and — for personal
//! data — offers a `masked()` view for logs. `Debug` of personal data is masked
//! too, so `tracing::debug!(?cpf)` cannot leak.

mod cep;
mod cnpj;
mod cpf;
mod digits;
mod email;
mod money;
mod name;
mod phone;
#[cfg(feature = "synth")]
pub mod synth;
mod uf;

pub use cep::{Cep, CepError};
pub use cnpj::{classify_cpf_cnpj, Cnpj, CnpjError, Document, DocumentError};
pub use cpf::{Cpf, CpfError};
pub use email::{Email, EmailError};
pub use money::{scale_amounts_in_text, Money, MoneyError};
pub use name::{name_match_score, names_plausibly_match, normalize_name, PLAUSIBLE_NAME_SCORE};
pub use phone::{is_valid_ddd, PhoneBr, PhoneError, PhoneKind, VALID_DDDS};
pub use uf::{Uf, UfError};
