//! Money in reais: exact decimals parsed from provider strings, pt-BR formatting.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};

/// An exact amount of Brazilian reais (no binary floats anywhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

/// Why a value is not an amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount is empty")]
    Empty,
    #[error("amount has characters other than digits, one sign, '.', ',' and 'R$'")]
    InvalidCharacter,
    #[error("amount has misplaced thousands or decimal separators")]
    BadSeparators,
    #[error("amount is out of range")]
    OutOfRange,
}

impl Money {
    /// Parses what providers send: `"12430,75"`, `"7299.00"`, `"R$ 10001"`,
    /// `"1.234.567,89"`, `"1,234.56"`, `"-50"`.
    ///
    /// When both `.` and `,` appear, the last one is the decimal separator. A lone
    /// `,` is decimal (pt-BR). A lone `.` is decimal when followed by one or two
    /// digits (`7299.00`) and a thousands separator otherwise (`7.299`).
    pub fn parse(input: &str) -> Result<Self, MoneyError> {
        let s = input.trim();
        let s = s.strip_prefix("R$").unwrap_or(s).trim();
        let (negative, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, s),
        };
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        {
            return Err(MoneyError::InvalidCharacter);
        }
        let canonical = canonical_number(s)?;
        let mut value: Decimal = canonical.parse().map_err(|_| MoneyError::OutOfRange)?;
        if negative {
            value.set_sign_negative(true);
        }
        Ok(Self(value))
    }

    /// Wraps an exact decimal.
    pub fn from_decimal(value: Decimal) -> Self {
        Self(value)
    }

    /// The exact value.
    pub fn amount(self) -> Decimal {
        self.0
    }

    /// `self × factor`, exact (e.g. the operators' income factor 1.9).
    pub fn scaled(self, factor: Decimal) -> Result<Self, MoneyError> {
        self.0
            .checked_mul(factor)
            .map(Self)
            .ok_or(MoneyError::OutOfRange)
    }

    /// Rounded to cents, half away from zero (`23618.425` → `23618.43`).
    pub fn rounded_to_cents(self) -> Self {
        Self(
            self.0
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
        )
    }
}

/// Turns the digits-and-separators part into `1234.56` form.
fn canonical_number(s: &str) -> Result<String, MoneyError> {
    let last_dot = s.rfind('.');
    let last_comma = s.rfind(',');
    let decimal_sep = match (last_dot, last_comma) {
        (Some(d), Some(c)) => Some(if d > c { '.' } else { ',' }),
        (None, Some(_)) => (s.matches(',').count() == 1).then_some(','),
        (Some(d), None) => {
            let decimals = s.len() - d - 1;
            (s.matches('.').count() == 1 && (1..=2).contains(&decimals)).then_some('.')
        }
        (None, None) => None,
    };
    let (int_part, frac_part) = match decimal_sep {
        Some(sep) => {
            let idx = s.rfind(sep).ok_or(MoneyError::BadSeparators)?;
            (&s[..idx], Some(&s[idx + 1..]))
        }
        None => (s, None),
    };
    let int_digits = strip_thousands(int_part, decimal_sep)?;
    match frac_part {
        Some(f) if f.is_empty() || !f.chars().all(|c| c.is_ascii_digit()) => {
            Err(MoneyError::BadSeparators)
        }
        Some(f) => Ok(format!("{int_digits}.{f}")),
        None => Ok(int_digits),
    }
}

/// Removes thousands separators, checking they sit every three digits.
fn strip_thousands(int_part: &str, decimal_sep: Option<char>) -> Result<String, MoneyError> {
    if int_part.is_empty() {
        return Ok("0".to_owned());
    }
    let thousands = match decimal_sep {
        Some('.') => ',',
        Some(_) => '.',
        None if int_part.contains(',') => ',',
        None => '.',
    };
    let groups: Vec<&str> = int_part.split(thousands).collect();
    let well_grouped = groups.len() == 1
        || (!groups[0].is_empty()
            && groups[0].len() <= 3
            && groups[1..].iter().all(|g| g.len() == 3));
    if !well_grouped
        || groups
            .iter()
            .any(|g| !g.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(MoneyError::BadSeparators);
    }
    Ok(groups.concat())
}

impl fmt::Display for Money {
    /// pt-BR: `R$ 23.618,43` (rounded to cents, half away from zero).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rounded = self.rounded_to_cents().0;
        let text = format!("{:.2}", rounded.abs());
        let (int_part, cents) = text.split_once('.').unwrap_or((&text, "00"));
        let mut grouped = String::with_capacity(int_part.len() + int_part.len() / 3);
        for (i, c) in int_part.chars().enumerate() {
            if i > 0 && (int_part.len() - i) % 3 == 0 {
                grouped.push('.');
            }
            grouped.push(c);
        }
        let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
            "-"
        } else {
            ""
        };
        write!(f, "{sign}R$ {grouped},{cents}")
    }
}

