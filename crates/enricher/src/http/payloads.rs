//! The webhook payloads as the OpenAPI document states them. The handlers read
//! these bodies tolerantly at the edge (`providers::c2s::parse_webhook`,
//! `GoogleAdsLead::from_json`: unknown fields ignored, ids as strings or
//! numbers); these types only describe, for schema-driven clients and
//! fuzzers, a subset every value of which the server accepts — with the same
//! required fields, patterns and length caps the readers enforce.

#![allow(dead_code)] // documentation types: never built, only described

use serde::Deserialize;
use utoipa::ToSchema;

/// A C2S customer, as C2S sends it (every field optional).
#[derive(Debug, Deserialize, ToSchema)]
pub struct C2sCustomer {
    #[schema(max_length = 300)]
    pub name: Option<String>,
    #[schema(max_length = 320)]
    pub email: Option<String>,
    /// The phone used first; then `phone2`, then `phone_global`.
    #[schema(max_length = 64)]
    pub phone: Option<String>,
    #[schema(max_length = 64)]
    pub phone2: Option<String>,
    #[schema(max_length = 64)]
    pub phone_global: Option<String>,
}

/// The lead's seller.
#[derive(Debug, Deserialize, ToSchema)]
pub struct C2sSeller {
    #[schema(max_length = 128)]
    pub id: Option<String>,
    pub name: Option<String>,
}

/// A C2S lead's attributes (every one optional).
#[derive(Debug, Deserialize, ToSchema)]
pub struct C2sLeadAttributes {
    pub customer: Option<C2sCustomer>,
    pub seller: Option<C2sSeller>,
    pub description: Option<String>,
    /// Part of the event's idempotency key, with the lead id and the action.
    #[schema(max_length = 64)]
    pub updated_at: Option<String>,
    #[schema(max_length = 64)]
    pub created_at: Option<String>,
}

/// What a delivery asks.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum C2sHookAction {
    OnCreateLead,
    OnUpdateLead,
    OnCloseLead,
}

/// A C2S lead object (`{id, attributes}`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct C2sLeadObject {
    #[schema(pattern = "^[0-9a-fA-F]{32}$", min_length = 32, max_length = 32)]
    pub id: String,
    #[schema(max_length = 64)]
    pub internal_id: Option<String>,
    pub attributes: Option<C2sLeadAttributes>,
}

/// One event: the action beside the lead, which comes inline, under `lead`
/// or under `data`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum C2sWebhookEvent {
    /// `{hook_action, id, attributes}`.
    Inline {
        hook_action: C2sHookAction,
        #[schema(pattern = "^[0-9a-fA-F]{32}$", min_length = 32, max_length = 32)]
        id: String,
        #[schema(max_length = 64)]
        internal_id: Option<String>,
        attributes: Option<C2sLeadAttributes>,
    },
    /// `{hook_action, lead: {id, attributes}}`.
    Lead {
        hook_action: C2sHookAction,
        lead: C2sLeadObject,
    },
    /// `{hook_action, data: {id, attributes}}`.
    Data {
        hook_action: C2sHookAction,
        data: C2sLeadObject,
    },
}

/// A C2S delivery: one event, or a batch of 1 to 100 (the bounds are set
/// on the document by `openapi`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum C2sWebhookDelivery {
    One(Box<C2sWebhookEvent>),
    Batch(Vec<C2sWebhookEvent>),
}

/// One answer of a Google Ads lead form.
#[derive(Debug, Deserialize, ToSchema)]
pub struct GoogleAdsColumn {
    /// Google's column id (`FULL_NAME`, `PHONE_NUMBER`, `EMAIL`, … or a
    /// custom question's id).
    pub column_id: Option<String>,
    /// The question as the form shows it.
    pub column_name: Option<String>,
    pub string_value: Option<String>,
}

/// A Google Ads lead-form delivery (Google's documented fields; ids may also
/// come as numbers; unknown fields are ignored).
#[derive(Debug, Deserialize, ToSchema)]
pub struct GoogleAdsDelivery {
    /// Google's lead id: recorded once.
    #[schema(pattern = r"\S", min_length = 1, max_length = 200)]
    pub lead_id: String,
    pub user_column_data: Option<Vec<GoogleAdsColumn>>,
    /// Must equal `GOOGLE_ADS_WEBHOOK_KEY`.
    pub google_key: String,
    pub campaign_id: Option<String>,
    pub form_id: Option<String>,
    pub adgroup_id: Option<String>,
    pub creative_id: Option<String>,
    pub gcl_id: Option<String>,
    pub api_version: Option<String>,
    /// Google's test leads are recorded only.
    pub is_test: Option<bool>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_lead_id_pattern_is_the_documents() {
        let text = include_str!("payloads.rs");
        let stated = format!("pattern = \"{}\"", super::super::openapi::patterns::LEAD_ID);
        assert_eq!(text.matches(&stated).count(), 2, "{stated}");
    }
}
