//! Tolerant reading of provider JSON: keys in any case, values that may be
//! null, missing, empty strings, numbers or strings.

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

/// The array under `key`, or an empty slice.
pub(crate) fn list<'a>(obj: &'a Value, key: &str) -> &'a [Value] {
    field(obj, key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// `"SIM"`, `"S"`, `true` → true; `"NAO"`, `"NÃO"`, `false` → false.
pub(crate) fn yes_no(obj: &Value, key: &str) -> Option<bool> {
    match field(obj, key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match brazil::normalize_name(s).as_str() {
            "SIM" | "S" | "TRUE" | "1" => Some(true),
            "NAO" | "N" | "FALSE" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}
