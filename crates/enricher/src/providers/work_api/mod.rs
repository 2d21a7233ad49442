//! Work API ("workbuscas"): the dossier by CPF, and CPF discovery by phone.
//! Errors arrive as HTTP 200 with a status in the body and are detected here.

use brazil::{classify_cpf_cnpj, Cpf, Document, PhoneBr};
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use super::c2s::parse_base;
use super::error::ProviderError;
use super::lenient::{pick, read, Code, Items, Text};
use super::pacer::Pacer;
use super::policy::Policy;
use super::transport::{common_status, parse_json, RawResponse, Transport};
use crate::domain::dossier::Dossier;
use crate::domain::Candidate;

pub mod dossier;

pub use dossier::{parse_dossier, DossierAnswer, DossierError};

const NAME: &str = "work_api";

/// The Work API client. Build once and share. The token travels in the query
/// string, so request URLs are never logged or put in errors.
#[derive(Debug)]
pub struct WorkApiClient {
    transport: Transport,
    base: Url,
    token: SecretString,
}

impl WorkApiClient {
    pub fn new(
        base_url: &str,
        token: SecretString,
        policy: Policy,
        pacer: Pacer,
    ) -> Result<Self, ProviderError> {
        Ok(Self {
            transport: Transport::new(NAME, policy, pacer)?,
            base: parse_base(NAME, base_url)?,
            token,
        })
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    fn url(&self, module: &str, value: &str) -> Url {
        let mut url = self.base.clone();
        url.query_pairs_mut()
            .append_pair("token", self.token.expose_secret())
            .append_pair("modulo", module)
            .append_pair("consulta", value);
        url
    }

    /// `modulo=cpf`: the dossier (which keeps the payload as received, for
    /// the ledger and the snapshot).
    pub async fn dossier(&self, cpf: &Cpf) -> Result<Dossier, ProviderError> {
        let url = self.url("cpf", cpf.digits());
        self.transport
            .call(
                "dossier",
                |http| http.get(url.clone()),
                |raw| {
                    let body = checked_body(&raw, "cpf")?;
                    let d = parse_dossier(body).map_err(|_| ProviderError::Malformed {
                        provider: NAME,
                        excerpt: super::error::excerpt(&raw.body),
                    })?;
                    // Someone else's dossier is never taken for this CPF's.
                    if d.cpf != *cpf {
                        return Err(ProviderError::Malformed {
                            provider: NAME,
                            excerpt: "a dossier for another CPF".into(),
                        });
                    }
                    Ok(d)
                },
            )
            .await
    }

    /// `modulo=phone`: people registered with this number (companies dropped).
    pub async fn by_phone(&self, phone: &PhoneBr) -> Result<Vec<Candidate>, ProviderError> {
        let url = self.url("phone", phone.national());
        self.transport
            .call(
                "by_phone",
                |http| http.get(url.clone()),
                |raw| {
                    let body = match checked_body(&raw, "phone") {
                        Err(ProviderError::NotFound { .. }) => return Ok(Vec::new()),
                        other => other?,
                    };
                    Ok(people(body))
                },
            )
            .await
    }
}

/// The envelope every answer shares (keys lower-cased): a status or code in
/// the body, and the words that say why.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Envelope {
    status: Code,
    code: Code,
    reason: Text,
    statusmsg: Text,
    message: Text,
    erro: Option<Value>,
}

const ENVELOPE: &[&str] = &["status", "code", "reason", "statusmsg", "message", "erro"];

/// `modulo=phone`'s answer: the people under `msg`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PhoneAnswer {
    msg: Items<Registered>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Registered {
    cpf_cnpj: Text,
    nome: Text,
}

fn people(body: Value) -> Vec<Candidate> {
    let answer: PhoneAnswer = read(&body).unwrap_or_default();
    let mut out: Vec<Candidate> = Vec::new();
    for item in answer.msg.0 {
        let Some(doc) = item.cpf_cnpj.get() else {
            continue;
        };
        // A company (CNPJ) is never returned as a person.
        if let Ok(Document::Cpf(cpf)) = classify_cpf_cnpj(&doc) {
            if !out.iter().any(|c| c.cpf == cpf) {
                out.push(Candidate {
                    cpf,
                    name: item.nome.get().map(|n| n.to_uppercase()),
                });
            }
        }
    }
    out
}

/// The JSON body, or the error it encodes (the API reports errors as HTTP 200).
fn checked_body(raw: &RawResponse, module: &str) -> Result<Value, ProviderError> {
    if let Some(e) = common_status(NAME, raw) {
        return Err(e);
    }
    let body: Value = parse_json(NAME, &raw.body)?;
    let Some(envelope) = pick(&body, ENVELOPE).and_then(|v| read::<Envelope>(&v)) else {
        return Err(ProviderError::Malformed {
            provider: NAME,
            excerpt: super::error::excerpt(&raw.body),
        });
    };
    let words = |t: &Text| {
        t.get()
            .map(|s| brazil::normalize_name(&s))
            .unwrap_or_default()
    };
    let reason = format!(
        "{} {} {}",
        words(&envelope.reason),
        words(&envelope.statusmsg),
        words(&envelope.message)
    );
    let (status, code) = (envelope.status.0, envelope.code.0);
    if code == Some(429) || reason.contains("CREDITS") || reason.contains("CREDITOS") {
        return Err(ProviderError::QuotaExhausted { provider: NAME });
    }
    match status {
        Some(404) => return Err(ProviderError::NotFound { provider: NAME }),
        Some(401 | 403) if reason.contains("TOKEN") => {
            return Err(ProviderError::Unauthorized { provider: NAME })
        }
        Some(403) if reason.contains("MODULO") => {
            return Err(ProviderError::ModuleUnavailable {
                provider: NAME,
                module: module.to_owned(),
            })
        }
        Some(403) if reason.contains("LIMITE") => {
            return Err(ProviderError::QuotaExhausted { provider: NAME })
        }
        Some(401 | 403) => return Err(ProviderError::Unauthorized { provider: NAME }),
        Some(429) => {
            return Err(ProviderError::RateLimited {
                provider: NAME,
                retry_after: None,
            })
        }
        Some(s) if s >= 500 => {
            return Err(ProviderError::Unavailable {
                provider: NAME,
                detail: format!("status {s} in body"),
            })
        }
        _ => {}
    }
    if envelope.erro.is_some() {
        return Err(ProviderError::NotFound { provider: NAME });
    }
    Ok(body)
}
