//! The person's rows as items: every stored column but internal keys, each
//! with its origin, dates, purpose and retention; relatives and companies as
//! masked links; the leads with their notes as posted.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::model::{Item, LeadEntry, Link, NoteEntry, TierEntry, Why};
use crate::domain::privacy::{Privacy, Purpose};
use crate::store::retention::Retention;
use crate::store::subjects::gather::{Gathered, LeadRow, PersonRows};

/// What items are built with.
pub(super) struct Ctx<'a> {
    pub privacy: &'a Privacy,
    pub retention: &'a Retention,
}

/// Columns that are our own keys and bookkeeping, not data about the person.
const INTERNAL: &[&str] = &[
    "id",
    "entity_id",
    "address_id",
    "source_entity_id",
    "target_entity_id",
    "created_at",
    "updated_at",
    "address_hash",
    "link",
    "metadata",
];

/// A row's part of the export: where it is, where it came from, when.
struct RowSource {
    category: &'static str,
    stored_in: &'static str,
    origin: String,
}

/// A provider's name as people know it.
pub(super) fn provider_name(p: &str) -> String {
    match p {
        "work_api" => "Work API".into(),
        "diretrix" => "Diretrix".into(),
        "brasilapi" => "BrasilAPI (Receita Federal)".into(),
        "c2s" => "Contact2Sale (C2S)".into(),
        "google_ads" => "Google Ads".into(),
        other => other.into(),
    }
}

/// The field's name in Portuguese (the stored name when unknown).
fn label(field: &str) -> String {
    let known = match field {
        "national_id" => "CPF",
        "name" => "Nome",
        "canonical_name" => "Nome normalizado",
        "entity_type" => "Tipo de cadastro",
        "birth_date" => "Data de nascimento",
        "death_date" => "Data de óbito",
        "sex" => "Sexo",
        "nationality" => "Nacionalidade",
        "marital_status" => "Estado civil",
        "education_level" => "Escolaridade",
        "occupation" => "Ocupação",
        "phone" | "phone_e164" => "Telefone",
        "phone_type" => "Tipo de telefone",
        "is_whatsapp" => "WhatsApp",
        "carrier" => "Operadora",
        "email" => "E-mail",
        "email_type" => "Tipo de e-mail",
        "formatted_address" => "Endereço",
        "street" => "Logradouro",
        "number" => "Número",
        "complement" => "Complemento",
        "neighborhood" => "Bairro",
        "city" => "Cidade",
        "state" => "UF",
        "zip_code" => "CEP",
        "reported_income" => "Renda estimada",
        "credit_score" => "Score de crédito",
        "risk_score" => "Risco de crédito",
        "metadata.mother_name" => "Nome da mãe",
        "metadata.father_name" => "Nome do pai",
        "metadata.birthplace" => "Naturalidade",
        "metadata.registration_status" => "Situação cadastral",
        "metadata.income_band" => "Faixa de renda",
        "metadata.purchasing_power" => "Poder aquisitivo",
        "lead.name" => "Nome informado",
        "lead.phone" => "Telefone informado",
        "lead.email" => "E-mail informado",
        _ => return field.to_owned(),
    };
    known.to_owned()
}

/// A relative's name in a record: initials only.
const RELATIVES_IN_RECORD: &[&str] = &["metadata.mother_name", "metadata.father_name"];

