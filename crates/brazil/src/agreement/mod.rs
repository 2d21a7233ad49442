//! Name agreement as the record-linkage field compares names: the lead's given
//! name and surnames are compared separately against a registry name, each
//! comparison yielding an *agreement level* (exact, a known variant or nickname,
//! a typo, an initial, disagreement, …). The levels are what the identity model
//! weighs (Fellegi–Sunter); this module only says which level applies.
//!
//! Brazilian names: `GIVEN [GIVEN2] [particles] SURNAME [SURNAME…]`. People go
//! by nicknames (Bia, Zé, Nando), by their second given name, drop middle names,
//! add a spouse's surname, type without accents and make typos; registries are
//! upper case without accents. Spelling variants (LUIZ/LUIS, THIAGO/TIAGO,
//! SOUZA/SOUSA, ISABELLA/ISABELA) are folded by a phonetic key.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use crate::name::normalize_name;

mod tables;
pub use tables::*;

/// Connecting particles that carry no identity.
const PARTICLES: [&str; 9] = ["DA", "DE", "DO", "DAS", "DOS", "E", "D", "DI", "DU"];

/// Name tokens without particles, normalised (upper case, no accents).
pub fn name_tokens(name: &str) -> Vec<String> {
    normalize_name(name)
        .split(' ')
        .filter(|t| !t.is_empty() && !PARTICLES.contains(t))
        .map(str::to_owned)
        .collect()
}

/// How the lead's given (first) name compares with the registry name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GivenAgreement {
    /// The same first name.
    Exact,
    /// A spelling variant, a nickname or a diminutive of the registry's first
    /// name (Luiz/LUIS, Bia/BEATRIZ, Paulinho/PAULO).
    Variant,
    /// One edit away (a typo).
    Typo,
    /// The lead's first name is another of the registry's given names (people
    /// often go by their second name: Ana for MARIA ANA).
    Elsewhere,
    /// The lead gave only an initial, and it fits.
    Initial,
    /// The lead has no name.
    Missing,
    /// The first names differ.
    Disagree,
}

/// How the lead's surnames compare with the registry name's other tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SurnameAgreement {
    /// Every surname the lead gave is in the registry name.
    All,
    /// Some are (a married surname, a missing one).
    Some,
    /// None is.
    Disagree,
    /// The lead gave no surname (first-name-only leads).
    Absent,
}

/// The comparison of a lead's name with a registry name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameComparison {
    pub given: GivenAgreement,
    pub surname: SurnameAgreement,
    /// The registry surnames the lead's surnames agreed with (for weighing
    /// by how common each is).
    pub agreeing_surnames: Vec<String>,
}

impl NameComparison {
    /// The given name fits (any level but missing or disagreement).
    pub fn given_fits(&self) -> bool {
        !matches!(
            self.given,
            GivenAgreement::Missing | GivenAgreement::Disagree
        )
    }

    /// The name agrees on everything the lead gave: the first name fits (beyond
    /// an initial) and no surname the lead gave is absent from the registry.
    pub fn agrees(&self) -> bool {
        self.given_fits()
            && self.given != GivenAgreement::Initial
            && matches!(
                self.surname,
                SurnameAgreement::All | SurnameAgreement::Absent
            )
    }

    /// The name says this is someone else: the first names differ, or only an
    /// initial (or nothing) fits and the surnames differ too.
    pub fn contradicts(&self) -> bool {
        match self.given {
            GivenAgreement::Disagree => true,
            GivenAgreement::Initial => self.surname == SurnameAgreement::Disagree,
            _ => false,
        }
    }
}

