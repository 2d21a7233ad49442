//! Storing one dossier: one transaction, its locks taken in a fixed order,
//! the person and everything hanging from them written idempotently.

use sqlx::PgPool;

use super::links::{link_others, record_lead};
use super::model::{LeadContext, StoreError, StoreOptions, Stored, Tx};
use super::person::{address_rows, upsert_addresses, upsert_emails, upsert_person, upsert_phones};
use crate::domain::dossier::{Dossier, Relative};
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
    // The addresses as rows, read by the lock (their hashes) and the upsert.
    let addresses = address_rows(dossier);
    lock_in_order(&mut tx, dossier, &addresses).await?;
    let erased = guard.erased(&mut *tx).await?;
    if erased.contains(&dossier.cpf) {
        return Err(StoreError::Erased);
    }
    let entity_id = upsert_person(&mut tx, dossier, lead, options).await?;
    // What the person corrected stays corrected (provenance per field).
    crate::store::subjects::corrections::apply(&mut tx, entity_id).await?;
    upsert_phones(&mut tx, entity_id, dossier).await?;
    upsert_emails(&mut tx, entity_id, dossier).await?;
    upsert_addresses(&mut tx, entity_id, &addresses).await?;
    let relatives: Vec<&Relative> = dossier
        .relatives
        .iter()
        .filter(|r| !erased.contains(&r.cpf))
        .collect();
    link_others(&mut tx, entity_id, &relatives, &dossier.companies).await?;
    record_lead(&mut tx, entity_id, dossier, lead, options).await?;
    tx.commit().await?;
    Ok(Stored {
        entity_id,
        relatives: relatives.len(),
        companies: dossier.companies.len(),
    })
}

/// Takes the transaction's advisory locks, sorted: the person, their
/// relatives and companies (by national id) and their addresses (by the
/// normalised address hash, computed by the same SQL functions the
/// hardening uses) — one statement.
pub(super) async fn lock_in_order(
    tx: &mut Tx<'_>,
    d: &Dossier,
    addresses: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    let ids: Vec<String> = std::iter::once(format!("nid:{}", d.cpf.digits()))
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
        .collect();
    sqlx::query!(r#"WITH t AS (
             SELECT * FROM jsonb_to_recordset($2) AS t(street_type text, street text, number text, complement text,
                                                       city text, state text, zip_code text)),
           k AS (
             SELECT unnest($1::text[]) AS k
             UNION
             SELECT 'addr:' || enrich.address_hash(street_type, street, number, complement, city, state, zip_code) FROM t)
         SELECT count(pg_advisory_xact_lock(hashtextextended(k, 7))) AS "n!"
           FROM (SELECT k FROM k ORDER BY k COLLATE "C") s"#,
        &ids,
        addresses)
    .fetch_one(&mut **tx)
    .await?;
    Ok(())
}
