//! Lead identifiers.

use std::fmt;

/// A C2S lead id: 32 lowercase hex characters. Validated before it is ever put
/// in a URL or a row (path injection was a real bug of the earlier system).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct LeadId(String);

/// Why a value is not a lead id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("lead id must be 32 hexadecimal characters")]
pub struct LeadIdError;

impl LeadId {
    /// Accepts 32 hex characters in any case (stored lower-case).
    pub fn parse(input: &str) -> Result<Self, LeadIdError> {
        let s = input.trim();
        if s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err(LeadIdError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LeadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_32_hex_characters_are_lead_ids() {
        assert_eq!(
            LeadId::parse("358F62821DC6CFA7CFBDA19E670D6392").map(|l| l.0),
            Ok("358f62821dc6cfa7cfbda19e670d6392".into())
        );
        for bad in [
            "",
            "358f62821dc6cfa7cfbda19e670d639",
            "../../leads",
            "358f62821dc6cfa7cfbda19e670d639g",
            "358f62821dc6cfa7cfbda19e670d6392/x",
        ] {
            assert_eq!(LeadId::parse(bad), Err(LeadIdError), "{bad}");
        }
    }
}

/// A C2S lead, read tolerantly: every attribute may be null, empty or missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub id: LeadId,
    pub internal_id: Option<String>,
    pub customer_name: Option<String>,
    /// The customer's phone as sent: `phone`, else `phone2`, else `phone_global`.
    pub phone: Option<String>,
    /// Every non-empty phone field, in that order (for fallbacks).
    pub phones: Vec<String>,
    pub email: Option<String>,
    pub seller_id: Option<String>,
    pub seller_name: Option<String>,
    pub product: Option<String>,
    pub source: Option<String>,
    pub status: Option<String>,
    pub description: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// Why a payload is not a lead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeadError {
    #[error("lead has no id")]
    MissingId,
    #[error(transparent)]
    BadId(#[from] LeadIdError),
    #[error("payload is not a JSON object")]
    NotAnObject,
}

impl Lead {
    /// Reads a lead object (`{"id", "attributes": {...}}`), the shape of
    /// `GET /integration/leads/{id}`'s `data` and of webhook deliveries.
    pub fn from_json(obj: &serde_json::Value) -> Result<Self, LeadError> {
        use super::json::{field, text};
        if !obj.is_object() {
            return Err(LeadError::NotAnObject);
        }
        let id = text(obj, "id").ok_or(LeadError::MissingId)?;
        let id = LeadId::parse(&id)?;
        let empty = serde_json::Value::Null;
        let attrs = field(obj, "attributes").unwrap_or(&empty);
        let customer = field(attrs, "customer").unwrap_or(&empty);
        let seller = field(attrs, "seller").unwrap_or(&empty);
        let nested = |section: &str, key: &str| field(attrs, section).and_then(|s| text(s, key));
        let phones: Vec<String> = ["phone", "phone2", "phone_global"]
            .iter()
            .filter_map(|k| text(customer, k))
            .collect();
        Ok(Self {
            id,
            internal_id: text(obj, "internal_id"),
            customer_name: text(customer, "name"),
            phone: phones.first().cloned(),
            phones,
            email: text(customer, "email"),
            seller_id: text(seller, "id"),
            seller_name: text(seller, "name"),
            product: nested("product", "description"),
            source: nested("lead_source", "name"),
            status: nested("lead_status", "alias"),
            description: text(attrs, "description"),
            created_at: text(attrs, "created_at"),
            updated_at: text(attrs, "updated_at"),
        })
    }
}

/// What a webhook delivery asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookAction {
    OnCreateLead,
    OnUpdateLead,
    OnCloseLead,
}

impl HookAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnCreateLead => "on_create_lead",
            Self::OnUpdateLead => "on_update_lead",
            Self::OnCloseLead => "on_close_lead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "on_create_lead" => Some(Self::OnCreateLead),
            "on_update_lead" => Some(Self::OnUpdateLead),
            "on_close_lead" => Some(Self::OnCloseLead),
            _ => None,
        }
    }

    pub const ALL: [HookAction; 3] = [Self::OnCreateLead, Self::OnUpdateLead, Self::OnCloseLead];
}

/// One lead event from a webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub action: Option<HookAction>,
    pub lead: Lead,
    /// The event's own JSON object (what is stored for it — never the batch).
    pub raw: serde_json::Value,
}

/// The most events one delivery may carry.
pub const MAX_EVENTS_PER_DELIVERY: usize = 100;

/// Length caps (characters) of the fields a delivery's events are keyed and
/// matched by: a timestamp, ids, contacts. Longer is not C2S.
const FIELD_CAPS: [(&str, usize); 7] = [
    ("updated_at", 64),
    ("created_at", 64),
    ("internal_id", 64),
    ("seller.id", 128),
    ("customer.name", 300),
    ("customer.email", 320),
    ("customer.phone", 64),
];

fn check_lengths(lead: &Lead, index: usize) -> Result<(), WebhookError> {
    let values: [(&str, Option<&str>); 6] = [
        ("updated_at", lead.updated_at.as_deref()),
        ("created_at", lead.created_at.as_deref()),
        ("internal_id", lead.internal_id.as_deref()),
        ("seller.id", lead.seller_id.as_deref()),
        ("customer.name", lead.customer_name.as_deref()),
        ("customer.email", lead.email.as_deref()),
    ];
    let phones = lead
        .phones
        .iter()
        .map(|p| ("customer.phone", Some(p.as_str())));
    for (field, value) in values.into_iter().chain(phones) {
        let max = FIELD_CAPS
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(usize::MAX, |(_, m)| *m);
        if value.is_some_and(|v| v.chars().count() > max) {
            return Err(WebhookError::TooLong { index, field, max });
        }
    }
    Ok(())
}

