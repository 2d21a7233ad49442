//! Everything the service holds about one person, read for an access
//! request (LGPD art. 18 II/V, art. 19): their rows in `core.*` read whole
//! (every column, whatever the table's shape), the corrections, the dossiers
//! received, the leads they came through or that mention them, the C2S
//! webhook deliveries and Google Ads forms that mention them, the provider
//! calls made with their identifiers, the alerts about their leads, the
//! reads of their record and their earlier requests. Read-only: what to show
//! and how is the export's (`ops::subject_export`).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{Identifier, Request};
use crate::store::erasure::Needles;
use crate::store::ledger::Ledger;

/// Who the identifier names.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// A phone or e-mail held for several people (a household line): the
    /// request must name the person by CPF.
    #[error("this {0} is held for {1} people; ask for the person's CPF")]
    Ambiguous(&'static str, usize),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The person's own rows in `core.*`, each as `to_jsonb` of the row.
#[derive(Debug, Clone)]
pub struct PersonRows {
    pub entity_id: Uuid,
    pub entity: serde_json::Value,
    pub profile: Option<serde_json::Value>,
    pub financials: Vec<serde_json::Value>,
    pub phones: Vec<serde_json::Value>,
    pub emails: Vec<serde_json::Value>,
    /// The address row with its link row under `link`.
    pub addresses: Vec<serde_json::Value>,
    pub relations: Vec<Relation>,
    pub snapshots: Vec<Snapshot>,
    pub corrections: Vec<super::corrections::Correction>,
}

/// A link to another person or a company, either way.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Relation {
    /// `out`: from this person (their mother, their company); `in`: another
    /// person's dossier lists this one.
    pub direction: String,
    pub relationship_type: String,
    pub category: Option<String>,
    pub other_name: Option<String>,
    pub other_national_id: Option<String>,
    pub other_type: Option<String>,
    pub role: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A dossier as received (the payload itself is not re-read).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Snapshot {
    pub provider: String,
    pub module: String,
    pub lead_id: Option<String>,
    pub fetched_at: DateTime<Utc>,
}

/// A C2S lead that came from the person or mentions them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LeadRow {
    pub lead_id: String,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub state: String,
    pub outcome: Option<String>,
    pub note_status: String,
    pub note_text: Option<String>,
    /// What C2S gave for the lead (`context.lead`: name, phone, e-mail).
    pub given: Option<serde_json::Value>,
    pub tier: Option<String>,
    pub tier_reasons: Option<serde_json::Value>,
    pub seller_name: Option<String>,
    /// How the lead led to this person (`None`: only mentions them).
    pub match_kind: Option<String>,
    pub confidence: Option<String>,
    pub linked_at: Option<DateTime<Utc>>,
}

/// A C2S webhook delivery that mentions the person.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub lead_id: String,
    pub hook_action: String,
    pub received_at: DateTime<Utc>,
}

/// A Google Ads form that mentions the person.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FormRow {
    pub google_lead_id: String,
    pub c2s_lead_id: Option<String>,
    pub answers: serde_json::Value,
    pub received_at: DateTime<Utc>,
    pub state: String,
}

/// A provider call made with one of the person's identifiers.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallRow {
    pub provider: String,
    pub module: String,
    /// `cpf`, `phone` or `email`: what was sent.
    pub identifier_kind: String,
    pub outcome: String,
    pub created_at: DateTime<Utc>,
    /// Until when its answer is kept (`None`: no answer kept).
    pub answer_kept_until: Option<DateTime<Utc>>,
}

/// An alert about one of the person's leads.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub lead_id: String,
    pub channel: String,
    pub status: String,
    pub at: DateTime<Utc>,
}

/// A read of the person's record through the API.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccessRow {
    pub key_name: String,
    pub endpoint: String,
    pub accessed_at: DateTime<Utc>,
}

/// Everything held.
#[derive(Debug, Clone, Default)]
pub struct Gathered {
    pub person: Option<PersonRows>,
    pub leads: Vec<LeadRow>,
    pub events: Vec<EventRow>,
    pub forms: Vec<FormRow>,
    pub calls: Vec<CallRow>,
    pub deliveries: Vec<DeliveryRow>,
    pub accesses: Vec<AccessRow>,
    pub requests: Vec<Request>,
}

