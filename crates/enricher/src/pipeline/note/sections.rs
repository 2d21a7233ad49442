//! A person's sections, in C2S_MESSAGE.md's order and words.

use brazil::{scale_amounts_in_text, Cep, Money, PhoneKind, Uf};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::settings::{CompanyName, NoteSettings, PersonLine};
use crate::domain::dossier::Dossier;
use crate::store::profile::Property;

/// A person's sections; `extra` is what the pipeline knows beside the
/// dossier (properties, the dossier's age), when it says.
pub(super) fn sections(
    out: &mut String,
    d: &Dossier,
    extra: Option<&PersonLine>,
    s: &NoteSettings,
) {
    // A dossier older than the freshness window says when it is from.
    let dated = |title: &str| match extra.and_then(|e| e.data_as_of) {
        Some(at) => format!("{title} (dados de {:02}/{})", at.month(), at.year()),
        None => title.to_owned(),
    };
    let (owned, listed) = extra.map_or((0, &[][..]), |e| (e.properties.0, &e.properties.1[..]));
    let blocks = [
        (
            s.sections.personal,
            dated("✅ DADOS PESSOAIS"),
            personal(d, s.today),
        ),
        (
            s.sections.financial,
            dated("💰 DADOS FINANCEIROS"),
            financial(d, s.income_factor),
        ),
        (s.sections.emails, dated("📧 E-MAILS"), emails(d)),
        (s.sections.phones, dated("📱 TELEFONES"), phones(d)),
        (s.sections.addresses, dated("🏠 ENDEREÇOS"), addresses(d)),
        (
            s.sections.properties,
            format!("🏘️ IMÓVEIS ({owned})"),
            properties(listed),
        ),
        (
            s.sections.companies,
            dated("🏢 EMPRESAS"),
            companies(d, extra.map_or(&[][..], |e| &e.companies[..])),
        ),
        (s.sections.relatives, dated("👪 PARENTES"), relatives(d)),
    ];
    for (enabled, title, lines) in blocks {
        if enabled && !lines.is_empty() {
            out.push('\n');
            out.push_str(&title);
            out.push('\n');
            for line in lines {
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
    }
}

pub(super) fn numbered(items: impl IntoIterator<Item = String>) -> Vec<String> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, s)| format!("{}. {s}", i + 1))
        .collect()
}

pub(super) fn age(birth: NaiveDate, today: NaiveDate) -> i32 {
    let mut years = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years
}

pub(super) fn personal(d: &Dossier, today: NaiveDate) -> Vec<String> {
    let mut lines = vec![format!("Nome: {}", d.name), format!("CPF: {}", d.cpf)];
    if let Some(b) = d.birth_date {
        lines.push(format!(
            "Nascimento: {} ({} anos)",
            b.format("%d/%m/%Y"),
            age(b, today)
        ));
    }
    match d.sex {
        Some('F') => lines.push("Sexo: Feminino".into()),
        Some('M') => lines.push("Sexo: Masculino".into()),
        _ => {}
    }
    if let Some(m) = &d.mother_name {
        lines.push(format!("Mãe: {m}"));
    }
    // Said only when it is news: a regular registration is the rule.
    if let Some(status) = d.registration_status.as_deref().map(str::trim) {
        if !status.is_empty() && brazil::normalize_name(status) != "REGULAR" {
            lines.push(format!("Situação cadastral: {status}"));
        }
    }
    if d.deceased == Some(true) {
        lines.push(match d.death_date {
            Some(at) => format!("Óbito: sim ({})", at.format("%d/%m/%Y")),
            None => "Óbito: sim".to_owned(),
        });
    }
    lines
}

/// `1. Apartamento - 320 m² - R$ 4.500.000,00`: what is known of each.
pub(super) fn properties(listed: &[Property]) -> Vec<String> {
    numbered(listed.iter().map(|p| {
        let mut parts = vec![p.kind.clone().unwrap_or_else(|| "Imóvel".to_owned())];
        if let Some(area) = p.area_m2 {
            parts.push(format!("{} m²", decimal_br(area)));
        }
        if let Some(price) = p.price {
            parts.push(Money::from_decimal(price).to_string());
        }
        parts.join(" - ")
    }))
}

/// `1250.5` → `1.250,5` (pt-BR; no trailing zeros).
pub(super) fn decimal_br(value: Decimal) -> String {
    let text = value.round_dp(2).normalize().to_string();
    let (int_part, frac) = text.split_once('.').unwrap_or((&text, ""));
    let digits = int_part.trim_start_matches('-');
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    if frac.is_empty() {
        grouped
    } else {
        format!("{grouped},{frac}")
    }
}

pub(super) fn financial(d: &Dossier, factor: Decimal) -> Vec<String> {
    let f = &d.financial;
    let mut lines = Vec::new();
    if let Some(income) = f.income.and_then(|m| m.scaled(factor).ok()) {
        lines.push(format!("Renda: {income}"));
    }
    if let Some(p) = &f.purchasing_power {
        lines.push(format!("Poder Aquisitivo: {p}"));
    }
    if let Some(band) = &f.income_band {
        lines.push(format!(
            "Faixa de Renda: {}",
            scale_amounts_in_text(band, factor)
        ));
    }
    if let Some(score) = f.credit_score {
        lines.push(format!("Score de Crédito: {score}"));
    }
    if let Some(r) = &f.risk_band {
        lines.push(format!("Risco: {r}"));
    }
    lines
}

