//! The note's frame: who was found and how, the identity lines, the cut to
//! C2S's limit.

use std::fmt::Write as _;

use brazil::names_plausibly_match;

use super::sections::sections;
use super::settings::{NoteIdentity, NoteSettings, Resolution};
use crate::domain::dossier::Dossier;

pub(super) const TRUNCATED: &str = "… (resumido)\n";

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
///
/// A note over the limit loses whole sections, in this order, until it fits
/// with its `… (resumido)` line: parentes, imóveis, empresas, endereços,
/// e-mails (telefones, dados pessoais and the financial data stay); only
/// then is it cut at a line boundary.
pub fn format_identified_note(
    resolution: Resolution<'_>,
    identity: &NoteIdentity,
    lead_name: Option<&str>,
    settings: &NoteSettings,
) -> String {
    let whole = render(resolution, identity, lead_name, settings);
    if whole.chars().count() <= settings.max_chars {
        return whole;
    }
    let mut fewer = settings.clone();
    let drops: [fn(&mut NoteSettings); 5] = [
        |s| s.sections.relatives = false,
        |s| s.sections.properties = false,
        |s| s.sections.companies = false,
        |s| s.sections.addresses = false,
        |s| s.sections.emails = false,
    ];
    let mut note = whole;
    for drop in drops {
        drop(&mut fewer);
        note = render(resolution, identity, lead_name, &fewer);
        if note.chars().count() + TRUNCATED.chars().count() <= settings.max_chars {
            note.push_str(TRUNCATED);
            return note;
        }
    }
    truncate(note, settings.max_chars)
}

fn render(
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
                sections(&mut out, d, identity.persons.get(i), settings);
            }
        }
    }
    out
}

pub(super) struct Ctx<'a> {
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
                if let Some(profile) = &p.profile {
                    let _ = writeln!(out, "{profile}");
                }
                if let Some((seller, since)) = &p.earlier_lead {
                    let _ = writeln!(
                        out,
                        "⚠️ Já é lead de {seller} desde {}",
                        since.format("%d/%m/%Y")
                    );
                }
            }
        }
    }
}

pub(super) fn single(out: &mut String, header: &str, d: &Dossier, ctx: &Ctx<'_>) {
    out.push_str(header);
    out.push('\n');
    ctx.identity_lines(out, d, 0);
    for u in &ctx.identity.unshown {
        out.push_str(&u.text(true));
        out.push('\n');
    }
    sections(out, d, ctx.identity.persons.first(), ctx.settings);
}

/// The found CPF is often a relative's or the phone's previous owner: say so.
pub(super) fn name_warning(out: &mut String, d: &Dossier, lead_name: Option<&str>) {
    if let Some(name) = lead_name.map(str::trim).filter(|n| !n.is_empty()) {
        if !names_plausibly_match(name, &d.name) {
            let _ = writeln!(out, "⚠️ Nome diferente do lead: {name}");
        }
    }
}

/// Cuts at a line boundary so that the note, with its `… (resumido)` line,
/// fits in `max` characters.
pub(super) fn truncate(note: String, max: usize) -> String {
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
