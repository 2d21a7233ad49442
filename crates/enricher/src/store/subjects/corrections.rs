//! Correction (LGPD art. 18 III): a field of the golden record set to what
//! the person showed, with the correction's source; provenance per field —
//! a later enrichment stores the provider's dossier and then puts every
//! correction back in the same transaction, so a corrected field is never
//! overwritten, and the note shows the corrected value.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::dossier::Dossier;
use crate::store::ledger::Ledger;

/// A field of the golden record that can be corrected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    BirthDate,
    Sex,
    Nationality,
    MaritalStatus,
    Education,
    Occupation,
}

impl Field {
    pub const ALL: [Self; 7] = [
        Self::Name,
        Self::BirthDate,
        Self::Sex,
        Self::Nationality,
        Self::MaritalStatus,
        Self::Education,
        Self::Occupation,
    ];

    /// As stored and given on the command line (the column's name).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::BirthDate => "birth_date",
            Self::Sex => "sex",
            Self::Nationality => "nationality",
            Self::MaritalStatus => "marital_status",
            Self::Education => "education_level",
            Self::Occupation => "occupation",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == raw.trim())
            .ok_or_else(|| {
                format!(
                    "unknown field {raw:?}; one of: {}",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }

    /// The value as stored: a date as `YYYY-MM-DD` (`DD/MM/YYYY` accepted),
    /// sex `M` or `F`, a name in upper case; text on one line, 1 to 200
    /// characters.
    pub fn normalise(self, raw: &str) -> Result<String, String> {
        let one = crate::domain::one_line(raw, 201);
        if one.is_empty() || one.chars().count() > 200 {
            return Err("the value must have 1 to 200 characters".into());
        }
        match self {
            Self::BirthDate => NaiveDate::parse_from_str(&one, "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(&one, "%d/%m/%Y"))
                .map(|d| d.to_string())
                .map_err(|_| "birth_date must be a date (YYYY-MM-DD or DD/MM/YYYY)".into()),
            Self::Sex => match one.to_uppercase().as_str() {
                "M" | "F" => Ok(one.to_uppercase()),
                _ => Err("sex must be M or F".into()),
            },
            Self::Name => Ok(one.to_uppercase()),
            _ => Ok(one),
        }
    }
}

/// A correction in force.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Correction {
    pub field: String,
    pub value: String,
    /// What the person showed (a document, their statement).
    pub source: String,
    pub corrected_at: DateTime<Utc>,
    pub request_id: Option<i64>,
}

/// Why a correction was not made.
#[derive(Debug, thiserror::Error)]
pub enum CorrectError {
    #[error("nobody with this CPF is stored")]
    Nobody,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Corrects `field` of the person with `cpf` to `value` (normalised by
/// [`Field::normalise`]), registering the request done by `by`; returns its
/// id.
pub async fn correct(
    pool: &PgPool,
    ledger: &Ledger,
    cpf: &brazil::Cpf,
    (field, value): (Field, &str),
    source: &str,
    by: &str,
) -> Result<i64, CorrectError> {
    let mut tx = pool.begin().await?;
    // The store's lock on this CPF: an enrichment under way finishes first,
    // and its corrections step then sees this one.
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))",
        format!("nid:{}", cpf.digits())
    )
    .execute(&mut *tx)
    .await?;
    let entity: Uuid = sqlx::query_scalar!(
        "SELECT entity_id FROM core.entities WHERE national_id = $1",
        cpf.digits()
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(CorrectError::Nobody)?;
    let key = ledger.subject_hash("cpf", cpf.digits());
    let request = super::done_request(&mut tx, "correction", "cpf", &key, by, None).await?;
    sqlx::query!(
        "INSERT INTO enrich.subject_corrections (entity_id, field, value, source, request_id, corrected_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (entity_id, field) DO UPDATE
            SET value = EXCLUDED.value, source = EXCLUDED.source, request_id = EXCLUDED.request_id,
                corrected_by = EXCLUDED.corrected_by, corrected_at = now()",
        entity,
        field.as_str(),
        value,
        crate::domain::one_line(source, 500),
        request,
        by
    )
    .execute(&mut *tx)
    .await?;
    apply(&mut tx, entity).await?;
    tx.commit().await?;
    Ok(request)
}

/// The corrections in force for a person, by field.
pub async fn of(pool: &PgPool, entity: Uuid) -> Result<Vec<Correction>, sqlx::Error> {
    sqlx::query_as!(
        Correction,
        "SELECT field, value, source, corrected_at, request_id FROM enrich.subject_corrections
          WHERE entity_id = $1 ORDER BY field",
        entity
    )
    .fetch_all(pool)
    .await
}

/// Puts the person's corrections back on their golden record, in the
/// caller's transaction (after a dossier was stored, or a correction made).
/// One statement when they have none (most people).
pub(crate) async fn apply(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    entity: Uuid,
) -> Result<(), sqlx::Error> {
    let fields = sqlx::query!(
        "SELECT field, value FROM enrich.subject_corrections WHERE entity_id = $1",
        entity
    )
    .fetch_all(&mut **tx)
    .await?;
    if let Some(name) = fields.iter().find(|f| f.field == "name") {
        sqlx::query!(
            "UPDATE core.entities SET name = $2, canonical_name = $3 WHERE entity_id = $1",
            entity,
            name.value,
            brazil::normalize_name(&name.value)
        )
        .execute(&mut **tx)
        .await?;
    }
    if fields.iter().all(|f| f.field == "name") {
        return Ok(());
    }
    // Typed here: a value that does not read as its field's (a row written
    // by hand) is left out with a warning, never failing the enrichment.
    let value = |f: Field| {
        fields
            .iter()
            .find(|c| c.field == f.as_str())
            .and_then(|c| f.normalise(&c.value).ok())
    };
    let birth: Option<NaiveDate> = value(Field::BirthDate).and_then(|d| d.parse().ok());
    if fields.iter().any(|c| {
        Field::parse(&c.field)
            .and_then(|f| f.normalise(&c.value))
            .is_err()
    }) {
        tracing::warn!(%entity, "a stored correction does not read as its field's; left out");
    }
    // A person stored only as someone's relative has no profile row yet.
    sqlx::query!(
        "INSERT INTO core.entity_profiles (entity_id) VALUES ($1) ON CONFLICT (entity_id) DO NOTHING",
        entity
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "UPDATE core.entity_profiles SET birth_date = coalesce($2, birth_date), sex = coalesce($3, sex),
                nationality = coalesce($4, nationality), marital_status = coalesce($5, marital_status),
                education_level = coalesce($6, education_level), occupation = coalesce($7, occupation),
                updated_at = now()
          WHERE entity_id = $1",
        entity,
        birth,
        value(Field::Sex),
        value(Field::Nationality),
        value(Field::MaritalStatus),
        value(Field::Education),
        value(Field::Occupation)
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The corrections in force for these CPFs (one statement; most people
/// have none).
pub async fn for_cpfs(
    pool: &PgPool,
    cpfs: &[String],
) -> Result<Vec<(String, Correction)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT e.national_id AS \"cpf!\", c.field, c.value, c.source, c.corrected_at, c.request_id
           FROM enrich.subject_corrections c JOIN core.entities e USING (entity_id)
          WHERE e.national_id = ANY($1)",
        cpfs
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.cpf,
                Correction {
                    field: r.field,
                    value: r.value,
                    source: r.source,
                    corrected_at: r.corrected_at,
                    request_id: r.request_id,
                },
            )
        })
        .collect())
}

