use rust_decimal::Decimal;
use serde_json::{json, Value};

use super::*;
use crate::providers::work_api::parse_dossier;

fn fixture() -> Value {
    serde_json::from_str(include_str!("../../../../../fixtures/work_api_cpf.json"))
        .expect("fixture")
}

/// A synthetic dossier: the fixture's person with `edit` applied to its JSON.
fn dossier(edit: impl FnOnce(&mut Value)) -> Dossier {
    let mut raw = fixture();
    edit(&mut raw);
    parse_dossier(raw).expect("dossier")
}

/// A person with nothing of note: no income, band, score, addresses,
/// companies or flags.
fn plain() -> Value {
    let mut raw = fixture();
    raw["DadosEconomicos"] = json!({});
    raw["enderecos"] = json!([]);
    raw["empresas"] = json!([]);
    raw["flags"] = json!({});
    raw
}

fn assess_with(rules: &RuleSet, d: &Dossier, properties: usize) -> Assessment {
    rules.assess(&Profile {
        dossier: d,
        income_factor: Decimal::new(19, 1),
        properties,
    })
}

fn assess(d: &Dossier) -> Assessment {
    assess_with(&RuleSet::builtin(), d, 0)
}

fn rules_held(a: &Assessment) -> Vec<&str> {
    a.reasons.iter().map(|r| r.rule.as_str()).collect()
}

#[test]
fn the_shipped_rules_parse() {
    let r = RuleSet::builtin();
    assert!(!r.version.is_empty());
    assert_eq!(r.tiers.last().map(|t| t.min_score), Some(0));
    assert_eq!(r.rank("A"), Some(0));
    assert_eq!(r.rank("D"), Some(3));
    assert_eq!(r.rank("Z"), None);
}

#[test]
fn income_counts_after_the_factor_and_only_its_best_band() {
    // 12,430.75 × 1.9 = 23,618.43: the 20,000 band, not the 10,000 one too.
    let d = dossier(|_| {});
    let a = assess(&d);
    let income: Vec<_> = a
        .reasons
        .iter()
        .filter(|r| r.rule.starts_with("income"))
        .collect();
    assert_eq!(income.len(), 1, "{a:?}");
    assert_eq!(income[0].rule, "income_high");
    assert_eq!(income[0].text, "renda alta");
    // 10,000 before the factor is 19,000 after: the upper-middle band.
    let d = dossier(|r| r["DadosEconomicos"]["renda"] = json!("10000,00"));
    assert!(rules_held(&assess(&d)).contains(&"income_upper_middle"));
    // No income, no income reason.
    let d = parse_dossier(plain()).expect("dossier");
    assert!(!rules_held(&assess(&d))
        .iter()
        .any(|r| r.starts_with("income")));
}

#[test]
fn purchasing_power_matches_the_band_whatever_its_accents_and_case() {
    let d = dossier(|r| {
        r["DadosEconomicos"]["poderAquisitivo"]["poderAquisitivoDescricao"] = json!("Altíssimo")
    });
    assert!(rules_held(&assess(&d)).contains(&"purchasing_power_very_high"));
    let d = dossier(|r| {
        r["DadosEconomicos"]["poderAquisitivo"]["poderAquisitivoDescricao"] = json!("MÉDIO")
    });
    assert!(!rules_held(&assess(&d))
        .iter()
        .any(|r| r.starts_with("purchasing")));
}

#[test]
fn credit_score_needs_the_minimum() {
    let d = dossier(|r| r["DadosEconomicos"]["score"]["scoreCSBA"] = json!("800"));
    assert!(rules_held(&assess(&d)).contains(&"credit_score_high"));
    let d = dossier(|r| r["DadosEconomicos"]["score"]["scoreCSBA"] = json!("799"));
    assert!(!rules_held(&assess(&d)).contains(&"credit_score_high"));
}

