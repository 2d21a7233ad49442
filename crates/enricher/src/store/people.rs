//! What we already know, free, before paying a provider: people enriched
//! recently with a contact, people confirmed for a contact by an earlier
//! lead, and the dossier stored with a person.

use std::time::Duration;

use brazil::{Cpf, Email, PhoneBr};
use chrono::{DateTime, Utc};
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

/// What we know of `contact`, in one statement: people enriched within
/// `fresh` who list it among their own (newest first), and people an earlier
/// lead confirmed for it.
pub async fn known_for(
    pool: &PgPool,
    contact: ContactRef<'_>,
    fresh: Duration,
) -> Result<Known, sqlx::Error> {
    // One statement for both kinds: the branches not asked for are gated off.
    let rows = sqlx::query!(
        r#"SELECT e.national_id AS "national_id!", e.name, w.confirmed AS "confirmed!"
             FROM (SELECT DISTINCT entity_id, confirmed FROM (
                       SELECT entity_id, false AS confirmed FROM core.entity_phones
                        WHERE $1::text = 'phone' AND phone_e164 = $2
                       UNION ALL
                       SELECT entity_id, false FROM core.entity_emails WHERE $1 = 'email' AND email = $2
                       UNION ALL
                       SELECT entity_id, true FROM enrich.lead_entities
                        WHERE $1 = 'phone' AND contact_phone = $2 AND confidence = 'confirmed'
                       UNION ALL
                       SELECT entity_id, true FROM enrich.lead_entities
                        WHERE $1 = 'email' AND contact_email = $2 AND confidence = 'confirmed') k) w
             JOIN core.entities e ON e.entity_id = w.entity_id
            WHERE e.national_id IS NOT NULL
              AND (w.confirmed OR (e.is_enriched AND e.enriched_at > now() - make_interval(secs => $3)))
            ORDER BY e.enriched_at DESC NULLS LAST"#,
        contact.kind(),
        contact.value(),
        fresh.as_secs_f64()
    )
    .fetch_all(pool)
    .await?;
    let mut known = Known::default();
    for r in rows {
        let person = (r.national_id, r.name);
        if r.confirmed {
            known.confirmed.push(person);
        } else {
            known.listed.push(person);
        }
    }
    Ok(known)
}

/// See [`known_for`].
#[derive(Debug, Default)]
pub struct Known {
    /// Enriched recently, listing the contact; newest first.
    pub listed: Vec<PersonRow>,
    /// Confirmed for the contact by an earlier lead.
    pub confirmed: Vec<PersonRow>,
}

/// The newest Work API dossier stored with `cpf`'s person within `fresh`,
/// and when the provider answered it: what a run resumed after storing
/// reads back (the ledger may not keep an answer an erasure overlapped).
pub async fn stored_dossier(
    pool: &PgPool,
    cpf: &Cpf,
    fresh: Duration,
) -> Result<Option<(serde_json::Value, DateTime<Utc>)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT payload, fetched_at FROM enrich.enrichment_snapshots
          WHERE national_id = $1 AND provider = 'work_api' AND module = 'cpf'
            AND fetched_at > now() - make_interval(secs => $2)
          ORDER BY fetched_at DESC LIMIT 1",
        cpf.digits(),
        fresh.as_secs_f64()
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.payload, r.fetched_at)))
}
