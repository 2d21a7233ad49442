//! Golden tests of the note (shared/spec/C2S_MESSAGE.md).

use std::str::FromStr;

use brazil::{Email, PhoneBr};
use c2s_enrich::domain::dossier::Dossier;
use c2s_enrich::pipeline::note::{
    format_identified_note, format_note, CompanyName, NoteIdentity, NoteSettings, PersonLine,
    Resolution, Sections,
};
use c2s_enrich::providers::work_api::parse_dossier;
use c2s_enrich::store::profile::Property;
use c2s_lab::testing::fixture;
use chrono::NaiveDate;
use rust_decimal::Decimal;

const GOLDEN: &str = "📞📧 Telefone e e-mail da mesma pessoa

✅ DADOS PESSOAIS
Nome: HELENA MARQUES DA COSTA
CPF: 529.982.247-25
Nascimento: 03/09/1979 (47 anos)
Sexo: Feminino
Mãe: LUCIA MARQUES DA COSTA

💰 DADOS FINANCEIROS
Renda: R$ 23.618,43
Poder Aquisitivo: MUITO ALTO
Faixa de Renda: De R$ 19.001,90 até R$ 38.000,00
Score de Crédito: 941
Risco: BAIXISSIMO RISCO

📧 E-MAILS
1. helena.costa@exemplo-advocacia.com.br (MUITO ALTA)
2. helena.mcosta@gmail.com (ALTA)
3. hmc1979@hotmail.com (BAIXA)

📱 TELEFONES
1. (11) 98765-4321 - Celular ✅ WhatsApp
2. (11) 3045-1122 - Residencial
3. (51) 3322-4455 - Comercial

🏠 ENDEREÇOS
1. AL GABRIEL MONTEIRO DA SILVA, 1204 - JARDIM AMERICA - SAO PAULO/SP - CEP 01442-000
2. R JOAQUIM FLORIANO, 466, AP 81 - ITAIM BIBI - SAO PAULO/SP - CEP 04534-002

🏢 EMPRESAS
1. CNPJ 11.222.333/0001-81 - SOCIO-ADMINISTRADOR
2. CNPJ 45.099.876/0001-75 - SOCIO

👪 PARENTES
1. LUCIA MARQUES DA COSTA (Mãe)
2. PEDRO COSTA LIMA (Filho(a))
";

fn helena() -> Dossier {
    parse_dossier(serde_json::from_str(&fixture("work_api_cpf.json")).expect("json"))
        .expect("dossier")
}

fn settings() -> NoteSettings {
    NoteSettings {
        today: NaiveDate::from_ymd_opt(2026, 11, 24).expect("date"),
        income_factor: Decimal::from_str("1.9").expect("factor"),
        max_chars: 5000,
        sections: Sections::default(),
    }
}

fn well_formed(note: &str, max: usize) {
    assert!(note.ends_with('\n'), "every line ends in \\n");
    assert!(
        note.lines().all(|l| l == l.trim_end()),
        "no trailing spaces:\n{note}"
    );
    assert!(note.chars().count() <= max);
}

#[test]
fn the_golden_example_is_reproduced_exactly() {
    let d = helena();
    let note = format_note(
        Resolution::SamePerson(&d),
        Some("Helena Costa"),
        &settings(),
    );
    assert_eq!(note, GOLDEN);
    well_formed(&note, 5000);
}

#[test]
fn each_situation_has_its_header() {
    let d = helena();
    let phone_only = format_note(Resolution::PhoneOnly(&d), Some("Helena Costa"), &settings());
    assert!(phone_only.starts_with("📞 Encontrado pelo telefone\n\n✅ DADOS PESSOAIS\n"));
    let email_only = format_note(Resolution::EmailOnly(&d), Some("Helena Costa"), &settings());
    assert!(email_only.starts_with("📧 Encontrado pelo e-mail\n\n✅ DADOS PESSOAIS\n"));
    assert_eq!(
        format_note(Resolution::Nobody, Some("Helena Costa"), &settings()),
        "🔎 Nenhum CPF encontrado para o telefone/e-mail do lead.\n"
    );
    for note in [phone_only, email_only] {
        assert_eq!(
            &note[note.find('\n').map_or(0, |i| i + 1)..],
            &GOLDEN[GOLDEN.find('\n').map_or(0, |i| i + 1)..]
        );
    }
}