/// Why a webhook payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("payload holds no lead")]
    Empty,
    #[error("event {index}: {source}")]
    BadLead { index: usize, source: LeadError },
    #[error("event {index}: unknown hook_action")]
    UnknownAction { index: usize },
    #[error("a delivery holds at most {MAX_EVENTS_PER_DELIVERY} events; this one holds {count}")]
    TooManyEvents { count: usize },
    #[error("event {index}: {field} is longer than {max} characters")]
    TooLong {
        index: usize,
        field: &'static str,
        max: usize,
    },
}

/// Reads every shape C2S delivers: a single lead (`{"hook_action", "id",
/// "attributes"}`), wrapped (`{"hook_action", "lead": {...}}` or `{"data": {...}}`),
/// or a batch (array of any of those).
pub fn parse_webhook(payload: &serde_json::Value) -> Result<Vec<WebhookEvent>, WebhookError> {
    use super::json::{field, text};
    let items: Vec<&serde_json::Value> = match payload {
        serde_json::Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    if items.is_empty() {
        return Err(WebhookError::Empty);
    }
    if items.len() > MAX_EVENTS_PER_DELIVERY {
        return Err(WebhookError::TooManyEvents { count: items.len() });
    }
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let action_text = text(item, "hook_action");
            let inner = field(item, "lead")
                .or_else(|| field(item, "data"))
                .unwrap_or(item);
            let action_text = action_text.or_else(|| text(inner, "hook_action"));
            let action = match action_text {
                Some(a) => {
                    Some(HookAction::parse(&a).ok_or(WebhookError::UnknownAction { index })?)
                }
                None => None,
            };
            let lead =
                Lead::from_json(inner).map_err(|source| WebhookError::BadLead { index, source })?;
            check_lengths(&lead, index)?;
            Ok(WebhookEvent {
                action,
                lead,
                raw: item.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod lead_tests {
    use super::*;

    fn fixture(name: &str) -> serde_json::Value {
        let path = format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
    }

    #[test]
    fn the_full_and_the_sparse_fixture_leads_parse() {
        let full = Lead::from_json(&fixture("c2s_lead.json")["data"]).expect("full lead");
        assert_eq!(full.customer_name.as_deref(), Some("Helena Costa"));
        assert_eq!(full.phone.as_deref(), Some("(11) 98765-4321"));
        assert_eq!(full.email.as_deref(), Some("helena.mcosta@gmail.com"));
        assert_eq!(
            full.product.as_deref(),
            Some("Cobertura Jardim Europa 480m²")
        );
        let sparse =
            Lead::from_json(&fixture("c2s_lead_sparse.json")["data"]).expect("sparse lead");
        assert_eq!(sparse.id.as_str().len(), 32);
    }

    #[test]
    fn every_webhook_shape_yields_the_same_event() {
        let single = fixture("c2s_webhook_create.json");
        let events = parse_webhook(&single).expect("single");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, Some(HookAction::OnCreateLead));
        let lead = serde_json::json!({"id": "358f62821dc6cfa7cfbda19e670d6392", "attributes": {"customer": {"phone2": "11987654321"}}});
        for shape in [
            serde_json::json!({"hook_action": "on_update_lead", "lead": lead}),
            serde_json::json!({"hook_action": "on_update_lead", "data": lead}),
            serde_json::json!([{"hook_action": "on_update_lead", "lead": lead}]),
        ] {
            let events = parse_webhook(&shape).expect("shape");
            assert_eq!(events[0].action, Some(HookAction::OnUpdateLead));
            assert_eq!(
                events[0].lead.phone.as_deref(),
                Some("11987654321"),
                "phone2 is used when phone is absent"
            );
        }
        assert_eq!(
            parse_webhook(&serde_json::json!([])),
            Err(WebhookError::Empty)
        );
        assert!(matches!(
            parse_webhook(&serde_json::json!({"id": "../x"})),
            Err(WebhookError::BadLead { .. })
        ));
        assert!(matches!(
            parse_webhook(&serde_json::json!({"hook_action": "on_delete", "lead": lead})),
            Err(WebhookError::UnknownAction { .. })
        ));
    }
}

/// The lead's usable contacts: the first valid phone among `phone`, `phone2`,
/// `phone_global`, and the e-mail if valid; with why the others were dropped.
pub fn usable_contacts(
    lead: &Lead,
) -> (Option<brazil::PhoneBr>, Option<brazil::Email>, Vec<String>) {
    let mut dropped = Vec::new();
    let mut phone = None;
    for raw in &lead.phones {
        match brazil::PhoneBr::parse(raw) {
            Ok(p) => {
                phone = Some(p);
                break;
            }
            Err(e) => dropped.push(format!("phone: {e}")),
        }
    }
    let email = match lead.email.as_deref().map(brazil::Email::parse) {
        Some(Ok(e)) => Some(e),
        Some(Err(e)) => {
            dropped.push(format!("email: {e}"));
            None
        }
        None => None,
    };
    (phone, email, dropped)
}

/// A stable fingerprint of the contacts (to tell whether an update changed them).
pub fn contact_fingerprint(
    phone: Option<&brazil::PhoneBr>,
    email: Option<&brazil::Email>,
) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(phone.map(brazil::PhoneBr::e164).unwrap_or_default());
    h.update(b"|");
    h.update(email.map(brazil::Email::as_str).unwrap_or_default());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