fn time(row: &Value, key: &str) -> Option<DateTime<Utc>> {
    row.get(key)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// `None` for what says nothing: null, an empty text, list or object.
fn meaningful(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

impl Ctx<'_> {
    pub(super) fn why(&self, purpose: Purpose) -> Why {
        let t = self.privacy.purpose(purpose);
        Why {
            purpose: purpose.key(),
            purpose_description: t.description.clone(),
            legal_basis: t.legal_basis.clone(),
        }
    }

    /// `days` after `at` (0: the setting keeps it for ever).
    pub(super) fn until(at: DateTime<Utc>, days: u32, setting: &str) -> String {
        if days == 0 {
            format!("sem prazo ({setting}=0)")
        } else {
            let end = at + Duration::days(i64::from(days));
            format!("até {} ({setting}={days})", end.format("%Y-%m-%d"))
        }
    }

    /// Every value held about the person.
    pub(super) fn items(&self, g: &Gathered) -> Vec<Item> {
        let mut out = Vec::new();
        if let Some(p) = &g.person {
            self.person_items(p, &mut out);
        }
        // A lead or form that only mentions one of their contacts may be
        // someone else's: nothing of it is shown but that it exists.
        for l in g.leads.iter().filter(|l| l.match_kind.is_some()) {
            if let Some(Value::Object(given)) = &l.given {
                let kept = self.lead_kept(l);
                for (k, v) in given.iter().filter(|(_, v)| meaningful(v)) {
                    out.push(Item {
                        category: "contato informado no lead",
                        field: format!("lead.{k}"),
                        label: label(&format!("lead.{k}")),
                        value: v.clone(),
                        origin: format!("Lead {} no Contact2Sale (C2S)", l.lead_id),
                        obtained_at: Some(l.created_at),
                        updated_at: Some(l.updated_at),
                        why: self.why(Purpose::AnswerContact),
                        kept_until: kept.clone(),
                        stored_in: "enrich.leads",
                    });
                }
            }
        }
        for f in g.forms.iter().filter(|f| f.linked) {
            out.push(Item {
                category: "formulário",
                field: "answers".into(),
                label: "Respostas do formulário".into(),
                value: f.answers.clone(),
                origin: format!("Formulário de anúncio Google Ads {}", f.google_lead_id),
                obtained_at: Some(f.received_at),
                updated_at: None,
                why: self.why(Purpose::AnswerContact),
                kept_until: Self::until(
                    f.received_at,
                    self.retention.google_ads_days,
                    "RETENTION_GOOGLE_ADS_DAYS",
                ),
                stored_in: "enrich.google_ads_leads",
            });
        }
        out
    }

    fn person_items(&self, p: &PersonRows, out: &mut Vec<Item>) {
        let source = |row: &Value| {
            row.get("data_source")
                .or_else(|| row.get("source"))
                .and_then(Value::as_str)
                .or_else(|| row.pointer("/metadata/source").and_then(Value::as_str))
                .or_else(|| row.pointer("/link/data_source").and_then(Value::as_str))
                .or_else(|| p.entity.get("data_source").and_then(Value::as_str))
                .map_or_else(
                    || "cadastro anterior da MBRAS".to_owned(),
                    |s| format!("{} — dossiê consultado pelo CPF", provider_name(s)),
                )
        };
        let rows: Vec<(&Value, &'static str, &'static str)> =
            std::iter::once((&p.entity, "identificação", "core.entities"))
                .chain(
                    p.profile
                        .iter()
                        .map(|r| (r, "perfil", "core.entity_profiles")),
                )
                .chain(
                    p.phones
                        .iter()
                        .map(|r| (r, "contato", "core.entity_phones")),
                )
                .chain(
                    p.emails
                        .iter()
                        .map(|r| (r, "contato", "core.entity_emails")),
                )
                .chain(
                    p.addresses
                        .iter()
                        .map(|r| (r, "endereço", "core.addresses")),
                )
                .chain(
                    p.financials
                        .iter()
                        .map(|r| (r, "financeiro", "core.entity_financials")),
                )
                .collect();
        for (row, category, stored_in) in rows {
            let src = RowSource {
                category,
                stored_in,
                origin: source(row),
            };
            self.row_items(row, &src, out);
            if let Some(link) = row.get("link") {
                let src = RowSource {
                    stored_in: "core.entity_addresses",
                    ..src
                };
                self.row_items(link, &src, out);
            }
        }
        for c in &p.corrections {
            for item in out.iter_mut().filter(|i| {
                i.field == c.field || (c.field == "name" && i.field == "canonical_name")
            }) {
                item.origin = format!("Correção pedida pelo titular — {}", c.source);
                item.updated_at = Some(c.corrected_at);
            }
        }
    }

    /// The row's columns (and its metadata's keys) as items.
    fn row_items(&self, row: &Value, src: &RowSource, out: &mut Vec<Item>) {
        let Some(obj) = row.as_object() else {
            return;
        };
        let mut fields: Vec<(String, Value)> = obj
            .iter()
            .filter(|(k, v)| !INTERNAL.contains(&k.as_str()) && meaningful(v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(Value::Object(meta)) = obj.get("metadata") {
            fields.extend(
                meta.iter()
                    .filter(|(_, v)| meaningful(v))
                    .map(|(k, v)| (format!("metadata.{k}"), v.clone())),
            );
        }
        for (field, mut value) in fields {
            if RELATIVES_IN_RECORD.contains(&field.as_str()) {
                value = Value::String(brazil::initials(value.as_str().unwrap_or_default()));
            }
            out.push(Item {
                category: src.category,
                label: label(&field),
                field,
                value,
                origin: src.origin.clone(),
                obtained_at: time(row, "created_at"),
                updated_at: time(row, "updated_at"),
                why: self.why(Purpose::IdentifyLead),
                kept_until: self.privacy.customer_records_retention.clone(),
                stored_in: src.stored_in,
            });
        }
    }

    /// Their relatives and companies: the link, a person masked (a company
    /// is one only when its number is a CNPJ).
    pub(super) fn links(&self, p: &PersonRows) -> Vec<Link> {
        p.relations
            .iter()
            .filter(|r| r.direction == "out")
            .map(|r| {
                let cnpj = r
                    .other_national_id
                    .as_deref()
                    .and_then(|n| brazil::Cnpj::parse(n).ok());
                let (who, national_id) = match cnpj {
                    Some(c) => (
                        r.other_name.clone().unwrap_or_else(|| "empresa".into()),
                        c.digits().to_owned(),
                    ),
                    None => (
                        r.other_name
                            .as_deref()
                            .map(brazil::initials)
                            .unwrap_or_default(),
                        r.other_national_id
                            .as_deref()
                            .and_then(|n| brazil::Cpf::parse(n).ok())
                            .map_or_else(|| "***".to_owned(), |c| c.masked()),
                    ),
                };
                Link {
                    relation: r
                        .relationship_type
                        .clone()
                        .unwrap_or_else(|| "vínculo".into()),
                    direction: r.direction.clone(),
                    who,
                    national_id,
                    role: r.role.clone(),
                    since: r.created_at,
                    origin: "Work API — dossiê consultado pelo CPF".into(),
                    why: self.why(Purpose::IdentifyLead),
                    kept_until: self.privacy.customer_records_retention.clone(),
                }
            })
            .collect()
    }

    fn lead_kept(&self, l: &LeadRow) -> String {
        Self::until(
            l.completed_at.unwrap_or(l.updated_at),
            self.retention.lead_details_days,
            "RETENTION_LEAD_DETAILS_DAYS",
        )
    }

    /// The names of other people in the person's record (relatives by
    /// link, the parents in the profile), to be shown as initials wherever
    /// their text carries them (the notes as posted).
    pub(super) fn others(p: &PersonRows) -> Vec<String> {
        let mut names: Vec<String> = p
            .relations
            .iter()
            .filter(|r| {
                r.category.as_deref() != Some("company")
                    && r.other_type.as_deref() != Some("company")
            })
            .filter_map(|r| r.other_name.clone())
            .collect();
        for key in ["mother_name", "father_name"] {
            if let Some(n) = p
                .profile
                .as_ref()
                .and_then(|pr| pr.pointer(&format!("/metadata/{key}")))
                .and_then(Value::as_str)
            {
                names.push(n.to_owned());
            }
        }
        // A one-word name would mask words of the note; the person's own
        // name stays theirs.
        let own = p
            .entity
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        names.retain(|n| n.split_whitespace().count() > 1 && n != own);
        // Longest first: a name inside a longer one is masked with it.
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        names.dedup();
        names
    }

    pub(super) fn lead(
        &self,
        l: &LeadRow,
        others: &[String],
        own_cpf: Option<&brazil::Cpf>,
    ) -> LeadEntry {
        let linked = l.match_kind.is_some();
        LeadEntry {
            lead_id: l.lead_id.clone(),
            received_at: l.created_at,
            state: l.state.clone(),
            outcome: linked.then(|| l.outcome.clone()).flatten(),
            linked_by: l.match_kind.clone(),
            confidence: l.confidence.clone(),
            identity_reasons: l.identity_reasons.clone(),
            name_score: l.name_score,
            seller: linked.then(|| l.seller_name.clone()).flatten(),
            note: l.note_text.as_ref().filter(|_| linked).map(|text| {
                let text = super::note_mask::for_subject(text, own_cpf);
                NoteEntry {
                    text: others.iter().fold(text, |t, name| {
                        t.replace(name.as_str(), &brazil::initials(name))
                    }),
                    status: l.note_status.clone(),
                    posted_at: (l.note_status == "sent")
                        .then_some(l.completed_at)
                        .flatten(),
                }
            }),
            tier: l.tier.as_ref().filter(|_| linked).map(|t| TierEntry {
                tier: t.clone(),
                reasons: l.tier_reasons.clone().unwrap_or(Value::Null),
                why: self.why(Purpose::QualifyLead),
            }),
            kept_until: self.lead_kept(l),
        }
    }
}
