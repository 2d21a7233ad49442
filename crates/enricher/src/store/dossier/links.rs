//! What links the person to others: relatives and companies (entities of
//! their own), the snapshot of the answer, the lead.

use rust_decimal::Decimal;
use uuid::Uuid;

use super::model::{LeadContext, StoreError, StoreOptions, Tx};
use crate::domain::dossier::{CompanyLink, Dossier, Relative};
use crate::domain::lead::LeadId;

/// The relatives and companies the person is linked to: a minimal entity
/// for each (never marked enriched; an existing record is left as it is) and
/// the relationship, all in one statement. Values are read through the
/// tables' record types, so the entity and relationship types fit a text
/// column or the enum some production copies have. Returns how many links
/// were written: one per item given (a shortfall is retried once, then an
/// error — a link is never silently lost).
pub(super) async fn link_others(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    relatives: &[&Relative],
    companies: &[CompanyLink],
) -> Result<usize, StoreError> {
    let mut rows: Vec<(String, &'static str, serde_json::Value)> = Vec::new();
    for r in relatives {
        let kind = relationship_type(r.degree.as_deref());
        let meta = serde_json::json!({ "degree": r.degree, "source": "work_api" });
        rows.push((
            r.cpf.digits().to_owned(),
            kind,
            link_row(
                r.cpf.digits(),
                "person",
                r.name.as_deref(),
                kind,
                "family",
                meta,
                None,
            ),
        ));
    }
    for c in companies {
        let kind = match c.kind.as_deref().map(brazil::normalize_name).as_deref() {
            Some("QSA") => "company_partner",
            Some("REPRESENTANTELEGAL" | "REPRESENTANTE LEGAL") => "company_legal_representative",
            _ => "company_link",
        };
        let meta = serde_json::json!({ "kind": c.kind, "role": c.role, "source": "work_api" });
        let row = link_row(
            c.cnpj.digits(),
            "company",
            None,
            kind,
            "company",
            meta,
            c.since,
        );
        rows.push((c.cnpj.digits().to_owned(), kind, row));
    }
    // One write per (entity, relationship type): the last mention wins.
    let mut unique: Vec<serde_json::Value> = Vec::new();
    for (i, (id, kind, row)) in rows.iter().enumerate() {
        if !rows[i + 1..].iter().any(|(j, k, _)| j == id && k == kind) {
            unique.push(row.clone());
        }
    }
    if unique.is_empty() {
        return Ok(0);
    }
    let rows = serde_json::Value::Array(unique);
    let want = rows.as_array().map_or(0, Vec::len);
    for _ in 0..2 {
        // A row another writer commits between this statement's snapshot and
        // its insert is neither inserted nor seen: the next run sees it.
        if link_once(tx, entity_id, &rows).await? == want {
            return Ok(want);
        }
    }
    Err(StoreError::Incomplete("relatives and companies"))
}

fn link_row(
    national_id: &str,
    entity_type: &str,
    name: Option<&str>,
    kind: &str,
    category: &str,
    meta: serde_json::Value,
    valid_from: Option<chrono::NaiveDate>,
) -> serde_json::Value {
    serde_json::json!({
        "national_id": national_id, "entity_type": entity_type, "name": name,
        "canonical_name": name.map(brazil::normalize_name),
        "relationship_type": kind, "relationship_category": category,
        "metadata": meta, "valid_from": valid_from,
    })
}

async fn link_once(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    rows: &serde_json::Value,
) -> Result<usize, sqlx::Error> {
    let linked = sqlx::query_scalar!(r#"WITH t AS (
             SELECT e.national_id, e.entity_type, e.name, e.canonical_name, r.relationship_type, r.relationship_category,
                    r.metadata, r.valid_from
               FROM jsonb_array_elements($2) AS j(v),
                    LATERAL jsonb_populate_record(NULL::core.entities, j.v) AS e,
                    LATERAL jsonb_populate_record(NULL::core.entity_relationships, j.v) AS r),
           ins AS (
             INSERT INTO core.entities (national_id, entity_type, name, canonical_name, is_enriched, data_source, metadata,
                                        created_at, updated_at)
             SELECT DISTINCT ON (national_id) national_id, entity_type, name, canonical_name, false, 'work_api', '{}'::jsonb,
                    now(), now()
               FROM t ORDER BY national_id
             ON CONFLICT (national_id) DO NOTHING
             RETURNING entity_id, national_id),
           ids AS (
             SELECT entity_id, national_id FROM ins
             UNION ALL
             SELECT e.entity_id, e.national_id FROM core.entities e WHERE e.national_id IN (SELECT national_id FROM t))
         INSERT INTO core.entity_relationships (source_entity_id, target_entity_id, relationship_type,
                                                relationship_category, valid_from, is_current, confidence, metadata,
                                                created_at, updated_at)
         SELECT $1, ids.entity_id, t.relationship_type, t.relationship_category, t.valid_from, true, 0.9, t.metadata,
                now(), now()
           FROM t JOIN ids ON ids.national_id = t.national_id
         ON CONFLICT (source_entity_id, target_entity_id, relationship_type) DO UPDATE
            SET metadata = EXCLUDED.metadata, valid_from = EXCLUDED.valid_from, updated_at = now()
         RETURNING 1 AS "one!""#,
        entity_id,
        rows
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(linked.len())
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

/// The snapshot of the answer and, when there is a lead, the lead's link to
/// the person: one statement.
pub(super) async fn record_lead(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    d: &Dossier,
    lead: &LeadContext,
    o: &StoreOptions,
) -> Result<(), sqlx::Error> {
    let score = lead.lead_name.as_deref().map(|n| {
        Decimal::from_f64_retain(brazil::name_match_score(n, &d.name))
            .unwrap_or_default()
            .round_dp(3)
    });
    let lead_id = lead.lead_id.as_ref().map(LeadId::as_str);
    sqlx::query!("WITH s AS (
             INSERT INTO enrich.enrichment_snapshots (entity_id, provider, module, national_id, lead_id, payload, fetched_at)
             VALUES ($1, 'work_api', 'cpf', $2, $3, $4, $5)
             ON CONFLICT (entity_id, provider, module, fetched_at) DO NOTHING)
         INSERT INTO enrich.lead_entities (lead_id, entity_id, match_kind, name_score, confidence, identity_reasons,
                                           contact_phone, contact_email)
         SELECT $3::text, $1, $6::text, $7::numeric, $8::text, $9::text, $10::text, $11::text WHERE $3::text IS NOT NULL
         ON CONFLICT (lead_id, entity_id) DO UPDATE SET match_kind = EXCLUDED.match_kind, name_score = EXCLUDED.name_score,
             confidence = EXCLUDED.confidence, identity_reasons = EXCLUDED.identity_reasons,
             contact_phone = EXCLUDED.contact_phone, contact_email = EXCLUDED.contact_email",
        entity_id, d.cpf.digits(), lead_id, &d.raw, o.fetched_at, lead.match_kind.as_str(), score,
        lead.confidence.map(|c| c.as_str()), lead.identity_reasons.as_deref(), lead.contact_phone.as_deref(),
        lead.contact_email.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