#[test]
fn different_people_get_one_block_each() {
    let helena = helena();
    let mut raw: serde_json::Value =
        serde_json::from_str(&fixture("work_api_cpf.json")).expect("json");
    raw["DadosBasicos"]["cpf"] = "31847920560".into();
    raw["DadosBasicos"]["nome"] = "LUCIA MARQUES DA COSTA".into();
    let lucia = parse_dossier(raw).expect("dossier");
    let phone = PhoneBr::parse("11987654321").expect("phone");
    let email = Email::parse("helena.mcosta@gmail.com").expect("email");
    let note = format_note(
        Resolution::DifferentPeople {
            by_phone: (&phone, &lucia),
            by_email: (&email, &helena),
        },
        Some("Helena Costa"),
        &settings(),
    );
    assert!(note.starts_with(
        "⚠️ Telefone e e-mail relacionados a PESSOAS DIFERENTES!\n\n═══ PESSOA 1 (Telefone: (11) 98765-4321) ═══\n⚠️ Nome diferente do lead: Helena Costa\n\n✅ DADOS PESSOAIS\nNome: LUCIA MARQUES DA COSTA\n"
    ), "{note}");
    assert!(note.contains("\n═══ PESSOA 2 (E-mail: helena.mcosta@gmail.com) ═══\n\n✅ DADOS PESSOAIS\nNome: HELENA MARQUES DA COSTA\n"), "{note}");
    well_formed(&note, 5000);
}

#[test]
fn a_name_that_does_not_match_the_lead_is_flagged_right_after_the_header() {
    let d = helena();
    let note = format_note(Resolution::PhoneOnly(&d), Some("Pedro Lima"), &settings());
    assert!(note.starts_with("📞 Encontrado pelo telefone\n⚠️ Nome diferente do lead: Pedro Lima\n\n✅ DADOS PESSOAIS\n"), "{note}");
    let abbreviated = format_note(
        Resolution::PhoneOnly(&d),
        Some("Helena M. Costa"),
        &settings(),
    );
    assert!(!abbreviated.contains("Nome diferente"));
    let unnamed = format_note(Resolution::PhoneOnly(&d), None, &settings());
    assert!(!unnamed.contains("Nome diferente"));
}

#[test]
fn sections_without_data_or_turned_off_are_omitted() {
    let sparse = parse_dossier(serde_json::json!({
        "DadosBasicos": {"nome": "ANA SOUZA", "cpf": "52998224725", "nomeMae": "SEM INFORMAÇÃO"},
        "telefones": [{"telefone": "11987654321", "tipo": null, "status": "INATIVO"}]
    }))
    .expect("dossier");
    let note = format_note(
        Resolution::PhoneOnly(&sparse),
        Some("Ana Souza"),
        &settings(),
    );
    assert_eq!(
        note,
        "📞 Encontrado pelo telefone\n\n✅ DADOS PESSOAIS\nNome: ANA SOUZA\nCPF: 529.982.247-25\n\n📱 TELEFONES\n1. (11) 98765-4321 - Celular\n"
    );
    let only_personal = NoteSettings {
        sections: Sections {
            financial: false,
            emails: false,
            phones: false,
            addresses: false,
            properties: false,
            companies: false,
            relatives: false,
            personal: true,
        },
        ..settings()
    };
    let d = helena();
    let note = format_note(
        Resolution::SamePerson(&d),
        Some("Helena Costa"),
        &only_personal,
    );
    assert!(
        note.ends_with("Mãe: LUCIA MARQUES DA COSTA\n") && !note.contains("💰"),
        "{note}"
    );
}

/// The golden note without the sections named (by their header's start).
fn golden_without(dropped: &[&str]) -> String {
    GOLDEN
        .split("\n\n")
        .filter(|block| !dropped.iter().any(|d| block.starts_with(d)))
        .collect::<Vec<_>>()
        .join("\n\n")
        .trim_end_matches('\n')
        .to_owned()
        + "\n"
}

