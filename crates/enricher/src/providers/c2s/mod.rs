//! Contact2Sale (C2S): the CRM that owns the leads.

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::error::ProviderError;
use super::pacer::Pacer;
use super::policy::Policy;
use super::transport::{common_status, parse_json, RawResponse, Transport};
use crate::domain::lead::{HookAction, Lead, LeadId};

pub mod lead;
mod tags;
pub mod webhook;

pub use lead::read_lead;
pub use webhook::{parse_webhook, WebhookError, MAX_EVENTS_PER_DELIVERY};

const NAME: &str = "c2s";

/// Filters and page of `list_leads`.
#[derive(Debug, Clone, Default)]
pub struct LeadQuery {
    pub page: u32,
    /// At most 50.
    pub perpage: u32,
    pub sort: Option<String>,
    pub created_gte: Option<String>,
    pub created_lt: Option<String>,
    pub updated_gte: Option<String>,
    pub updated_lt: Option<String>,
    pub status: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// One page of leads. Leads C2S sends that cannot be read (bad id) are counted.
#[derive(Debug, Clone)]
pub struct LeadPage {
    pub leads: Vec<Lead>,
    pub unreadable: usize,
    pub total: Option<u64>,
    pub page: u32,
    pub perpage: u32,
}

/// A lead to create (Google Ads forms).
#[derive(Debug, Clone, Default)]
pub struct NewLead {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub description: String,
    pub source: String,
    pub seller_id: Option<String>,
    pub product: Option<crate::domain::products::Product>,
}

/// The C2S client. Build once and share.
#[derive(Debug)]
pub struct C2sClient {
    transport: Transport,
    base: Url,
    token: SecretString,
}

impl C2sClient {
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

    /// The transport (breaker state, for metrics and tests).
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        rb.bearer_auth(self.token.expose_secret())
    }

    /// `GET /integration/leads/{id}`.
    pub async fn get_lead(&self, id: &LeadId) -> Result<Lead, ProviderError> {
        let url = self.url(&["integration", "leads", id.as_str()]);
        self.transport
            .call(
                "get_lead",
                |http| self.auth(http.get(url.clone())),
                |raw| {
                    if let Some(e) = common_status(NAME, &raw) {
                        return Err(e);
                    }
                    let body: Value = parse_json(NAME, &raw.body)?;
                    let data = body.get("data").unwrap_or(&body);
                    read_lead(data).map_err(|_| malformed(&raw))
                },
            )
            .await
    }