/// A phonetic key for Brazilian spelling variants: TH→T, PH→F, Y→I, W→V,
/// final Z→S, SS/LL/… → S/L, silent initial H dropped.
pub fn phonetic(token: &str) -> String {
    let t = token.to_uppercase();
    let t = t.strip_prefix('H').unwrap_or(&t).to_owned();
    let t = t
        .replace("TH", "T")
        .replace("PH", "F")
        .replace('Y', "I")
        .replace('W', "V")
        .replace('K', "C");
    let vowel = |c: Option<&char>| c.is_some_and(|c| "AEIOU".contains(*c));
    let chars: Vec<char> = t.chars().collect();
    let mut out = String::with_capacity(t.len());
    for (i, &c) in chars.iter().enumerate() {
        // Z between vowels sounds as S (SOUZA/SOUSA, TEREZA/TERESA).
        let c = if c == 'Z' && i > 0 && vowel(chars.get(i - 1)) && vowel(chars.get(i + 1)) {
            'S'
        } else {
            c
        };
        if out.ends_with(c) {
            continue;
        }
        out.push(c);
    }
    if out.ends_with('Z') {
        out.pop();
        out.push('S');
    }
    out
}

/// The formal names `nickname` (normalised) may stand for; empty when unknown.
pub fn formal_names(nickname: &str) -> &'static [&'static str] {
    NICKNAMES
        .iter()
        .find(|(n, _)| *n == nickname)
        .map_or(&[], |(_, formal)| formal)
}

/// A nickname of `formal` (the first the table lists), for generators.
pub fn nickname_for(formal: &str) -> Option<&'static str> {
    NICKNAMES
        .iter()
        .find(|(_, f)| f.contains(&formal))
        .map(|(n, _)| *n)
}

fn same_or_variant(a: &str, b: &str) -> bool {
    a == b || phonetic(a) == phonetic(b)
}

/// Diminutives: PAULINHO → PAULO, JOAOZINHO → JOAO, ANINHA → ANA.
fn diminutive_stem(token: &str) -> Option<String> {
    for (suffix, ending) in [("ZINHO", ""), ("ZINHA", ""), ("INHO", "O"), ("INHA", "A")] {
        if let Some(stem) = token.strip_suffix(suffix) {
            if stem.len() >= 2 {
                return Some(format!("{stem}{ending}"));
            }
        }
    }
    None
}

fn is_nickname_of(lead: &str, registry: &str) -> bool {
    formal_names(lead)
        .iter()
        .any(|f| same_or_variant(f, registry))
        || diminutive_stem(lead).is_some_and(|s| same_or_variant(&s, registry))
}

static KNOWN_GIVEN: LazyLock<HashSet<String>> =
    LazyLock::new(|| GIVEN_NAMES.iter().map(|n| phonetic(n)).collect());

/// A common given name (spelling variants included).
pub fn is_known_given_name(token: &str) -> bool {
    KNOWN_GIVEN.contains(&phonetic(&normalize_name(token)))
}

/// A typo of a given name: one edit apart, unless both are names people
/// carry (GABRIEL/GABRIELA, RAFAEL/RAFAELA, MARCIO/MARCIA are different
/// people, often siblings).
fn is_given_typo(typed: &str, registry: &str) -> bool {
    is_typo(typed, registry) && !(is_known_given_name(typed) && is_known_given_name(registry))
}

/// One edit (Damerau–Levenshtein) on names of four letters or more, or a
/// very close Jaro–Winkler on long ones.
fn is_typo(a: &str, b: &str) -> bool {
    let shortest = a.len().min(b.len());
    (shortest >= 4 && strsim::damerau_levenshtein(a, b) <= 1)
        || (shortest >= 7 && strsim::jaro_winkler(a, b) >= 0.95)
}

fn surname_agrees(lead: &str, registry: &str) -> bool {
    same_or_variant(lead, registry) || is_typo(lead, registry)
}

