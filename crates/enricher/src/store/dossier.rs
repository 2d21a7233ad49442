//! Storing a dossier: one transaction writes the golden record, its contacts,
//! addresses, relatives, companies, the raw snapshot and the lead link.
//!
//! Idempotent (every write is an upsert on a unique key; the same dossier stored
//! twice leaves the same rows) and safe under concurrency: before writing, the
//! transaction takes advisory locks on every person/company and address it will
//! touch, in sorted order, so two stores sharing a relative or an address queue
//! instead of deadlocking, and unique keys never surface as errors.

use chrono::{DateTime, Datelike, Utc};
use rust_decimal::Decimal;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::domain::dossier::{CompanyLink, Dossier, Relative};
use crate::domain::lead::LeadId;
pub use crate::store::erasure::CpfGuard;

/// How the lead led to this person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchKind {
    Phone,
    Email,
    PhoneAndEmail,
    FormCpf,
    #[default]
    Manual,
}

impl MatchKind {
    /// As recorded in `enrich.lead_entities.match_kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Email => "email",
            Self::PhoneAndEmail => "phone_and_email",
            Self::FormCpf => "form_cpf",
            Self::Manual => "manual",
        }
    }
}

/// The lead a dossier is stored for.
#[derive(Debug, Clone, Default)]
pub struct LeadContext {
    pub lead_id: Option<LeadId>,
    pub lead_name: Option<String>,
    pub match_kind: MatchKind,
    /// How sure we are the person is the lead (`None`: not assessed).
    pub confidence: Option<crate::domain::identity::Confidence>,
    /// The identity model's reasons (no personal data).
    pub identity_reasons: Option<String>,
    /// The contacts the person was resolved through (E.164 / e-mail), so a
    /// later lead with the same contact can reuse a confirmed resolution.
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
}

/// Store settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Operators' income factor (1.9).
    pub income_factor: Decimal,
    /// When the provider answered (snapshot time; also `enriched_at`).
    pub fetched_at: DateTime<Utc>,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub entity_id: Uuid,
    pub relatives: usize,
    pub companies: usize,
}

/// Why storing failed. Nothing is written in any case.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("income out of range after applying the factor")]
    IncomeOutOfRange,
    /// The person was erased (a tombstone holds their CPF): nothing stored.
    #[error("the person was erased; nothing stored")]
    Erased,
    #[error("database error while storing the dossier: {0}")]
    Sql(#[from] sqlx::Error),
}

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

type Tx<'c> = Transaction<'c, Postgres>;

/// The normalised address hash of each dossier address, computed by the same
/// SQL functions the hardening uses.
async fn address_hashes(tx: &mut Tx<'_>, d: &Dossier) -> Result<Vec<String>, sqlx::Error> {
    let mut hashes = Vec::with_capacity(d.addresses.len());
    for a in &d.addresses {
        let hash: String =
            sqlx::query_scalar("SELECT enrich.address_hash($1, $2, $3, $4, $5, $6, $7)")
                .bind(&a.street_type)
                .bind(&a.street)
                .bind(&a.number)
                .bind(&a.complement)
                .bind(&a.city)
                .bind(&a.state)
                .bind(&a.zip_code)
                .fetch_one(&mut **tx)
                .await?;
        hashes.push(hash);
    }
    Ok(hashes)
}

async fn lock_in_order(tx: &mut Tx<'_>, d: &Dossier, hashes: &[String]) -> Result<(), sqlx::Error> {
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
    sqlx::query("SELECT count(pg_advisory_xact_lock(hashtextextended(k, 7))) FROM (SELECT unnest($1::text[]) AS k ORDER BY 1) s")
        .bind(&keys)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn upsert_person(
    tx: &mut Tx<'_>,
    d: &Dossier,
    lead: &LeadContext,
    o: &StoreOptions,
) -> Result<Uuid, sqlx::Error> {
    let lead_meta = lead.lead_id.as_ref().map_or_else(
        || serde_json::json!({}),
        |l| serde_json::json!({ "c2s_lead_id": l.as_str() }),
    );
    sqlx::query_scalar(
        "INSERT INTO core.entities (national_id, entity_type, name, canonical_name, is_enriched, enriched_at,
                                    data_source, confidence, metadata, created_at, updated_at)
         VALUES ($1, 'person', $2, $3, true, $4, 'work_api', 1.0, $5, now(), now())
         ON CONFLICT (national_id) DO UPDATE
            SET name = EXCLUDED.name, canonical_name = EXCLUDED.canonical_name, is_enriched = true,
                enriched_at = EXCLUDED.enriched_at, data_source = EXCLUDED.data_source,
                confidence = EXCLUDED.confidence,
                metadata = coalesce(core.entities.metadata, '{}'::jsonb) || EXCLUDED.metadata,
                updated_at = now()
         RETURNING entity_id",
    )
    .bind(d.cpf.digits())
    .bind(&d.name)
    .bind(brazil::normalize_name(&d.name))
    .bind(o.fetched_at)
    .bind(lead_meta)
    .fetch_one(&mut **tx)
    .await
}

