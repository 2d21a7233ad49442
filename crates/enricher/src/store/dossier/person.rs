//! The person's own rows: the golden record, profile, financials, phones,
//! e-mails, addresses.

use chrono::Datelike;
use uuid::Uuid;

use super::model::{LeadContext, StoreError, StoreOptions, Tx};
use crate::domain::dossier::Dossier;

/// The golden record, its profile and this month's financial row: one
/// statement (the profile and financials hang from the entity it returns).
pub(super) async fn upsert_person(
    tx: &mut Tx<'_>,
    d: &Dossier,
    lead: &LeadContext,
    o: &StoreOptions,
) -> Result<Uuid, StoreError> {
    let lead_meta = lead.lead_id.as_ref().map_or_else(
        || serde_json::json!({}),
        |l| serde_json::json!({ "c2s_lead_id": l.as_str() }),
    );
    let profile_meta = serde_json::json!({
        "mother_name": d.mother_name, "father_name": d.father_name, "birthplace": d.birthplace,
        "registration_status": d.registration_status, "deceased": d.deceased,
    });
    let f = &d.financial;
    let (reported, financial_meta) = financial_values(d, o)?;
    let with_financials = reported.is_some() || f.credit_score.is_some() || f.risk_band.is_some();
    let id = sqlx::query_scalar!(r#"WITH e AS (
           INSERT INTO core.entities (national_id, entity_type, name, canonical_name, is_enriched, enriched_at,
                                      data_source, confidence, metadata, created_at, updated_at)
           VALUES ($1, 'person', $2, $3, true, $4, 'work_api', 1.0, $5, now(), now())
           ON CONFLICT (national_id) DO UPDATE
              SET name = EXCLUDED.name, canonical_name = EXCLUDED.canonical_name, is_enriched = true,
                  enriched_at = EXCLUDED.enriched_at, data_source = EXCLUDED.data_source,
                  confidence = EXCLUDED.confidence,
                  metadata = coalesce(core.entities.metadata, '{}'::jsonb) || EXCLUDED.metadata,
                  updated_at = now()
           RETURNING entity_id),
         p AS (
           INSERT INTO core.entity_profiles (entity_id, sex, birth_date, nationality, marital_status, education_level,
                                             occupation, metadata, created_at, updated_at)
           SELECT e.entity_id, $6::text, $7::date, $8::text, $9::text, $10::text, $11::text, $12::jsonb, now(), now() FROM e
           ON CONFLICT (entity_id) DO UPDATE
              SET sex = EXCLUDED.sex, birth_date = EXCLUDED.birth_date, nationality = EXCLUDED.nationality,
                  marital_status = EXCLUDED.marital_status, education_level = EXCLUDED.education_level,
                  occupation = EXCLUDED.occupation,
                  metadata = coalesce(core.entity_profiles.metadata, '{}'::jsonb) || EXCLUDED.metadata,
                  updated_at = now()),
         f AS (
           INSERT INTO core.entity_financials (entity_id, year, month, reported_income, credit_score, risk_score, source,
                                               confidence, metadata, created_at, updated_at)
           SELECT e.entity_id, $13::int, $14::int, $15::numeric, $16::int, $17::numeric, 'work_api', 0.8, $18::jsonb, now(), now()
             FROM e WHERE $19::bool
           ON CONFLICT (entity_id, year, month, source) DO UPDATE
              SET reported_income = EXCLUDED.reported_income, credit_score = EXCLUDED.credit_score,
                  risk_score = EXCLUDED.risk_score, metadata = EXCLUDED.metadata, updated_at = now())
         SELECT entity_id AS "entity_id!" FROM e"#,
        d.cpf.digits(), &d.name, brazil::normalize_name(&d.name), o.fetched_at, lead_meta,
        d.sex.map(String::from), d.birth_date, d.nationality.as_deref(), d.marital_status.as_deref(),
        d.education.as_deref(), d.occupation.as_deref(), profile_meta,
        o.fetched_at.year(), o.fetched_at.month() as i32, reported, f.credit_score, f.risk_score(),
        financial_meta, with_financials)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// The income after the factor, and the financial row's metadata.