/// `dossier` as the person corrected it (the note shows what they showed).
pub fn patch(dossier: &mut Dossier, corrections: &[Correction]) {
    for c in corrections {
        let v = Some(c.value.clone());
        match Field::parse(&c.field) {
            Ok(Field::Name) => dossier.name.clone_from(&c.value),
            Ok(Field::BirthDate) => {
                if let Ok(d) = c.value.parse() {
                    dossier.birth_date = Some(d);
                }
            }
            Ok(Field::Sex) => dossier.sex = c.value.chars().next(),
            Ok(Field::Nationality) => dossier.nationality = v,
            Ok(Field::MaritalStatus) => dossier.marital_status = v,
            Ok(Field::Education) => dossier.education = v,
            Ok(Field::Occupation) => dossier.occupation = v,
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_and_normalised_per_field() {
        assert_eq!(
            Field::BirthDate.normalise("05/03/1979").as_deref(),
            Ok("1979-03-05")
        );
        assert!(Field::BirthDate.normalise("31/02/1979").is_err());
        assert_eq!(Field::Sex.normalise("f").as_deref(), Ok("F"));
        assert!(Field::Sex.normalise("X").is_err());
        assert_eq!(
            Field::Name
                .normalise("  Helena   Marques\nda Costa ")
                .as_deref(),
            Ok("HELENA MARQUES DA COSTA")
        );
        assert!(Field::Occupation.normalise("   ").is_err());
        assert!(Field::Occupation.normalise(&"x".repeat(201)).is_err());
        assert!(Field::parse("income").is_err());
        assert_eq!(Field::parse("education_level"), Ok(Field::Education));
    }
}
