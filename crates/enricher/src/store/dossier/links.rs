//! What links the person to others: relatives and companies (entities of
//! their own), the snapshot of the answer, the lead.

use rust_decimal::Decimal;
use uuid::Uuid;

use super::model::{LeadContext, StoreOptions, Tx};
use crate::domain::dossier::{CompanyLink, Dossier, Relative};
use crate::domain::lead::LeadId;

/// A minimal entity for a relative or company (never marked enriched; an
/// existing record is left as it is).
pub(super) async fn ensure_entity(
    tx: &mut Tx<'_>,
    national_id: &str,
    company: bool,
    name: Option<&str>,
) -> Result<Uuid, sqlx::Error> {
    // The entity type is written as an untyped literal so that it fits both a
    // text column and the enum some production copies have.
    let canonical = name.map(brazil::normalize_name);
    let inserted: Option<Uuid> = if company {
        sqlx::query_scalar!(
            "INSERT INTO core.entities (national_id, entity_type, name, canonical_name, is_enriched, data_source, metadata,
                                        created_at, updated_at)
             VALUES ($1, 'company', $2, $3, false, 'work_api', '{}'::jsonb, now(), now())
             ON CONFLICT (national_id) DO NOTHING RETURNING entity_id",
            national_id,
            name,
            canonical
        )
        .fetch_optional(&mut **tx)
        .await?
    } else {
        sqlx::query_scalar!(
            "INSERT INTO core.entities (national_id, entity_type, name, canonical_name, is_enriched, data_source, metadata,
                                        created_at, updated_at)
             VALUES ($1, 'person', $2, $3, false, 'work_api', '{}'::jsonb, now(), now())
             ON CONFLICT (national_id) DO NOTHING RETURNING entity_id",
            national_id,
            name,
            canonical
        )
        .fetch_optional(&mut **tx)
        .await?
    };
    match inserted {
        Some(id) => Ok(id),
        None => {
            sqlx::query_scalar!(
                "SELECT entity_id FROM core.entities WHERE national_id = $1",
                national_id
            )
            .fetch_one(&mut **tx)
            .await
        }
    }
}

pub(super) async fn upsert_relationship(
    tx: &mut Tx<'_>,
    source: Uuid,
    target: Uuid,
    kind: &str,
    category: &str,
    meta: serde_json::Value,
    valid_from: Option<chrono::NaiveDate>,
) -> Result<(), sqlx::Error> {
    sqlx::query!("INSERT INTO core.entity_relationships (source_entity_id, target_entity_id, relationship_type,
                                               relationship_category, valid_from, is_current, confidence, metadata,
                                               created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, true, 0.9, $6, now(), now())
         ON CONFLICT (source_entity_id, target_entity_id, relationship_type) DO UPDATE
            SET metadata = EXCLUDED.metadata, valid_from = EXCLUDED.valid_from, updated_at = now()", source, target, kind, category, valid_from, meta)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn link_relative(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    r: &Relative,
) -> Result<(), sqlx::Error> {
    let target = ensure_entity(tx, r.cpf.digits(), false, r.name.as_deref()).await?;
    let meta = serde_json::json!({ "degree": r.degree, "source": "work_api" });
    upsert_relationship(
        tx,
        entity_id,
        target,
        relationship_type(r.degree.as_deref()),
        "family",
        meta,
        None,
    )
    .await
}

pub(super) async fn link_company(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    c: &CompanyLink,
) -> Result<(), sqlx::Error> {
    let target = ensure_entity(tx, c.cnpj.digits(), true, None).await?;
    let kind = match c.kind.as_deref().map(brazil::normalize_name).as_deref() {
        Some("QSA") => "company_partner",
        Some("REPRESENTANTELEGAL" | "REPRESENTANTE LEGAL") => "company_legal_representative",
        _ => "company_link",
    };
    let meta = serde_json::json!({ "kind": c.kind, "role": c.role, "source": "work_api" });
    upsert_relationship(tx, entity_id, target, kind, "company", meta, c.since).await
}

/// Maps the provider's `grauParentesco` onto `ref.relationship_types`.
pub fn relationship_type(degree: Option<&str>) -> &'static str {
    let d = degree.map(brazil::normalize_name).unwrap_or_default();
    match d.split(' ').next().unwrap_or_default() {
        "MAE" => "mother",
        "PAI" => "father",
        "IRMA" | "IRMAO" => "sibling",
        "FILHA" | "FILHO" => "child",
        "CONJUGE" | "ESPOSA" | "ESPOSO" | "MARIDO" | "COMPANHEIRA" | "COMPANHEIRO" => "spouse",
        "AVO" => "grandparent",
        "NETA" | "NETO" => "grandchild",
        "TIA" | "TIO" => "uncle_aunt",
        "SOBRINHA" | "SOBRINHO" => "nephew_niece",
        "PRIMA" | "PRIMO" => "cousin",
        _ => "relative",
    }
}

pub(super) async fn insert_snapshot(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    d: &Dossier,
    lead: &LeadContext,
    o: &StoreOptions,
) -> Result<(), sqlx::Error> {
    sqlx::query!("INSERT INTO enrich.enrichment_snapshots (entity_id, provider, module, national_id, lead_id, payload, fetched_at)
         VALUES ($1, 'work_api', 'cpf', $2, $3, $4, $5)
         ON CONFLICT (entity_id, provider, module, fetched_at) DO NOTHING", entity_id, d.cpf.digits(), lead.lead_id.as_ref().map(LeadId::as_str), &d.raw, o.fetched_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn link_lead(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    lead_id: &LeadId,
    lead: &LeadContext,
    registry_name: &str,
) -> Result<(), sqlx::Error> {
    let score = lead.lead_name.as_deref().map(|n| {
        Decimal::from_f64_retain(brazil::name_match_score(n, registry_name))
            .unwrap_or_default()
            .round_dp(3)
    });
    sqlx::query!("INSERT INTO enrich.lead_entities (lead_id, entity_id, match_kind, name_score, confidence, identity_reasons, contact_phone, contact_email)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (lead_id, entity_id) DO UPDATE SET match_kind = EXCLUDED.match_kind, name_score = EXCLUDED.name_score,
             confidence = EXCLUDED.confidence, identity_reasons = EXCLUDED.identity_reasons,
             contact_phone = EXCLUDED.contact_phone, contact_email = EXCLUDED.contact_email", lead_id.as_str(), entity_id, lead.match_kind.as_str(), score, lead.confidence.map(|c| c.as_str()), lead.identity_reasons.as_deref(), lead.contact_phone.as_deref(), lead.contact_email.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
