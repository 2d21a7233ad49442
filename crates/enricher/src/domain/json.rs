//! Tolerant reading of the C2S lead shape (API answers and webhook
//! deliveries, read in `domain::lead`): keys in any case, values that may be
//! null, missing, empty strings, numbers or strings. The providers' answers
//! are read through their private DTOs instead (`providers::lenient`).

use serde_json::{Map, Value};

/// The value under `key`, matching case-insensitively (`nomeMae` = `NomeMae`).
pub(crate) fn field<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    let map: &Map<String, Value> = obj.as_object()?;
    map.get(key)
        .or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

/// A non-empty trimmed string under `key` (numbers are rendered as text).
pub(crate) fn text(obj: &Value, key: &str) -> Option<String> {
    match field(obj, key)? {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
