//! The settings of what the sales agent is told beside the dossier: the
//! lead tier's rules.

use std::sync::Arc;

use super::error::{invalid, ConfigError};
use super::layers::Layers;
use crate::domain::tier::RuleSet;

/// `TIER_RULES_FILE`: the tier's rules (TOML, docs/lead-tier.md); the
/// shipped default when unset. Read and checked whole at start-up.
pub(super) fn tier_rules(l: &Layers<'_>) -> Result<Arc<RuleSet>, ConfigError> {
    let Some(path) = l.env("TIER_RULES_FILE") else {
        return Ok(Arc::new(RuleSet::builtin()));
    };
    let text = std::fs::read_to_string(path.trim())
        .map_err(|e| invalid("TIER_RULES_FILE", format!("cannot read {path:?}: {e}")))?;
    RuleSet::parse(&text)
        .map(Arc::new)
        .map_err(|e| invalid("TIER_RULES_FILE", e.to_string()))
}