#[test]
fn a_long_note_drops_whole_sections_in_the_documented_order_then_is_cut() {
    let d = helena();
    let at = |max: usize| {
        let note = format_note(
            Resolution::SamePerson(&d),
            Some("Helena Costa"),
            &NoteSettings {
                max_chars: max,
                ..settings()
            },
        );
        well_formed(&note, max);
        note
    };
    let marker = "… (resumido)\n";
    // One character short: the relatives go first, nothing else.
    let full = GOLDEN.chars().count();
    let expected = format!("{}{marker}", golden_without(&["👪"]));
    assert_eq!(at(full - 1), expected);
    // Then companies (no properties here), addresses, e-mails, in turn.
    let order: [&[&str]; 4] = [
        &["👪"],
        &["👪", "🏢"],
        &["👪", "🏢", "🏠"],
        &["👪", "🏢", "🏠", "📧"],
    ];
    for (i, dropped) in order.iter().enumerate() {
        let shorter = golden_without(dropped);
        let fits = shorter.chars().count() + marker.chars().count();
        assert_eq!(at(fits), format!("{shorter}{marker}"), "step {i}");
        if let Some(next) = order.get(i + 1) {
            let next = golden_without(next);
            assert_eq!(at(fits - 1), format!("{next}{marker}"), "step {i} less one");
        }
    }
    // Phones, personal and financial data always stay; below them the note
    // is cut at a line boundary, keeping whole lines of what is left.
    let least = golden_without(&["👪", "🏢", "🏠", "📧"]);
    for max in [200, 333] {
        let note = at(max);
        assert!(note.ends_with(&format!("\n{marker}")), "{note}");
        let kept = note.trim_end_matches(marker);
        assert!(
            least.starts_with(kept),
            "only whole lines are kept:\n{note}"
        );
    }
    assert_eq!(at(full), GOLDEN, "a note that fits is not cut");
}

#[test]
fn age_counts_whole_years_against_the_injected_today() {
    let d = helena();
    let day_before = NoteSettings {
        today: NaiveDate::from_ymd_opt(2026, 9, 2).expect("date"),
        ..settings()
    };
    assert!(format_note(Resolution::SamePerson(&d), None, &day_before).contains("(46 anos)"));
    let birthday = NoteSettings {
        today: NaiveDate::from_ymd_opt(2026, 9, 3).expect("date"),
        ..settings()
    };
    assert!(format_note(Resolution::SamePerson(&d), None, &birthday).contains("(47 anos)"));
}

const GOLDEN_AGENT: &str = "📞📧 Telefone e e-mail da mesma pessoa
🔐 Identidade confirmada — nome confere; telefone e e-mail
🏷️ Perfil A — renda alta, bairro nobre
⚠️ Já é lead de Marina Alves desde 02/11/2026

✅ DADOS PESSOAIS (dados de 03/2026)
Nome: HELENA MARQUES DA COSTA
CPF: 529.982.247-25
Nascimento: 03/09/1979 (47 anos)
Sexo: Feminino
Mãe: LUCIA MARQUES DA COSTA
Situação cadastral: SUSPENSA
Óbito: sim (14/08/2026)

💰 DADOS FINANCEIROS (dados de 03/2026)
Renda: R$ 23.618,43
Poder Aquisitivo: MUITO ALTO
Faixa de Renda: De R$ 19.001,90 até R$ 38.000,00
Score de Crédito: 941
Risco: BAIXISSIMO RISCO

📧 E-MAILS (dados de 03/2026)
1. helena.costa@exemplo-advocacia.com.br (MUITO ALTA)
2. helena.mcosta@gmail.com (ALTA)
3. hmc1979@hotmail.com (BAIXA)

📱 TELEFONES (dados de 03/2026)
1. (11) 98765-4321 - Celular ✅ WhatsApp
2. (11) 3045-1122 - Residencial
3. (51) 3322-4455 - Comercial

🏠 ENDEREÇOS (dados de 03/2026)
1. AL GABRIEL MONTEIRO DA SILVA, 1204 - JARDIM AMERICA - SAO PAULO/SP - CEP 01442-000
2. R JOAQUIM FLORIANO, 466, AP 81 - ITAIM BIBI - SAO PAULO/SP - CEP 04534-002

🏘️ IMÓVEIS (4)
1. Cobertura - 412,5 m² - R$ 9.800.000,00
2. Apartamento - 1.250 m²
3. Imóvel - R$ 750.000,00

🏢 EMPRESAS (dados de 03/2026)
1. COSTA ADVOCACIA (ATIVA) - SOCIO-ADMINISTRADOR - CNPJ 11.222.333/0001-81
2. CNPJ 45.099.876/0001-75 - SOCIO

👪 PARENTES (dados de 03/2026)
1. LUCIA MARQUES DA COSTA (Mãe)
2. PEDRO COSTA LIMA (Filho(a))
";

