//! C2S tags: find or create a company tag by name, and put it on a lead once
//! (the lead's tags are read first, so a retry never adds it twice).

use serde_json::{json, Value};

use super::{malformed, C2sClient, NAME};
use crate::domain::lead::LeadId;
use crate::providers::error::ProviderError;
use crate::providers::transport::{common_status, parse_json, RawResponse};

/// A tag's id from a JSON:API item (`{"id": …}`; text or number).
fn tag_id(item: &Value) -> Option<String> {
    match item.get("id")? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn tag_name(item: &Value) -> Option<&str> {
    item.get("attributes")
        .and_then(|a| a.get("name"))
        .or_else(|| item.get("name"))
        .and_then(Value::as_str)
}

/// The `data` array of a list answer.
fn items(raw: &RawResponse) -> Result<Vec<Value>, ProviderError> {
    if let Some(e) = common_status(NAME, raw) {
        return Err(e);
    }
    let body: Value = parse_json(NAME, &raw.body)?;
    body.get("data")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| malformed(raw))
}

impl C2sClient {
    /// `GET /integration/tags?name=`: the id of the tag named exactly `name`
    /// (case ignored), if C2S has one.
    pub async fn find_tag(&self, name: &str) -> Result<Option<String>, ProviderError> {
        let mut url = self.url(&["integration", "tags"]);
        url.query_pairs_mut().append_pair("name", name);
        self.transport
            .call(
                "list_tags",
                |http| self.auth(http.get(url.clone())),
                |raw| {
                    Ok(items(&raw)?
                        .iter()
                        .find(|t| tag_name(t).is_some_and(|n| n.trim().eq_ignore_ascii_case(name)))
                        .and_then(tag_id))
                },
            )
            .await
    }

    /// `POST /integration/tags`: creates the tag, returns its id. Not
    /// retried here (a lost answer would create it twice): the caller looks
    /// for it again first.
    pub async fn create_tag(&self, name: &str) -> Result<String, ProviderError> {
        let url = self.url(&["integration", "tags"]);
        let payload = json!({ "name": name });
        self.transport
            .call_once(
                "create_tag",
                |http| self.auth(http.post(url.clone())).json(&payload),
                |raw| {
                    if let Some(e) = common_status(NAME, &raw) {
                        return Err(e);
                    }
                    let body: Value = parse_json(NAME, &raw.body)?;
                    body.get("data")
                        .and_then(tag_id)
                        .or_else(|| tag_id(&body))
                        .ok_or_else(|| malformed(&raw))
                },
            )
            .await
    }

    /// `GET /integration/leads/{id}/tags`: the ids of the lead's tags.
    pub async fn lead_tags(&self, lead: &LeadId) -> Result<Vec<String>, ProviderError> {
        let url = self.url(&["integration", "leads", lead.as_str(), "tags"]);
        self.transport
            .call(
                "lead_tags",
                |http| self.auth(http.get(url.clone())),
                |raw| Ok(items(&raw)?.iter().filter_map(tag_id).collect()),
            )
            .await
    }

    /// `POST /integration/leads/{id}/create_tag` with `{"tag_id"}`, once.
    pub async fn tag_lead(&self, lead: &LeadId, tag: &str) -> Result<(), ProviderError> {
        let url = self.url(&["integration", "leads", lead.as_str(), "create_tag"]);
        let payload = json!({ "tag_id": tag });
        self.transport
            .call_once(
                "tag_lead",
                |http| self.auth(http.post(url.clone())).json(&payload),
                |raw| common_status(NAME, &raw).map_or(Ok(()), Err),
            )
            .await
    }
}
