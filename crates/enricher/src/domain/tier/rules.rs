//! The tier's rule set: read from TOML (the shipped default or an operator's
//! file) and checked whole before the service starts — a rule it would not
//! understand is an error naming the rule, never a rule silently ignored.

use std::collections::BTreeMap;

use serde::Deserialize;

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Income,
    PurchasingPower,
    CreditScore,
    Neighbourhood,
    CompanyRole,
    Properties,
    PublicFigure,
}

/// One rule as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub kind: Kind,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub min_count: Option<u32>,
    #[serde(default)]
    pub any_of: Vec<String>,
    pub points: i32,
    pub reason: String,
    #[serde(default)]
    pub reason_one: Option<String>,
}

/// A tier and the score it starts at.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierDef {
    pub name: String,
    pub min_score: i32,
}

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: String,
    tiers: Vec<TierDef>,
    #[serde(default)]
    rules: Vec<Rule>,
    #[serde(default)]
    neighbourhoods: BTreeMap<String, Vec<String>>,
}

/// A neighbourhood as matched: exact, or a prefix (`ALPHAVILLE*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Place {
    Exact(String),
    Prefix(String),
}

/// A checked rule set.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub version: String,
    /// Best first; the last starts at 0.
    pub tiers: Vec<TierDef>,
    pub rules: Vec<Rule>,
    /// `(city, UF)` normalised → its neighbourhoods.
    pub(super) places: BTreeMap<(String, String), Vec<Place>>,
}

/// Why a rule set was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RulesError {
    #[error("the tier rules are not valid TOML or have an unknown field: {0}")]
    Syntax(String),
    #[error("the tier rules: {0}")]
    Invalid(String),
}

/// The rules the service is built with (`default_rules.toml`).
pub const DEFAULT_RULES: &str = include_str!("default_rules.toml");

impl RuleSet {
    /// The shipped default.
    pub fn builtin() -> Self {
        // Checked by a unit test; a build whose default does not parse fails
        // that test, so this cannot fail in a released binary.
        Self::parse(DEFAULT_RULES).unwrap_or_else(|e| panic!("the shipped tier rules: {e}"))
    }

    /// Reads and checks a rule set.
    pub fn parse(text: &str) -> Result<Self, RulesError> {
        let file: File = toml::from_str(text).map_err(|e| RulesError::Syntax(e.to_string()))?;
        let bad = |m: String| Err(RulesError::Invalid(m));
        if file.version.trim().is_empty() {
            return bad("`version` is empty; give the rule set a version".into());
        }
        check_tiers(&file.tiers)?;
        let mut ids = std::collections::HashSet::new();
        for r in &file.rules {
            if !ids.insert(r.id.as_str()) {
                return bad(format!("the rule id {:?} is used twice", r.id));
            }
            check_rule(r)?;
        }
        let mut places = BTreeMap::new();
        for (key, list) in &file.neighbourhoods {
            let (city, uf) = key.rsplit_once('/').ok_or_else(|| {
                RulesError::Invalid(format!(
                    "neighbourhoods: {key:?} is not \"CITY/UF\" (e.g. \"SAO PAULO/SP\")"
                ))
            })?;
            let uf = brazil::Uf::parse(uf).map_err(|_| {
                RulesError::Invalid(format!("neighbourhoods: {key:?} has no real UF"))
            })?;
            let parsed = list.iter().map(|n| place(n)).collect::<Result<_, _>>()?;
            let city = (brazil::normalize_name(city), uf.code().to_owned());
            if places.insert(city, parsed).is_some() {
                return bad(format!(
                    "neighbourhoods: {key:?} names a city listed twice (accents and case do not count)"
                ));
            }
        }
        if file.rules.iter().any(|r| r.kind == Kind::Neighbourhood) && places.is_empty() {
            return bad("a neighbourhood rule needs a [neighbourhoods] list".into());
        }
        Ok(Self {
            version: file.version.trim().to_owned(),
            tiers: file.tiers,
            rules: file.rules,
            places,
        })
    }

    /// The position of tier `name` (0 = best), if the rule set has it.
    pub fn rank(&self, name: &str) -> Option<usize> {
        self.tiers.iter().position(|t| t.name == name)
    }
}