/// Compares what the customer typed (`lead_name`) with a registry name.
pub fn compare_names(lead_name: &str, registry_name: &str) -> NameComparison {
    let lead = name_tokens(lead_name);
    let registry = name_tokens(registry_name);
    let (Some(first), Some(reg_first)) = (lead.first(), registry.first()) else {
        return NameComparison {
            given: if lead.is_empty() {
                GivenAgreement::Missing
            } else {
                GivenAgreement::Disagree
            },
            surname: SurnameAgreement::Absent,
            agreeing_surnames: Vec::new(),
        };
    };
    // The registry tokens the lead's surnames may match; the one the given
    // name matched is taken out of the pool.
    let mut pool: Vec<&String> = registry.iter().skip(1).collect();
    let given = if first.len() == 1 {
        if reg_first.starts_with(first.as_str()) {
            GivenAgreement::Initial
        } else {
            GivenAgreement::Disagree
        }
    } else if first == reg_first {
        GivenAgreement::Exact
    } else if phonetic(first) == phonetic(reg_first) || is_nickname_of(first, reg_first) {
        GivenAgreement::Variant
    } else if is_given_typo(first, reg_first) {
        GivenAgreement::Typo
    } else if let Some(i) = pool
        .iter()
        .position(|r| same_or_variant(first, r) || is_nickname_of(first, r))
    {
        // Going by the second given name: the first goes back in the pool.
        pool.remove(i);
        pool.push(reg_first);
        GivenAgreement::Elsewhere
    } else {
        GivenAgreement::Disagree
    };
    let wanted: Vec<&String> = lead.iter().skip(1).filter(|t| t.len() > 1).collect();
    let mut agreeing = Vec::new();
    for s in &wanted {
        if let Some(i) = pool.iter().position(|r| surname_agrees(s, r)) {
            agreeing.push(pool.remove(i).clone());
        }
    }
    let surname = match (wanted.len(), agreeing.len()) {
        (0, _) => SurnameAgreement::Absent,
        (w, a) if a == w => SurnameAgreement::All,
        (_, 0) => SurnameAgreement::Disagree,
        _ => SurnameAgreement::Some,
    };
    NameComparison {
        given,
        surname,
        agreeing_surnames: agreeing,
    }
}

/// Initials of a name, particles left out: `"RITA LIMA FERREIRA"` → `"R. L. F."`.
pub fn initials(name: &str) -> String {
    name_tokens(name)
        .iter()
        .filter_map(|t| t.chars().next())
        .map(|c| format!("{c}."))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Share assumed for a surname not in [`SURNAME_SHARES`].
pub const RARE_SURNAME_SHARE: f64 = 0.0005;

/// The table keyed by phonetic form (built once; the first spelling wins).
static SHARE_BY_KEY: LazyLock<HashMap<String, f64>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for (s, f) in SURNAME_SHARES {
        map.entry(phonetic(s)).or_insert(*f);
    }
    map
});

/// How common a (normalised) surname is: the share of people carrying it.
pub fn surname_share(surname: &str) -> f64 {
    SHARE_BY_KEY
        .get(&phonetic(surname))
        .copied()
        .unwrap_or(RARE_SURNAME_SHARE)
}

/// The share of a surname agreement between two random people's surnames
/// (Σf² / Σf over the table), the baseline a term-frequency adjustment is
/// measured against.
pub fn mean_surname_share() -> f64 {
    static MEAN: LazyLock<f64> = LazyLock::new(|| {
        let (sq, sum) = SURNAME_SHARES
            .iter()
            .fold((0.0, 0.0), |(q, s), (_, f)| (q + f * f, s + f));
        sq / sum
    });
    *MEAN
}

#[cfg(test)]
mod tests {
    use super::*;
    use GivenAgreement as G;
    use SurnameAgreement as S;

    fn levels(lead: &str, registry: &str) -> (G, S) {
        let c = compare_names(lead, registry);
        (c.given, c.surname)
    }

    #[test]
    fn nicknames_diminutives_and_spelling_variants_fit_the_given_name() {
        assert_eq!(
            levels("Bia Moraes", "BEATRIZ LIMA MORAES"),
            (G::Variant, S::All)
        );
        assert_eq!(
            levels("Zé Carlos", "JOSE CARLOS PEREIRA"),
            (G::Variant, S::All)
        );
        assert_eq!(
            levels("Nando Alves", "FERNANDO ALVES"),
            (G::Variant, S::All)
        );
        assert_eq!(
            levels("Paulinho", "PAULO ROBERTO DIAS"),
            (G::Variant, S::Absent)
        );
        assert_eq!(levels("Luiz Souza", "LUIS DE SOUSA"), (G::Variant, S::All));
        assert_eq!(levels("Thiago", "TIAGO MENDES"), (G::Variant, S::Absent));
        assert_eq!(
            levels("Isabella Prado", "ISABELA PRADO"),
            (G::Variant, S::All)
        );
    }

