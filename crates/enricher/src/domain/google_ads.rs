//! Google Ads lead-form webhooks: the payload Google posts, read at the edge
//! into the contacts the pipeline needs.
//!
//! Shape (Google's documented fields): `lead_id`, `user_column_data`
//! (`[{column_id, column_name, string_value}]`), `google_key`, `campaign_id`,
//! `form_id`, `adgroup_id`, `creative_id`, `gcl_id`, `api_version`, `is_test`.
//! Ids arrive as numbers or strings; unknown fields are ignored.

use brazil::{Cpf, Email, PhoneBr};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One answer of the form. Personal data: never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Google's column id (`FULL_NAME`, `PHONE_NUMBER`, `EMAIL`, … or a custom question's id).
    pub column_id: String,
    /// The question as the form shows it.
    pub column_name: String,
    pub value: String,
}

/// A parsed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleAdsLead {
    pub lead_id: String,
    pub google_key: Option<String>,
    pub campaign_id: Option<String>,
    pub adgroup_id: Option<String>,
    pub form_id: Option<String>,
    pub gcl_id: Option<String>,
    pub is_test: bool,
    pub answers: Vec<Answer>,
}

/// Why a body is not a Google Ads lead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoogleAdsError {
    #[error("body is not a JSON object")]
    NotAnObject,
    #[error("lead_id is missing or empty")]
    MissingLeadId,
    #[error("lead_id is longer than 200 characters")]
    LeadIdTooLong,
    #[error("user_column_data must be an array of objects")]
    BadColumns,
    #[error("is_test must be a boolean")]
    BadIsTest,
}

/// An id or text field that may come as a string or a number.
fn text_field(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl GoogleAdsLead {
    /// Reads Google's JSON body.
    pub fn from_json(body: &Value) -> Result<Self, GoogleAdsError> {
        let obj = body.as_object().ok_or(GoogleAdsError::NotAnObject)?;
        let lead_id = text_field(obj.get("lead_id")).ok_or(GoogleAdsError::MissingLeadId)?;
        if lead_id.chars().count() > 200 {
            return Err(GoogleAdsError::LeadIdTooLong);
        }
        let answers = match obj.get("user_column_data") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    let o = item.as_object().ok_or(GoogleAdsError::BadColumns)?;
                    Ok(Answer {
                        column_id: text_field(o.get("column_id")).unwrap_or_default(),
                        column_name: text_field(o.get("column_name")).unwrap_or_default(),
                        value: text_field(o.get("string_value")).unwrap_or_default(),
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(GoogleAdsError::BadColumns),
        };
        let is_test = match obj.get("is_test") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(GoogleAdsError::BadIsTest),
        };
        Ok(Self {
            lead_id,
            google_key: obj
                .get("google_key")
                .and_then(Value::as_str)
                .map(str::to_owned),
            campaign_id: text_field(obj.get("campaign_id")),
            adgroup_id: text_field(obj.get("adgroup_id")),
            form_id: text_field(obj.get("form_id")),
            gcl_id: text_field(obj.get("gcl_id")),
            is_test,
            answers,
        })
    }
}

/// The contacts a form gives, parsed with the `brazil` types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormContacts {
    pub name: Option<String>,
    pub phone: Option<PhoneBr>,
    pub email: Option<Email>,
    /// A CPF the customer typed, when its check digits are right.
    pub cpf: Option<Cpf>,
    /// Why a contact was not used (kinds only, no values).
    pub dropped: Vec<String>,
}

fn key(a: &Answer) -> String {
    format!("{} {}", a.column_id, a.column_name).to_lowercase()
}

/// Picks name, phone, e-mail and CPF out of the answers.
pub fn form_contacts(answers: &[Answer]) -> FormContacts {
    let mut out = FormContacts::default();
    let find = |id: &str| {
        answers
            .iter()
            .find(|a| a.column_id.eq_ignore_ascii_case(id) && !a.value.trim().is_empty())
            .map(|a| a.value.trim().to_owned())
    };
    out.name = find("FULL_NAME").or_else(|| {
        let joined = [find("FIRST_NAME"), find("LAST_NAME")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!joined.is_empty()).then_some(joined)
    });
    if let Some(raw) = find("PHONE_NUMBER") {
        match PhoneBr::parse(&raw) {
            Ok(p) => out.phone = Some(p),
            Err(_) => out.dropped.push("phone: not a Brazilian number".into()),
        }
    }
    if let Some(raw) = find("EMAIL").or_else(|| find("WORK_EMAIL")) {
        match Email::parse(&raw) {
            Ok(e) => out.email = Some(e),
            Err(_) => out.dropped.push("email: not usable".into()),
        }
    }
    if let Some(a) = answers
        .iter()
        .find(|a| key(a).contains("cpf") && !a.value.trim().is_empty())
    {
        match Cpf::parse(a.value.trim()) {
            Ok(c) => out.cpf = Some(c),
            Err(_) => out
                .dropped
                .push("cpf: invalid check digits or length".into()),
        }
    }
    out
}

