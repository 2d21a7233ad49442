//! E-mail addresses, normalised and screened for the placeholders operators see.

use std::fmt;

/// A lower-cased, trimmed e-mail address with sane syntax that is not an obvious fake.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

/// Why a value is not a usable e-mail address. Never echoes the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("e-mail is empty")]
    Empty,
    #[error("e-mail is longer than 254 characters")]
    TooLong,
    #[error("e-mail must have exactly one '@' with text on both sides")]
    MissingAt,
    #[error("e-mail local part has invalid characters or dots")]
    InvalidLocalPart,
    #[error("e-mail domain is not a valid host name")]
    InvalidDomain,
    #[error("e-mail domain has no top-level domain")]
    MissingTld,
    #[error("e-mail is a placeholder, not a real address")]
    Placeholder,
}

/// Words operators type when the customer gave no address.
const PLACEHOLDER_WORDS: [&str; 12] = [
    "teste", "test", "testes", "exemplo", "example", "naotem", "nao", "sememail", "semmail",
    "nenhum", "email", "fake",
];

/// Domains that never receive mail for a real customer.
const PLACEHOLDER_DOMAINS: [&str; 9] = [
    "teste.com",
    "teste.com.br",
    "test.com",
    "test.com.br",
    "example.com",
    "example.org",
    "exemplo.com",
    "exemplo.com.br",
    "naotem.com",
];

impl Email {
    /// Parses and normalises (trim, lower-case) an address.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let lower = input.trim().to_lowercase();
        if lower.is_empty() {
            return Err(EmailError::Empty);
        }
        if lower.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = match lower.split_once('@') {
            Some((l, d)) if !l.is_empty() && !d.is_empty() && !d.contains('@') => (l, d),
            _ => return Err(EmailError::MissingAt),
        };
        check_local(local)?;
        check_domain(domain)?;
        if is_placeholder(local, domain) {
            return Err(EmailError::Placeholder);
        }
        Ok(Self(lower))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit('@').next().unwrap_or_default()
    }

    /// `h***@gmail.com`: safe for logs.
    pub fn masked(&self) -> String {
        let first = self.0.chars().next().unwrap_or('*');
        format!("{first}***@{}", self.domain())
    }
}

fn check_local(local: &str) -> Result<(), EmailError> {
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-.";
    let ok_chars = local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c));
    if local.len() > 64
        || !ok_chars
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
    {
        return Err(EmailError::InvalidLocalPart);
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), EmailError> {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !labels.iter().all(label_ok) {
        return Err(EmailError::InvalidDomain);
    }
    let tld = labels.last().copied().unwrap_or_default();
    if labels.len() < 2 || tld.len() < 2 || !tld.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(EmailError::MissingTld);
    }
    Ok(())
}

fn is_placeholder(local: &str, domain: &str) -> bool {
    let domain_word = domain.split('.').next().unwrap_or_default();
    let local_word: String = local
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    PLACEHOLDER_DOMAINS.contains(&domain)
        || (PLACEHOLDER_WORDS.contains(&local_word.as_str())
            && PLACEHOLDER_WORDS.contains(&domain_word))
        || is_junk_run(&local_word)
        || is_junk_run(domain_word)
}

/// `999999`, `aaaaaa`, `123456789`: a run of one character or an ascending
/// sequence of digits, six or more long, making up the whole word.
fn is_junk_run(word: &str) -> bool {
    let b = word.as_bytes();
    if b.len() < 6 {
        return false;
    }
    let repeated = b.windows(2).all(|w| w[0] == w[1]);
    let ascending = b.iter().all(u8::is_ascii_digit) && b.windows(2).all(|w| w[1] == w[0] + 1);
    repeated || ascending || word.contains("123456789")
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.masked())
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

text_type!(Email, EmailError, |v| v.0);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_lower_cases() {
        let e = Email::parse("  Helena.MCosta@Gmail.COM ").expect("valid");
        assert_eq!(e.as_str(), "helena.mcosta@gmail.com");
        assert_eq!(e.domain(), "gmail.com");
        assert!(Email::parse("helena.costa@exemplo-advocacia.com.br").is_ok());
        assert!(Email::parse("hmc1979@hotmail.com").is_ok());
        assert!(Email::parse("joao+imoveis@uol.com.br").is_ok());
    }

    #[test]
    fn refuses_broken_syntax() {
        assert_eq!(Email::parse(""), Err(EmailError::Empty));
        assert_eq!(Email::parse("helena"), Err(EmailError::MissingAt));
        assert_eq!(Email::parse("a@b@c.com"), Err(EmailError::MissingAt));
        assert_eq!(Email::parse("@gmail.com"), Err(EmailError::MissingAt));
        assert_eq!(
            Email::parse("a..b@gmail.com"),
            Err(EmailError::InvalidLocalPart)
        );
        assert_eq!(
            Email::parse("a b@gmail.com"),
            Err(EmailError::InvalidLocalPart)
        );
        assert_eq!(Email::parse("ana@gmail"), Err(EmailError::MissingTld));
        assert_eq!(Email::parse("ana@gmail.c0m"), Err(EmailError::MissingTld));
        assert_eq!(
            Email::parse("ana@-gmail.com"),
            Err(EmailError::InvalidDomain)
        );
        assert_eq!(
            Email::parse("ana@gmail..com"),
            Err(EmailError::InvalidDomain)
        );
    }

    #[test]
    fn refuses_the_fakes_operators_type() {
        for raw in [
            "teste@teste.com",
            "TESTE@TESTE.COM.BR",
            "naotem@naotem.com",
            "email@email.com",
            "999999@gmail.com",
            "123456789@hotmail.com",
            "ana@999999.com",
            "aaaaaa@gmail.com",
            "cliente@example.com",
        ] {
            assert_eq!(Email::parse(raw), Err(EmailError::Placeholder), "{raw}");
        }
    }

    #[test]
    fn masked_and_debug_forms_keep_only_the_first_letter_and_domain() {
        let e = Email::parse("helena.mcosta@gmail.com").expect("valid");
        assert_eq!(e.masked(), "h***@gmail.com");
        assert_eq!(format!("{e:?}"), "Email(h***@gmail.com)");
    }
}
