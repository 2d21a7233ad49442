//! The note posted on the C2S lead (spec: shared/spec/C2S_MESSAGE.md).
//!
//! Plain text, Portuguese, emoji section headers, one fact per line, every line
//! ending in `\n`, no trailing spaces, at most `max_chars` characters (cut at a
//! line boundary with a last line `… (resumido)`). Money is exact decimal
//! arithmetic, rounded half away from zero; age is computed against an
//! injected "today".

use std::fmt::Write as _;

use brazil::{names_plausibly_match, scale_amounts_in_text, Cep, Email, PhoneBr, PhoneKind, Uf};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::domain::dossier::Dossier;

/// Which sections appear (all by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sections {
    pub personal: bool,
    pub financial: bool,
    pub emails: bool,
    pub phones: bool,
    pub addresses: bool,
    pub companies: bool,
    pub relatives: bool,
}

impl Default for Sections {
    fn default() -> Self {
        Self {
            personal: true,
            financial: true,
            emails: true,
            phones: true,
            addresses: true,
            companies: true,
            relatives: true,
        }
    }
}

/// Formatting settings.
#[derive(Debug, Clone)]
pub struct NoteSettings {
    pub today: NaiveDate,
    pub income_factor: Decimal,
    pub max_chars: usize,
    pub sections: Sections,
}

/// Who the lead's contacts led to.
#[derive(Debug, Clone, Copy)]
pub enum Resolution<'a> {
    /// Phone and e-mail resolve to the same person.
    SamePerson(&'a Dossier),
    /// Only the phone resolved.
    PhoneOnly(&'a Dossier),
    /// Only the e-mail resolved.
    EmailOnly(&'a Dossier),
    /// Phone and e-mail resolve to different people.
    DifferentPeople {
        by_phone: (&'a PhoneBr, &'a Dossier),
        by_email: (&'a Email, &'a Dossier),
    },
    /// The customer typed this CPF in a lead form.
    FormCpf(&'a Dossier),
    /// Nobody found.
    Nobody,
}

const TRUNCATED: &str = "… (resumido)\n";

/// What the identity model says of one presented person (spec: "Identity and
/// confidence").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonLine {
    /// `true`: confirmed; `false`: probable.
    pub confirmed: bool,
    /// A few words: `nome confere; telefone e e-mail`.
    pub reasons: String,
    /// The name differs in part (a married surname): `⚠️ Nome diferente…`.
    pub name_differs: bool,
    /// Household phone: the owner's initials and how they relate to the lead
    /// (`R. L. F.`, `mãe`), for the header `📞 Telefone de R. L. F. (mãe)`.
    pub household: Option<(String, String)>,
}

/// A contact whose registered owner is not shown (initials only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnshownLine {
    /// `true`: the phone; `false`: the e-mail.
    pub phone: bool,
    pub initials: String,
    pub deceased: bool,
}

/// Identity lines for a note; empty = the format before identity (no 🔐
/// line; the name warning whenever the names differ).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NoteIdentity {
    /// One per presented person, in the resolution's order.
    pub persons: Vec<PersonLine>,
    pub unshown: Vec<UnshownLine>,
}

impl UnshownLine {
    /// `suffix`: ` — não confirmado` beside a presented person; nothing in a
    /// note that presents nobody (its header already says so).
    fn text(&self, suffix: bool) -> String {
        let (icon, what) = if self.phone {
            ("📞", "Telefone")
        } else {
            ("📧", "E-mail")
        };
        let who = if self.initials.is_empty() {
            "outra pessoa".to_owned()
        } else {
            self.initials.clone()
        };
        let dead = if self.deceased { " (falecido)" } else { "" };
        let tail = if suffix { " — não confirmado" } else { "" };
        format!("{icon} {what} registrado em nome de {who}{dead}{tail}")
    }
}

