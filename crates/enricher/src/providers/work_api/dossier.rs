//! The Work API dossier (`modulo=cpf`): its private DTO, read tolerantly
//! (see `providers::lenient`), and its conversion into the domain's
//! [`Dossier`]. Invalid pieces (a phone without DDD, a relative's bad CPF) are
//! dropped with a recorded reason, never guessed; a dossier whose own CPF is
//! invalid is refused whole.

use brazil::{Cnpj, Cpf, Email, Money, PhoneBr};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::dossier::{
    CompanyLink, Dossier, DossierAddress, DossierEmail, DossierPhone, Financial, Mosaic, Relative,
};
use crate::providers::lenient::{read, Flag, Items, Section, Text};

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

// The body's shape, keys lower-cased (`DadosBasicos` → `dadosbasicos`).

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct Body {
    dadosbasicos: Section<Basics>,
    dadoseconomicos: Section<Economics>,
    profissao: Section<Occupation>,
    telefones: Items<PhoneDto>,
    emails: Items<EmailDto>,
    enderecos: Items<AddressDto>,
    parentes: Items<RelativeDto>,
    empresas: Items<CompanyDto>,
    flags: Section<Flags>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct Flags {
    #[serde(rename = "__pessoa_exposta_politicamente__")]
    politically_exposed: Flag,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct Basics {
    cpf: Text,
    nome: Text,
    datanascimento: Text,
    sexo: Text,
    nomemae: Text,
    nomepai: Text,
    nacionalidade: Text,
    estadocivil: Text,
    escolaridade: Text,
    municipionascimento: Text,
    obito: Section<Death>,
    situacaocadastral: Section<Registration>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct Death {
    obito: Flag,
    dataobito: Text,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct Registration {
    descricaosituacaocadastral: Text,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct Economics {
    renda: Text,
    poderaquisitivo: Section<Power>,
    score: Section<Score>,
    serasamosaic: Section<MosaicDto>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct Power {
    poderaquisitivodescricao: Text,
    faixapoderaquisitivo: Text,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct Score {
    scorecsba: Text,
    scorecsbafaixarisco: Text,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct MosaicDto {
    codigomosaic: Text,
    descricaomosaic: Text,
    classemosaic: Text,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct Occupation {
    cbodescricao: Text,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct PhoneDto {
    telefone: Text,
    tipo: Text,
    status: Text,
    operadora: Text,
    whatsapp: Flag,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct EmailDto {
    email: Text,
    prioridade: Text,
    qualidade: Text,
    emailpessoal: Flag,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct AddressDto {
    tipologradouro: Text,
    logradouro: Text,
    logradouronumero: Text,
    complemento: Text,
    bairro: Text,
    cidade: Text,
    uf: Text,
    cep: Text,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct RelativeDto {
    cpfparente: Text,
    nomeparente: Text,
    grauparentesco: Text,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct CompanyDto {
    cnpj: Text,
    tiporelacao: Text,
    relacao: Text,
    admissao: Text,
}

/// Most items read from one list of a dossier (phones, e-mails, addresses,
/// relatives, companies); real ones hold tens. More is dropped with a
/// recorded reason: a runaway answer must not cost quadratic time or one
/// advisory lock per item when stored.
pub const MAX_ITEMS: usize = 200;

/// `items` cut to [`MAX_ITEMS`], saying so in `dropped`.
fn capped<'a, T>(name: &str, items: &'a Items<T>, dropped: &mut Vec<String>) -> &'a [T] {
    let all = &items.0;
    if all.len() > MAX_ITEMS {
        dropped.push(format!(
            "{name}: {} items beyond {MAX_ITEMS}",
            all.len() - MAX_ITEMS
        ));
    }
    &all[..all.len().min(MAX_ITEMS)]
}

const NO_INFO: [&str; 4] = ["SEM INFORMACAO", "NAO INFORMADO", "NAO CONSTA", "NULL"];

fn meaningful(v: &Text) -> Option<String> {
    v.get()
        .filter(|s| !NO_INFO.contains(&brazil::normalize_name(s).as_str()))
}

fn date_br(v: &Text) -> Option<NaiveDate> {
    let s = v.get()?;
    let date = NaiveDate::parse_from_str(&s, "%d/%m/%Y")
        .ok()
        .or_else(|| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok())?;
    // 31/12/9999 is the providers' "no end date".
    (chrono::Datelike::year(&date) < 9999).then_some(date)
}

fn upper(v: &Text) -> Option<String> {
    v.get().map(|n| n.to_uppercase())
}

/// Reads a Work API `modulo=cpf` payload. Error bodies (status 404/403,
/// `erro`) are the client's to detect before; here they fail as
/// `MissingBasics`.
pub fn parse_dossier(raw: Value) -> Result<Dossier, DossierError> {
    let body: Body = read(&raw).ok_or(DossierError::NotAnObject)?;
    let basics = body.dadosbasicos.0.ok_or(DossierError::MissingBasics)?;
    let cpf_text = basics
        .cpf
        .get()
        .ok_or(DossierError::InvalidCpf(brazil::CpfError::Empty))?;
    let cpf = Cpf::parse_padding(&cpf_text).map_err(DossierError::InvalidCpf)?;
    let name = upper(&basics.nome).ok_or(DossierError::MissingName)?;
    let mut dropped = Vec::new();
    let financial = financial(&body.dadoseconomicos.or_empty(), &mut dropped);
    Ok(Dossier {
        birth_date: date_br(&basics.datanascimento),
        sex: basics
            .sexo
            .get()
            .and_then(|s| s.chars().next())
            .map(|c| c.to_ascii_uppercase())
            .filter(|c| matches!(c, 'F' | 'M')),
        mother_name: meaningful(&basics.nomemae),
        father_name: meaningful(&basics.nomepai),
        nationality: basics.nacionalidade.get(),
        marital_status: basics.estadocivil.get(),
        education: basics.escolaridade.get(),
        birthplace: basics.municipionascimento.get(),
        occupation: body.profissao.or_empty().cbodescricao.get(),
        registration_status: basics
            .situacaocadastral
            .or_empty()
            .descricaosituacaocadastral
            .get(),
        deceased: basics.obito.or_empty().obito.0,
        death_date: date_br(&basics.obito.or_empty().dataobito),
        public_figure: body.flags.or_empty().politically_exposed.0,
        financial,
        phones: phones(
            capped("telefones", &body.telefones, &mut dropped),
            &mut dropped,
        ),
        emails: emails(capped("emails", &body.emails, &mut dropped), &mut dropped),
        addresses: addresses(capped("enderecos", &body.enderecos, &mut dropped)),
        relatives: relatives(
            capped("parentes", &body.parentes, &mut dropped),
            &cpf,
            &mut dropped,
        ),
        companies: companies(
            capped("empresas", &body.empresas, &mut dropped),
            &mut dropped,
        ),
        cpf,
        name,
        dropped,
        raw,
        fetched_at: None,
    })
}

fn financial(e: &Economics, dropped: &mut Vec<String>) -> Financial {
    let income_raw = e.renda.get();
    let income = income_raw.as_deref().and_then(|r| match Money::parse(r) {
        Ok(m) => Some(m),
        Err(err) => {
            dropped.push(format!("renda: {err}"));
            None
        }
    });
    let power = e.poderaquisitivo.or_empty();
    let score = e.score.or_empty();
    Financial {
        income,
        income_raw,
        purchasing_power: power.poderaquisitivodescricao.get(),
        income_band: power.faixapoderaquisitivo.get(),
        credit_score: score.scorecsba.get().and_then(|s| s.parse().ok()),
        risk_band: score.scorecsbafaixarisco.get(),
        mosaic: e.serasamosaic.0.as_ref().map(|m| Mosaic {
            code: m.codigomosaic.get(),
            description: m.descricaomosaic.get(),
            class: m.classemosaic.get(),
        }),
    }
}

fn phones(items: &[PhoneDto], dropped: &mut Vec<String>) -> Vec<DossierPhone> {
    let mut out: Vec<DossierPhone> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(number) = item.telefone.get() else {
            continue;
        };
        let phone = match PhoneBr::parse(&number) {
            Ok(p) => p,
            Err(e) => {
                dropped.push(format!("telefones[{i}]: {e}"));
                continue;
            }
        };
        let active = item
            .status
            .get()
            .is_none_or(|s| brazil::normalize_name(&s) == "ATIVO");
        let whatsapp = item.whatsapp.0.unwrap_or(false);
        match out.iter_mut().find(|p| p.phone == phone) {
            // Duplicates collapse; a WhatsApp or active flag on either survives.
            Some(existing) => {
                existing.whatsapp |= whatsapp;
                existing.active |= active;
            }
            None => out.push(DossierPhone {
                phone,
                provider_type: item.tipo.get(),
                active,
                carrier: item.operadora.get(),
                whatsapp,
            }),
        }
    }
    out
}

fn emails(items: &[EmailDto], dropped: &mut Vec<String>) -> Vec<DossierEmail> {
    let mut out: Vec<DossierEmail> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(address) = item.email.get() else {
            continue;
        };
        match Email::parse(&address) {
            Ok(email) if !out.iter().any(|e| e.email == email) => out.push(DossierEmail {
                email,
                priority: item.prioridade.get(),
                quality: item.qualidade.get(),
                personal: item.emailpessoal.0,
            }),
            Ok(_) => {}
            Err(e) => dropped.push(format!("emails[{i}]: {e}")),
        }
    }
    out
}

fn addresses(items: &[AddressDto]) -> Vec<DossierAddress> {
    items
        .iter()
        .map(|item| DossierAddress {
            street_type: item.tipologradouro.get(),
            street: item.logradouro.get(),
            number: item.logradouronumero.get(),
            complement: item.complemento.get(),
            neighborhood: item.bairro.get(),
            city: item.cidade.get(),
            state: item.uf.get(),
            zip_code: item.cep.get(),
        })
        .filter(|a| a.street.is_some() || a.zip_code.is_some() || a.city.is_some())
        .collect()
}

fn relatives(items: &[RelativeDto], own: &Cpf, dropped: &mut Vec<String>) -> Vec<Relative> {
    let mut out: Vec<Relative> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(cpf_text) = item.cpfparente.get() else {
            dropped.push(format!("parentes[{i}]: no CPF"));
            continue;
        };
        match Cpf::parse_padding(&cpf_text) {
            Ok(cpf) if &cpf != own && !out.iter().any(|r| r.cpf == cpf) => out.push(Relative {
                cpf,
                name: upper(&item.nomeparente),
                degree: item.grauparentesco.get(),
            }),
            Ok(_) => {}
            Err(e) => dropped.push(format!("parentes[{i}]: {e}")),
        }
    }
    out
}

fn companies(items: &[CompanyDto], dropped: &mut Vec<String>) -> Vec<CompanyLink> {
    let mut out: Vec<CompanyLink> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(cnpj_text) = item.cnpj.get() else {
            continue;
        };
        let cnpj = match Cnpj::parse(&cnpj_text) {
            Ok(c) => c,
            Err(e) => {
                dropped.push(format!("empresas[{i}]: {e}"));
                continue;
            }
        };
        let kind = item.tiporelacao.get();
        if !out.iter().any(|c| c.cnpj == cnpj && c.kind == kind) {
            out.push(CompanyLink {
                cnpj,
                kind,
                role: item.relacao.get(),
                since: date_br(&item.admissao),
            });
        }
    }
    out
}

/// A dossier as the ledger keeps it: written as the payload received, read
/// back through [`parse_dossier`] — so an answer is parsed once, whether it
/// comes from the provider or from the ledger.
#[derive(Debug, Clone)]
pub struct DossierAnswer(pub Dossier);

impl Serialize for DossierAnswer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for DossierAnswer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Value::deserialize(d)?;
        parse_dossier(raw)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[path = "dossier_tests.rs"]
mod tests;
