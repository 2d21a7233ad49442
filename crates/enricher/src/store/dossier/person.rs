//! The person's own rows: the golden record, profile, financials, phones,
//! e-mails, addresses.

use chrono::Datelike;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::model::{LeadContext, StoreError, StoreOptions, Tx};
use crate::domain::dossier::Dossier;

pub(super) async fn upsert_person(
    tx: &mut Tx<'_>,
    d: &Dossier,
    lead: &LeadContext,
    o: &StoreOptions,
) -> Result<Uuid, sqlx::Error> {
    let lead_meta = lead.lead_id.as_ref().map_or_else(
        || serde_json::json!({}),
        |l| serde_json::json!({ "c2s_lead_id": l.as_str() }),
    );
    sqlx::query_scalar!("INSERT INTO core.entities (national_id, entity_type, name, canonical_name, is_enriched, enriched_at,
                                    data_source, confidence, metadata, created_at, updated_at)
         VALUES ($1, 'person', $2, $3, true, $4, 'work_api', 1.0, $5, now(), now())
         ON CONFLICT (national_id) DO UPDATE
            SET name = EXCLUDED.name, canonical_name = EXCLUDED.canonical_name, is_enriched = true,
                enriched_at = EXCLUDED.enriched_at, data_source = EXCLUDED.data_source,
                confidence = EXCLUDED.confidence,
                metadata = coalesce(core.entities.metadata, '{}'::jsonb) || EXCLUDED.metadata,
                updated_at = now()
         RETURNING entity_id", d.cpf.digits(), &d.name, brazil::normalize_name(&d.name), o.fetched_at, lead_meta)
    .fetch_one(&mut **tx)
    .await
}

pub(super) async fn upsert_profile(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    d: &Dossier,
) -> Result<(), sqlx::Error> {
    let meta = serde_json::json!({
        "mother_name": d.mother_name, "father_name": d.father_name, "birthplace": d.birthplace,
        "registration_status": d.registration_status, "deceased": d.deceased,
    });
    sqlx::query!("INSERT INTO core.entity_profiles (entity_id, sex, birth_date, nationality, marital_status, education_level,
                                          occupation, metadata, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), now())
         ON CONFLICT (entity_id) DO UPDATE
            SET sex = EXCLUDED.sex, birth_date = EXCLUDED.birth_date, nationality = EXCLUDED.nationality,
                marital_status = EXCLUDED.marital_status, education_level = EXCLUDED.education_level,
                occupation = EXCLUDED.occupation,
                metadata = coalesce(core.entity_profiles.metadata, '{}'::jsonb) || EXCLUDED.metadata,
                updated_at = now()", entity_id, d.sex.map(String::from), d.birth_date, d.nationality.as_deref(), d.marital_status.as_deref(), d.education.as_deref(), d.occupation.as_deref(), meta)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn upsert_financials(
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
        "mosaic": f.mosaic.as_ref().map(|m| serde_json::json!({
            "codigoMosaic": m.code, "descricaoMosaic": m.description, "classeMosaic": m.class,
        })),
    });
    sqlx::query!("INSERT INTO core.entity_financials (entity_id, year, month, reported_income, credit_score, risk_score, source,
                                            confidence, metadata, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'work_api', 0.8, $7, now(), now())
         ON CONFLICT (entity_id, year, month, source) DO UPDATE
            SET reported_income = EXCLUDED.reported_income, credit_score = EXCLUDED.credit_score,
                risk_score = EXCLUDED.risk_score, metadata = EXCLUDED.metadata, updated_at = now()", entity_id, o.fetched_at.year(), o.fetched_at.month() as i32, reported, f.credit_score, f.risk_score(), meta)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn upsert_phones(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    d: &Dossier,
) -> Result<(), sqlx::Error> {
    for (i, p) in d.phones.iter().enumerate() {
        let meta = serde_json::json!({ "provider_type": p.provider_type, "active": p.active, "source": "work_api" });
        sqlx::query!("INSERT INTO core.entity_phones (entity_id, phone, phone_e164, phone_type, is_primary, is_verified,
                                            is_whatsapp, carrier, metadata, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, false, $6, $7, $8, now(), now())
             ON CONFLICT (entity_id, phone_e164) DO UPDATE
                SET is_whatsapp = EXCLUDED.is_whatsapp, carrier = EXCLUDED.carrier,
                    metadata = coalesce(core.entity_phones.metadata, '{}'::jsonb) || EXCLUDED.metadata,
                    updated_at = now()", entity_id, p.phone.national(), p.phone.e164(), p.phone.kind().as_str(), i == 0, p.whatsapp, p.carrier.as_deref(), meta)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub(super) async fn upsert_emails(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    d: &Dossier,
) -> Result<(), sqlx::Error> {
    for (i, e) in d.emails.iter().enumerate() {
        let kind = e.personal.map(|p| if p { "personal" } else { "work" });
        let meta = serde_json::json!({ "priority": e.priority, "quality": e.quality, "source": "work_api" });
        sqlx::query!("INSERT INTO core.entity_emails (entity_id, email, email_type, is_primary, is_verified, metadata, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, now(), now())
             ON CONFLICT (entity_id, email) DO UPDATE
                SET email_type = EXCLUDED.email_type, is_verified = EXCLUDED.is_verified,
                    metadata = coalesce(core.entity_emails.metadata, '{}'::jsonb) || EXCLUDED.metadata,
                    updated_at = now()", entity_id, e.email.as_str(), kind, i == 0, e.verified(), meta)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub(super) async fn upsert_addresses(
    tx: &mut Tx<'_>,
    entity_id: Uuid,
    d: &Dossier,
) -> Result<(), sqlx::Error> {
    for (i, a) in d.addresses.iter().enumerate() {
        // Unrepairable CEP/UF/street type become NULL; the originals stay in metadata.
        let address_id: Uuid = sqlx::query_scalar!("WITH n AS (
                 SELECT enrich.normalize_street_type($1) AS street_type, enrich.normalize_uf($6) AS state,
                        enrich.normalize_cep($7) AS zip_code)
             INSERT INTO core.addresses (street_type, street, number, complement, neighborhood, city, state, zip_code,
                                         formatted_address, address_hash, is_valid, metadata, created_at, updated_at)
             SELECT n.street_type, $2::text, $3::text, $4::text, $5::text, $8::text, n.state, n.zip_code,
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
             RETURNING id", a.street_type.as_deref(), a.street.as_deref(), a.number.as_deref(), a.complement.as_deref(), a.neighborhood.as_deref(), a.state.as_deref(), a.zip_code.as_deref(), a.city.as_deref())
        .fetch_one(&mut **tx)
        .await?;
        // The first address is the most recent: 0.90 and verified; the others 0.75.
        let first = i == 0;
        sqlx::query!("INSERT INTO core.entity_addresses (entity_id, address_id, address_type, is_primary, is_current, data_source,
                                               confidence_score, verified, metadata, created_at, updated_at)
             VALUES ($1, $2, 'residential', $3, $3, 'work_api', $4, $3, '{}'::jsonb, now(), now())
             ON CONFLICT (entity_id, address_id) DO UPDATE
                SET is_primary = EXCLUDED.is_primary, is_current = EXCLUDED.is_current,
                    confidence_score = EXCLUDED.confidence_score, verified = EXCLUDED.verified, updated_at = now()", entity_id, address_id, first, if first { Decimal::new(90, 2) } else { Decimal::new(75, 2) })
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
