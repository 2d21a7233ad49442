//! What identifies the person in stored text, and the tombstones that keep
//! them erased.

use crate::store::ledger::Ledger;

/// What identifies the person in stored text, as case-insensitive regular
/// expressions with boundaries, so that nothing else matches: the CPF's
/// digits however punctuated; each phone they used, national digits however
/// written (`(11) 98765-4321`, `+55 11 98765 4321`), never inside a longer
/// number; each e-mail they used, whole (`ana@x.com` is not in
/// `joana@x.com` nor in `ana@x.com.br`). Only values that parse become
/// needles: junk in legacy rows can never match everything.
pub(crate) struct Needles {
    pub(crate) patterns: Vec<String>,
    cpf: Option<String>,
    phones: Vec<String>,
    emails: Vec<String>,
}

/// Digits with any punctuation between them, not inside a longer number.
fn digits_pattern(digits: &str, country_prefix: bool) -> String {
    const SEP: &str = "[[:space:].()-]*";
    let body: Vec<String> = digits.chars().map(|c| c.to_string()).collect();
    let prefix = if country_prefix {
        format!("(\\+?55{SEP})?")
    } else {
        String::new()
    };
    format!("(^|[^0-9]){prefix}{}($|[^0-9])", body.join(SEP))
}

fn email_pattern(email: &str) -> String {
    let escaped: String = email
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '@' || c == '_' || c == '%' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect();
    format!("(^|[^a-z0-9._%+-]){escaped}(?![a-z0-9_%+-]|\\.[a-z0-9])")
}

impl Needles {
    pub(crate) fn of(cpf: Option<&brazil::Cpf>, phones: &[String], emails: &[String]) -> Self {
        let mut phones: Vec<String> = phones
            .iter()
            .filter_map(|p| brazil::PhoneBr::parse(p).ok())
            .map(|p| p.national().to_owned())
            .collect();
        phones.sort();
        phones.dedup();
        let mut emails: Vec<String> = emails
            .iter()
            .filter_map(|e| brazil::Email::parse(e).ok())
            .map(|e| e.as_str().to_lowercase())
            .collect();
        emails.sort();
        emails.dedup();
        let mut patterns: Vec<String> = cpf
            .map(|c| digits_pattern(c.digits(), false))
            .into_iter()
            .collect();
        patterns.extend(phones.iter().map(|p| digits_pattern(p, true)));
        patterns.extend(emails.iter().map(|e| email_pattern(e)));
        Self {
            patterns,
            cpf: cpf.map(|c| c.digits().to_owned()),
            phones,
            emails,
        }
    }

    /// `column` mentions the person (`$1`: the patterns).
    pub(crate) fn sql(&self, column: &str) -> String {
        format!(
            "({column} IS NOT NULL AND EXISTS (SELECT 1 FROM unnest($1::text[]) r WHERE {column}::text ~* r))"
        )
    }

    pub(super) fn tombstones(&self, ledger: &Ledger) -> Vec<(&'static str, [u8; 32])> {
        let mut t: Vec<(&'static str, [u8; 32])> = self
            .cpf
            .iter()
            .map(|c| ("cpf", ledger.subject_hash("cpf", c)))
            .collect();
        t.extend(
            self.phones
                .iter()
                .map(|p| ("phone", ledger.subject_hash("phone", p))),
        );
        t.extend(
            self.emails
                .iter()
                .map(|e| ("email", ledger.subject_hash("email", e))),
        );
        t
    }
}
