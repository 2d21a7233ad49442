//! CEP — Código de Endereçamento Postal, the 8-digit postcode.

use std::fmt;

use crate::digits::{self, DigitsError};

/// An 8-digit CEP. Stored as digits; displayed `01442-000`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Cep(String);

/// Why a value is not a CEP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CepError {
    #[error("CEP is empty")]
    Empty,
    #[error("CEP contains characters other than digits, '.', '-' and spaces")]
    InvalidCharacter,
    #[error("CEP has {0} digits; expected 8")]
    WrongLength(usize),
    #[error("CEP 00000-000 does not exist")]
    AllZeros,
}

impl Cep {
    /// Parses `01442000`, `01442-000` or `01.442-000`.
    pub fn parse(input: &str) -> Result<Self, CepError> {
        let d = digits::digits_of(input).map_err(|e| match e {
            DigitsError::Empty => CepError::Empty,
            DigitsError::InvalidCharacter => CepError::InvalidCharacter,
        })?;
        if d.len() != 8 {
            return Err(CepError::WrongLength(d.len()));
        }
        if d.iter().all(|x| *x == 0) {
            return Err(CepError::AllZeros);
        }
        Ok(Self(digits::to_string(&d)))
    }

    /// The 8 digits, the form stored in `core.addresses.zip_code`.
    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Cep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", &self.0[..5], &self.0[5..])
    }
}

impl AsRef<str> for Cep {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

text_type!(Cep, CepError, |v| v.0);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_spellings() {
        for raw in ["01442000", "01442-000", "01.442-000", " 01442 000 "] {
            let cep = Cep::parse(raw).expect(raw);
            assert_eq!(cep.digits(), "01442000");
            assert_eq!(cep.to_string(), "01442-000");
        }
    }

    #[test]
    fn refuses_the_dirty_values_found_in_production() {
        assert_eq!(Cep::parse("1144"), Err(CepError::WrongLength(4)));
        assert_eq!(Cep::parse("ABCDEFGH"), Err(CepError::InvalidCharacter));
        assert_eq!(Cep::parse("11060-0021"), Err(CepError::WrongLength(9)));
        assert_eq!(Cep::parse("00000-000"), Err(CepError::AllZeros));
        assert_eq!(Cep::parse(""), Err(CepError::Empty));
        assert!(Cep::parse("11060-002").is_ok());
    }
}