async fn upsert_profile(tx: &mut Tx<'_>, entity_id: Uuid, d: &Dossier) -> Result<(), sqlx::Error> {
    let meta = serde_json::json!({
        "mother_name": d.mother_name, "father_name": d.father_name, "birthplace": d.birthplace,
        "registration_status": d.registration_status, "deceased": d.deceased,
    });
    sqlx::query(
        "INSERT INTO core.entity_profiles (entity_id, sex, birth_date, nationality, marital_status, education_level,
                                          occupation, metadata, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), now())
         ON CONFLICT (entity_id) DO UPDATE
            SET sex = EXCLUDED.sex, birth_date = EXCLUDED.birth_date, nationality = EXCLUDED.nationality,
                marital_status = EXCLUDED.marital_status, education_level = EXCLUDED.education_level,
                occupation = EXCLUDED.occupation,
                metadata = coalesce(core.entity_profiles.metadata, '{}'::jsonb) || EXCLUDED.metadata,
                updated_at = now()",
    )
    .bind(entity_id)
    .bind(d.sex.map(String::from))
    .bind(d.birth_date)
    .bind(&d.nationality)
    .bind(&d.marital_status)
    .bind(&d.education)
    .bind(&d.occupation)
    .bind(meta)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_financials(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    d: &Dossier,
    o: &StoreOptions,
) -> Result<(), StoreError> {
    let f = &d.financial;
    let reported = match f.income {
        Some(m) => Some(
            m.scaled(o.income_factor)
                .map_err(|_| StoreError::IncomeOutOfRange)?
                .rounded_to_cents()
                .amount(),
        ),
        None => None,
    };
    if reported.is_none() && f.credit_score.is_none() && f.risk_band.is_none() {
        return Ok(());
    }
    let meta = serde_json::json!({
        "raw_income": f.income_raw, "income": f.income.map(|m| m.amount().to_string()),
        "income_factor": o.income_factor.to_string(), "purchasing_power": f.purchasing_power,
        "income_band": f.income_band, "risk_band": f.risk_band,
        "mosaic": d.raw.get("DadosEconomicos").and_then(|e| e.get("serasaMosaic")),
    });
    sqlx::query(
        "INSERT INTO core.entity_financials (entity_id, year, month, reported_income, credit_score, risk_score, source,
                                            confidence, metadata, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'work_api', 0.8, $7, now(), now())
         ON CONFLICT (entity_id, year, month, source) DO UPDATE
            SET reported_income = EXCLUDED.reported_income, credit_score = EXCLUDED.credit_score,
                risk_score = EXCLUDED.risk_score, metadata = EXCLUDED.metadata, updated_at = now()",
    )
    .bind(entity_id)
    .bind(o.fetched_at.year())
    .bind(o.fetched_at.month() as i32)
    .bind(reported)
    .bind(f.credit_score)
    .bind(f.risk_score())
    .bind(meta)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_phones(tx: &mut Tx<'_>, entity_id: Uuid, d: &Dossier) -> Result<(), sqlx::Error> {
    for (i, p) in d.phones.iter().enumerate() {
        let meta = serde_json::json!({ "provider_type": p.provider_type, "active": p.active, "source": "work_api" });
        sqlx::query(
            "INSERT INTO core.entity_phones (entity_id, phone, phone_e164, phone_type, is_primary, is_verified,
                                            is_whatsapp, carrier, metadata, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, false, $6, $7, $8, now(), now())
             ON CONFLICT (entity_id, phone_e164) DO UPDATE
                SET is_whatsapp = EXCLUDED.is_whatsapp, carrier = EXCLUDED.carrier,
                    metadata = coalesce(core.entity_phones.metadata, '{}'::jsonb) || EXCLUDED.metadata,
                    updated_at = now()",
        )
        .bind(entity_id)
        .bind(p.phone.national())
        .bind(p.phone.e164())
        .bind(p.phone.kind().as_str())
        .bind(i == 0)
        .bind(p.whatsapp)
        .bind(&p.carrier)
        .bind(meta)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn upsert_emails(tx: &mut Tx<'_>, entity_id: Uuid, d: &Dossier) -> Result<(), sqlx::Error> {
    for (i, e) in d.emails.iter().enumerate() {
        let kind = e.personal.map(|p| if p { "personal" } else { "work" });
        let meta = serde_json::json!({ "priority": e.priority, "quality": e.quality, "source": "work_api" });
        sqlx::query(
            "INSERT INTO core.entity_emails (entity_id, email, email_type, is_primary, is_verified, metadata, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, now(), now())
             ON CONFLICT (entity_id, email) DO UPDATE
                SET email_type = EXCLUDED.email_type, is_verified = EXCLUDED.is_verified,
                    metadata = coalesce(core.entity_emails.metadata, '{}'::jsonb) || EXCLUDED.metadata,
                    updated_at = now()",
        )
        .bind(entity_id)
        .bind(e.email.as_str())
        .bind(kind)
        .bind(i == 0)
        .bind(e.verified())
        .bind(meta)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn upsert_addresses(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    d: &Dossier,
) -> Result<(), sqlx::Error> {
    for (i, a) in d.addresses.iter().enumerate() {
        // Unrepairable CEP/UF/street type become NULL; the originals stay in metadata.
        let address_id: Uuid = sqlx::query_scalar(
            "WITH n AS (
                 SELECT enrich.normalize_street_type($1) AS street_type, enrich.normalize_uf($6) AS state,
                        enrich.normalize_cep($7) AS zip_code)
             INSERT INTO core.addresses (street_type, street, number, complement, neighborhood, city, state, zip_code,
                                         formatted_address, address_hash, is_valid, metadata, created_at, updated_at)
             SELECT n.street_type, $2, $3, $4, $5, $8, n.state, n.zip_code,
                    concat_ws(', ', concat_ws(' ', n.street_type, $2), $3, $4, $5, concat_ws('/', $8, n.state), n.zip_code),
                    enrich.address_hash($1, $2, $3, $4, $8, $6, $7),
                    n.zip_code IS NOT NULL AND n.state IS NOT NULL,
                    jsonb_build_object('source', 'work_api', 'original', jsonb_strip_nulls(jsonb_build_object(
                        'street_type', CASE WHEN n.street_type IS NULL THEN $1 END,
                        'state', CASE WHEN n.state IS NULL THEN $6 END,
                        'zip_code', CASE WHEN n.zip_code IS NULL THEN $7 END))),
                    now(), now()
               FROM n
             ON CONFLICT (address_hash) DO UPDATE SET updated_at = now()
             RETURNING id",
        )
        .bind(&a.street_type)
        .bind(&a.street)
        .bind(&a.number)
        .bind(&a.complement)
        .bind(&a.neighborhood)
        .bind(&a.state)
        .bind(&a.zip_code)
        .bind(&a.city)
        .fetch_one(&mut **tx)
        .await?;
        // The first address is the most recent: 0.90 and verified; the others 0.75.
        let first = i == 0;
        sqlx::query(
            "INSERT INTO core.entity_addresses (entity_id, address_id, address_type, is_primary, is_current, data_source,
                                               confidence_score, verified, metadata, created_at, updated_at)
             VALUES ($1, $2, 'residential', $3, $3, 'work_api', $4, $3, '{}'::jsonb, now(), now())
             ON CONFLICT (entity_id, address_id) DO UPDATE
                SET is_primary = EXCLUDED.is_primary, is_current = EXCLUDED.is_current,
                    confidence_score = EXCLUDED.confidence_score, verified = EXCLUDED.verified, updated_at = now()",
        )
        .bind(entity_id)
        .bind(address_id)
        .bind(first)
        .bind(if first { Decimal::new(90, 2) } else { Decimal::new(75, 2) })
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A minimal entity for a relative or company (never marked enriched; an
/// existing record is left as it is).
async fn ensure_entity(
    tx: &mut Tx<'_>,
    national_id: &str,
    company: bool,
    name: Option<&str>,
) -> Result<Uuid, sqlx::Error> {
    // The entity type is written as an untyped literal so that it fits both a
    // text column and the enum some production copies have.
    let sql = if company {
        "INSERT INTO core.entities (national_id, entity_type, name, canonical_name, is_enriched, data_source, metadata,
                                    created_at, updated_at)
         VALUES ($1, 'company', $2, $3, false, 'work_api', '{}'::jsonb, now(), now())
         ON CONFLICT (national_id) DO NOTHING RETURNING entity_id"
    } else {
        "INSERT INTO core.entities (national_id, entity_type, name, canonical_name, is_enriched, data_source, metadata,
                                    created_at, updated_at)
         VALUES ($1, 'person', $2, $3, false, 'work_api', '{}'::jsonb, now(), now())
         ON CONFLICT (national_id) DO NOTHING RETURNING entity_id"
    };
    let inserted: Option<Uuid> = sqlx::query_scalar(sql)
        .bind(national_id)
        .bind(name)
        .bind(name.map(brazil::normalize_name))
        .fetch_optional(&mut **tx)
        .await?;
    match inserted {
        Some(id) => Ok(id),
        None => {
            sqlx::query_scalar("SELECT entity_id FROM core.entities WHERE national_id = $1")
                .bind(national_id)
                .fetch_one(&mut **tx)
                .await
        }
    }
}

async fn upsert_relationship(
    tx: &mut Tx<'_>,
    source: Uuid,
    target: Uuid,
    kind: &str,
    category: &str,
    meta: serde_json::Value,
    valid_from: Option<chrono::NaiveDate>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO core.entity_relationships (source_entity_id, target_entity_id, relationship_type,
                                               relationship_category, valid_from, is_current, confidence, metadata,
                                               created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, true, 0.9, $6, now(), now())
         ON CONFLICT (source_entity_id, target_entity_id, relationship_type) DO UPDATE
            SET metadata = EXCLUDED.metadata, valid_from = EXCLUDED.valid_from, updated_at = now()",
    )
    .bind(source)
    .bind(target)
    .bind(kind)
    .bind(category)
    .bind(valid_from)
    .bind(meta)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn link_relative(tx: &mut Tx<'_>, entity_id: Uuid, r: &Relative) -> Result<(), sqlx::Error> {
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

async fn link_company(
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

async fn insert_snapshot(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    d: &Dossier,
    lead: &LeadContext,
    o: &StoreOptions,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO enrich.enrichment_snapshots (entity_id, provider, module, national_id, lead_id, payload, fetched_at)
         VALUES ($1, 'work_api', 'cpf', $2, $3, $4, $5)
         ON CONFLICT (entity_id, provider, module, fetched_at) DO NOTHING",
    )
    .bind(entity_id)
    .bind(d.cpf.digits())
    .bind(lead.lead_id.as_ref().map(LeadId::as_str))
    .bind(&d.raw)
    .bind(o.fetched_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn link_lead(
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
    sqlx::query(
        "INSERT INTO enrich.lead_entities (lead_id, entity_id, match_kind, name_score, confidence, identity_reasons, contact_phone, contact_email)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (lead_id, entity_id) DO UPDATE SET match_kind = EXCLUDED.match_kind, name_score = EXCLUDED.name_score,
             confidence = EXCLUDED.confidence, identity_reasons = EXCLUDED.identity_reasons,
             contact_phone = EXCLUDED.contact_phone, contact_email = EXCLUDED.contact_email",
    )
    .bind(lead_id.as_str())
    .bind(entity_id)
    .bind(lead.match_kind.as_str())
    .bind(score)
    .bind(lead.confidence.map(|c| c.as_str()))
    .bind(lead.identity_reasons.as_deref())
    .bind(lead.contact_phone.as_deref())
    .bind(lead.contact_email.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