fn agent_person() -> PersonLine {
    let dec = |s: &str| Decimal::from_str(s).expect("decimal");
    PersonLine {
        confirmed: true,
        reasons: "nome confere; telefone e e-mail".into(),
        profile: Some("🏷️ Perfil A — renda alta, bairro nobre".into()),
        earlier_lead: Some((
            "Marina Alves".into(),
            NaiveDate::from_ymd_opt(2026, 11, 2).expect("date"),
        )),
        properties: (
            4,
            vec![
                Property {
                    kind: Some("Cobertura".into()),
                    area_m2: Some(dec("412.50")),
                    price: Some(dec("9800000")),
                },
                Property {
                    kind: Some("Apartamento".into()),
                    area_m2: Some(dec("1250")),
                    price: None,
                },
                Property {
                    kind: None,
                    area_m2: None,
                    price: Some(dec("750000.00")),
                },
            ],
        ),
        data_as_of: NaiveDate::from_ymd_opt(2026, 3, 15),
        // The second company is unknown to the CNPJ source: its line is as before.
        companies: vec![(
            "11222333000181".into(),
            CompanyName {
                name: "COSTA ADVOCACIA".into(),
                status: Some("ATIVA".into()),
            },
        )],
        ..PersonLine::default()
    }
}

#[test]
fn the_agent_context_lines_and_sections_have_their_golden_form() {
    let mut raw: serde_json::Value =
        serde_json::from_str(&fixture("work_api_cpf.json")).expect("json");
    raw["DadosBasicos"]["situacaoCadastral"]["descricaoSituacaoCadastral"] = "SUSPENSA".into();
    raw["DadosBasicos"]["obito"] = serde_json::json!({"obito": "SIM", "dataObito": "14/08/2026"});
    let d = parse_dossier(raw).expect("dossier");
    let identity = NoteIdentity {
        persons: vec![agent_person()],
        unshown: Vec::new(),
    };
    let note = format_identified_note(
        Resolution::SamePerson(&d),
        &identity,
        Some("Helena Costa"),
        &settings(),
    );
    assert_eq!(note, GOLDEN_AGENT);
    well_formed(&note, 5000);
    // A regular registration and a living person say nothing; a person
    // without properties has no 🏘️ section; no line of the earlier format
    // changed (the golden example's lines are all here, in order).
    let plain = PersonLine {
        properties: (0, Vec::new()),
        companies: Vec::new(),
        data_as_of: None,
        profile: None,
        earlier_lead: None,
        ..agent_person()
    };
    let note = format_identified_note(
        Resolution::SamePerson(&helena()),
        &NoteIdentity {
            persons: vec![plain],
            unshown: Vec::new(),
        },
        Some("Helena Costa"),
        &settings(),
    );
    let expected = GOLDEN.replacen(
        "\n\n",
        "\n🔐 Identidade confirmada — nome confere; telefone e e-mail\n\n",
        1,
    );
    assert_eq!(note, expected);
}

#[test]
fn properties_are_dropped_after_relatives_when_the_note_is_too_long() {
    let d = helena();
    let identity = NoteIdentity {
        persons: vec![PersonLine {
            data_as_of: None,
            ..agent_person()
        }],
        unshown: Vec::new(),
    };
    let note_at = |max: usize| {
        format_identified_note(
            Resolution::SamePerson(&d),
            &identity,
            Some("Helena Costa"),
            &NoteSettings {
                max_chars: max,
                ..settings()
            },
        )
    };
    let full = note_at(5000);
    assert!(
        full.contains("🏘️ IMÓVEIS (4)") && full.contains("👪 PARENTES"),
        "{full}"
    );
    let cut = note_at(full.chars().count() - 1);
    assert!(
        !cut.contains("👪") && cut.contains("🏘️ IMÓVEIS (4)") && cut.contains("🏢"),
        "{cut}"
    );
    let parentes = full.find("\n👪").expect("parentes");
    let imoveis_len = full
        .split("\n\n")
        .find(|b| b.starts_with("🏘️"))
        .expect("imóveis")
        .chars()
        .count();
    let cut = note_at(full[..parentes].chars().count() + 1);
    assert!(
        !cut.contains("👪") && !cut.contains("🏘️") && cut.contains("🏢"),
        "{imoveis_len}: {cut}"
    );
    assert!(cut.ends_with("… (resumido)\n"));
}
