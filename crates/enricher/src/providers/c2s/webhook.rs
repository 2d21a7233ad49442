//! C2S webhook deliveries: every shape C2S sends, read into the domain's
//! [`WebhookEvent`]s, with the limits a delivery must keep.

use serde::Deserialize;
use serde_json::Value;

use super::lead::read_lead;
use crate::domain::lead::{HookAction, Lead, LeadError, WebhookEvent};
use crate::providers::lenient::{pick, read, Text};

/// What wraps a delivery's lead (keys lower-cased): the action, and the lead
/// under `lead` or `data` (or the item itself).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Envelope {
    hook_action: Text,
    lead: Option<Value>,
    data: Option<Value>,
}

fn envelope(item: &Value) -> Envelope {
    pick(item, &["hook_action", "lead", "data"])
        .and_then(|v| read(&v))
        .unwrap_or_default()
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
            let outer = envelope(item);
            let inner = outer.lead.as_ref().or(outer.data.as_ref()).unwrap_or(item);
            let action_text = outer
                .hook_action
                .get()
                .or_else(|| envelope(inner).hook_action.get());
            let action = match action_text {
                Some(a) => {
                    Some(HookAction::parse(&a).ok_or(WebhookError::UnknownAction { index })?)
                }
                None => None,
            };
            let lead =
                read_lead(inner).map_err(|source| WebhookError::BadLead { index, source })?;
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
mod tests {
    use super::*;
    use crate::providers::c2s::lead::read_lead;

    fn fixture(name: &str) -> serde_json::Value {
        let path = format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
    }

    #[test]
    fn the_full_and_the_sparse_fixture_leads_parse() {
        let full = read_lead(&fixture("c2s_lead.json")["data"]).expect("full lead");
        assert_eq!(full.customer_name.as_deref(), Some("Helena Costa"));
        assert_eq!(full.phone.as_deref(), Some("(11) 98765-4321"));
        assert_eq!(full.email.as_deref(), Some("helena.mcosta@gmail.com"));
        assert_eq!(
            full.product.as_deref(),
            Some("Cobertura Jardim Europa 480m²")
        );
        let sparse = read_lead(&fixture("c2s_lead_sparse.json")["data"]).expect("sparse lead");
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
