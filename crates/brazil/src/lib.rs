//! The vocabulary of c2s-enrich: Brazilian identifiers and contact data that can
//! only exist when valid ("parse, don't validate").
//!
//! Every type here is pure (no I/O), has a typed error whose message never echoes
//! the input (inputs are personal data under the LGPD), displays in the canonical
//! Brazilian format, serialises to its canonical storage form, and — for personal
//! data — offers a `masked()` view for logs. `Debug` of personal data is masked
//! too, so `tracing::debug!(?cpf)` cannot leak.

/// `FromStr`, `TryFrom<&str>` and serde for a type whose `parse(&str)` is the
/// only way in; it serialises as `$canonical` (its storage form) and
/// deserialises through `parse`, so invalid JSON values are refused too.
macro_rules! text_type {
    ($ty:ty, $err:ty, |$v:ident| $canonical:expr) => {
        impl std::str::FromStr for $ty {
            type Err = $err;
            fn from_str(s: &str) -> Result<Self, $err> {
                Self::parse(s)
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = $err;
            fn try_from(s: &str) -> Result<Self, $err> {
                Self::parse(s)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let $v = self;
                s.serialize_str(&$canonical)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

pub mod agreement;
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

pub use agreement::{compare_names, initials, GivenAgreement, NameComparison, SurnameAgreement};
pub use cep::{Cep, CepError};
pub use cnpj::{classify_cpf_cnpj, Cnpj, CnpjError, Document, DocumentError};
pub use cpf::{Cpf, CpfError};
pub use email::{Email, EmailError};
pub use money::{scale_amounts_in_text, Money, MoneyError};
pub use name::{name_match_score, names_plausibly_match, normalize_name, PLAUSIBLE_NAME_SCORE};
pub use phone::{is_valid_ddd, PhoneBr, PhoneError, PhoneKind, VALID_DDDS};
pub use uf::{Uf, UfError};
