//! Person names: normalisation and a tolerant match score.

use unicode_normalization::UnicodeNormalization;

/// Upper-case, accents and punctuation stripped, whitespace collapsed:
/// `" Helena  Marques-da Côsta "` → `"HELENA MARQUES DA COSTA"`.
pub fn normalize_name(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_space = false;
    for c in input.nfd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_uppercase());
        } else if c == '\'' || c == '’' || c == '`' {
            // D'Ávila → DAVILA: apostrophes join, they do not split.
        } else {
            pending_space = true;
        }
    }
    out
}

/// Connecting particles that carry no identity.
const PARTICLES: [&str; 8] = ["DA", "DE", "DO", "DAS", "DOS", "E", "D", "DI"];

fn tokens(name: &str) -> Vec<String> {
    normalize_name(name)
        .split(' ')
        .filter(|t| !t.is_empty() && !PARTICLES.contains(t))
        .map(str::to_owned)
        .collect()
}

/// How well one name token matches another: 1.0 identical, 0.8 an initial or an
/// abbreviation of the other, or one typo away in a long word; 0 otherwise.
fn token_score(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.len() == 1 && long.starts_with(short) {
        return 0.8;
    }
    if short.len() >= 3 && long.len() >= 5 && long.starts_with(short) && short.len() < long.len() {
        return 0.7;
    }
    if short.len() >= 5 && edit_distance_at_most_one(a, b) {
        return 0.8;
    }
    0.0
}

fn edit_distance_at_most_one(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    ra.get(1..) == rb.get(1..)
        || ra == rb.get(1..).unwrap_or_default()
        || ra.get(1..).unwrap_or_default() == rb
}

/// Score in `[0, 1]` of how plausibly `lead_name` (what the customer typed) names
/// the person registered as `registry_name`.
///
/// Each meaningful token of the lead name is paired with its best unused token of
/// the registry name, so missing middle names, the order of given names,
/// particles (DA, DE, DOS) and abbreviations ("M." for "MARQUES") do not count
/// against a match. The score is the mean of the pairs; an empty name scores 0.
pub fn name_match_score(lead_name: &str, registry_name: &str) -> f64 {
    let lead = tokens(lead_name);
    let mut registry = tokens(registry_name);
    if lead.is_empty() || registry.is_empty() {
        return 0.0;
    }
    // Whole tokens first, so an initial does not steal the word a full token needs.
    let mut order: Vec<&String> = lead.iter().collect();
    order.sort_by_key(|t| std::cmp::Reverse(t.len()));
    let mut total = 0.0;
    for token in order {
        let best = registry
            .iter()
            .enumerate()
            .map(|(i, r)| (i, token_score(token, r)))
            .max_by(|x, y| x.1.total_cmp(&y.1));
        if let Some((i, score)) = best.filter(|(_, s)| *s > 0.0) {
            total += score;
            registry.swap_remove(i);
        }
    }
    total / lead.len() as f64
}

/// Threshold above which two names are taken to be the same person.
pub const PLAUSIBLE_NAME_SCORE: f64 = 0.75;

/// Whether the names plausibly denote the same person (score ≥ [`PLAUSIBLE_NAME_SCORE`]
/// and at least one whole token in common, so initials alone never match).
pub fn names_plausibly_match(lead_name: &str, registry_name: &str) -> bool {
    let reg = tokens(registry_name);
    let has_whole_token = tokens(lead_name)
        .iter()
        .any(|t| t.len() > 1 && reg.contains(t));
    has_whole_token && name_match_score(lead_name, registry_name) >= PLAUSIBLE_NAME_SCORE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_strips_accents_punctuation_and_extra_space() {
        assert_eq!(
            normalize_name(" Helena  Marques-da Côsta "),
            "HELENA MARQUES DA COSTA"
        );
        assert_eq!(normalize_name("JOÃO D'ÁVILA"), "JOAO DAVILA");
        assert_eq!(normalize_name("Conceição, Maria."), "CONCEICAO MARIA");
        assert_eq!(normalize_name("   "), "");
    }

    #[test]
    fn tolerates_missing_middle_names_particles_and_case() {
        let registry = "HELENA MARQUES DA COSTA";
        assert!(names_plausibly_match("Helena Costa", registry));
        assert!(names_plausibly_match("helena marques costa", registry));
        assert!(names_plausibly_match("Helena M. Costa", registry));
        assert!(names_plausibly_match("Hélena da Costa", registry));
        assert_eq!(name_match_score("Helena Costa", registry), 1.0);
    }

    #[test]
    fn tolerates_given_names_out_of_order_and_small_typos() {
        assert!(names_plausibly_match(
            "Maria Ana Souza",
            "ANA MARIA DE SOUZA"
        ));
        assert!(names_plausibly_match(
            "Helena Marquez Costa",
            "HELENA MARQUES DA COSTA"
        ));
    }

    #[test]
    fn a_relative_or_a_different_person_does_not_match() {
        let registry = "HELENA MARQUES DA COSTA";
        assert!(!names_plausibly_match("Pedro Costa Lima", registry));
        assert!(!names_plausibly_match("Lucia Marques da Costa", registry));
        assert!(!names_plausibly_match("Roberto Silva", registry));
        assert!(!names_plausibly_match("H. M. C.", registry));
        assert!(!names_plausibly_match("", registry));
        assert_eq!(name_match_score("", registry), 0.0);
    }
}
