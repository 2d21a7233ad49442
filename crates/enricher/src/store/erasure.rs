//! Erasing a person (LGPD): the entity and everything hanging from it, the
//! addresses only they used, their snapshots and lead links, the personal data
//! kept in the leads' processing state, notes and webhook payloads, and the
//! cached provider answers for their CPF, phones and e-mails — in one
//! transaction. Relatives and shared addresses survive; a record without
//! personal data remains.

use sqlx::PgPool;
use uuid::Uuid;

use crate::store::ledger::{CallKind, Ledger};

/// What an erasure removed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Erased {
    pub erasure_id: i64,
    pub rows_removed: i64,
    pub ledger_rows_removed: i64,
}

fn kind(provider: &'static str, module: &'static str, dossier: bool) -> CallKind {
    CallKind {
        provider,
        module,
        credits: 0,
        dossier,
    }
}

/// Erases the person with `cpf`; `None` when nobody has it.
pub async fn erase(
    pool: &PgPool,
    ledger: &Ledger,
    cpf: &brazil::Cpf,
    actor: &str,
    request_id: Option<&str>,
) -> Result<Option<Erased>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let entity: Option<Uuid> =
        sqlx::query_scalar("SELECT entity_id FROM core.entities WHERE national_id = $1 FOR UPDATE")
            .bind(cpf.digits())
            .fetch_optional(&mut *tx)
            .await?;
    let Some(entity) = entity else {
        return Ok(None);
    };
    let phones: Vec<String> =
        sqlx::query_scalar("SELECT phone FROM core.entity_phones WHERE entity_id = $1")
            .bind(entity)
            .fetch_all(&mut *tx)
            .await?;
    let emails: Vec<String> =
        sqlx::query_scalar("SELECT email FROM core.entity_emails WHERE entity_id = $1")
            .bind(entity)
            .fetch_all(&mut *tx)
            .await?;
    let leads: Vec<String> =
        sqlx::query_scalar("SELECT lead_id FROM enrich.lead_entities WHERE entity_id = $1")
            .bind(entity)
            .fetch_all(&mut *tx)
            .await?;
    let own_addresses: Vec<Uuid> = sqlx::query_scalar(
        "SELECT ea.address_id FROM core.entity_addresses ea
          WHERE ea.entity_id = $1
            AND NOT EXISTS (SELECT 1 FROM core.entity_addresses o WHERE o.address_id = ea.address_id AND o.entity_id <> $1)
            AND NOT EXISTS (SELECT 1 FROM core.properties p WHERE p.address_id = ea.address_id)",
    )
    .bind(entity)
    .fetch_all(&mut *tx)
    .await?;
    let dependent: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM core.entity_profiles WHERE entity_id = $1)
              + (SELECT count(*) FROM core.entity_financials WHERE entity_id = $1)
              + (SELECT count(*) FROM core.entity_phones WHERE entity_id = $1)
              + (SELECT count(*) FROM core.entity_emails WHERE entity_id = $1)
              + (SELECT count(*) FROM core.entity_addresses WHERE entity_id = $1)
              + (SELECT count(*) FROM core.entity_relationships WHERE source_entity_id = $1 OR target_entity_id = $1)
              + (SELECT count(*) FROM enrich.enrichment_snapshots WHERE entity_id = $1)
              + (SELECT count(*) FROM enrich.lead_entities WHERE entity_id = $1)",
    )
    .bind(entity)
    .fetch_one(&mut *tx)
    .await?;
    // Every table hanging from the entity cascades.
    sqlx::query("DELETE FROM core.entities WHERE entity_id = $1")
        .bind(entity)
        .execute(&mut *tx)
        .await?;
    let addresses = sqlx::query("DELETE FROM core.addresses WHERE id = ANY($1)")
        .bind(&own_addresses)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    // The leads' own records hold the person's contacts and the note's text.
    sqlx::query(
        "UPDATE enrich.leads SET context = '{}'::jsonb, note_text = NULL, contact_fingerprint = NULL, last_error = NULL
          WHERE lead_id = ANY($1)",
    )
    .bind(&leads)
    .execute(&mut *tx)
    .await?;
    // Google Ads deliveries: the form's answers, the note in the description.
    sqlx::query(
        "UPDATE enrich.google_ads_leads
            SET answers = '[]'::jsonb, context = '{}'::jsonb, description = NULL, last_error = NULL
          WHERE c2s_lead_id = ANY($1) OR context->'entity_ids' ? $2",
    )
    .bind(&leads)
    .bind(entity.to_string())
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE enrich.webhook_events SET payload = '{\"erased\": true}'::jsonb WHERE lead_id = ANY($1)")
        .bind(&leads)
        .execute(&mut *tx)
        .await?;
    let mut queries: Vec<(CallKind, String)> =
        vec![(kind("work_api", "cpf", true), cpf.digits().to_owned())];
    for p in phones.iter().filter_map(|p| brazil::PhoneBr::parse(p).ok()) {
        queries.push((kind("diretrix", "phone", false), p.national().to_owned()));
        queries.push((kind("work_api", "phone", false), p.national().to_owned()));
    }
    for e in &emails {
        queries.push((kind("diretrix", "email", false), e.clone()));
    }
    let hashes: Vec<Vec<u8>> = queries
        .iter()
        .map(|(k, q)| ledger.key_hash(*k, q).to_vec())
        .collect();
    let ledger_rows = sqlx::query("DELETE FROM enrich.provider_calls WHERE key_hash = ANY($1)")
        .bind(&hashes)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let rows_removed = 1 + dependent + i64::try_from(addresses).unwrap_or(i64::MAX);
    let ledger_rows_removed = i64::try_from(ledger_rows).unwrap_or(i64::MAX);
    let erasure_id: i64 = sqlx::query_scalar(
        "INSERT INTO enrich.erasures (actor, request_id, rows_removed, ledger_rows_removed) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(actor)
    .bind(request_id)
    .bind(rows_removed)
    .bind(ledger_rows_removed)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(Erased {
        erasure_id,
        rows_removed,
        ledger_rows_removed,
    }))
}
