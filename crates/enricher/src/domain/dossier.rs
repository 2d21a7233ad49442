//! A person's dossier from the Work API (`modulo=cpf`), read tolerantly and
//! turned into domain values. Invalid pieces (a phone without DDD, a relative's
//! bad CPF) are dropped with a recorded reason, never guessed; a dossier whose own
//! CPF is invalid is refused whole.

use brazil::{Cnpj, Cpf, Email, Money, PhoneBr};
use chrono::NaiveDate;
use serde_json::Value;

use super::json::{field, list, text, yes_no};

/// Why a payload is not a usable dossier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DossierError {
    #[error("dossier is not a JSON object")]
    NotAnObject,
    #[error("dossier has no DadosBasicos")]
    MissingBasics,
    #[error("dossier CPF is invalid: {0}")]
    InvalidCpf(brazil::CpfError),
    #[error("dossier has no name")]
    MissingName,
}

/// One phone of the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierPhone {
    pub phone: PhoneBr,
    /// Provider's `tipo` (`TELEFONE MÓVEL`, `CELULAR`, `COMERCIAL`, …).
    pub provider_type: Option<String>,
    pub active: bool,
    pub carrier: Option<String>,
    pub whatsapp: bool,
}

/// One e-mail of the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierEmail {
    pub email: Email,
    pub priority: Option<String>,
    pub quality: Option<String>,
    pub personal: Option<bool>,
}

impl DossierEmail {
    /// The provider rates the address deliverable.
    pub fn verified(&self) -> bool {
        matches!(self.quality.as_deref(), Some("OTIMO" | "ÓTIMO" | "BOM"))
    }
}

/// One address as the provider wrote it (normalised when stored).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DossierAddress {
    pub street_type: Option<String>,
    pub street: Option<String>,
    pub number: Option<String>,
    pub complement: Option<String>,
    pub neighborhood: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip_code: Option<String>,
}

/// A relative (`parentes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relative {
    pub cpf: Cpf,
    pub name: Option<String>,
    /// Provider's `grauParentesco` (`MAE`, `FILHA(O)`, …).
    pub degree: Option<String>,
}

/// A company the person is linked to (`empresas`); one per (CNPJ, kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyLink {
    pub cnpj: Cnpj,
    /// `QSA`, `REPRESENTANTELEGAL`, …
    pub kind: Option<String>,
    /// `SOCIO-ADMINISTRADOR`, `SOCIO`, or none.
    pub role: Option<String>,
    pub since: Option<NaiveDate>,
}

/// The person's financial profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Financial {
    /// `renda`, as provided (before the income factor).
    pub income: Option<Money>,
    pub income_raw: Option<String>,
    pub purchasing_power: Option<String>,
    pub income_band: Option<String>,
    pub credit_score: Option<i32>,
    pub risk_band: Option<String>,
}

impl Financial {
    /// Risk score from the band: BAIXISSIMO 0.1 … ALTISSIMO 0.9.
    pub fn risk_score(&self) -> Option<rust_decimal::Decimal> {
        let band = brazil::normalize_name(self.risk_band.as_deref()?);
        let tenths = match band.split(' ').next()? {
            "BAIXISSIMO" => 1,
            "BAIXO" => 3,
            "MEDIO" => 5,
            "ALTO" => 7,
            "ALTISSIMO" => 9,
            _ => return None,
        };
        Some(rust_decimal::Decimal::new(tenths, 1))
    }
}

/// A parsed dossier.
#[derive(Debug, Clone)]
pub struct Dossier {
    pub cpf: Cpf,
    pub name: String,
    pub birth_date: Option<NaiveDate>,
    /// `F` or `M`.
    pub sex: Option<char>,
    pub mother_name: Option<String>,
    pub father_name: Option<String>,
    pub nationality: Option<String>,
    pub marital_status: Option<String>,
    pub education: Option<String>,
    pub birthplace: Option<String>,
    pub occupation: Option<String>,
    pub registration_status: Option<String>,
    pub deceased: Option<bool>,
    pub financial: Financial,
    pub phones: Vec<DossierPhone>,
    pub emails: Vec<DossierEmail>,
    pub addresses: Vec<DossierAddress>,
    pub relatives: Vec<Relative>,
    pub companies: Vec<CompanyLink>,
    /// What was dropped and why (no personal data: positions and error kinds).
    pub dropped: Vec<String>,
    /// The payload as received, for the snapshot.
    pub raw: Value,
    /// When the provider answered (set by whoever fetched it; `None`: not
    /// known — stored as fetched now).
    pub fetched_at: Option<chrono::DateTime<chrono::Utc>>,
}

