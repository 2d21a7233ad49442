//! CPF — Cadastro de Pessoas Físicas, the individual taxpayer number.

use std::fmt;

use crate::digits::{self, DigitsError};

/// A CPF whose two check digits hold. Stored as its 11 digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cpf(String);

/// Why a value is not a CPF. Messages never repeat the value (it is personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CpfError {
    #[error("CPF is empty")]
    Empty,
    #[error("CPF contains characters other than digits, '.', '-' and spaces")]
    InvalidCharacter,
    #[error("CPF has {0} digits; expected 11 (or 14 zero-padded)")]
    WrongLength(usize),
    #[error("CPF has fewer than 11 digits (leading zeros missing?)")]
    TooShort,
    #[error("CPF made of one repeated digit is never issued")]
    RepeatedDigits,
    #[error("CPF check digits do not match")]
    CheckDigits,
}

const WEIGHTS_1: [u32; 9] = [10, 9, 8, 7, 6, 5, 4, 3, 2];
const WEIGHTS_2: [u32; 10] = [11, 10, 9, 8, 7, 6, 5, 4, 3, 2];

impl Cpf {
    /// Parses `52998224725`, `529.982.247-25` or the Work API's zero-padded
    /// 14-character `00052998224725`. A value short of leading zeros is refused
    /// ([`CpfError::TooShort`]); use [`Cpf::parse_padding`] when the source is
    /// known to drop them.
    pub fn parse(input: &str) -> Result<Self, CpfError> {
        let digits = digits::digits_of(input).map_err(CpfError::from)?;
        match digits.len() {
            11 => Self::from_digits(&digits),
            14 if digits[..3] == [0, 0, 0] => Self::from_digits(&digits[3..]),
            n if n < 11 => Err(CpfError::TooShort),
            n => Err(CpfError::WrongLength(n)),
        }
    }

    /// Like [`Cpf::parse`], but restores missing leading zeros (numeric exports and
    /// some providers lose them: `1234567890` → `01234567890`).
    pub fn parse_padding(input: &str) -> Result<Self, CpfError> {
        let digits = digits::digits_of(input).map_err(CpfError::from)?;
        if digits.len() < 11 {
            let mut padded = vec![0u8; 11 - digits.len()];
            padded.extend_from_slice(&digits);
            return Self::from_digits(&padded);
        }
        Self::parse(input)
    }

    fn from_digits(d: &[u8]) -> Result<Self, CpfError> {
        debug_assert_eq!(d.len(), 11);
        if digits::all_same(d) {
            return Err(CpfError::RepeatedDigits);
        }
        let (first, second) = check_digits(&d[..9]);
        if d[9] != first || d[10] != second {
            return Err(CpfError::CheckDigits);
        }
        Ok(Self(digits::to_string(d)))
    }

    /// Builds a valid CPF from its first nine digits (used by generators and tests).
    pub fn from_base(base: [u8; 9]) -> Result<Self, CpfError> {
        if base.iter().any(|d| *d > 9) {
            return Err(CpfError::InvalidCharacter);
        }
        let (first, second) = check_digits(&base);
        let mut all = base.to_vec();
        all.extend([first, second]);
        Self::from_digits(&all)
    }

    /// The 11 digits, the form stored in the database and sent to providers.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// `***.982.247-**`: safe for logs.
    pub fn masked(&self) -> String {
        format!("***.{}.{}-**", &self.0[3..6], &self.0[6..9])
    }
}

fn check_digits(base: &[u8]) -> (u8, u8) {
    let first = digits::mod11_digit(base, &WEIGHTS_1);
    let mut ten = base.to_vec();
    ten.push(first);
    (first, digits::mod11_digit(&ten, &WEIGHTS_2))
}

impl From<DigitsError> for CpfError {
    fn from(e: DigitsError) -> Self {
        match e {
            DigitsError::Empty => Self::Empty,
            DigitsError::InvalidCharacter => Self::InvalidCharacter,
        }
    }
}

impl fmt::Display for Cpf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        write!(f, "{}.{}.{}-{}", &d[..3], &d[3..6], &d[6..9], &d[9..])
    }
}

impl fmt::Debug for Cpf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cpf({})", self.masked())
    }
}

impl AsRef<str> for Cpf {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

text_type!(Cpf, CpfError, |v| v.0);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_formatted_and_work_api_padded_forms() {
        for raw in [
            "52998224725",
            "529.982.247-25",
            " 529 982 247 25 ",
            "00052998224725",
        ] {
            let cpf = Cpf::parse(raw).expect(raw);
            assert_eq!(cpf.digits(), "52998224725");
            assert_eq!(cpf.to_string(), "529.982.247-25");
        }
    }

    #[test]
    fn short_values_are_refused_unless_the_caller_asks_for_padding() {
        // 01234567890 is valid; written without its leading zero it has 10 digits.
        assert!(Cpf::parse("01234567890").is_ok());
        assert_eq!(Cpf::parse("1234567890"), Err(CpfError::TooShort));
        let padded = Cpf::parse_padding("1234567890").expect("padding restores the zero");
        assert_eq!(padded.digits(), "01234567890");
    }

    #[test]
    fn all_eleven_repeated_digit_numbers_are_refused() {
        for d in 0..=9u8 {
            let raw: String = std::iter::repeat_n(char::from(b'0' + d), 11).collect();
            assert_eq!(Cpf::parse(&raw), Err(CpfError::RepeatedDigits), "{raw}");
        }
    }

    #[test]
    fn wrong_check_digits_letters_and_lengths_are_refused() {
        assert_eq!(Cpf::parse("52998224726"), Err(CpfError::CheckDigits));
        assert_eq!(Cpf::parse("52998224715"), Err(CpfError::CheckDigits));
        assert_eq!(Cpf::parse("5299822472a"), Err(CpfError::InvalidCharacter));
        assert_eq!(Cpf::parse(""), Err(CpfError::Empty));
        assert_eq!(Cpf::parse("--"), Err(CpfError::Empty));
        assert_eq!(Cpf::parse("529982247250"), Err(CpfError::WrongLength(12)));
        // 14 digits not starting 000 are a CNPJ, not a CPF.
        assert_eq!(Cpf::parse("11222333000181"), Err(CpfError::WrongLength(14)));
    }

    #[test]
    fn masked_and_debug_forms_hide_the_first_and_check_digits() {
        let cpf = Cpf::parse("52998224725").expect("valid");
        assert_eq!(cpf.masked(), "***.982.247-**");
        assert_eq!(format!("{cpf:?}"), "Cpf(***.982.247-**)");
    }

    #[test]
    fn error_messages_never_echo_the_input() {
        let err = Cpf::parse("52998224726").expect_err("bad check digit");
        assert!(!err.to_string().contains("529"));
    }

    #[test]
    fn serde_uses_the_eleven_digits_and_parses_any_form() {
        let cpf: Cpf = serde_json::from_str("\"529.982.247-25\"").expect("valid");
        assert_eq!(serde_json::to_string(&cpf).expect("ser"), "\"52998224725\"");
        assert!(serde_json::from_str::<Cpf>("\"52998224726\"").is_err());
    }
}