/// The note for `resolution`, for a lead whose customer typed `lead_name`.
pub fn format_note(
    resolution: Resolution<'_>,
    lead_name: Option<&str>,
    settings: &NoteSettings,
) -> String {
    format_identified_note(resolution, &NoteIdentity::default(), lead_name, settings)
}

/// The note with its identity lines: the confidence line after each
/// presented person's header, the household header, and one line per
/// contact whose owner is not shown. With nobody presented and some owner
/// unconfirmed, only `⚠️ Identidade não confirmada` and those lines.
pub fn format_identified_note(
    resolution: Resolution<'_>,
    identity: &NoteIdentity,
    lead_name: Option<&str>,
    settings: &NoteSettings,
) -> String {
    let mut out = String::new();
    let ctx = Ctx {
        identity,
        lead_name,
        settings,
    };
    match resolution {
        Resolution::Nobody if !identity.unshown.is_empty() => {
            out.push_str("⚠️ Identidade não confirmada\n");
            for u in &identity.unshown {
                out.push_str(&u.text(false));
                out.push('\n');
            }
        }
        Resolution::Nobody => {
            out.push_str("🔎 Nenhum CPF encontrado para o telefone/e-mail do lead.\n")
        }
        Resolution::SamePerson(d) => {
            single(&mut out, "📞📧 Telefone e e-mail da mesma pessoa", d, &ctx)
        }
        Resolution::PhoneOnly(d) => {
            let household = identity.persons.first().and_then(|p| p.household.as_ref());
            let header = match household {
                Some((initials, degree)) => format!("📞 Telefone de {initials} ({degree})"),
                None => "📞 Encontrado pelo telefone".to_owned(),
            };
            single(&mut out, &header, d, &ctx)
        }
        Resolution::EmailOnly(d) => single(&mut out, "📧 Encontrado pelo e-mail", d, &ctx),
        Resolution::FormCpf(d) => single(&mut out, "🧾 CPF informado no formulário", d, &ctx),
        Resolution::DifferentPeople { by_phone, by_email } => {
            out.push_str("⚠️ Telefone e e-mail relacionados a PESSOAS DIFERENTES!\n");
            let blocks = [
                (
                    format!("═══ PESSOA 1 (Telefone: {}) ═══", by_phone.0),
                    by_phone.1,
                ),
                (
                    format!("═══ PESSOA 2 (E-mail: {}) ═══", by_email.0),
                    by_email.1,
                ),
            ];
            for (i, (title, d)) in blocks.into_iter().enumerate() {
                out.push('\n');
                out.push_str(&title);
                out.push('\n');
                ctx.identity_lines(&mut out, d, i);
                sections(&mut out, d, settings);
            }
        }
    }
    truncate(out, settings.max_chars)
}

struct Ctx<'a> {
    identity: &'a NoteIdentity,
    lead_name: Option<&'a str>,
    settings: &'a NoteSettings,
}

impl Ctx<'_> {
    /// The name warning and the confidence line of the `i`-th person.
    fn identity_lines(&self, out: &mut String, d: &Dossier, i: usize) {
        match self.identity.persons.get(i) {
            None => name_warning(out, d, self.lead_name),
            Some(p) => {
                if p.name_differs {
                    if let Some(name) = self.lead_name.map(str::trim).filter(|n| !n.is_empty()) {
                        let _ = writeln!(out, "⚠️ Nome diferente do lead: {name}");
                    }
                }
                let level = if p.confirmed {
                    "confirmada"
                } else {
                    "provável"
                };
                let _ = writeln!(out, "🔐 Identidade {level} — {}", p.reasons);
            }
        }
    }
}

fn single(out: &mut String, header: &str, d: &Dossier, ctx: &Ctx<'_>) {
    out.push_str(header);
    out.push('\n');
    ctx.identity_lines(out, d, 0);
    for u in &ctx.identity.unshown {
        out.push_str(&u.text(true));
        out.push('\n');
    }
    sections(out, d, ctx.settings);
}