#[test]
fn a_listed_neighbourhood_counts_only_in_its_own_city() {
    let at = |hood: &str, city: &str, uf: &str| {
        let mut raw = plain();
        raw["enderecos"] = json!([{"bairro": hood, "cidade": city, "uf": uf}]);
        let d = parse_dossier(raw).expect("dossier");
        rules_held(&assess(&d)).contains(&"prime_neighbourhood")
    };
    assert!(at("JARDIM AMERICA", "SAO PAULO", "SP"));
    assert!(
        at("Jd. América", "São Paulo", "sp"),
        "abbreviation, accents, case"
    );
    assert!(at("LEBLON", "RIO DE JANEIRO", "RJ"));
    assert!(
        at("ALPHAVILLE INDUSTRIAL", "BARUERI", "SP"),
        "a prefix entry"
    );
    assert!(
        !at("JARDIM AMERICA", "GOIANIA", "GO"),
        "same name, other city"
    );
    assert!(!at("LEBLON", "SAO PAULO", "SP"));
    assert!(!at("CAPAO REDONDO", "SAO PAULO", "SP"));
}

#[test]
fn companies_count_distinct_cnpjs_with_a_listed_role_as_whole_words() {
    let with = |companies: Value| {
        let mut raw = plain();
        raw["empresas"] = companies;
        assess(&parse_dossier(raw).expect("dossier"))
    };
    let a = with(json!([
        {"cnpj": "11222333000181", "relacao": "SOCIO-ADMINISTRADOR"},
        {"cnpj": "11222333000181", "tipoRelacao": "REPRESENTANTELEGAL", "relacao": "SOCIO"},
        {"cnpj": "45099876000175", "relacao": "SOCIO"}
    ]));
    let r = a
        .reasons
        .iter()
        .find(|r| r.rule.starts_with("partner"))
        .expect("partner");
    assert_eq!(
        (r.rule.as_str(), r.text.as_str()),
        ("partner_of_companies", "sócio de 2 empresas")
    );
    let a = with(json!([{"cnpj": "45099876000175", "relacao": "SOCIO"}]));
    let r = a
        .reasons
        .iter()
        .find(|r| r.rule.starts_with("partner"))
        .expect("partner");
    assert_eq!(r.text, "sócio de 1 empresa");
    let a = with(json!([{"cnpj": "45099876000175", "relacao": "EMPREGADO"}]));
    assert!(!rules_held(&a).iter().any(|r| r.starts_with("partner")));
    // Whole words only: a sociologist is no partner.
    let a = with(json!([{"cnpj": "45099876000175", "relacao": "SOCIOLOGO"}]));
    assert!(a.reasons.is_empty(), "{a:?}");
    // A director is said as such, not as a partner.
    let a = with(json!([{"cnpj": "45099876000175", "relacao": "DIRETOR"}]));
    assert_eq!(rules_held(&a), ["manages_companies"]);
    assert_eq!(a.reasons[0].text, "administrador de 1 empresa");
}

#[test]
fn properties_and_the_public_figure_flag() {
    let d = parse_dossier(plain()).expect("dossier");
    let rules = RuleSet::builtin();
    let a = assess_with(&rules, &d, 2);
    assert_eq!(a.reasons[0].text, "2 imóveis no cadastro");
    assert_eq!(
        assess_with(&rules, &d, 1).reasons[0].text,
        "1 imóvel no cadastro"
    );
    assert!(assess_with(&rules, &d, 0).reasons.is_empty());
    let mut raw = plain();
    raw["flags"] = json!({"__pessoa_exposta_politicamente__": "SIM"});
    let d = parse_dossier(raw).expect("dossier");
    assert_eq!(rules_held(&assess(&d)), ["public_figure"]);
}

/// Synthetic people and the tier the shipped rules give them.
#[test]
fn table_of_synthetic_people() {
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit, usize, &str, i32); 6] = [
        // The fixture: income 23.6k, MUITO ALTO, score 941, Jardim
        // América, partner of 2 companies.
        ("fixture", |_| {}, 0, "A", 90),
        ("plain", |r| *r = plain(), 0, "D", 0),
        ("plain, owns 3 properties", |r| *r = plain(), 3, "C", 15),
        (
            "high income and score only",
            |r| {
                let e = r["DadosEconomicos"].clone();
                *r = plain();
                r["DadosEconomicos"] = json!({"renda": "30000,00", "score": e["score"]});
            },
            0,
            "B",
            50,
        ),
        (
            "prime address and one company",
            |r| {
                let addr = r["enderecos"][0].clone();
                *r = plain();
                r["enderecos"] = json!([addr]);
                r["empresas"] = json!([{"cnpj": "45099876000175", "relacao": "SOCIO"}]);
            },
            0,
            "C",
            30,
        ),
        (
            "everything, very high income",
            |r| {
                r["DadosEconomicos"]["renda"] = json!("40000,00");
                r["flags"] = json!({"__pessoa_exposta_politicamente__": true});
            },
            2,
            "A",
            125,
        ),
    ];
    let rules = RuleSet::builtin();
    for (name, edit, properties, tier, score) in cases {
        let a = assess_with(&rules, &dossier(edit), properties);
        assert_eq!((a.tier.as_str(), a.score), (tier, score), "{name}: {a:?}");
        assert_eq!(a.rules, rules.version, "{name}");
        assert_eq!(
            a.reasons.iter().map(|r| r.points).sum::<i32>(),
            a.score,
            "{name}"
        );
        assert!(
            a.reasons.windows(2).all(|w| w[0].points >= w[1].points),
            "{name}"
        );
    }
}

