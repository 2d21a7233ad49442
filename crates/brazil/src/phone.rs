//! Brazilian phone numbers, as people and providers really write them.

use std::fmt;

/// Every Brazilian DDD (area code) in service, with its federative unit.
pub const VALID_DDDS: [(u8, crate::Uf); 67] = {
    use crate::Uf::*;
    [
        (11, SP),
        (12, SP),
        (13, SP),
        (14, SP),
        (15, SP),
        (16, SP),
        (17, SP),
        (18, SP),
        (19, SP),
        (21, RJ),
        (22, RJ),
        (24, RJ),
        (27, ES),
        (28, ES),
        (31, MG),
        (32, MG),
        (33, MG),
        (34, MG),
        (35, MG),
        (37, MG),
        (38, MG),
        (41, PR),
        (42, PR),
        (43, PR),
        (44, PR),
        (45, PR),
        (46, PR),
        (47, SC),
        (48, SC),
        (49, SC),
        (51, RS),
        (53, RS),
        (54, RS),
        (55, RS),
        (61, DF),
        (62, GO),
        (63, TO),
        (64, GO),
        (65, MT),
        (66, MT),
        (67, MS),
        (68, AC),
        (69, RO),
        (71, BA),
        (73, BA),
        (74, BA),
        (75, BA),
        (77, BA),
        (79, SE),
        (81, PE),
        (82, AL),
        (83, PB),
        (84, RN),
        (85, CE),
        (86, PI),
        (87, PE),
        (88, CE),
        (89, PI),
        (91, PA),
        (92, AM),
        (93, PA),
        (94, PA),
        (95, RR),
        (96, AP),
        (97, AM),
        (98, MA),
        (99, MA),
    ]
};

/// Whether `ddd` is an area code in service.
pub fn is_valid_ddd(ddd: u8) -> bool {
    VALID_DDDS.iter().any(|(d, _)| *d == ddd)
}

/// Mobile (9 digits starting with 9) or landline (8 digits starting 2–5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneKind {
    Mobile,
    Landline,
}

impl PhoneKind {
    /// The value used in `core.entity_phones.phone_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mobile => "mobile",
            Self::Landline => "landline",
        }
    }
}

/// A valid Brazilian phone number: a DDD in service and a subscriber number that
/// follows the mobile 9-prefix rule or the landline pattern.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneBr {
    /// DDD + subscriber number, 10 or 11 digits.
    national: String,
}

/// Why a value is not a Brazilian phone number. Never echoes the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone is empty")]
    Empty,
    #[error("phone contains characters other than digits, '+', '(', ')', '-', '.' and spaces")]
    InvalidCharacter,
    #[error("phone has no DDD (area code)")]
    MissingDdd,
    #[error("phone has a foreign country code")]
    NotBrazilian,
    #[error("phone has {0} digits, which no Brazilian numbering form has")]
    WrongLength(usize),
    #[error("phone DDD is not a Brazilian area code in service")]
    UnknownDdd,
    #[error("9-digit number does not start with 9 (mobile rule)")]
    MobileWithoutNinePrefix,
    #[error("8-digit number starting with 6-9 is a mobile missing its leading 9")]
    MobileMissingNine,
    #[error("8-digit number is not a landline (must start with 2-5)")]
    InvalidLandline,
}

