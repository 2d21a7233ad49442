//! What we already know, free, before paying a provider: people enriched
//! recently with a contact, people confirmed for a contact by an earlier
//! lead, and a fresh stored dossier.

use std::time::Duration;

use brazil::{Email, PhoneBr};
use sqlx::PgPool;

/// A stored person as `(national_id, name)`; the national id may not be a
/// valid CPF (legacy rows): callers parse it.
pub type PersonRow = (String, Option<String>);

/// A lead's contact, as stored.
#[derive(Debug, Clone, Copy)]
pub enum ContactRef<'a> {
    Phone(&'a PhoneBr),
    Email(&'a Email),
}

impl ContactRef<'_> {
    fn kind(self) -> &'static str {
        match self {
            Self::Phone(_) => "phone",
            Self::Email(_) => "email",
        }
    }

    fn value(self) -> String {
        match self {
            Self::Phone(p) => p.e164(),
            Self::Email(e) => e.as_str().to_owned(),
        }
    }
}

/// People enriched within `fresh` who list `contact` among their own,
/// newest first.
pub async fn enriched_with(
    pool: &PgPool,
    contact: ContactRef<'_>,
    fresh: Duration,
) -> Result<Vec<PersonRow>, sqlx::Error> {
    // One statement for both kinds: the branch not asked for is gated off.
    let rows = sqlx::query!(
        r#"SELECT e.national_id AS "national_id!", e.name FROM core.entities e
            WHERE e.is_enriched AND e.enriched_at > now() - make_interval(secs => $3)
              AND e.entity_id IN (
                  SELECT entity_id FROM core.entity_phones WHERE $1::text = 'phone' AND phone_e164 = $2
                  UNION ALL
                  SELECT entity_id FROM core.entity_emails WHERE $1 = 'email' AND email = $2)
            ORDER BY e.enriched_at DESC"#,
        contact.kind(),
        contact.value(),
        fresh.as_secs_f64()
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.national_id, r.name)).collect())
}

/// People an earlier lead confirmed for `contact`.
pub async fn confirmed_for(
    pool: &PgPool,
    contact: ContactRef<'_>,
) -> Result<Vec<PersonRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT e.national_id AS "national_id!", e.name FROM core.entities e
            WHERE e.national_id IS NOT NULL
              AND e.entity_id IN (
                  SELECT entity_id FROM enrich.lead_entities
                   WHERE $1::text = 'phone' AND contact_phone = $2 AND confidence = 'confirmed'
                  UNION ALL
                  SELECT entity_id FROM enrich.lead_entities
                   WHERE $1 = 'email' AND contact_email = $2 AND confidence = 'confirmed')"#,
        contact.kind(),
        contact.value()
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.national_id, r.name)).collect())
}
