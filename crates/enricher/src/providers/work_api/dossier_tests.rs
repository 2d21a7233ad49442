//! Reading the Work API dossier.

use chrono::NaiveDate;
use serde_json::Value;

use super::*;

fn fixture() -> Value {
    serde_json::from_str(include_str!("../../../../../fixtures/work_api_cpf.json"))
        .expect("fixture")
}

#[test]
fn the_fixture_parses_into_the_expected_person() {
    let d = parse_dossier(fixture()).expect("valid dossier");
    assert_eq!(d.cpf.digits(), "52998224725");
    assert_eq!(d.name, "HELENA MARQUES DA COSTA");
    assert_eq!(d.birth_date, NaiveDate::from_ymd_opt(1979, 9, 3));
    assert_eq!(d.sex, Some('F'));
    assert_eq!(d.mother_name.as_deref(), Some("LUCIA MARQUES DA COSTA"));
    assert_eq!(d.father_name, None, "SEM INFORMAÇÃO is no name");
    assert_eq!(d.deceased, Some(false));
    assert_eq!(d.phones.len(), 4);
    assert!(d.phones[0].whatsapp);
    assert!(
        !d.phones
            .iter()
            .find(|p| p.phone.national() == "13991237788")
            .expect("inactive")
            .active
    );
    assert_eq!(d.emails.len(), 3);
    assert_eq!(
        d.emails[0].email.as_str(),
        "helena.costa@exemplo-advocacia.com.br"
    );
    assert_eq!(d.addresses.len(), 4);
    assert_eq!(d.relatives.len(), 2);
    assert_eq!(
        d.companies.len(),
        3,
        "same CNPJ with two relation kinds stays twice"
    );
    assert_eq!(d.financial.credit_score, Some(941));
    assert_eq!(
        d.financial.risk_score(),
        Some(rust_decimal::Decimal::new(1, 1))
    );
    assert!(d.dropped.is_empty(), "{:?}", d.dropped);
}

#[test]
fn varied_key_casing_nulls_and_missing_sections_are_tolerated() {
    let raw = serde_json::json!({
        "dadosbasicos": {"NOME": "ana souza", "CPF": "529.982.247-25", "NomeMae": null, "sexo": "F - FEMININO"},
        "telefones": [{"telefone": "98765-4321"}, {"telefone": null}, {"telefone": 11987654321u64}],
        "emails": null,
        "parentes": [{"nomeParente": "X", "cpfParente": "123"}]
    });
    let d = parse_dossier(raw).expect("tolerated");
    assert_eq!(d.name, "ANA SOUZA");
    assert_eq!(d.phones.len(), 1);
    assert!(d.emails.is_empty() && d.addresses.is_empty() && d.companies.is_empty());
    assert_eq!(d.dropped.len(), 2, "{:?}", d.dropped);
    assert!(
        d.dropped.iter().all(|r| !r.contains("98765")),
        "no personal data in reasons"
    );
}

#[test]
fn an_invalid_own_cpf_or_an_error_body_is_refused() {
    let bad = serde_json::json!({"DadosBasicos": {"nome": "X", "cpf": "52998224726"}});
    assert!(matches!(
        parse_dossier(bad),
        Err(DossierError::InvalidCpf(_))
    ));
    let not_found = serde_json::json!({"status": 404, "statusMsg": "Not found"});
    assert_eq!(
        parse_dossier(not_found).err(),
        Some(DossierError::MissingBasics)
    );
    assert_eq!(
        parse_dossier(serde_json::json!([1])).err(),
        Some(DossierError::NotAnObject)
    );
}

#[test]
fn the_mosaic_is_read_typed() {
    let d = parse_dossier(fixture()).expect("valid dossier");
    let m = d.financial.mosaic.expect("mosaic");
    assert_eq!(m.code.as_deref(), Some("A01"));
    assert_eq!(m.class.as_deref(), Some("A"));
}

#[test]
fn an_answer_kept_in_the_ledger_is_the_payload_and_reads_back_the_same() {
    let answer = DossierAnswer(parse_dossier(fixture()).expect("valid dossier"));
    let kept = serde_json::to_value(&answer).expect("serialise");
    assert_eq!(kept, fixture(), "the ledger keeps the payload as received");
    let back: DossierAnswer = serde_json::from_value(kept).expect("read back");
    assert_eq!(back.0.cpf, answer.0.cpf);
    assert_eq!(back.0.phones, answer.0.phones);
    assert_eq!(back.0.relatives, answer.0.relatives);
    let bad: Result<DossierAnswer, _> = serde_json::from_value(
        serde_json::json!({"DadosBasicos": {"nome": "X", "cpf": "52998224726"}}),
    );
    let err = bad.expect_err("invalid CPF refused").to_string();
    assert!(
        !err.contains("52998224726"),
        "no personal data in the error: {err}"
    );
}

#[test]
fn a_runaway_list_is_cut_with_a_reason() {
    let mut raw = fixture();
    let many: Vec<Value> = (0..5000)
        .map(|i| serde_json::json!({"cpfParente": format!("{i:011}"), "nomeParente": "X"}))
        .collect();
    raw["parentes"] = Value::Array(many);
    let d = parse_dossier(raw).expect("dossier");
    assert!(d.relatives.len() <= MAX_ITEMS);
    assert!(
        d.dropped
            .iter()
            .any(|r| r == "parentes: 4800 items beyond 200"),
        "{:?}",
        &d.dropped[..3]
    );
}
