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
mod shared;

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

/// Exports everything held about the person `id` names, registering the
/// access request as done by `by` (in the register, the export lists itself).
pub async fn export(
    pool: &PgPool,
    ledger: &Ledger,
    settings: &ExportSettings,
    id: &Identifier,
    by: &str,
) -> Result<Export, ExportError> {
    let entity = gather::find_person(pool, id).await?;
    let request_id = subjects::access_request(pool, ledger, id, by).await?;
    let g = gather::gather(pool, ledger, id, entity).await?;
    Ok(Export {
        entity_id: entity,
        ..build(settings, id.kind(), request_id, &g, Utc::now())
    })
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
        leads: g.leads.iter().map(|l| ctx.lead(l, &others)).collect(),
        shared_with: ctx.sharing(g),
        records: ctx.records(g),
        requests: g
            .requests
            .iter()
            .map(|r| RequestEntry {
                id: r.id,
                kind: r.kind.clone(),
                received_at: r.received_at,
                deadline: r.deadline,
                status: r.status.clone(),
                completed_at: r.completed_at,
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