#[test]
fn the_note_line_names_the_tier_and_its_reasons() {
    let a = assess(&dossier(|_| {}));
    assert_eq!(
        a.note_line(),
        "🏷️ Perfil A — renda alta, bairro nobre, poder aquisitivo muito alto, \
         sócio de 2 empresas, score de crédito alto"
    );
    let a = assess(&parse_dossier(plain()).expect("dossier"));
    assert_eq!(
        a.note_line(),
        "🏷️ Perfil D — nenhum critério de alto padrão"
    );
}

#[test]
fn bad_rule_files_are_refused_with_the_reason() {
    let base = r#"
version = "t1"
[[tiers]]
name = "A"
min_score = 10
[[tiers]]
name = "B"
min_score = 0
"#;
    assert!(RuleSet::parse(base).is_ok());
    let cases = [
        (base.replace("\"t1\"", "\" \""), "version"),
        (base.replace("min_score = 0", "min_score = 5"), "min_score = 0"),
        (base.replace("min_score = 10", "min_score = -1"), "best first"),
        (base.replace("name = \"B\"", "name = \"A\""), "twice"),
        (base.replace("name = \"B\"", "name = \"B C\""), "letters"),
        (format!("{base}\n[[rules]]\nid = \"x\"\nkind = \"income\"\npoints = 5\nreason = \"r\"\n"), "needs `min`"),
        (format!("{base}\n[[rules]]\nid = \"x\"\nkind = \"zodiac\"\npoints = 5\nreason = \"r\"\n"), "not valid"),
        (format!("{base}\n[[rules]]\nid = \"x\"\nkind = \"income\"\nmin = 1\npoints = 5\nreason = \"\"\n"), "reason is empty"),
        (format!("{base}\n[[rules]]\nid = \"x\"\nkind = \"income\"\nmin = 1\npoints = 5\nreason = \"{{n}}\"\n"), "counted kinds"),
        (format!("{base}\n[[rules]]\nid = \"x\"\nkind = \"neighbourhood\"\npoints = 5\nreason = \"b\"\n"), "[neighbourhoods]"),
        (format!("{base}\n[[rules]]\nid = \"x\"\nkind = \"properties\"\nmin_count = 0\npoints = 5\nreason = \"b\"\n"), "at least 1"),
        (format!("{base}\n[[rules]]\nid = \"x\"\nkind = \"public_figure\"\npoints = 5\nreason = \"b\"\ncolour = 1\n"), "unknown field"),
        (format!("{base}\n[neighbourhoods]\n\"SAO PAULO\" = [\"X\"]\n"), "CITY/UF"),
        (format!("{base}\n[neighbourhoods]\n\"SAO PAULO/XX\" = [\"X\"]\n"), "no real UF"),
        (format!("{base}\n[neighbourhoods]\n\"SAO PAULO/SP\" = [\"X\"]\n\"São Paulo/sp\" = [\"Y\"]\n"), "listed twice"),
        (format!("{base}\n[[rules]]\nid = \"x\"\nkind = \"public_figure\"\npoints = 5\nreason = \"<b>rico</b>\"\n"), "60 characters"),
        (format!("{base}\n[[rules]]\nid = \"x\"\nkind = \"public_figure\"\npoints = 5\nreason = \"a\\nb\"\n"), "one line"),
    ];
    for (text, expected) in cases {
        let err = RuleSet::parse(&text).expect_err(expected).to_string();
        assert!(err.contains(expected), "{expected:?} not in {err:?}");
    }
}
