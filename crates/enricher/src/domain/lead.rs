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

/// C2S status aliases of leads no longer in play (closed won or lost,
/// archived): the back-fill's `--notes open` posts nothing on them, and a
/// closed lead is not "already a lead" of its seller.
pub const CLOSED_STATUSES: &[&str] = &[
    "won",
    "sold",
    "lost",
    "closed",
    "archived",
    "discarded",
    "finished",
    "canceled",
    "cancelled",
];

/// Whether a lead with this status alias is still in play.
pub fn is_open(status: Option<&str>) -> bool {
    status.is_none_or(|s| {
        let s = s.trim().to_ascii_lowercase();
        !CLOSED_STATUSES.contains(&s.as_str())
    })
}