impl PhoneBr {
    /// Parses `(11) 98765-4321`, `11987654321`, `+55 11 98765-4321`,
    /// `5511987654321`, `011 98765-4321`, `0 21 11 98765-4321` (carrier code),
    /// landlines such as `1130451122`. An 11-digit value starting with 55 is DDD 55
    /// (Rio Grande do Sul), never a country code; a number without a DDD is refused.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        let mut digits = String::with_capacity(trimmed.len());
        for (i, c) in trimmed.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => {}
                '(' | ')' | '-' | '.' | ' ' | '\u{a0}' => {}
                _ => return Err(PhoneError::InvalidCharacter),
            }
        }
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }
        let national = national_part(&digits, trimmed.starts_with('+'))?;
        Self::from_national(national)
    }

    fn from_national(national: &str) -> Result<Self, PhoneError> {
        let ddd: u8 = national[..2].parse().map_err(|_| PhoneError::UnknownDdd)?;
        if !is_valid_ddd(ddd) {
            return Err(PhoneError::UnknownDdd);
        }
        let subscriber = &national[2..];
        let first = subscriber.as_bytes()[0];
        match (subscriber.len(), first) {
            (9, b'9') => {}
            (9, _) => return Err(PhoneError::MobileWithoutNinePrefix),
            (8, b'2'..=b'5') => {}
            (8, b'6'..=b'9') => return Err(PhoneError::MobileMissingNine),
            _ => return Err(PhoneError::InvalidLandline),
        }
        Ok(Self {
            national: national.to_owned(),
        })
    }

    /// The DDD (area code).
    pub fn ddd(&self) -> u8 {
        // Both digits were checked at construction.
        self.national[..2].parse().unwrap_or_default()
    }

    /// The federative unit of the DDD.
    pub fn uf(&self) -> crate::Uf {
        let ddd = self.ddd();
        VALID_DDDS
            .iter()
            .find(|(d, _)| *d == ddd)
            .map(|(_, uf)| *uf)
            .unwrap_or(crate::Uf::SP)
    }

    /// Mobile or landline.
    pub fn kind(&self) -> PhoneKind {
        if self.national.len() == 11 {
            PhoneKind::Mobile
        } else {
            PhoneKind::Landline
        }
    }

    /// `+5511987654321`.
    pub fn e164(&self) -> String {
        format!("+55{}", self.national)
    }

    /// DDD + number without country code (`11987654321`): what Diretrix and the
    /// Work API expect, and what `core.entity_phones.phone` stores.
    pub fn national(&self) -> &str {
        &self.national
    }

    /// `+55 11 9****-4321` (landline `+55 11 3***-1122`): safe for logs.
    pub fn masked(&self) -> String {
        let sub = &self.national[2..];
        let stars = "*".repeat(sub.len() - 5);
        format!(
            "+55 {} {}{}-{}",
            &self.national[..2],
            &sub[..1],
            stars,
            &sub[sub.len() - 4..]
        )
    }
}

/// Strips country code, trunk prefix and carrier code, leaving DDD + number.
fn national_part(digits: &str, had_plus: bool) -> Result<&str, PhoneError> {
    let n = digits.len();
    if had_plus {
        return match digits.strip_prefix("55") {
            Some(rest) if matches!(rest.len(), 10 | 11) => Ok(rest),
            Some(rest) if matches!(rest.len(), 8 | 9) => Err(PhoneError::MissingDdd),
            Some(rest) => Err(PhoneError::WrongLength(rest.len())),
            None => Err(PhoneError::NotBrazilian),
        };
    }
    if let Some(rest) = digits.strip_prefix("0055") {
        return national_part(rest, false).and_then(|r| match r.len() {
            10 | 11 => Ok(r),
            _ => Err(PhoneError::WrongLength(n)),
        });
    }
    if let Some(rest) = digits.strip_prefix('0') {
        return match rest.len() {
            10 | 11 => Ok(rest),       // trunk prefix: 0 + DDD + number
            12 | 13 => Ok(&rest[2..]), // 0 + carrier code + DDD + number
            8 | 9 => Err(PhoneError::MissingDdd),
            _ => Err(PhoneError::WrongLength(n)),
        };
    }
    match n {
        10 | 11 => Ok(digits),
        12 | 13 if digits.starts_with("55") => Ok(&digits[2..]),
        8 | 9 => Err(PhoneError::MissingDdd),
        _ => Err(PhoneError::WrongLength(n)),
    }
}

impl fmt::Display for PhoneBr {
    /// `(11) 98765-4321` or `(11) 3045-1122`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sub = &self.national[2..];
        let split = sub.len() - 4;
        write!(
            f,
            "({}) {}-{}",
            &self.national[..2],
            &sub[..split],
            &sub[split..]
        )
    }
}

impl fmt::Debug for PhoneBr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneBr({})", self.masked())
    }
}

