//! Whom the person's data went to (C2S notes and tags, providers asked with
//! their identifiers, alerts) and the records kept about the processing
//! (dossiers received, webhook deliveries, cached answers, reads).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::items::{provider_name, Ctx};
use super::model::{Record, Sharing};
use crate::domain::privacy::Purpose;
use crate::store::subjects::gather::Gathered;

fn identifier_name(kind: &str) -> &'static str {
    match kind {
        "cpf" => "o CPF",
        "phone" => "o telefone",
        "email" => "o e-mail",
        _ => "um identificador",
    }
}

impl Ctx<'_> {
    pub(super) fn sharing(&self, g: &Gathered) -> Vec<Sharing> {
        let one = |recipient: String, what: String, at: DateTime<Utc>, purpose| Sharing {
            recipient,
            what,
            first_at: at,
            last_at: at,
            times: 1,
            why: self.why(purpose),
        };
        let mut out = Vec::new();
        for l in g.leads.iter().filter(|l| l.note_status == "sent") {
            out.push(one(
                "Contact2Sale (C2S)".into(),
                format!("Nota no lead {} (o texto está em `leads`)", l.lead_id),
                l.completed_at.unwrap_or(l.updated_at),
                Purpose::IdentifyLead,
            ));
        }
        // Alerts about a lead that is theirs (one that only mentions a
        // contact of theirs may be someone else's).
        let theirs: Vec<&str> = g
            .leads
            .iter()
            .filter(|l| l.match_kind.is_some())
            .map(|l| l.lead_id.as_str())
            .collect();
        for d in g
            .deliveries
            .iter()
            .filter(|d| d.status == "sent" && theirs.contains(&d.lead_id.as_str()))
        {
            let (recipient, what) = match d.channel.as_str() {
                "tag" => ("Contact2Sale (C2S)", "Etiqueta de perfil no lead"),
                "slack" => (
                    "Slack (equipe comercial)",
                    "Alerta de lead prioritário, com o perfil e seus motivos",
                ),
                _ => (
                    "E-mail (equipe comercial)",
                    "Alerta de lead prioritário, com o perfil e seus motivos",
                ),
            };
            out.push(one(
                recipient.into(),
                format!("{what} — lead {}", d.lead_id),
                d.at,
                Purpose::QualifyLead,
            ));
        }
        for f in &g.forms {
            if let Some(lead) = &f.c2s_lead_id {
                out.push(one(
                    "Contact2Sale (C2S)".into(),
                    format!("Lead {lead} criado a partir do formulário Google Ads, com o resumo do dossiê"),
                    f.received_at,
                    Purpose::IdentifyLead,
                ));
            }
        }
        out.extend(self.provider_sharing(g));
        out.sort_by_key(|s| s.first_at);
        out
    }

    /// Provider queries, one entry per provider and identifier: querying a
    /// provider sends it the identifier. Answers from our own cache sent
    /// nothing.
    fn provider_sharing(&self, g: &Gathered) -> Vec<Sharing> {
        let mut out = Vec::new();
        let mut queries: BTreeMap<(String, String), Vec<DateTime<Utc>>> = BTreeMap::new();
        for c in g.calls.iter().filter(|c| c.outcome != "hit") {
            queries
                .entry((c.provider.clone(), c.identifier_kind.clone()))
                .or_default()
                .push(c.created_at);
        }
        for ((provider, kind), times) in queries {
            let first = times.iter().min().copied().unwrap_or_else(Utc::now);
            let last = times.iter().max().copied().unwrap_or(first);
            out.push(Sharing {
                recipient: provider_name(&provider),
                what: format!("Consulta com {} do titular", identifier_name(&kind)),
                first_at: first,
                last_at: last,
                times: times.len(),
                why: self.why(Purpose::IdentifyLead),
            });
        }
        out
    }

    pub(super) fn records(&self, g: &Gathered) -> Vec<Record> {
        let r = self.retention;
        let mut out = Vec::new();
        if let Some(p) = &g.person {
            for s in &p.snapshots {
                out.push(Record {
                    what: "Dossiê recebido, guardado como chegou (inclui dados de parentes)".into(),
                    origin: format!("{} — módulo {}", provider_name(&s.provider), s.module),
                    at: s.fetched_at,
                    kept_until: Self::until(
                        s.fetched_at,
                        r.snapshots_days,
                        "RETENTION_SNAPSHOTS_DAYS",
                    ),
                    stored_in: "enrich.enrichment_snapshots",
                    why: self.why(Purpose::IdentifyLead),
                });
            }
        }
        out.extend(self.subject_records(g));
        for e in &g.events {
            out.push(Record {
                what: format!(
                    "Aviso do C2S sobre o lead {} ({})",
                    e.lead_id, e.hook_action
                ),
                origin: "Contact2Sale (C2S) — webhook".into(),
                at: e.received_at,
                kept_until: Self::until(
                    e.received_at,
                    r.webhook_events_days,
                    "RETENTION_WEBHOOK_EVENTS_DAYS",
                ),
                stored_in: "enrich.webhook_events",
                why: self.why(Purpose::AnswerContact),
            });
        }
        for c in &g.calls {
            if let Some(until) = c.answer_kept_until {
                out.push(Record {
                    what: format!(
                        "Resposta guardada da consulta com {}",
                        identifier_name(&c.identifier_kind)
                    ),
                    origin: format!("{} — módulo {}", provider_name(&c.provider), c.module),
                    at: c.created_at,
                    kept_until: format!("até {} (validade do cache)", until.format("%Y-%m-%d")),
                    stored_in: "enrich.provider_calls",
                    why: self.why(Purpose::IdentifyLead),
                });
            }
        }
        for a in &g.accesses {
            out.push(Record {
                what: format!(
                    "Consulta ao cadastro pela API ({}, chave {})",
                    a.endpoint, a.key_name
                ),
                origin: "Registro de acesso da MBRAS".into(),
                at: a.accessed_at,
                kept_until: Self::until(a.accessed_at, r.audit_days, "RETENTION_AUDIT_DAYS"),
                stored_in: "enrich.pii_access_audit",
                why: self.why(Purpose::Security),
            });
        }
        out.sort_by_key(|x| x.at);
        out
    }

    /// The records about their person: blocks, archived rows.
    fn subject_records(&self, g: &Gathered) -> Vec<Record> {
        let mut out = Vec::new();
        for b in &g.blocks {
            out.push(Record {
                what: format!(
                    "Oposição ao tratamento (bloqueio) pelo {}",
                    identifier_name(&b.kind).trim_start_matches("o ")
                ),
                origin: "Pedido do titular".into(),
                at: b.created_at,
                kept_until: "enquanto durar o bloqueio".into(),
                stored_in: "enrich.subject_blocks",
                why: self.why(Purpose::SubjectRights),
            });
        }
        for a in &g.archived {
            out.push(Record {
                what: format!(
                    "Linha de `{}` arquivada pela limpeza do cadastro ({})",
                    a.source_table, a.reason
                ),
                origin: "Limpeza do cadastro da MBRAS".into(),
                at: a.archived_at,
                kept_until: "até ser restaurada ou eliminada".into(),
                stored_in: "enrich.archived_rows",
                why: self.why(Purpose::IdentifyLead),
            });
        }
        out
    }
}
