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