/// The person `id` names: by CPF; by a phone or e-mail they came to us with
/// as a lead, else held in exactly one dossier. `None`: nobody stored.
pub async fn find_person(pool: &PgPool, id: &Identifier) -> Result<Option<Uuid>, FindError> {
    let people: Vec<Uuid> = match id {
        Identifier::Cpf(c) => sqlx::query_scalar!(
            "SELECT entity_id FROM core.entities WHERE national_id = $1",
            c.digits()
        )
        .fetch_all(pool)
        .await?,
        Identifier::Phone(p) => sqlx::query_scalar!(
            r#"WITH linked AS (SELECT DISTINCT entity_id FROM enrich.lead_entities WHERE contact_phone = $1)
               SELECT entity_id AS "entity_id!" FROM linked
               UNION
               SELECT DISTINCT entity_id FROM core.entity_phones
                WHERE phone_e164 = $1 AND entity_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM linked)"#,
            p.e164()
        )
        .fetch_all(pool)
        .await?,
        Identifier::Email(e) => sqlx::query_scalar!(
            r#"WITH linked AS (SELECT DISTINCT entity_id FROM enrich.lead_entities WHERE lower(contact_email) = lower($1))
               SELECT entity_id AS "entity_id!" FROM linked
               UNION
               SELECT DISTINCT entity_id FROM core.entity_emails
                WHERE lower(email) = lower($1) AND entity_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM linked)"#,
            e.as_str()
        )
        .fetch_all(pool)
        .await?,
    };
    match people.len() {
        0 => Ok(None),
        1 => Ok(people.first().copied()),
        n => Err(FindError::Ambiguous(id.kind(), n)),
    }
}

/// Reads everything held about the person `id` names (`entity`: as found by
/// [`find_person`]).
pub async fn gather(
    pool: &PgPool,
    ledger: &Ledger,
    id: &Identifier,
    entity: Option<Uuid>,
) -> Result<Gathered, sqlx::Error> {
    let person = match entity {
        Some(e) => Some(person_rows(pool, e).await?),
        None => None,
    };
    // The identifiers that are theirs: the CPF, the contacts they came with
    // as a lead, and the one the request gave.
    let cpf = match (id, &person) {
        (Identifier::Cpf(c), _) => Some(c.clone()),
        (_, Some(p)) => p.entity["national_id"]
            .as_str()
            .and_then(|n| brazil::Cpf::parse(n).ok()),
        _ => None,
    };
    let (mut phones, mut emails) = match entity {
        Some(e) => used_contacts(pool, e).await?,
        None => (Vec::new(), Vec::new()),
    };
    match id {
        Identifier::Phone(p) => phones.push(p.e164()),
        Identifier::Email(e) => emails.push(e.as_str().to_owned()),
        Identifier::Cpf(_) => {}
    }
    let needles = Needles::of(cpf.as_ref(), &phones, &emails);
    let leads = leads(pool, &needles, entity).await?;
    let lead_ids: Vec<String> = leads.iter().map(|l| l.lead_id.clone()).collect();
    Ok(Gathered {
        events: events(pool, &needles, &lead_ids).await?,
        forms: forms(pool, &needles).await?,
        calls: calls(pool, ledger, cpf.as_ref(), &phones, &emails).await?,
        deliveries: sqlx::query_as!(
            DeliveryRow,
            r#"SELECT lead_id, channel, status, coalesce(sent_at, claimed_at) AS "at!"
                 FROM enrich.lead_deliveries WHERE lead_id = ANY($1) ORDER BY 4"#,
            &lead_ids
        )
        .fetch_all(pool)
        .await?,
        accesses: match entity {
            Some(e) => {
                sqlx::query_as!(
                    AccessRow,
                    "SELECT key_name, endpoint, accessed_at FROM enrich.pii_access_audit
                  WHERE entity_id = $1 ORDER BY accessed_at",
                    e
                )
                .fetch_all(pool)
                .await?
            }
            None => Vec::new(),
        },
        requests: super::requests_of(pool, &id.key(ledger)).await?,
        leads,
        person,
    })
}

async fn person_rows(pool: &PgPool, e: Uuid) -> Result<PersonRows, sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT (SELECT to_jsonb(x) FROM core.entities x WHERE x.entity_id = $1) AS "entity!",
                  (SELECT to_jsonb(x) FROM core.entity_profiles x WHERE x.entity_id = $1) AS profile,
                  ARRAY(SELECT to_jsonb(x) FROM core.entity_financials x WHERE x.entity_id = $1
                         ORDER BY x.created_at) AS "financials!",
                  ARRAY(SELECT to_jsonb(x) FROM core.entity_phones x WHERE x.entity_id = $1
                         ORDER BY x.created_at) AS "phones!",
                  ARRAY(SELECT to_jsonb(x) FROM core.entity_emails x WHERE x.entity_id = $1
                         ORDER BY x.created_at) AS "emails!",
                  ARRAY(SELECT to_jsonb(a) || jsonb_build_object('link', to_jsonb(l))
                          FROM core.entity_addresses l JOIN core.addresses a ON a.id = l.address_id
                         WHERE l.entity_id = $1 ORDER BY l.is_primary DESC, l.created_at) AS "addresses!""#,
        e
    )
    .fetch_one(pool)
    .await?;
    let relations = sqlx::query_as!(
        Relation,
        r#"SELECT 'out' AS "direction!", r.relationship_type AS "relationship_type!", r.relationship_category AS category,
                  o.name AS other_name, o.national_id AS other_national_id, o.entity_type::text AS other_type,
                  r.metadata->>'role' AS role, r.created_at AS "created_at!"
             FROM core.entity_relationships r JOIN core.entities o ON o.entity_id = r.target_entity_id
            WHERE r.source_entity_id = $1
           UNION ALL
           SELECT 'in', r.relationship_type, r.relationship_category,
                  o.name, o.national_id, o.entity_type::text, r.metadata->>'role', r.created_at
             FROM core.entity_relationships r JOIN core.entities o ON o.entity_id = r.source_entity_id
            WHERE r.target_entity_id = $1
           ORDER BY 8"#,
        e
    )
    .fetch_all(pool)
    .await?;
    let snapshots = sqlx::query_as!(
        Snapshot,
        "SELECT provider, module, lead_id, fetched_at FROM enrich.enrichment_snapshots
          WHERE entity_id = $1 ORDER BY fetched_at",
        e
    )
    .fetch_all(pool)
    .await?;
    Ok(PersonRows {
        entity_id: e,
        entity: r.entity,
        profile: r.profile,
        financials: r.financials,
        phones: r.phones,
        emails: r.emails,
        addresses: r.addresses,
        relations,
        snapshots,
        corrections: super::corrections::of(pool, e).await?,
    })
}

