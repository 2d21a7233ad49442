//! Tolerant typed reading of provider bodies, for the providers' private DTOs.
//!
//! The providers vary a key's case (`nomeMae`, `NomeMae`), send numbers as
//! strings and strings as numbers, `null` or `""` for "nothing", a section
//! that is sometimes an object and sometimes missing. A DTO is deserialised
//! from the body with its object keys lower-cased ([`lower_keys`]); its leaves
//! are [`Text`], [`Flag`], [`Code`], [`Section`] and [`Items`], each of which
//! accepts any JSON value and keeps what it can read. So reading a DTO never
//! fails on a shape: what is missing or unreadable is simply absent, and the
//! conversion into domain values decides what that means.

use serde::de::{DeserializeOwned, Deserializer};
use serde::Deserialize;
use serde_json::{Map, Value};

/// A copy of `value` with every object key lower-cased, recursively (the one
/// copy a DTO is read from). When two keys collide (`cpf` and `CPF`), a
/// non-null value wins over a null one, and the key already in lower case
/// wins a tie.
pub(crate) fn lower_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, v) in map {
                let lower = key.to_lowercase();
                let exact = lower == *key;
                let keep_old = out
                    .get(&lower)
                    .is_some_and(|old: &Value| v.is_null() || (!old.is_null() && !exact));
                if !keep_old {
                    out.insert(lower, lower_keys(v));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(lower_keys).collect()),
        other => other.clone(),
    }
}

/// Reads a DTO from a body (keys lower-cased first). Never fails on a body
/// that is an object; `None` when it is not one.
pub(crate) fn read<T: DeserializeOwned>(body: &Value) -> Option<T> {
    match body {
        Value::Object(_) => serde_json::from_value(lower_keys(body)).ok(),
        _ => None,
    }
}

/// The members of `body` named in `keys` (lower case; matched in any case),
/// copied into a new object — to read a small DTO from a large body without
/// copying the whole of it. `None` when `body` is not an object.
pub(crate) fn pick(body: &Value, keys: &[&str]) -> Option<Value> {
    let map = body.as_object()?;
    let picked = map
        .iter()
        .filter(|(k, _)| keys.iter().any(|want| k.eq_ignore_ascii_case(want)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some(Value::Object(picked))
}

/// A non-empty trimmed text; numbers and booleans are read as their text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Text(pub Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(match Value::deserialize(d)? {
            Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }))
    }
}

impl Text {
    pub(crate) fn get(&self) -> Option<String> {
        self.0.clone()
    }
}

/// A yes/no: `true`, `"SIM"`, `"S"`, `"1"` / `false`, `"NÃO"`, `"N"`, `"0"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flag(pub Option<bool>);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(match Value::deserialize(d)? {
            Value::Bool(b) => Some(b),
            Value::String(s) => match brazil::normalize_name(&s).as_str() {
                "SIM" | "S" | "TRUE" | "1" => Some(true),
                "NAO" | "N" | "FALSE" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        }))
    }
}

/// A whole number sent as a number or as text (`404`, `"404"`, `" 404 "`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Code(pub Option<i64>);

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(match Value::deserialize(d)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }))
    }
}

/// A nested object; absent when the value is not an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section<T>(pub Option<T>);

impl<T> Default for Section<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Section<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(match Value::deserialize(d)? {
            v @ Value::Object(_) => serde_json::from_value(v).ok(),
            _ => None,
        }))
    }
}

impl<T: Default + Clone> Section<T> {
    /// The section, or an empty one.
    pub(crate) fn or_empty(&self) -> T {
        self.0.clone().unwrap_or_default()
    }
}

/// A list whose items keep their positions (for the reasons of what is
/// dropped): an item that is not an object reads as an empty one; a value
/// that is not a list reads as an empty list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Items<T>(pub Vec<T>);

impl<T> Default for Items<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: DeserializeOwned + Default> Deserialize<'de> for Items<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = match Value::deserialize(d)? {
            Value::Array(items) => items,
            _ => Vec::new(),
        };
        Ok(Self(
            items
                .into_iter()
                .map(|item| match item {
                    v @ Value::Object(_) => serde_json::from_value(v).unwrap_or_default(),
                    _ => T::default(),
                })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default)]
    struct Person {
        nomemae: Text,
        ativo: Flag,
        status: Code,
        extra: Section<Inner>,
        itens: Items<Inner>,
    }

    #[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
    #[serde(default)]
    struct Inner {
        cpf: Text,
    }

    #[test]
    fn keys_of_any_case_and_leaves_of_any_type_are_read() {
        let p: Person = read(&json!({
            "NomeMae": "  Lúcia ",
            "ATIVO": "não",
            "Status": " 404 ",
            "Extra": {"CPF": 52998224725u64},
            "itens": [{"Cpf": "1"}, 7, null, {"cpf": ""}]
        }))
        .expect("object");
        assert_eq!(p.nomemae.get().as_deref(), Some("Lúcia"));
        assert_eq!(p.ativo.0, Some(false));
        assert_eq!(p.status.0, Some(404));
        assert_eq!(p.extra.or_empty().cpf.get().as_deref(), Some("52998224725"));
        let cpfs: Vec<Option<String>> = p.itens.0.iter().map(|i| i.cpf.get()).collect();
        assert_eq!(cpfs, vec![Some("1".into()), None, None, None]);
    }

    #[test]
    fn wrong_shapes_read_as_absent_never_as_an_error() {
        let p: Person = read(&json!({
            "nomeMae": {"x": 1}, "ativo": [1], "status": "abc",
            "extra": "text", "itens": {"cpf": "1"}
        }))
        .expect("object");
        assert_eq!(p.nomemae.0, None);
        assert_eq!(p.ativo.0, None);
        assert_eq!(p.status.0, None);
        assert_eq!(p.extra.0, None);
        assert!(p.itens.0.is_empty());
        assert!(read::<Person>(&json!([1, 2])).is_none());
        assert!(read::<Person>(&json!("x")).is_none());
    }

    #[test]
    fn colliding_keys_prefer_a_value_then_the_lower_case_key() {
        let v = lower_keys(&json!({"CPF": null, "cpf": "1"}));
        assert_eq!(v, json!({"cpf": "1"}));
        let v = lower_keys(&json!({"CPF": "2", "cpf": null}));
        assert_eq!(v, json!({"cpf": "2"}));
        let v = lower_keys(&json!({"Cpf": "3", "cpf": "1"}));
        assert_eq!(v, json!({"cpf": "1"}));
    }
}