const NO_INFO: [&str; 4] = ["SEM INFORMACAO", "NAO INFORMADO", "NAO CONSTA", "NULL"];

fn meaningful(v: Option<String>) -> Option<String> {
    v.filter(|s| !NO_INFO.contains(&brazil::normalize_name(s).as_str()))
}

fn date_br(v: Option<String>) -> Option<NaiveDate> {
    let s = v?;
    let date = NaiveDate::parse_from_str(&s, "%d/%m/%Y")
        .ok()
        .or_else(|| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok())?;
    // 31/12/9999 is the providers' "no end date".
    (chrono::Datelike::year(&date) < 9999).then_some(date)
}

impl Dossier {
    /// Reads a Work API `modulo=cpf` payload. Error bodies (status 404/403, `erro`)
    /// are the client's to detect before; here they fail as `MissingBasics`.
    pub fn from_work_api(raw: Value) -> Result<Self, DossierError> {
        if !raw.is_object() {
            return Err(DossierError::NotAnObject);
        }
        let basics = field(&raw, "DadosBasicos")
            .filter(|v| v.is_object())
            .ok_or(DossierError::MissingBasics)?;
        let cpf_text =
            text(basics, "cpf").ok_or(DossierError::InvalidCpf(brazil::CpfError::Empty))?;
        let cpf = Cpf::parse_padding(&cpf_text).map_err(DossierError::InvalidCpf)?;
        let name = text(basics, "nome")
            .map(|n| n.to_uppercase())
            .ok_or(DossierError::MissingName)?;
        let mut dropped = Vec::new();
        let economics = field(&raw, "DadosEconomicos")
            .cloned()
            .unwrap_or(Value::Null);
        let power = field(&economics, "poderAquisitivo")
            .cloned()
            .unwrap_or(Value::Null);
        let score = field(&economics, "score").cloned().unwrap_or(Value::Null);
        let income_raw = text(&economics, "renda");
        let income = income_raw.as_deref().and_then(|r| match Money::parse(r) {
            Ok(m) => Some(m),
            Err(e) => {
                dropped.push(format!("renda: {e}"));
                None
            }
        });
        let financial = Financial {
            income,
            income_raw,
            purchasing_power: text(&power, "poderAquisitivoDescricao"),
            income_band: text(&power, "faixaPoderAquisitivo"),
            credit_score: text(&score, "scoreCSBA").and_then(|s| s.parse().ok()),
            risk_band: text(&score, "scoreCSBAFaixaRisco"),
        };
        let obito = field(basics, "obito").cloned().unwrap_or(Value::Null);
        let situacao = field(basics, "situacaoCadastral")
            .cloned()
            .unwrap_or(Value::Null);
        Ok(Self {
            birth_date: date_br(text(basics, "dataNascimento")),
            sex: text(basics, "sexo")
                .and_then(|s| s.chars().next())
                .map(|c| c.to_ascii_uppercase())
                .filter(|c| matches!(c, 'F' | 'M')),
            mother_name: meaningful(text(basics, "nomeMae")),
            father_name: meaningful(text(basics, "nomePai")),
            nationality: text(basics, "nacionalidade"),
            marital_status: text(basics, "estadoCivil"),
            education: text(basics, "escolaridade"),
            birthplace: text(basics, "municipioNascimento"),
            occupation: field(&raw, "profissao").and_then(|p| text(p, "cboDescricao")),
            registration_status: text(&situacao, "descricaoSituacaoCadastral"),
            deceased: yes_no(&obito, "obito"),
            financial,
            phones: phones(&raw, &mut dropped),
            emails: emails(&raw, &mut dropped),
            addresses: addresses(&raw),
            relatives: relatives(&raw, &cpf, &mut dropped),
            companies: companies(&raw, &mut dropped),
            cpf,
            name,
            dropped,
            raw,
            fetched_at: None,
        })
    }
}

