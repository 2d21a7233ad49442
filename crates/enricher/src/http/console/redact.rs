//! What the timeline shows of stored texts by role: error details cut to
//! their kind without `read:pii`, masked CPFs only in their masked shape, the
//! tier's reasons in the note's words whatever shape they were stored in.

use crate::store::console_timeline::Event;

/// Errors are recorded as `kind: detail`, and a provider's detail may quote
/// its answer: without `read:pii` only the kind is shown.
pub(super) fn error_text(e: &str, pii: bool) -> String {
    if pii {
        return e.to_owned();
    }
    let kind = e.split_once(':').map_or(e, |(k, _)| k);
    format!("{kind} (detalhe só para administradores)")
}

/// Kinds of event whose detail is an error text (jobs, deliveries).
pub(super) fn redacted(kind: &str) -> bool {
    matches!(kind, "job" | "delivery")
}

pub(super) fn detail(e: &Event, pii: bool) -> String {
    match e.detail.as_deref() {
        None => String::new(),
        Some(d) if redacted(&e.kind) => error_text(d, pii),
        Some(d) => d.to_owned(),
    }
}

/// A CPF as the resolution masked it (`***.456.789-**`), or nothing.
pub(super) fn masked_cpf(v: &str) -> Option<&str> {
    let b = v.as_bytes();
    let shape = b.len() == 14
        && v.starts_with("***.")
        && v.ends_with("-**")
        && b[7] == b'.'
        && [4, 5, 6, 8, 9, 10].iter().all(|&i| b[i].is_ascii_digit());
    shape.then_some(v)
}

/// The tier's reasons as stored (`{rule, points, text}` each; a plain
/// string from an older shape) in the note's words.
pub(super) fn reasons(v: &serde_json::Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(
                    |r| match (r.as_str(), r["text"].as_str(), r["points"].as_i64()) {
                        (Some(s), _, _) => Some(s.to_owned()),
                        (None, Some(t), Some(p)) => Some(format!("{t} ({p:+})")),
                        (None, Some(t), None) => Some(t.to_owned()),
                        _ => None,
                    },
                )
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_show_only_their_kind_without_read_pii() {
        let e = "provider: 500 body: Maria da Silva não encontrada";
        assert_eq!(error_text(e, true), e);
        assert_eq!(
            error_text(e, false),
            "provider (detalhe só para administradores)"
        );
        assert_eq!(
            error_text("timeout", false),
            "timeout (detalhe só para administradores)"
        );
        let job = Event {
            at: chrono::Utc::now(),
            kind: "job".into(),
            what: "job 1 dead (8/8)".into(),
            detail: Some(e.into()),
        };
        assert!(!detail(&job, false).contains("Maria"));
        let person = Event {
            kind: "person".into(),
            detail: Some("confirmed (p=0.99)".into()),
            ..job
        };
        assert_eq!(detail(&person, false), "confirmed (p=0.99)");
    }

    #[test]
    fn only_a_masked_cpf_passes_as_one() {
        assert_eq!(masked_cpf("***.456.789-**"), Some("***.456.789-**"));
        for bad in [
            "123.456.789-09",
            "***.456.789-0*",
            "***.45a.789-**",
            "",
            "***.456.789-***",
            "ção.456.789-**",
        ] {
            assert_eq!(masked_cpf(bad), None, "{bad}");
        }
    }

    #[test]
    fn tier_reasons_of_either_shape_read_as_words() {
        let v = serde_json::json!([{"rule": "income", "points": 30, "text": "renda alta"}, "bairro nobre", 7, {"x": 1}]);
        assert_eq!(reasons(&v), "renda alta (+30), bairro nobre");
        assert_eq!(reasons(&serde_json::json!({"not": "an array"})), "");
    }
}