    /// `GET /integration/leads` with filters (perpage capped at 50).
    pub async fn list_leads(&self, q: &LeadQuery) -> Result<LeadPage, ProviderError> {
        let mut url = self.url(&["integration", "leads"]);
        let perpage = q.perpage.clamp(1, 50);
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("page", &q.page.max(1).to_string());
            pairs.append_pair("perpage", &perpage.to_string());
            let optional = [
                ("sort", &q.sort),
                ("created_gte", &q.created_gte),
                ("created_lt", &q.created_lt),
                ("updated_gte", &q.updated_gte),
                ("updated_lt", &q.updated_lt),
                ("status", &q.status),
                ("phone", &q.phone),
                ("email", &q.email),
            ];
            for (k, v) in optional {
                if let Some(v) = v {
                    pairs.append_pair(k, v);
                }
            }
        }
        self.transport
            .call(
                "list_leads",
                |http| self.auth(http.get(url.clone())),
                |raw| {
                    if let Some(e) = common_status(NAME, &raw) {
                        return Err(e);
                    }
                    let body: Value = parse_json(NAME, &raw.body)?;
                    let items = body
                        .get("data")
                        .and_then(Value::as_array)
                        .ok_or_else(|| malformed(&raw))?;
                    let parsed: Vec<_> = items.iter().map(read_lead).collect();
                    let unreadable = parsed.iter().filter(|r| r.is_err()).count();
                    let meta = body.get("meta");
                    Ok(LeadPage {
                        leads: parsed.into_iter().flatten().collect(),
                        unreadable,
                        total: meta.and_then(|m| m.get("total")).and_then(Value::as_u64),
                        page: q.page.max(1),
                        perpage,
                    })
                },
            )
            .await
    }

    /// `POST /integration/leads/{id}/create_message` with `{"body"}`, once.
    pub async fn post_note(&self, id: &LeadId, body: &str) -> Result<(), ProviderError> {
        let url = self.url(&["integration", "leads", id.as_str(), "create_message"]);
        let payload = json!({ "body": body });
        // Not retried here: a retry after a lost answer would post the note
        // twice. The job retries, and first checks whether the note landed.
        self.transport
            .call_once(
                "post_note",
                |http| self.auth(http.post(url.clone())).json(&payload),
                |raw| common_status(NAME, &raw).map_or(Ok(()), Err),
            )
            .await
    }

    /// `POST /integration/leads` (JSON:API `data`/`attributes` wrapper); returns
    /// the new id. Not retried here: creating is not idempotent, so the caller
    /// looks for the lead before trying again.
    pub async fn create_lead(&self, lead: &NewLead) -> Result<String, ProviderError> {
        let url = self.url(&["integration", "leads"]);
        let mut attributes = json!({
            "name": lead.name, "description": lead.description, "source": lead.source,
            "type_negotiation": "Compra",
        });
        for (k, v) in [
            ("phone", &lead.phone),
            ("email", &lead.email),
            ("seller_id", &lead.seller_id),
        ] {
            if let Some(v) = v {
                attributes[k] = json!(v);
            }
        }
        if let Some(p) = &lead.product {
            // As C2S shows a lead's product: `{description, prop_ref}`, and
            // the price in R$ (two decimals, as text: never a binary float).
            let mut product = json!({ "description": p.description });
            if let Some(r) = &p.reference {
                product["prop_ref"] = json!(r);
            }
            if let Some(price) = p.price {
                product["price"] = json!(price.round_dp(2).to_string());
            }
            attributes["product"] = product;
        }
        let payload = json!({ "data": { "type": "lead", "attributes": attributes } });
        self.transport
            .call_once(
                "create_lead",
                |http| self.auth(http.post(url.clone())).json(&payload),
                |raw| {
                    if let Some(e) = common_status(NAME, &raw) {
                        return Err(e);
                    }
                    let body: Value = parse_json(NAME, &raw.body)?;
                    let id = body
                        .get("data")
                        .and_then(|d| d.get("id"))
                        .or_else(|| body.get("id"))
                        .or_else(|| body.get("lead_id"))
                        .and_then(|v| match v {
                            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                            Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        });
                    id.ok_or_else(|| malformed(&raw))
                },
            )
            .await
    }

    /// `POST /integration/leads/subscribe` for one action.
    pub async fn subscribe(&self, hook_url: &str, action: HookAction) -> Result<(), ProviderError> {
        self.hook("subscribe", hook_url, action).await
    }

    /// `POST /integration/leads/unsubscribe` for one action.
    pub async fn unsubscribe(
        &self,
        hook_url: &str,
        action: HookAction,
    ) -> Result<(), ProviderError> {
        self.hook("unsubscribe", hook_url, action).await
    }

    async fn hook(
        &self,
        verb: &'static str,
        hook_url: &str,
        action: HookAction,
    ) -> Result<(), ProviderError> {
        let url = self.url(&["integration", "leads", verb]);
        let payload = json!({ "hook_url": hook_url, "hook_action": action.as_str() });
        self.transport
            .call(
                verb,
                |http| self.auth(http.post(url.clone())).json(&payload),
                |raw| common_status(NAME, &raw).map_or(Ok(()), Err),
            )
            .await
    }
}

fn malformed(raw: &RawResponse) -> ProviderError {
    ProviderError::Malformed {
        provider: NAME,
        excerpt: super::error::excerpt(&raw.body),
    }
}

/// Parses a configured base URL (kept out of every error message beyond its host).
pub(crate) fn parse_base(provider: &'static str, base_url: &str) -> Result<Url, ProviderError> {
    Url::parse(base_url).map_err(|e| ProviderError::InvalidRequest {
        provider,
        detail: format!("invalid base URL: {e}"),
    })
}