fn financial_values(
    d: &Dossier,
    o: &StoreOptions,
) -> Result<(Option<rust_decimal::Decimal>, serde_json::Value), StoreError> {
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
    let meta = serde_json::json!({
        "raw_income": f.income_raw, "income": f.income.map(|m| m.amount().to_string()),
        "income_factor": o.income_factor.to_string(), "purchasing_power": f.purchasing_power,
        "income_band": f.income_band, "risk_band": f.risk_band,
        "mosaic": f.mosaic.as_ref().map(|m| serde_json::json!({
            "codigoMosaic": m.code, "descricaoMosaic": m.description, "classeMosaic": m.class,
        })),
    });
    Ok((reported, meta))
}

/// Every phone in one statement. The rows are read through the table's own
/// record type (`jsonb_populate_recordset`), so each value takes the
/// column's type whatever it is: a legacy enum `phone_type` included.
pub(super) async fn upsert_phones(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    d: &Dossier,
) -> Result<(), sqlx::Error> {
    if d.phones.is_empty() {
        return Ok(());
    }
    let mut seen = std::collections::HashSet::new();
    let rows: Vec<serde_json::Value> = d
        .phones
        .iter()
        .enumerate()
        .filter(|(_, p)| seen.insert(p.phone.e164()))
        .map(|(i, p)| {
            serde_json::json!({
                "phone": p.phone.national(), "phone_e164": p.phone.e164(),
                "phone_type": p.phone.kind().as_str(), "is_primary": i == 0,
                "is_whatsapp": p.whatsapp, "carrier": p.carrier,
                "metadata": { "provider_type": p.provider_type, "active": p.active, "source": "work_api" },
            })
        })
        .collect();
    sqlx::query!("INSERT INTO core.entity_phones (entity_id, phone, phone_e164, phone_type, is_primary, is_verified,
                                            is_whatsapp, carrier, metadata, created_at, updated_at)
         SELECT $1, r.phone, r.phone_e164, r.phone_type, r.is_primary, false, r.is_whatsapp, r.carrier, r.metadata, now(), now()
           FROM jsonb_populate_recordset(NULL::core.entity_phones, $2) r
         ON CONFLICT (entity_id, phone_e164) DO UPDATE
            SET is_whatsapp = EXCLUDED.is_whatsapp, carrier = EXCLUDED.carrier,
                metadata = coalesce(core.entity_phones.metadata, '{}'::jsonb) || EXCLUDED.metadata,
                updated_at = now()", entity_id, serde_json::Value::Array(rows))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Every e-mail in one statement (as the phones).
pub(super) async fn upsert_emails(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    d: &Dossier,
) -> Result<(), sqlx::Error> {
    if d.emails.is_empty() {
        return Ok(());
    }
    let mut seen = std::collections::HashSet::new();
    let rows: Vec<serde_json::Value> = d
        .emails
        .iter()
        .enumerate()
        .filter(|(_, e)| seen.insert(e.email.as_str().to_lowercase()))
        .map(|(i, e)| {
            serde_json::json!({
                "email": e.email.as_str(),
                "email_type": e.personal.map(|p| if p { "personal" } else { "work" }),
                "is_primary": i == 0, "is_verified": e.verified(),
                "metadata": { "priority": e.priority, "quality": e.quality, "source": "work_api" },
            })
        })
        .collect();
    sqlx::query!("INSERT INTO core.entity_emails (entity_id, email, email_type, is_primary, is_verified, metadata, created_at, updated_at)
         SELECT $1, r.email, r.email_type, r.is_primary, r.is_verified, r.metadata, now(), now()
           FROM jsonb_populate_recordset(NULL::core.entity_emails, $2) r
         ON CONFLICT (entity_id, email) DO UPDATE
            SET email_type = EXCLUDED.email_type, is_verified = EXCLUDED.is_verified,
                metadata = coalesce(core.entity_emails.metadata, '{}'::jsonb) || EXCLUDED.metadata,
                updated_at = now()", entity_id, serde_json::Value::Array(rows))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Every address and its link in one statement. The first address is the
/// most recent: primary, current, verified, 0.90; the others 0.75. An
/// address given twice is written once, as its first mention. Unrepairable
/// CEP/UF/street types become NULL; the originals stay in metadata.
pub(super) async fn upsert_addresses(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    rows: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    if rows.as_array().is_none_or(Vec::is_empty) {
        return Ok(());
    }
    sqlx::query!("WITH t AS (
             SELECT * FROM jsonb_to_recordset($2) AS t(ord int, street_type text, street text, number text, complement text,
                                                       neighborhood text, city text, state text, zip_code text)),
           n AS (
             SELECT t.*, enrich.normalize_street_type(t.street_type) AS n_street_type, enrich.normalize_uf(t.state) AS n_state,
                    enrich.normalize_cep(t.zip_code) AS n_zip,
                    enrich.address_hash(t.street_type, t.street, t.number, t.complement, t.city, t.state, t.zip_code) AS hash
               FROM t),
           first AS (SELECT DISTINCT ON (hash) * FROM n ORDER BY hash, ord),
           a AS (
             INSERT INTO core.addresses (street_type, street, number, complement, neighborhood, city, state, zip_code,
                                         formatted_address, address_hash, is_valid, metadata, created_at, updated_at)
             SELECT f.n_street_type, f.street, f.number, f.complement, f.neighborhood, f.city, f.n_state, f.n_zip,
                    concat_ws(', ', concat_ws(' ', f.n_street_type, f.street), f.number, f.complement, f.neighborhood,
                              concat_ws('/', f.city, f.n_state), f.n_zip),
                    f.hash, f.n_zip IS NOT NULL AND f.n_state IS NOT NULL,
                    jsonb_build_object('source', 'work_api', 'original', jsonb_strip_nulls(jsonb_build_object(
                        'street_type', CASE WHEN f.n_street_type IS NULL THEN f.street_type END,
                        'state', CASE WHEN f.n_state IS NULL THEN f.state END,
                        'zip_code', CASE WHEN f.n_zip IS NULL THEN f.zip_code END))),
                    now(), now()
               FROM first f
             ON CONFLICT (address_hash) DO UPDATE SET updated_at = now()
             RETURNING id, address_hash)
         INSERT INTO core.entity_addresses (entity_id, address_id, address_type, is_primary, is_current, data_source,
                                            confidence_score, verified, metadata, created_at, updated_at)
         SELECT $1, a.id, 'residential', f.ord = 0, f.ord = 0, 'work_api', CASE WHEN f.ord = 0 THEN 0.90 ELSE 0.75 END,
                f.ord = 0, '{}'::jsonb, now(), now()
           FROM first f JOIN a ON a.address_hash = f.hash
         ON CONFLICT (entity_id, address_id) DO UPDATE
            SET is_primary = EXCLUDED.is_primary, is_current = EXCLUDED.is_current,
                confidence_score = EXCLUDED.confidence_score, verified = EXCLUDED.verified, updated_at = now()",
        entity_id, rows)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The dossier's addresses as the rows the lock and [`upsert_addresses`]
/// read, in order.
pub(super) fn address_rows(d: &Dossier) -> serde_json::Value {
    d.addresses
        .iter()
        .enumerate()
        .map(|(i, a)| {
            serde_json::json!({
                "ord": i, "street_type": a.street_type, "street": a.street, "number": a.number,
                "complement": a.complement, "neighborhood": a.neighborhood, "city": a.city,
                "state": a.state, "zip_code": a.zip_code,
            })
        })
        .collect()
}
