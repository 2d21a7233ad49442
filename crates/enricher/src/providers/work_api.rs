//! Work API ("workbuscas"): the dossier by CPF, and CPF discovery by phone.
//! Errors arrive as HTTP 200 with a status in the body and are detected here.

use brazil::{classify_cpf_cnpj, Cpf, Document, PhoneBr};
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::c2s::parse_base;
use super::error::ProviderError;
use super::pacer::Pacer;
use super::policy::Policy;
use super::transport::{common_status, parse_json, RawResponse, Transport};
use crate::domain::dossier::Dossier;
use crate::domain::json::text;
use crate::domain::Candidate;

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

    /// `modulo=cpf`: the dossier. The raw payload is returned too, for the snapshot.
    pub async fn dossier(&self, cpf: &Cpf) -> Result<Dossier, ProviderError> {
        let url = self.url("cpf", cpf.digits());
        self.transport
            .call(
                "dossier",
                |http| http.get(url.clone()),
                |raw| {
                    let body = checked_body(&raw, "cpf")?;
                    Dossier::from_work_api(body).map_err(|_| ProviderError::Malformed {
                        provider: NAME,
                        excerpt: super::error::excerpt(&raw.body),
                    })
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
                    Ok(people(&body))
                },
            )
            .await
    }
}

fn people(body: &Value) -> Vec<Candidate> {
    let items = body
        .get("msg")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut out: Vec<Candidate> = Vec::new();
    for item in items {
        let Some(doc) = text(item, "cpf_cnpj") else {
            continue;
        };
        // A company (CNPJ) is never returned as a person.
        if let Ok(Document::Cpf(cpf)) = classify_cpf_cnpj(&doc) {
            if !out.iter().any(|c| c.cpf == cpf) {
                out.push(Candidate {
                    cpf,
                    name: text(item, "nome").map(|n| n.to_uppercase()),
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
    if !body.is_object() {
        return Err(ProviderError::Malformed {
            provider: NAME,
            excerpt: super::error::excerpt(&raw.body),
        });
    }
    let status = body
        .get("status")
        .and_then(|s| s.as_i64().or_else(|| s.as_str()?.trim().parse().ok()));
    let code = body
        .get("code")
        .and_then(|s| s.as_i64().or_else(|| s.as_str()?.trim().parse().ok()));
    let words = |k: &str| {
        text(&body, k)
            .map(|s| brazil::normalize_name(&s))
            .unwrap_or_default()
    };
    let reason = format!(
        "{} {} {}",
        words("reason"),
        words("statusMsg"),
        words("message")
    );
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
    if body.get("erro").is_some_and(|e| !e.is_null()) {
        return Err(ProviderError::NotFound { provider: NAME });
    }
    Ok(body)
}