    #[test]
    fn middle_names_particles_accents_and_typos_do_not_break_agreement() {
        let reg = "HELENA MARQUES DA COSTA";
        assert_eq!(levels("Helena Costa", reg), (G::Exact, S::All));
        assert_eq!(levels("hélena da costa", reg), (G::Exact, S::All));
        assert_eq!(levels("Helena M. Costa", reg), (G::Exact, S::All));
        assert_eq!(levels("Helena Marquez Costa", reg), (G::Exact, S::All));
        assert_eq!(levels("Helna Costa", reg), (G::Typo, S::All));
        assert_eq!(
            levels("Ana Souza", "MARIA ANA DE SOUZA"),
            (G::Elsewhere, S::All)
        );
        assert_eq!(
            levels("Maria Ana Souza", "ANA MARIA DE SOUZA"),
            (G::Elsewhere, S::All)
        );
    }

    #[test]
    fn a_married_surname_agrees_in_part_and_does_not_contradict() {
        let c = compare_names("Helena Costa Lima", "HELENA MARQUES DA COSTA");
        assert_eq!((c.given, c.surname), (G::Exact, S::Some));
        assert!(!c.agrees() && !c.contradicts());
        let c = compare_names("Helena Lima", "HELENA MARQUES DA COSTA");
        assert_eq!((c.given, c.surname), (G::Exact, S::Disagree));
        assert!(!c.contradicts());
    }

    #[test]
    fn relatives_and_strangers_contradict() {
        let reg = "HELENA MARQUES DA COSTA";
        for lead in [
            "Lucia Marques da Costa",
            "Pedro Costa Lima",
            "Roberto Silva",
        ] {
            assert!(compare_names(lead, reg).contradicts(), "{lead}");
        }
        assert!(compare_names("R. Silva", reg).contradicts());
        assert!(!compare_names("H. Costa", reg).contradicts());
        assert_eq!(levels("", reg), (G::Missing, S::Absent));
        assert!(!compare_names("", reg).agrees());
    }

    #[test]
    fn two_names_one_letter_apart_are_two_people_not_a_typo() {
        // Brother and sister, father and daughter: not misspellings.
        for (lead, reg) in [
            ("Gabriel Souza", "GABRIELA LIMA SOUZA"),
            ("Rafaela Prado", "RAFAEL COSTA PRADO"),
            ("Marcio Alves", "MARCIA ALVES"),
            ("Marina Rocha", "MARIANA ROCHA"),
        ] {
            assert_eq!(levels(lead, reg).0, G::Disagree, "{lead} / {reg}");
            assert!(compare_names(lead, reg).contradicts(), "{lead} / {reg}");
        }
        // A misspelling that is nobody's name stays a typo.
        assert_eq!(levels("Fenando Souza", "FERNANDO SOUZA").0, G::Typo);
        assert_eq!(levels("Gabriella Souza", "GABRIELA SOUZA").0, G::Variant);
        assert!(is_known_given_name("Luís") && !is_known_given_name("FENANDO"));
    }

    #[test]
    fn first_name_only_leads_agree_on_what_they_gave() {
        let c = compare_names("Beatriz", "BEATRIZ LIMA MORAES");
        assert!(c.agrees());
        assert_eq!(c.surname, S::Absent);
    }

    #[test]
    fn initials_skip_particles_and_surname_shares_rank_silva_above_rare_names() {
        assert_eq!(initials("RITA DE LIMA FERREIRA"), "R. L. F.");
        assert_eq!(initials(""), "");
        assert!(surname_share("SILVA") > 100.0 * surname_share("VILLELA") / 2.0);
        assert_eq!(surname_share("SOUSA"), surname_share("SOUZA"));
        assert_eq!(surname_share("XYZABC"), RARE_SURNAME_SHARE);
    }
}
