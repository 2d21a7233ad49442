//! Storing one dossier: one transaction, its locks taken in a fixed order,
//! the person and everything hanging from them written idempotently.

use sqlx::PgPool;

use super::links::{insert_snapshot, link_company, link_lead, link_relative};
use super::model::{LeadContext, StoreError, StoreOptions, Stored, Tx};
use super::person::{
    upsert_addresses, upsert_emails, upsert_financials, upsert_person, upsert_phones,
    upsert_profile,
};
use crate::domain::dossier::Dossier;
use crate::store::erasure::CpfGuard;

/// Stores `dossier` for `lead` in one transaction.
pub async fn store_dossier(
    pool: &PgPool,
    dossier: &Dossier,
    lead: &LeadContext,
    options: &StoreOptions,
) -> Result<Stored, StoreError> {
    store_dossier_guarded(pool, dossier, lead, options, &CpfGuard::default()).await
}

/// [`store_dossier`], refusing an erased person ([`StoreError::Erased`]) and
/// leaving out links to erased relatives, as the tombstones stand once the
/// transaction holds its locks (an erasure takes the same lock on the CPF).
pub async fn store_dossier_guarded(
    pool: &PgPool,
    dossier: &Dossier,
    lead: &LeadContext,
    options: &StoreOptions,
    guard: &CpfGuard,
) -> Result<Stored, StoreError> {
    let mut tx = pool.begin().await?;
    let hashes = address_hashes(&mut tx, dossier).await?;
    lock_in_order(&mut tx, dossier, &hashes).await?;
    let erased = guard.erased(&mut *tx).await?;
    if erased.contains(&dossier.cpf) {
        return Err(StoreError::Erased);
    }
    let entity_id = upsert_person(&mut tx, dossier, lead, options).await?;
    upsert_profile(&mut tx, entity_id, dossier).await?;
    upsert_financials(&mut tx, entity_id, dossier, options).await?;
    upsert_phones(&mut tx, entity_id, dossier).await?;
    upsert_emails(&mut tx, entity_id, dossier).await?;
    upsert_addresses(&mut tx, entity_id, dossier).await?;
    let mut relatives = 0;
    for relative in &dossier.relatives {
        if !erased.contains(&relative.cpf) {
            link_relative(&mut tx, entity_id, relative).await?;
            relatives += 1;
        }
    }
    for company in &dossier.companies {
        link_company(&mut tx, entity_id, company).await?;
    }
    insert_snapshot(&mut tx, entity_id, dossier, lead, options).await?;
    if let Some(lead_id) = &lead.lead_id {
        link_lead(&mut tx, entity_id, lead_id, lead, &dossier.name).await?;
    }
    tx.commit().await?;
    Ok(Stored {
        entity_id,
        relatives,
        companies: dossier.companies.len(),
    })
}

/// The normalised address hash of each dossier address, computed by the same
/// SQL functions the hardening uses.
pub(super) async fn address_hashes(
    tx: &mut Tx<'_>,
    d: &Dossier,
) -> Result<Vec<String>, sqlx::Error> {
    let mut hashes = Vec::with_capacity(d.addresses.len());
    for a in &d.addresses {
        let hash: String = sqlx::query_scalar!(
            r#"SELECT enrich.address_hash($1, $2, $3, $4, $5, $6, $7) AS "hash!""#,
            a.street_type.as_deref(),
            a.street.as_deref(),
            a.number.as_deref(),
            a.complement.as_deref(),
            a.city.as_deref(),
            a.state.as_deref(),
            a.zip_code.as_deref()
        )
        .fetch_one(&mut **tx)
        .await?;
        hashes.push(hash);
    }
    Ok(hashes)
}

pub(super) async fn lock_in_order(
    tx: &mut Tx<'_>,
    d: &Dossier,
    hashes: &[String],
) -> Result<(), sqlx::Error> {
    let mut keys: Vec<String> = std::iter::once(format!("nid:{}", d.cpf.digits()))
        .chain(
            d.relatives
                .iter()
                .map(|r| format!("nid:{}", r.cpf.digits())),
        )
        .chain(
            d.companies
                .iter()
                .map(|c| format!("nid:{}", c.cnpj.digits())),
        )
        .chain(hashes.iter().map(|h| format!("addr:{h}")))
        .collect();
    keys.sort();
    keys.dedup();
    sqlx::query!("SELECT count(pg_advisory_xact_lock(hashtextextended(k, 7))) FROM (SELECT unnest($1::text[]) AS k ORDER BY 1) s", &keys)
        .fetch_one(&mut **tx)
        .await?;
    Ok(())
}