/// The contacts the person came with as a lead (E.164 phones, e-mails).
async fn used_contacts(pool: &PgPool, e: Uuid) -> Result<(Vec<String>, Vec<String>), sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT ARRAY(SELECT DISTINCT contact_phone FROM enrich.lead_entities WHERE entity_id = $1 AND contact_phone IS NOT NULL) AS "phones!",
                  ARRAY(SELECT DISTINCT contact_email FROM enrich.lead_entities WHERE entity_id = $1 AND contact_email IS NOT NULL) AS "emails!""#,
        e
    )
    .fetch_one(pool)
    .await?;
    Ok((r.phones, r.emails))
}

/// Their leads: linked to them, or mentioning them (a failed lead never
/// linked). Built at run time as the erasure's scrub: patterns bound.
async fn leads(
    pool: &PgPool,
    needles: &Needles,
    entity: Option<Uuid>,
) -> Result<Vec<LeadRow>, sqlx::Error> {
    let sql = format!(
        "SELECT l.lead_id, l.created_at, l.completed_at, l.updated_at, l.state, l.outcome, l.note_status, l.note_text,
                l.context->'lead' AS given, l.tier, l.tier_reasons, l.seller_name,
                le.match_kind, le.confidence, le.linked_at
           FROM enrich.leads l
           LEFT JOIN enrich.lead_entities le ON le.lead_id = l.lead_id AND le.entity_id = $2
          WHERE le.entity_id IS NOT NULL OR {} OR {}
          ORDER BY l.created_at",
        needles.sql("l.context"),
        needles.sql("l.note_text")
    );
    sqlx::query_as(&sql)
        .bind(&needles.patterns)
        .bind(entity)
        .fetch_all(pool)
        .await
}

async fn events(
    pool: &PgPool,
    needles: &Needles,
    leads: &[String],
) -> Result<Vec<EventRow>, sqlx::Error> {
    let sql = format!(
        "SELECT lead_id, hook_action, received_at FROM enrich.webhook_events
          WHERE (lead_id = ANY($2) AND payload <> '{{\"erased\": true}}'::jsonb) OR {}
          ORDER BY received_at",
        needles.sql("payload")
    );
    sqlx::query_as(&sql)
        .bind(&needles.patterns)
        .bind(leads)
        .fetch_all(pool)
        .await
}

async fn forms(pool: &PgPool, needles: &Needles) -> Result<Vec<FormRow>, sqlx::Error> {
    let sql = format!(
        "SELECT google_lead_id, c2s_lead_id, answers, received_at, state FROM enrich.google_ads_leads
          WHERE {} OR {} ORDER BY received_at",
        needles.sql("answers"),
        needles.sql("description")
    );
    sqlx::query_as(&sql)
        .bind(&needles.patterns)
        .fetch_all(pool)
        .await
}

/// The ledger's rows for the person's identifiers (by their keyed hashes).
async fn calls(
    pool: &PgPool,
    ledger: &Ledger,
    cpf: Option<&brazil::Cpf>,
    phones: &[String],
    emails: &[String],
) -> Result<Vec<CallRow>, sqlx::Error> {
    let phones: Vec<brazil::PhoneBr> = phones
        .iter()
        .filter_map(|p| brazil::PhoneBr::parse(p).ok())
        .collect();
    let queries = super::identifier_queries(cpf, &phones, emails);
    let hashes: Vec<Vec<u8>> = queries
        .iter()
        .map(|q| ledger.key_hash(q.kind, &q.query).to_vec())
        .collect();
    let kinds: Vec<String> = queries
        .iter()
        .map(|q| q.identifier_kind.to_owned())
        .collect();
    sqlx::query_as!(
        CallRow,
        r#"SELECT c.provider, c.module, q.kind AS "identifier_kind!", c.outcome, c.created_at,
                  CASE WHEN c.response IS NOT NULL THEN c.expires_at END AS answer_kept_until
             FROM enrich.provider_calls c
             JOIN unnest($1::bytea[], $2::text[]) AS q(key_hash, kind) ON q.key_hash = c.key_hash
            ORDER BY c.created_at"#,
        &hashes,
        &kinds
    )
    .fetch_all(pool)
    .await
}