text_type!(PhoneBr, PhoneError, |v| v.e164());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spellings_people_and_providers_send_all_mean_the_same_mobile() {
        for raw in [
            "(11) 98765-4321",
            "11987654321",
            "+55 11 98765-4321",
            "+5511987654321",
            "5511987654321",
            "011 98765-4321",
            "0 21 11 98765-4321",
            "0055 11 98765 4321",
            "11.98765.4321",
        ] {
            let p = PhoneBr::parse(raw).expect(raw);
            assert_eq!(p.e164(), "+5511987654321", "{raw}");
            assert_eq!(p.national(), "11987654321");
            assert_eq!(p.to_string(), "(11) 98765-4321");
            assert_eq!(p.kind(), PhoneKind::Mobile);
        }
    }

    #[test]
    fn landlines_parse_and_format_with_four_plus_four_digits() {
        let p = PhoneBr::parse("1130451122").expect("landline");
        assert_eq!(p.kind(), PhoneKind::Landline);
        assert_eq!(p.to_string(), "(11) 3045-1122");
        assert_eq!(p.e164(), "+551130451122");
        assert_eq!(PhoneBr::parse("+55 (11) 3045-1122"), Ok(p));
    }

    #[test]
    fn ddd_55_of_rio_grande_do_sul_is_not_mistaken_for_the_country_code() {
        let mobile = PhoneBr::parse("55987654321").expect("RS mobile");
        assert_eq!(mobile.ddd(), 55);
        assert_eq!(mobile.e164(), "+5555987654321");
        assert_eq!(mobile.uf(), crate::Uf::RS);
        let landline = PhoneBr::parse("5533224455").expect("RS landline");
        assert_eq!(landline.national(), "5533224455");
        // With the country code as well, both 55s are kept apart.
        assert_eq!(PhoneBr::parse("+55 55 98765-4321"), Ok(mobile.clone()));
        assert_eq!(PhoneBr::parse("555598765432 1"), Ok(mobile));
    }

    #[test]
    fn a_number_without_ddd_is_invalid_rather_than_assumed_to_be_sao_paulo() {
        assert_eq!(PhoneBr::parse("98765-4321"), Err(PhoneError::MissingDdd));
        assert_eq!(PhoneBr::parse("3045-1122"), Err(PhoneError::MissingDdd));
        assert_eq!(
            PhoneBr::parse("+55 98765-4321"),
            Err(PhoneError::MissingDdd)
        );
    }

    #[test]
    fn ddds_and_the_mobile_nine_rule_are_enforced() {
        assert_eq!(
            PhoneBr::parse("(20) 98765-4321"),
            Err(PhoneError::UnknownDdd)
        );
        assert_eq!(
            PhoneBr::parse("(10) 3045-1122"),
            Err(PhoneError::UnknownDdd)
        );
        assert_eq!(
            PhoneBr::parse("(11) 88765-4321"),
            Err(PhoneError::MobileWithoutNinePrefix)
        );
        assert_eq!(
            PhoneBr::parse("(11) 8765-4321"),
            Err(PhoneError::MobileMissingNine)
        );
        assert_eq!(
            PhoneBr::parse("(11) 1765-4321"),
            Err(PhoneError::InvalidLandline)
        );
        assert_eq!(
            PhoneBr::parse("+1 415 555 0100"),
            Err(PhoneError::NotBrazilian)
        );
        assert_eq!(
            PhoneBr::parse("11 98765-4321 ramal 2"),
            Err(PhoneError::InvalidCharacter)
        );
        assert_eq!(PhoneBr::parse(""), Err(PhoneError::Empty));
        assert_eq!(PhoneBr::parse("123"), Err(PhoneError::WrongLength(3)));
    }

    #[test]
    fn the_list_has_every_ddd_in_service() {
        assert_eq!(VALID_DDDS.len(), 67);
        for ddd in [11, 19, 21, 55, 61, 68, 79, 99] {
            assert!(is_valid_ddd(ddd), "{ddd}");
        }
        for ddd in [
            10, 20, 23, 25, 26, 29, 30, 36, 39, 40, 50, 52, 56, 60, 70, 72, 76, 78, 80, 90,
        ] {
            assert!(!is_valid_ddd(ddd), "{ddd}");
        }
    }

    #[test]
    fn masked_and_debug_forms_show_only_ddd_first_and_last_four_digits() {
        let p = PhoneBr::parse("11987654321").expect("valid");
        assert_eq!(p.masked(), "+55 11 9****-4321");
        assert_eq!(format!("{p:?}"), "PhoneBr(+55 11 9****-4321)");
        let l = PhoneBr::parse("1130451122").expect("valid");
        assert_eq!(l.masked(), "+55 11 3***-1122");
    }
}
