//! The controller and the purposes of processing (LGPD arts. 6, 7, 37): the
//! texts an access export shows beside every item and the record of
//! processing is written from. The purposes are the code's (each stored item
//! names one); their descriptions and legal bases are configuration — the
//! shipped default or `PRIVACY_FILE`, checked whole at start-up.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Why the service processes an item. Fixed by the code: every place that
/// stores personal data names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// The dossier: who the lead is, told to the agent in the note.
    IdentifyLead,
    /// What the person gave in the lead (name, phone, e-mail).
    AnswerContact,
    /// The tier, its tag and alerts.
    QualifyLead,
    /// The register of requests, blocks and erasures.
    SubjectRights,
    /// The access audit.
    Security,
}

impl Purpose {
    pub const ALL: [Self; 5] = [
        Self::IdentifyLead,
        Self::AnswerContact,
        Self::QualifyLead,
        Self::SubjectRights,
        Self::Security,
    ];

    /// The key in the file.
    pub const fn key(self) -> &'static str {
        match self {
            Self::IdentifyLead => "identify_lead",
            Self::AnswerContact => "answer_contact",
            Self::QualifyLead => "qualify_lead",
            Self::SubjectRights => "subject_rights",
            Self::Security => "security",
        }
    }
}

/// A purpose's texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeText {
    pub description: String,
    pub legal_basis: String,
}

/// Who is responsible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Controller {
    pub name: String,
    #[serde(default)]
    pub dpo: String,
    #[serde(default)]
    pub contact: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionText {
    customer_records: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: String,
    controller: Controller,
    purposes: BTreeMap<String, PurposeText>,
    retention: RetentionText,
}

/// The checked texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Privacy {
    pub version: String,
    pub controller: Controller,
    purposes: BTreeMap<Purpose, PurposeText>,
    /// How long the customer records are kept (they are not pruned by age).
    pub customer_records_retention: String,
}

impl Default for Privacy {
    fn default() -> Self {
        Self::builtin()
    }
}

/// Why a privacy file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PrivacyError(String);

const DEFAULT: &str = include_str!("default.toml");

impl Privacy {
    /// The shipped texts.
    pub fn builtin() -> Self {
        Self::parse(DEFAULT).expect("the shipped privacy file is valid")
    }

    /// Reads and checks a file: every purpose present, none unknown, no
    /// empty text.
    pub fn parse(text: &str) -> Result<Self, PrivacyError> {
        let file: File = toml::from_str(text).map_err(|e| PrivacyError(e.to_string()))?;
        let mut purposes = BTreeMap::new();
        for (key, texts) in file.purposes {
            let purpose = Purpose::ALL
                .into_iter()
                .find(|p| p.key() == key)
                .ok_or_else(|| {
                    PrivacyError(format!(
                        "unknown purpose {key:?} (known: {})",
                        Purpose::ALL.map(Purpose::key).join(", ")
                    ))
                })?;
            for (what, value) in [
                ("description", &texts.description),
                ("legal_basis", &texts.legal_basis),
            ] {
                if value.trim().is_empty() {
                    return Err(PrivacyError(format!("purposes.{key}.{what} is empty")));
                }
            }
            purposes.insert(purpose, texts);
        }
        if let Some(missing) = Purpose::ALL.into_iter().find(|p| !purposes.contains_key(p)) {
            return Err(PrivacyError(format!(
                "purposes.{} is missing: every purpose needs its description and legal basis",
                missing.key()
            )));
        }
        for (what, value) in [
            ("version", &file.version),
            ("controller.name", &file.controller.name),
            (
                "retention.customer_records",
                &file.retention.customer_records,
            ),
        ] {
            if value.trim().is_empty() {
                return Err(PrivacyError(format!("{what} is empty")));
            }
        }
        Ok(Self {
            version: file.version,
            controller: file.controller,
            purposes,
            customer_records_retention: file.retention.customer_records,
        })
    }

    /// The texts of `purpose` (every purpose has them: checked at parse).
    pub fn purpose(&self, purpose: Purpose) -> &PurposeText {
        &self.purposes[&purpose]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_names_every_purpose() {
        let p = Privacy::builtin();
        for purpose in Purpose::ALL {
            assert!(!p.purpose(purpose).legal_basis.is_empty());
        }
    }

    #[test]
    fn a_file_missing_a_purpose_or_naming_an_unknown_one_is_refused() {
        let missing = DEFAULT.replace("[purposes.security]", "[purposes.unused]");
        let e = Privacy::parse(&missing).expect_err("unknown");
        assert!(e.to_string().contains("unknown purpose \"unused\""), "{e}");
        let cut = DEFAULT
            .split("[purposes.security]")
            .next()
            .expect("head")
            .to_owned()
            + "[retention]\ncustomer_records = \"x\"\n";
        let e = Privacy::parse(&cut).expect_err("missing");
        assert!(
            e.to_string().contains("purposes.security is missing"),
            "{e}"
        );
        let empty = DEFAULT.replace(
            "legal_basis = \"Cumprimento de obrigação legal (LGPD arts. 37 e 46)\"",
            "legal_basis = \" \"",
        );
        let e = Privacy::parse(&empty).expect_err("empty");
        assert!(
            e.to_string()
                .contains("purposes.security.legal_basis is empty"),
            "{e}"
        );
        let typo = DEFAULT.replace("dpo = \"\"", "dpo = \"\"\ndpo_mail = \"x\"");
        assert!(Privacy::parse(&typo).is_err(), "unknown fields are refused");
    }
}