pub(super) fn emails(d: &Dossier) -> Vec<String> {
    numbered(d.emails.iter().take(3).map(|e| match &e.priority {
        Some(p) => format!("{} ({p})", e.email),
        None => e.email.to_string(),
    }))
}

pub(super) fn phone_label(provider_type: Option<&str>, kind: PhoneKind) -> &'static str {
    let t = provider_type
        .map(brazil::normalize_name)
        .unwrap_or_default();
    if t.contains("MOVEL") || t.contains("CELULAR") {
        "Celular"
    } else if t.contains("RESIDENCIAL") {
        "Residencial"
    } else if t.contains("COMERCIAL") {
        "Comercial"
    } else if kind == PhoneKind::Mobile {
        "Celular"
    } else {
        "Fixo"
    }
}

pub(super) fn phones(d: &Dossier) -> Vec<String> {
    // Active numbers before inactive ones; the provider's order otherwise.
    let mut list: Vec<_> = d.phones.iter().collect();
    list.sort_by_key(|p| !p.active);
    numbered(list.into_iter().take(3).map(|p| {
        let mut line = format!(
            "{} - {}",
            p.phone,
            phone_label(p.provider_type.as_deref(), p.phone.kind())
        );
        if p.whatsapp {
            line.push_str(" ✅ WhatsApp");
        }
        line
    }))
}

pub(super) fn addresses(d: &Dossier) -> Vec<String> {
    numbered(d.addresses.iter().take(2).map(|a| {
        let street = [a.street_type.as_deref(), a.street.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let mut first = vec![street];
        first.extend(
            [a.number.clone(), a.complement.clone()]
                .into_iter()
                .flatten(),
        );
        let mut parts = vec![first
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ")];
        if let Some(n) = &a.neighborhood {
            parts.push(n.clone());
        }
        let uf = a
            .state
            .as_deref()
            .map(|s| Uf::parse(s).map_or_else(|_| s.to_owned(), |u| u.code().to_owned()));
        match (&a.city, uf) {
            (Some(c), Some(u)) => parts.push(format!("{c}/{u}")),
            (Some(c), None) => parts.push(c.clone()),
            (None, Some(u)) => parts.push(u),
            (None, None) => {}
        }
        if let Some(cep) = a.zip_code.as_deref().and_then(|z| Cep::parse(z).ok()) {
            parts.push(format!("CEP {cep}"));
        }
        parts
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" - ")
    }))
}

pub(super) fn companies(d: &Dossier, names: &[(String, CompanyName)]) -> Vec<String> {
    let mut seen: Vec<(&brazil::Cnpj, Option<&str>)> = Vec::new();
    for c in &d.companies {
        let role = c.role.as_deref().filter(|r| !r.is_empty());
        match seen.iter_mut().find(|(cnpj, _)| *cnpj == &c.cnpj) {
            Some(entry) => entry.1 = entry.1.or(role),
            None => seen.push((&c.cnpj, role)),
        }
    }
    numbered(seen.into_iter().take(3).map(|(cnpj, role)| {
        let named = names.iter().find(|(digits, _)| digits == cnpj.digits());
        match (named, role) {
            // `COSTA ADVOCACIA (ATIVA) - SOCIO-ADMINISTRADOR - CNPJ …`
            (Some((_, n)), role) => {
                let mut line = n.name.clone();
                if let Some(st) = &n.status {
                    line.push_str(&format!(" ({st})"));
                }
                if let Some(r) = role {
                    line.push_str(&format!(" - {r}"));
                }
                format!("{line} - CNPJ {cnpj}")
            }
            (None, Some(r)) => format!("CNPJ {cnpj} - {r}"),
            (None, None) => format!("CNPJ {cnpj}"),
        }
    }))
}

pub(super) fn degree_label(degree: Option<&str>) -> String {
    let d = degree.map(brazil::normalize_name).unwrap_or_default();
    let label = match d.split(' ').next().unwrap_or_default() {
        "MAE" => "Mãe",
        "PAI" => "Pai",
        "FILHA" | "FILHO" => "Filho(a)",
        "IRMA" | "IRMAO" => "Irmão(ã)",
        "CONJUGE" | "ESPOSA" | "ESPOSO" | "MARIDO" => "Cônjuge",
        "AVO" => "Avô(ó)",
        "NETA" | "NETO" => "Neto(a)",
        "TIA" | "TIO" => "Tio(a)",
        "SOBRINHA" | "SOBRINHO" => "Sobrinho(a)",
        "PRIMA" | "PRIMO" => "Primo(a)",
        _ => "Parente",
    };
    label.to_owned()
}

pub(super) fn relatives(d: &Dossier) -> Vec<String> {
    numbered(d.relatives.iter().take(3).map(|r| {
        let name = r.name.clone().unwrap_or_else(|| "(sem nome)".into());
        format!("{name} ({})", degree_label(r.degree.as_deref()))
    }))
}