/// The first line of the description: how a retry recognises the lead it
/// created (contains no personal data).
pub fn reference_line(google_lead_id: &str) -> String {
    format!("Ref. Google Ads: {google_lead_id}")
}

/// The description sent to C2S: reference, note, the form's answers; cut to
/// `max_chars` characters (the reference line always survives).
pub fn description(
    google_lead_id: &str,
    note: &str,
    answers: &[Answer],
    max_chars: usize,
) -> String {
    let mut out = reference_line(google_lead_id);
    out.push_str("\n\n");
    out.push_str(note.trim_end());
    if !answers.is_empty() {
        out.push_str("\n\n📝 RESPOSTAS DO FORMULÁRIO\n");
        for a in answers {
            let q = if a.column_name.trim().is_empty() {
                a.column_id.trim()
            } else {
                a.column_name.trim()
            };
            out.push_str(&format!("{q}: {}\n", a.value.trim()));
        }
    }
    let out = out.trim_end().to_owned();
    if out.chars().count() <= max_chars {
        return out;
    }
    let cut: String = out.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body() -> Value {
        json!({
            "lead_id": "TeSter-123-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "api_version": "1.0",
            "form_id": 40000000000_i64,
            "campaign_id": 50000000000_i64,
            "google_key": "k",
            "is_test": true,
            "gcl_id": "gcl-1",
            "adgroup_id": 20000000000_i64,
            "creative_id": 30000000000_i64,
            "user_column_data": [
                {"column_name": "Full Name", "string_value": "Maria Souza", "column_id": "FULL_NAME"},
                {"column_name": "User Phone", "string_value": "+5511987654321", "column_id": "PHONE_NUMBER"},
                {"column_name": "User Email", "string_value": "maria@example.com.br", "column_id": "EMAIL"},
                {"column_name": "Qual o seu CPF?", "string_value": "529.982.247-25", "column_id": "qual_o_seu_cpf"}
            ]
        })
    }

    #[test]
    fn reads_googles_shape_with_numeric_ids() {
        let lead = GoogleAdsLead::from_json(&body()).expect("lead");
        assert_eq!(lead.campaign_id.as_deref(), Some("50000000000"));
        assert_eq!(lead.form_id.as_deref(), Some("40000000000"));
        assert!(lead.is_test);
        assert_eq!(lead.answers.len(), 4);
        let c = form_contacts(&lead.answers);
        assert_eq!(c.name.as_deref(), Some("Maria Souza"));
        assert_eq!(c.phone.map(|p| p.e164()), Some("+5511987654321".into()));
        assert_eq!(
            c.email.map(|e| e.as_str().to_owned()),
            Some("maria@example.com.br".into())
        );
        assert_eq!(
            c.cpf.map(|c| c.digits().to_owned()),
            Some("52998224725".into())
        );
        assert!(c.dropped.is_empty());
    }

    #[test]
    fn bad_contacts_are_dropped_with_a_reason_and_no_value() {
        let answers = vec![
            Answer {
                column_id: "FIRST_NAME".into(),
                column_name: "".into(),
                value: "Ana".into(),
            },
            Answer {
                column_id: "LAST_NAME".into(),
                column_name: "".into(),
                value: "Lima".into(),
            },
            Answer {
                column_id: "PHONE_NUMBER".into(),
                column_name: "".into(),
                value: "12".into(),
            },
            Answer {
                column_id: "x".into(),
                column_name: "CPF".into(),
                value: "111.111.111-12".into(),
            },
        ];
        let c = form_contacts(&answers);
        assert_eq!(c.name.as_deref(), Some("Ana Lima"));
        assert!(c.phone.is_none() && c.cpf.is_none());
        assert_eq!(c.dropped.len(), 2);
        assert!(c
            .dropped
            .iter()
            .all(|d| !d.contains("111") && !d.contains("12 ")));
    }

    #[test]
    fn malformed_bodies_are_refused_with_a_reason() {
        assert_eq!(
            GoogleAdsLead::from_json(&json!([])),
            Err(GoogleAdsError::NotAnObject)
        );
        assert_eq!(
            GoogleAdsLead::from_json(&json!({"lead_id": ""})),
            Err(GoogleAdsError::MissingLeadId)
        );
        assert_eq!(
            GoogleAdsLead::from_json(&json!({"lead_id": "x".repeat(201)})),
            Err(GoogleAdsError::LeadIdTooLong)
        );
        assert_eq!(
            GoogleAdsLead::from_json(&json!({"lead_id": "a", "user_column_data": {"x": 1}})),
            Err(GoogleAdsError::BadColumns)
        );
        assert_eq!(
            GoogleAdsLead::from_json(&json!({"lead_id": "a", "user_column_data": [1]})),
            Err(GoogleAdsError::BadColumns)
        );
        assert_eq!(
            GoogleAdsLead::from_json(&json!({"lead_id": "a", "is_test": "yes"})),
            Err(GoogleAdsError::BadIsTest)
        );
        let minimal = GoogleAdsLead::from_json(&json!({"lead_id": 17})).expect("minimal");
        assert_eq!(minimal.lead_id, "17");
        assert!(minimal.answers.is_empty() && !minimal.is_test);
    }
}