/// The found CPF is often a relative's or the phone's previous owner: say so.
fn name_warning(out: &mut String, d: &Dossier, lead_name: Option<&str>) {
    if let Some(name) = lead_name.map(str::trim).filter(|n| !n.is_empty()) {
        if !names_plausibly_match(name, &d.name) {
            let _ = writeln!(out, "⚠️ Nome diferente do lead: {name}");
        }
    }
}

fn sections(out: &mut String, d: &Dossier, s: &NoteSettings) {
    let blocks = [
        (
            s.sections.personal,
            "✅ DADOS PESSOAIS",
            personal(d, s.today),
        ),
        (
            s.sections.financial,
            "💰 DADOS FINANCEIROS",
            financial(d, s.income_factor),
        ),
        (s.sections.emails, "📧 E-MAILS", emails(d)),
        (s.sections.phones, "📱 TELEFONES", phones(d)),
        (s.sections.addresses, "🏠 ENDEREÇOS", addresses(d)),
        (s.sections.companies, "🏢 EMPRESAS", companies(d)),
        (s.sections.relatives, "👪 PARENTES", relatives(d)),
    ];
    for (enabled, title, lines) in blocks {
        if enabled && !lines.is_empty() {
            out.push('\n');
            out.push_str(title);
            out.push('\n');
            for line in lines {
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
    }
}

fn numbered(items: impl IntoIterator<Item = String>) -> Vec<String> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, s)| format!("{}. {s}", i + 1))
        .collect()
}

fn age(birth: NaiveDate, today: NaiveDate) -> i32 {
    let mut years = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years
}

fn personal(d: &Dossier, today: NaiveDate) -> Vec<String> {
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
    lines
}

fn financial(d: &Dossier, factor: Decimal) -> Vec<String> {
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

fn emails(d: &Dossier) -> Vec<String> {
    numbered(d.emails.iter().take(3).map(|e| match &e.priority {
        Some(p) => format!("{} ({p})", e.email),
        None => e.email.to_string(),
    }))
}

fn phone_label(provider_type: Option<&str>, kind: PhoneKind) -> &'static str {
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

fn phones(d: &Dossier) -> Vec<String> {
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

fn addresses(d: &Dossier) -> Vec<String> {
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

fn companies(d: &Dossier) -> Vec<String> {
    let mut seen: Vec<(&brazil::Cnpj, Option<&str>)> = Vec::new();
    for c in &d.companies {
        let role = c.role.as_deref().filter(|r| !r.is_empty());
        match seen.iter_mut().find(|(cnpj, _)| *cnpj == &c.cnpj) {
            Some(entry) => entry.1 = entry.1.or(role),
            None => seen.push((&c.cnpj, role)),
        }
    }
    numbered(seen.into_iter().take(3).map(|(cnpj, role)| match role {
        Some(r) => format!("CNPJ {cnpj} - {r}"),
        None => format!("CNPJ {cnpj}"),
    }))
}

fn degree_label(degree: Option<&str>) -> String {
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

fn relatives(d: &Dossier) -> Vec<String> {
    numbered(d.relatives.iter().take(3).map(|r| {
        let name = r.name.clone().unwrap_or_else(|| "(sem nome)".into());
        format!("{name} ({})", degree_label(r.degree.as_deref()))
    }))
}

/// Cuts at a line boundary so that the note, with its `… (resumido)` line,
/// fits in `max` characters.
fn truncate(note: String, max: usize) -> String {
    if note.chars().count() <= max {
        return note;
    }
    let budget = max.saturating_sub(TRUNCATED.chars().count());
    let mut out = String::new();
    let mut used = 0;
    for line in note.split_inclusive('\n') {
        let n = line.chars().count();
        if used + n > budget {
            break;
        }
        out.push_str(line);
        used += n;
    }
    // No blank line right before the marker.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out.push_str(TRUNCATED);
    out
}
