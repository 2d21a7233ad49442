//! Shared helpers for numeric identifiers written with punctuation.

/// Why a punctuated digit string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DigitsError {
    Empty,
    InvalidCharacter,
}

/// Keeps the ASCII digits of `input`, allowing only the separators people and
/// providers write between them (`.`, `-`, `/`, spaces). Letters and anything
/// else are refused rather than silently dropped.
pub(crate) fn digits_of(input: &str) -> Result<Vec<u8>, DigitsError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(DigitsError::Empty);
    }
    let mut out = Vec::with_capacity(trimmed.len());
    for c in trimmed.chars() {
        match c {
            '0'..='9' => out.push(c as u8 - b'0'),
            '.' | '-' | '/' | ' ' | '\u{a0}' => {}
            _ => return Err(DigitsError::InvalidCharacter),
        }
    }
    if out.is_empty() {
        return Err(DigitsError::Empty);
    }
    Ok(out)
}

/// Modulo-11 check digit with the weights used by CPF and CNPJ.
pub(crate) fn mod11_digit(digits: &[u8], weights: &[u32]) -> u8 {
    let sum: u32 = digits
        .iter()
        .zip(weights)
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    let rest = sum % 11;
    if rest < 2 {
        0
    } else {
        (11 - rest) as u8
    }
}

pub(crate) fn all_same(digits: &[u8]) -> bool {
    digits.windows(2).all(|w| w[0] == w[1])
}

pub(crate) fn to_string(digits: &[u8]) -> String {
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}
