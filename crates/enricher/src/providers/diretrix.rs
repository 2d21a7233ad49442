//! Diretrix: CPF discovery by phone or e-mail.

use brazil::{Cpf, Email, PhoneBr};
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::c2s::parse_base;
use super::error::ProviderError;
use super::lenient::{read, Text};
use super::pacer::Pacer;
use super::policy::Policy;
use super::transport::{common_status, parse_json, RawResponse, Transport};
use crate::domain::Candidate;

const NAME: &str = "diretrix";

/// The Diretrix client. Build once and share.
#[derive(Debug)]
pub struct DiretrixClient {
    transport: Transport,
    base: Url,
    user: String,
    pass: SecretString,
}

impl DiretrixClient {
    pub fn new(
        base_url: &str,
        user: String,
        pass: SecretString,
        policy: Policy,
        pacer: Pacer,
    ) -> Result<Self, ProviderError> {
        Ok(Self {
            transport: Transport::new(NAME, policy, pacer)?,
            base: parse_base(NAME, base_url)?,
            user,
            pass,
        })
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// `GET /Consultas/Pessoa/Telefone/{DDD+number}` (no country code).
    pub async fn by_phone(&self, phone: &PhoneBr) -> Result<Vec<Candidate>, ProviderError> {
        self.lookup("by_phone", "Telefone", phone.national()).await
    }

    /// `GET /Consultas/Pessoa/Email/{email}` (percent-encoded path segment).
    pub async fn by_email(&self, email: &Email) -> Result<Vec<Candidate>, ProviderError> {
        self.lookup("by_email", "Email", email.as_str()).await
    }

    async fn lookup(
        &self,
        what: &'static str,
        kind: &str,
        value: &str,
    ) -> Result<Vec<Candidate>, ProviderError> {
        let mut url = self.base.clone();
        // The value is one path segment, percent-encoded like encodeURIComponent
        // ('@' → %40, '/' → %2F): only unreserved characters stay as they are.
        let path = format!(
            "{}/Consultas/Pessoa/{kind}/{}",
            url.path().trim_end_matches('/'),
            encode_segment(value)
        );
        url.set_path(&path);
        self.transport
            .call(
                what,
                |http| {
                    http.get(url.clone())
                        .basic_auth(&self.user, Some(self.pass.expose_secret()))
                },
                read_candidates,
            )
            .await
    }
}

fn encode_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One person of an answer (keys lower-cased).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Person {
    cpf: Text,
    nome: Text,
}

/// 400 and 404 mean "not found" here (treating 400 as an error once broke the pipeline).
fn read_candidates(raw: RawResponse) -> Result<Vec<Candidate>, ProviderError> {
    if matches!(raw.status, 400 | 404) {
        return Ok(Vec::new());
    }
    if let Some(e) = common_status(NAME, &raw) {
        return Err(e);
    }
    if raw.body.trim().is_empty() {
        return Ok(Vec::new());
    }
    let body: Value = parse_json(NAME, &raw.body)?;
    let items = match &body {
        Value::Array(items) => items.as_slice(),
        Value::Object(_) => std::slice::from_ref(&body),
        _ => {
            return Err(ProviderError::Malformed {
                provider: NAME,
                excerpt: super::error::excerpt(&raw.body),
            })
        }
    };
    let mut out: Vec<Candidate> = Vec::new();
    let mut invalid = 0;
    for item in items {
        let item: Person = read(item).unwrap_or_default();
        match item.cpf.get().map(|c| Cpf::parse_padding(&c)) {
            Some(Ok(cpf)) if !out.iter().any(|c| c.cpf == cpf) => out.push(Candidate {
                cpf,
                name: item.nome.get().map(|n| n.to_uppercase()),
            }),
            Some(Ok(_)) => {}
            _ => invalid += 1,
        }
    }
    if invalid > 0 {
        tracing::warn!(
            provider = NAME,
            invalid,
            "dropped results without a valid CPF"
        );
    }
    Ok(out)
}