fn check_tiers(tiers: &[TierDef]) -> Result<(), RulesError> {
    let bad = |m: &str| Err(RulesError::Invalid(m.to_owned()));
    if tiers.is_empty() {
        return bad("no [[tiers]]; list them best first, the last with min_score = 0");
    }
    if tiers.windows(2).any(|w| w[0].min_score <= w[1].min_score) {
        return bad("[[tiers]] are listed best first: each min_score must be below the one before");
    }
    if tiers.last().is_some_and(|t| t.min_score != 0) {
        return bad(
            "the last of the [[tiers]] must start at min_score = 0 (every lead gets a tier)",
        );
    }
    let mut names = std::collections::HashSet::new();
    for t in tiers {
        let ok = !t.name.is_empty()
            && t.name.chars().count() <= 20
            && t.name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(RulesError::Invalid(format!(
                "tier name {:?}: 1–20 letters, digits, '-' or '_' (it becomes a C2S tag)",
                t.name
            )));
        }
        if !names.insert(t.name.as_str()) {
            return Err(RulesError::Invalid(format!(
                "tier {:?} is listed twice",
                t.name
            )));
        }
    }
    Ok(())
}

fn check_rule(r: &Rule) -> Result<(), RulesError> {
    let fail = |m: &str| Err(RulesError::Invalid(format!("rule {:?}: {m}", r.id)));
    if r.id.trim().is_empty() {
        return Err(RulesError::Invalid("a rule has an empty id".into()));
    }
    if !(0..=1000).contains(&r.points) {
        return fail("points must be 0–1000");
    }
    if r.reason.trim().is_empty() {
        return fail("its reason is empty (every point given must be explained)");
    }
    // Said in the note's one line: short, one line, no markup.
    for text in std::iter::once(&r.reason).chain(&r.reason_one) {
        if text.chars().count() > 60 || text.chars().any(|c| c.is_control() || "<>*_`".contains(c))
        {
            return fail("a reason is at most 60 characters, on one line, without <, >, *, _ or `");
        }
    }
    let needs_min = matches!(r.kind, Kind::Income | Kind::CreditScore);
    let needs_count = matches!(r.kind, Kind::CompanyRole | Kind::Properties);
    let needs_list = matches!(r.kind, Kind::PurchasingPower | Kind::CompanyRole);
    match (needs_min, r.min) {
        (true, None) => return fail("needs `min`"),
        (true, Some(m)) if m < 0 => return fail("`min` is negative"),
        (false, Some(_)) => return fail("`min` does not apply to this kind"),
        _ => {}
    }
    match (needs_count, r.min_count) {
        (true, None) => return fail("needs `min_count`"),
        (true, Some(0)) => return fail("`min_count` must be at least 1"),
        (false, Some(_)) => return fail("`min_count` does not apply to this kind"),
        _ => {}
    }
    if needs_list && r.any_of.iter().all(|w| w.trim().is_empty()) {
        return fail("needs a non-empty `any_of`");
    }
    if !needs_list && !r.any_of.is_empty() {
        return fail("`any_of` does not apply to this kind");
    }
    if !needs_count && (r.reason_one.is_some() || r.reason.contains("{n}")) {
        return fail("`{n}` and `reason_one` apply only to counted kinds");
    }
    Ok(())
}

fn place(raw: &str) -> Result<Place, RulesError> {
    let (text, prefix) = match raw.trim().strip_suffix('*') {
        Some(p) => (p, true),
        None => (raw, false),
    };
    let name = neighbourhood_key(text);
    if name.is_empty() {
        return Err(RulesError::Invalid(format!(
            "neighbourhoods: {raw:?} is empty"
        )));
    }
    Ok(if prefix {
        Place::Prefix(name)
    } else {
        Place::Exact(name)
    })
}

/// A neighbourhood's name as compared: upper case, no accents, the common
/// abbreviations written out (`JD` → `JARDIM`, `VL` → `VILA`, …).
pub(super) fn neighbourhood_key(raw: &str) -> String {
    let n = brazil::normalize_name(raw);
    n.split(' ')
        .map(|w| match w {
            "JD" | "JDM" => "JARDIM",
            "VL" => "VILA",
            "PQ" | "PQE" | "PQUE" => "PARQUE",
            "CH" | "CHAC" => "CHACARA",
            "STO" => "SANTO",
            "STA" => "SANTA",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}
