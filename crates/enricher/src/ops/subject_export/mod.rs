//! The access and portability export (LGPD art. 18 II and V, art. 19):
//! everything the service holds about one person — their rows in the
//! customer database read whole, the leads they came through with the notes
//! as posted, the tier and its reasons — each item with its origin, when it
//! was obtained, its purpose and legal basis and until when it is kept; whom
//! it was shared with (C2S notes, providers asked with which identifier,
//! alerts); relatives and companies only as links, a person's name and CPF
//! masked. JSON for portability, and a readable page in Portuguese
//! ([`html::render`]). Every export is registered as an access request.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::domain::privacy::{Privacy, Purpose};
use crate::store::ledger::Ledger;
use crate::store::retention::Retention;
use crate::store::subjects::gather::{self, FindError, Gathered};
use crate::store::subjects::{self, Identifier};

pub mod html;
mod items;
mod model;
mod note_mask;
mod shared;
#[cfg(test)]
mod tests;

pub use model::{
    Export, Item, LeadEntry, Link, NoteEntry, PurposeEntry, Record, RequestEntry, Sharing,
    TierEntry, Why,
};

/// What an export says beside the data: the purposes' texts and the
/// retention policy.
#[derive(Debug, Clone, Default)]
pub struct ExportSettings {
    pub privacy: Arc<Privacy>,
    pub retention: Retention,
}

/// Why an export was not made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Find(#[from] FindError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Exports everything held about the person `id` names. The access request
/// is registered `open` first; an identifier that names several people is
/// refused (and registered so); [`delivered`] closes it once the export has
/// reached the person.
pub async fn export(
    pool: &PgPool,
    ledger: &Ledger,
    settings: &ExportSettings,
    id: &Identifier,
    by: &str,
) -> Result<Export, ExportError> {
    let request_id = subjects::open_request(pool, ledger, "access", id, by).await?;
    let entity = match gather::find_person(pool, id).await {
        Err(FindError::Ambiguous(kind, n)) => {
            let why = serde_json::json!({ "refused": format!("the {kind} names {n} people; the CPF is needed") });
            subjects::close_request(pool, request_id, "refused", Some(why)).await?;
            return Err(FindError::Ambiguous(kind, n).into());
        }
        other => other?,
    };
    let g = gather::gather(pool, ledger, id, entity).await?;
    Ok(Export {
        entity_id: entity,
        ..build(settings, id.kind(), request_id, &g, Utc::now())
    })
}

/// The export reached the person: its request is done.
pub async fn delivered(pool: &PgPool, e: &Export) -> Result<(), sqlx::Error> {
    subjects::close_request(pool, e.request_id, "done", None).await
}

/// The export of what was gathered (pure: tests build it from rows).
pub fn build(
    settings: &ExportSettings,
    identifier_kind: &'static str,
    request_id: i64,
    g: &Gathered,
    now: DateTime<Utc>,
) -> Export {
    let ctx = items::Ctx {
        privacy: &settings.privacy,
        retention: &settings.retention,
    };
    let own_cpf = g
        .person
        .as_ref()
        .and_then(|p| p.entity.get("national_id"))
        .and_then(serde_json::Value::as_str)
        .and_then(|n| brazil::Cpf::parse(n).ok());
    let others = g
        .person
        .as_ref()
        .map(items::Ctx::others)
        .unwrap_or_default();
    let found = g.person.is_some()
        || !g.leads.is_empty()
        || !g.forms.is_empty()
        || !g.events.is_empty()
        || !g.calls.is_empty();
    Export {
        entity_id: g.person.as_ref().map(|p| p.entity_id),
        format: "c2s-enrich/subject-export/1",
        generated_at: now,
        request_id,
        identifier_kind,
        controller: settings.privacy.controller.clone(),
        found,
        items: ctx.items(g),
        links: g.person.as_ref().map(|p| ctx.links(p)).unwrap_or_default(),
        leads: g
            .leads
            .iter()
            .map(|l| ctx.lead(l, &others, own_cpf.as_ref()))
            .collect(),
        listed_by_others: g.person.as_ref().map_or(0, |p| {
            p.relations.iter().filter(|r| r.direction == "in").count()
        }),
        shared_with: ctx.sharing(g),
        records: ctx.records(g),
        requests: g
            .requests
            .iter()
            .map(|r| {
                // This export answers its own request.
                let answered = r.id == request_id;
                RequestEntry {
                    id: r.id,
                    kind: r.kind.clone(),
                    received_at: r.received_at,
                    deadline: r.deadline,
                    status: if answered {
                        "done".into()
                    } else {
                        r.status.clone()
                    },
                    completed_at: if answered { Some(now) } else { r.completed_at },
                }
            })
            .collect(),
        purposes: Purpose::ALL
            .into_iter()
            .map(|p| PurposeEntry {
                purpose: p.key(),
                description: settings.privacy.purpose(p).description.clone(),
                legal_basis: settings.privacy.purpose(p).legal_basis.clone(),
            })
            .collect(),
    }
}
