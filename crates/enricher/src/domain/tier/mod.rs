//! The lead tier (issue 17): an explainable assessment of how promising a
//! lead is for high-end property, over data the service already holds — no
//! call is made for it. Rules are data ([`RuleSet`], TOML); each lead keeps
//! its tier, score, the rule set's version and the reasons (LGPD art. 20).

mod rules;
#[cfg(test)]
mod tests;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use rules::{neighbourhood_key, Place};
pub use rules::{Kind, Rule, RuleSet, RulesError, TierDef, DEFAULT_RULES};

use crate::domain::dossier::Dossier;

/// What a lead is assessed on: the presented person's dossier and what the
/// customer database knows beside it.
#[derive(Debug, Clone, Copy)]
pub struct Profile<'a> {
    pub dossier: &'a Dossier,
    /// The operators' income factor (the note's `Renda` is income × factor).
    pub income_factor: Decimal,
    /// Properties at the person's addresses, from the customer database.
    pub properties: usize,
}

/// One rule that held: what it gave and why, in the note's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub rule: String,
    pub points: i32,
    pub text: String,
}

/// A lead's tier, as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub tier: String,
    pub score: i32,
    /// The rule set's `version`.
    pub rules: String,
    /// Most points first.
    pub reasons: Vec<Reason>,
}

impl Assessment {
    /// The note's line: `🏷️ Perfil A — renda alta, bairro nobre`.
    pub fn note_line(&self) -> String {
        if self.reasons.is_empty() {
            return format!("🏷️ Perfil {} — nenhum critério de alto padrão", self.tier);
        }
        let words: Vec<&str> = self.reasons.iter().map(|r| r.text.as_str()).collect();
        format!("🏷️ Perfil {} — {}", self.tier, words.join(", "))
    }
}

impl RuleSet {
    /// Assesses `profile`: every rule that holds adds its points (within a
    /// group, only the one worth most), and the tier is the first whose
    /// minimum the score reaches.
    pub fn assess(&self, profile: &Profile<'_>) -> Assessment {
        let mut held: Vec<(usize, Reason)> = Vec::new();
        for (order, rule) in self.rules.iter().enumerate() {
            let Some(text) = self.holds(rule, profile) else {
                continue;
            };
            let reason = Reason {
                rule: rule.id.clone(),
                points: rule.points,
                text,
            };
            let same_group = rule.group.as_ref().and_then(|g| {
                held.iter()
                    .position(|(i, _)| self.rules[*i].group.as_ref() == Some(g))
            });
            match same_group {
                Some(at) if held[at].1.points >= rule.points => {}
                Some(at) => held[at] = (order, reason),
                None => held.push((order, reason)),
            }
        }
        // Most points first; the file's order among equals.
        held.sort_by_key(|(order, r)| (-r.points, *order));
        let score = held.iter().map(|(_, r)| r.points).sum::<i32>();
        let tier = self
            .tiers
            .iter()
            .find(|t| score >= t.min_score)
            .or(self.tiers.last())
            .map(|t| t.name.clone())
            .unwrap_or_default();
        Assessment {
            tier,
            score,
            rules: self.version.clone(),
            reasons: held.into_iter().map(|(_, r)| r).collect(),
        }
    }

    /// The rule's reason when it holds for `p`.
    fn holds(&self, rule: &Rule, p: &Profile<'_>) -> Option<String> {
        let d = p.dossier;
        let f = &d.financial;
        let count = |n: usize| {
            let min = rule.min_count.unwrap_or(1) as usize;
            (n >= min).then(|| counted(rule, n))
        };
        match rule.kind {
            Kind::Income => {
                let income = f.income?.scaled(p.income_factor).ok()?.amount();
                (income >= Decimal::from(rule.min?)).then(|| rule.reason.clone())
            }
            Kind::PurchasingPower => {
                let band = brazil::normalize_name(f.purchasing_power.as_deref()?);
                let hit = rule
                    .any_of
                    .iter()
                    .any(|w| brazil::normalize_name(w) == band);
                hit.then(|| rule.reason.clone())
            }
            Kind::CreditScore => {
                (i64::from(f.credit_score?) >= rule.min?).then(|| rule.reason.clone())
            }
            Kind::Neighbourhood => self.prime_address(d).then(|| rule.reason.clone()),
            Kind::CompanyRole => count(companies_with_role(d, &rule.any_of)),
            Kind::Properties => count(p.properties),
            Kind::PublicFigure => (d.public_figure == Some(true)).then(|| rule.reason.clone()),
        }
    }

    /// One of the person's addresses is in a listed neighbourhood of its city.
    fn prime_address(&self, d: &Dossier) -> bool {
        d.addresses.iter().any(|a| {
            let (Some(city), Some(state), Some(hood)) = (&a.city, &a.state, &a.neighborhood) else {
                return false;
            };
            let Ok(uf) = brazil::Uf::parse(state) else {
                return false;
            };
            let key = (brazil::normalize_name(city), uf.code().to_owned());
            let hood = neighbourhood_key(hood);
            self.places.get(&key).is_some_and(|list| {
                list.iter().any(|p| match p {
                    Place::Exact(n) => *n == hood,
                    Place::Prefix(n) => hood.starts_with(n.as_str()),
                })
            })
        })
    }
}

/// Distinct companies where the person's role contains one of `words`.
fn companies_with_role(d: &Dossier, words: &[String]) -> usize {
    let words: Vec<String> = words.iter().map(|w| brazil::normalize_name(w)).collect();
    let mut seen: Vec<&brazil::Cnpj> = Vec::new();
    for c in &d.companies {
        let Some(role) = c.role.as_deref().map(brazil::normalize_name) else {
            continue;
        };
        // Whole words: `SOCIO` is in `SOCIO ADMINISTRADOR`, not in `SOCIOLOGO`.
        let role = format!(" {role} ");
        let hit = words.iter().any(|w| role.contains(&format!(" {w} ")));
        if hit && !seen.contains(&&c.cnpj) {
            seen.push(&c.cnpj);
        }
    }
    seen.len()
}

fn counted(rule: &Rule, n: usize) -> String {
    match (&rule.reason_one, n) {
        (Some(one), 1) => one.clone(),
        _ => rule.reason.replace("{n}", &n.to_string()),
    }
}