/// Rewrites every `R$ <amount>` in `text` as `R$ <amount × factor>` in pt-BR,
/// e.g. `"De R$ 10001 até R$ 20000"` × 1.9 → `"De R$ 19.001,90 até R$ 38.000,00"`.
/// An amount that does not parse is left as it was.
pub fn scale_amounts_in_text(text: &str, factor: Decimal) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(pos) = rest.find("R$") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        let spaces = after.len() - after.trim_start().len();
        let number_len = after[spaces..]
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
            .unwrap_or(after.len() - spaces);
        // A trailing separator belongs to the sentence, not to the number.
        let number = after[spaces..spaces + number_len].trim_end_matches(['.', ',']);
        match Money::parse(number).and_then(|m| m.scaled(factor)) {
            Ok(scaled) if !number.is_empty() => {
                out.push_str(&scaled.to_string());
                rest = &after[spaces + number.len()..];
            }
            _ => {
                out.push_str("R$");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

text_type!(Money, MoneyError, |v| v.0.to_string());

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().expect("decimal literal")
    }

    #[test]
    fn parses_the_forms_providers_send() {
        assert_eq!(
            Money::parse("12430,75").map(Money::amount),
            Ok(dec("12430.75"))
        );
        assert_eq!(
            Money::parse("7299.00").map(Money::amount),
            Ok(dec("7299.00"))
        );
        assert_eq!(
            Money::parse("R$ 10001").map(Money::amount),
            Ok(dec("10001"))
        );
        assert_eq!(
            Money::parse("R$10.001,50").map(Money::amount),
            Ok(dec("10001.50"))
        );
        assert_eq!(
            Money::parse("1.234.567,89").map(Money::amount),
            Ok(dec("1234567.89"))
        );
        assert_eq!(
            Money::parse("1,234.56").map(Money::amount),
            Ok(dec("1234.56"))
        );
        assert_eq!(Money::parse("7.299").map(Money::amount), Ok(dec("7299")));
        assert_eq!(Money::parse("-50").map(Money::amount), Ok(dec("-50")));
        assert_eq!(Money::parse(",5").map(Money::amount), Ok(dec("0.5")));
    }

    #[test]
    fn refuses_garbage() {
        assert_eq!(Money::parse(""), Err(MoneyError::Empty));
        assert_eq!(Money::parse("R$ "), Err(MoneyError::Empty));
        assert_eq!(Money::parse("abc"), Err(MoneyError::InvalidCharacter));
        assert_eq!(Money::parse("12,34,56"), Err(MoneyError::BadSeparators));
        assert_eq!(Money::parse("1.23.456,00"), Err(MoneyError::BadSeparators));
        assert_eq!(Money::parse("12,"), Err(MoneyError::BadSeparators));
        assert_eq!(
            Money::parse("99999999999999999999999999999999999"),
            Err(MoneyError::OutOfRange)
        );
    }

    #[test]
    fn income_factor_and_pt_br_format_match_the_golden_note() {
        let renda = Money::parse("12430,75").expect("valid");
        let scaled = renda.scaled(dec("1.9")).expect("in range");
        assert_eq!(scaled.amount(), dec("23618.425"));
        assert_eq!(scaled.to_string(), "R$ 23.618,43");
    }

    #[test]
    fn rounds_half_away_from_zero_and_groups_thousands() {
        assert_eq!(Money::from_decimal(dec("0.005")).to_string(), "R$ 0,01");
        assert_eq!(Money::from_decimal(dec("-0.005")).to_string(), "-R$ 0,01");
        assert_eq!(Money::from_decimal(dec("0.004")).to_string(), "R$ 0,00");
        assert_eq!(
            Money::from_decimal(dec("1234567.8")).to_string(),
            "R$ 1.234.567,80"
        );
        assert_eq!(Money::from_decimal(dec("100")).to_string(), "R$ 100,00");
        assert_eq!(Money::from_decimal(dec("-0.001")).to_string(), "R$ 0,00");
    }

    #[test]
    fn amounts_inside_text_are_scaled() {
        let factor = dec("1.9");
        assert_eq!(
            scale_amounts_in_text("De R$ 10001 até R$ 20000", factor),
            "De R$ 19.001,90 até R$ 38.000,00"
        );
        assert_eq!(
            scale_amounts_in_text("Acima de R$ 15000.", factor),
            "Acima de R$ 28.500,00."
        );
        assert_eq!(
            scale_amounts_in_text("sem valor R$ x", factor),
            "sem valor R$ x"
        );
        assert_eq!(scale_amounts_in_text("", factor), "");
    }
}