fn phones(raw: &Value, dropped: &mut Vec<String>) -> Vec<DossierPhone> {
    let mut out: Vec<DossierPhone> = Vec::new();
    for (i, item) in list(raw, "telefones").iter().enumerate() {
        let Some(number) = text(item, "telefone") else {
            continue;
        };
        let phone = match PhoneBr::parse(&number) {
            Ok(p) => p,
            Err(e) => {
                dropped.push(format!("telefones[{i}]: {e}"));
                continue;
            }
        };
        let active = text(item, "status").is_none_or(|s| brazil::normalize_name(&s) == "ATIVO");
        let whatsapp = yes_no(item, "whatsapp").unwrap_or(false);
        match out.iter_mut().find(|p| p.phone == phone) {
            // Duplicates collapse; a WhatsApp or active flag on either survives.
            Some(existing) => {
                existing.whatsapp |= whatsapp;
                existing.active |= active;
            }
            None => out.push(DossierPhone {
                phone,
                provider_type: text(item, "tipo"),
                active,
                carrier: text(item, "operadora"),
                whatsapp,
            }),
        }
    }
    out
}

fn emails(raw: &Value, dropped: &mut Vec<String>) -> Vec<DossierEmail> {
    let mut out: Vec<DossierEmail> = Vec::new();
    for (i, item) in list(raw, "emails").iter().enumerate() {
        let Some(address) = text(item, "email") else {
            continue;
        };
        match Email::parse(&address) {
            Ok(email) if !out.iter().any(|e| e.email == email) => out.push(DossierEmail {
                email,
                priority: text(item, "prioridade"),
                quality: text(item, "qualidade"),
                personal: yes_no(item, "emailPessoal"),
            }),
            Ok(_) => {}
            Err(e) => dropped.push(format!("emails[{i}]: {e}")),
        }
    }
    out
}

fn addresses(raw: &Value) -> Vec<DossierAddress> {
    list(raw, "enderecos")
        .iter()
        .map(|item| DossierAddress {
            street_type: text(item, "tipoLogradouro"),
            street: text(item, "logradouro"),
            number: text(item, "logradouroNumero"),
            complement: text(item, "complemento"),
            neighborhood: text(item, "bairro"),
            city: text(item, "cidade"),
            state: text(item, "uf"),
            zip_code: text(item, "cep"),
        })
        .filter(|a| a.street.is_some() || a.zip_code.is_some() || a.city.is_some())
        .collect()
}

fn relatives(raw: &Value, own: &Cpf, dropped: &mut Vec<String>) -> Vec<Relative> {
    let mut out: Vec<Relative> = Vec::new();
    for (i, item) in list(raw, "parentes").iter().enumerate() {
        let Some(cpf_text) = text(item, "cpfParente") else {
            dropped.push(format!("parentes[{i}]: no CPF"));
            continue;
        };
        match Cpf::parse_padding(&cpf_text) {
            Ok(cpf) if &cpf != own && !out.iter().any(|r| r.cpf == cpf) => out.push(Relative {
                cpf,
                name: text(item, "nomeParente").map(|n| n.to_uppercase()),
                degree: text(item, "grauParentesco"),
            }),
            Ok(_) => {}
            Err(e) => dropped.push(format!("parentes[{i}]: {e}")),
        }
    }
    out
}

fn companies(raw: &Value, dropped: &mut Vec<String>) -> Vec<CompanyLink> {
    let mut out: Vec<CompanyLink> = Vec::new();
    for (i, item) in list(raw, "empresas").iter().enumerate() {
        let Some(cnpj_text) = text(item, "cnpj") else {
            continue;
        };
        let cnpj = match Cnpj::parse(&cnpj_text) {
            Ok(c) => c,
            Err(e) => {
                dropped.push(format!("empresas[{i}]: {e}"));
                continue;
            }
        };
        let kind = text(item, "tipoRelacao");
        if !out.iter().any(|c| c.cnpj == cnpj && c.kind == kind) {
            out.push(CompanyLink {
                cnpj,
                kind,
                role: text(item, "relacao"),
                since: date_br(text(item, "admissao")),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Value {
        serde_json::from_str(include_str!("../../../../fixtures/work_api_cpf.json"))
            .expect("fixture")
    }

    #[test]
    fn the_fixture_parses_into_the_expected_person() {
        let d = Dossier::from_work_api(fixture()).expect("valid dossier");
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
        let d = Dossier::from_work_api(raw).expect("tolerated");
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
            Dossier::from_work_api(bad),
            Err(DossierError::InvalidCpf(_))
        ));
        let not_found = serde_json::json!({"status": 404, "statusMsg": "Not found"});
        assert_eq!(
            Dossier::from_work_api(not_found).err(),
            Some(DossierError::MissingBasics)
        );
        assert_eq!(
            Dossier::from_work_api(serde_json::json!([1])).err(),
            Some(DossierError::NotAnObject)
        );
    }
}
