//! The reasons, in Portuguese for the note and in English for the record.

use brazil::{GivenAgreement, SurnameAgreement};

use super::evidence::{degree_word, is_spouse, CandidateEvidence, Contact};
use super::score::Scored;

/// The note's few words of reasons: what of the name agrees; which contacts.
pub fn reasons_pt(s: &Scored, e: &CandidateEvidence, household: bool) -> String {
    let name = match &s.comparison {
        Some(n) if n.agrees() && n.given == GivenAgreement::Variant => "apelido e nome conferem",
        Some(n) if n.agrees() => "nome confere",
        Some(n) if n.given_fits() && n.surname != SurnameAgreement::Disagree => {
            "nome confere em parte"
        }
        Some(n) if n.given_fits() => "primeiro nome confere",
        Some(n) if !n.agreeing_surnames.is_empty() => "sobrenome confere",
        _ => "nome não informado",
    };
    let contacts = e.provider_contacts();
    let how = if household {
        "parente do titular do telefone".to_owned()
    } else if e.typed_cpf {
        "CPF do formulário".to_owned()
    } else if contacts.len() == 2 {
        "telefone e e-mail".to_owned()
    } else if !e.earlier_confirmed.is_empty() {
        "confirmado antes".to_owned()
    } else if contacts.contains(&Contact::Phone) {
        let n = e
            .sources
            .iter()
            .filter(|(c, s)| *c == Contact::Phone && s.is_provider())
            .count();
        if n >= 2 {
            "telefone, duas fontes".to_owned()
        } else {
            "só telefone".to_owned()
        }
    } else if contacts.contains(&Contact::Email) {
        "só e-mail".to_owned()
    } else {
        "cadastro próprio".to_owned()
    };
    format!("{name}; {how}")
}

/// The recorded reasons (English, no personal data): the waterfall's largest bars.
pub fn reasons_en(s: &Scored) -> String {
    let bars: Vec<String> = s
        .contributions
        .iter()
        .take(4)
        .map(|c| {
            let level = if c.comparison == "surname_frequency" {
                "tf"
            } else {
                c.level.as_str()
            };
            format!("{}={} ({:+.1})", c.comparison, level, c.weight)
        })
        .collect();
    format!(
        "{} (p={:.3}, weight {:+.1}): {}",
        s.confidence.as_str(),
        s.probability,
        s.match_weight,
        bars.join(", ")
    )
}

/// How the owner of a household phone relates to the lead, in the note's
/// words, from how the owner's dossier lists the lead (`degree`) and the
/// owner's sex: the lead listed as `FILHA(O)` of a woman → `mãe`.
pub fn owner_relation_pt(degree: Option<&str>, owner_female: Option<bool>) -> &'static str {
    let by_sex = |f: &'static str, m: &'static str, x: &'static str| match owner_female {
        Some(true) => f,
        Some(false) => m,
        None => x,
    };
    match degree_word(degree).as_str() {
        "FILHA" | "FILHO" => by_sex("mãe", "pai", "mãe/pai"),
        "MAE" | "PAI" => by_sex("filha", "filho", "filho(a)"),
        _ if is_spouse(degree) => "cônjuge",
        "IRMA" | "IRMAO" => by_sex("irmã", "irmão", "irmão(ã)"),
        "NETA" | "NETO" => by_sex("avó", "avô", "avô(ó)"),
        "AVO" => by_sex("neta", "neto", "neto(a)"),
        "SOBRINHA" | "SOBRINHO" => by_sex("tia", "tio", "tio(a)"),
        "TIA" | "TIO" => by_sex("sobrinha", "sobrinho", "sobrinho(a)"),
        "PRIMA" | "PRIMO" => by_sex("prima", "primo", "primo(a)"),
        _ => "parente",
    }
}
