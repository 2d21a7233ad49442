//! CNPJ — Cadastro Nacional da Pessoa Jurídica — and classification of the Work
//! API's `cpf_cnpj` values.

use std::fmt;

use crate::cpf::Cpf;
use crate::digits::{self, DigitsError};

/// A CNPJ (company number) whose two check digits hold. Stored as 14 digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Cnpj(String);

/// Why a value is not a CNPJ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CnpjError {
    #[error("CNPJ is empty")]
    Empty,
    #[error("CNPJ contains characters other than digits, '.', '/', '-' and spaces")]
    InvalidCharacter,
    #[error("CNPJ has {0} digits; expected 14")]
    WrongLength(usize),
    #[error("CNPJ made of one repeated digit is never issued")]
    RepeatedDigits,
    #[error("CNPJ check digits do not match")]
    CheckDigits,
}

const WEIGHTS_1: [u32; 12] = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
const WEIGHTS_2: [u32; 13] = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];

impl Cnpj {
    /// Parses `11222333000181` or `11.222.333/0001-81`.
    pub fn parse(input: &str) -> Result<Self, CnpjError> {
        let d = digits::digits_of(input).map_err(CnpjError::from)?;
        if d.len() != 14 {
            return Err(CnpjError::WrongLength(d.len()));
        }
        if digits::all_same(&d) {
            return Err(CnpjError::RepeatedDigits);
        }
        let (first, second) = check_digits(&d[..12]);
        if d[12] != first || d[13] != second {
            return Err(CnpjError::CheckDigits);
        }
        Ok(Self(digits::to_string(&d)))
    }

    /// Builds a valid CNPJ from its first twelve digits (generators and tests).
    pub fn from_base(base: [u8; 12]) -> Result<Self, CnpjError> {
        if base.iter().any(|d| *d > 9) {
            return Err(CnpjError::InvalidCharacter);
        }
        let (first, second) = check_digits(&base);
        let mut all = base.to_vec();
        all.extend([first, second]);
        Self::parse(&digits::to_string(&all))
    }

    /// The 14 digits.
    pub fn digits(&self) -> &str {
        &self.0
    }
}

fn check_digits(base: &[u8]) -> (u8, u8) {
    let first = digits::mod11_digit(base, &WEIGHTS_1);
    let mut thirteen = base.to_vec();
    thirteen.push(first);
    (first, digits::mod11_digit(&thirteen, &WEIGHTS_2))
}

impl From<DigitsError> for CnpjError {
    fn from(e: DigitsError) -> Self {
        match e {
            DigitsError::Empty => Self::Empty,
            DigitsError::InvalidCharacter => Self::InvalidCharacter,
        }
    }
}

impl fmt::Display for Cnpj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        write!(
            f,
            "{}.{}.{}/{}-{}",
            &d[..2],
            &d[2..5],
            &d[5..8],
            &d[8..12],
            &d[12..]
        )
    }
}

impl AsRef<str> for Cnpj {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A national document: a person's CPF or a company's CNPJ.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Document {
    Cpf(Cpf),
    Cnpj(Cnpj),
}

/// Why a `cpf_cnpj` value is neither a valid CPF nor a valid CNPJ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("value is neither a valid CPF nor a valid CNPJ")]
pub struct DocumentError;

/// Classifies a Work API `cpf_cnpj` value (always 14 characters, zero-padded).
///
/// A CPF is the last 11 digits of a value starting `000` whose CPF check digits
/// hold (the provider's own rule); anything else that is a valid CNPJ is a
/// company. Real CNPJs also start with `00` (Caixa's is `00.360.305/0001-04`):
/// they are companies unless the CPF reading holds. A handful of values are valid
/// both ways (`00000000000191`); the provider's rule reads them as CPFs, and so do
/// we. An 11-digit value is read as a CPF.
pub fn classify_cpf_cnpj(value: &str) -> Result<Document, DocumentError> {
    let d = digits::digits_of(value).map_err(|_| DocumentError)?;
    match d.len() {
        11 => Cpf::parse(value)
            .map(Document::Cpf)
            .map_err(|_| DocumentError),
        14 => {
            if d[..3] == [0, 0, 0] {
                if let Ok(cpf) = Cpf::parse(&digits::to_string(&d[3..])) {
                    return Ok(Document::Cpf(cpf));
                }
            }
            Cnpj::parse(value)
                .map(Document::Cnpj)
                .map_err(|_| DocumentError)
        }
        _ => Err(DocumentError),
    }
}

text_type!(Cnpj, CnpjError, |v| v.0);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_the_canonical_example() {
        let c = Cnpj::parse("11222333000181").expect("valid");
        assert_eq!(c.to_string(), "11.222.333/0001-81");
        assert_eq!(Cnpj::parse("11.222.333/0001-81"), Ok(c));
        assert!(Cnpj::parse("45.099.876/0001-75").is_ok());
    }

    #[test]
    fn refuses_bad_check_digits_lengths_and_repeats() {
        assert_eq!(Cnpj::parse("11222333000182"), Err(CnpjError::CheckDigits));
        assert_eq!(
            Cnpj::parse("1122233300018"),
            Err(CnpjError::WrongLength(13))
        );
        assert_eq!(
            Cnpj::parse("11111111111111"),
            Err(CnpjError::RepeatedDigits)
        );
        assert_eq!(
            Cnpj::parse("11.222.333/0001-8x"),
            Err(CnpjError::InvalidCharacter)
        );
    }

    #[test]
    fn work_api_values_split_into_people_and_companies() {
        let person = classify_cpf_cnpj("00052998224725").expect("cpf");
        assert!(matches!(person, Document::Cpf(ref c) if c.digits() == "52998224725"));
        let company = classify_cpf_cnpj("11222333000181").expect("cnpj");
        assert!(matches!(company, Document::Cnpj(_)));
        // Caixa: starts with 00 and is a company.
        let caixa = classify_cpf_cnpj("00360305000104").expect("cnpj");
        assert!(matches!(caixa, Document::Cnpj(_)));
        // Valid both ways: the provider's rule (000 + CPF check digits) wins.
        let both = classify_cpf_cnpj("00000000000191").expect("either");
        assert!(matches!(both, Document::Cpf(_)));
        assert_eq!(classify_cpf_cnpj("00052998224726"), Err(DocumentError));
        assert_eq!(classify_cpf_cnpj("abc"), Err(DocumentError));
    }
}
