//! Everything the service holds about one person, read for an access
//! request (LGPD art. 18 II/V, art. 19): their rows in `core.*` read whole
//! (every column, whatever the table's shape), the corrections, the dossiers
//! received, the leads they came through or that mention them, the C2S
//! webhook deliveries and Google Ads forms that mention them, the provider
//! calls made with their identifiers, the alerts about their leads, the
//! reads of their record and their earlier requests. Read-only: what to show
//! and how is the export's (`ops::subject_export`).

use sqlx::PgPool;
use uuid::Uuid;

pub use super::rows::*;
use super::Identifier;
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

/// The person `id` names: by CPF; by a phone or e-mail, the person a lead
/// with that contact was confirmed to be. `None`: nobody stored (or the
/// contact confirms nobody: then only what is keyed by it is exported).
pub async fn find_person(pool: &PgPool, id: &Identifier) -> Result<Option<Uuid>, FindError> {
    let people: Vec<Uuid> = match id {
        Identifier::Cpf(c) => sqlx::query_scalar!(
            "SELECT entity_id FROM core.entities WHERE national_id = $1",
            c.digits()
        )
        .fetch_all(pool)
        .await?,
        // A phone or e-mail names a person only through a lead that came
        // with it and was confirmed as them (phone and e-mail agreeing, the
        // name matching): a number a dossier merely lists (a household line,
        // a relative's) never hands over anyone's record.
        Identifier::Phone(p) => sqlx::query_scalar!(
            "SELECT DISTINCT entity_id FROM enrich.lead_entities WHERE contact_phone = $1 AND confidence = 'confirmed'",
            p.e164()
        )
        .fetch_all(pool)
        .await?,
        Identifier::Email(e) => sqlx::query_scalar!(
            "SELECT DISTINCT entity_id FROM enrich.lead_entities
              WHERE lower(contact_email) = lower($1) AND confidence = 'confirmed'",
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
    let keys = identifier_keys(ledger, id, cpf.as_ref(), &phones, &emails);
    let leads = leads(pool, &needles, entity).await?;
    let lead_ids: Vec<String> = leads.iter().map(|l| l.lead_id.clone()).collect();
    let (deliveries, accesses, blocks, archived) =
        bookkeeping(pool, entity, &keys, &lead_ids).await?;
    Ok(Gathered {
        events: events(pool, &needles, &lead_ids).await?,
        forms: forms(pool, &needles, entity).await?,
        calls: calls(pool, ledger, cpf.as_ref(), &phones, &emails).await?,
        requests: super::requests_of(pool, &keys).await?,
        deliveries,
        accesses,
        blocks,
        archived,
        leads,
        person,
    })
}

type Bookkeeping = (
    Vec<DeliveryRow>,
    Vec<AccessRow>,
    Vec<BlockRow>,
    Vec<ArchivedRow>,
);

/// The alerts about their leads, the reads of their record, the blocks on
/// their identifiers, their archived rows.
async fn bookkeeping(
    pool: &PgPool,
    entity: Option<Uuid>,
    keys: &[Vec<u8>],
    lead_ids: &[String],
) -> Result<Bookkeeping, sqlx::Error> {
    let deliveries = sqlx::query_as!(
        DeliveryRow,
        r#"SELECT lead_id, channel, status, coalesce(sent_at, claimed_at) AS "at!"
             FROM enrich.lead_deliveries WHERE lead_id = ANY($1) ORDER BY 4"#,
        lead_ids
    )
    .fetch_all(pool)
    .await?;
    let accesses = sqlx::query_as!(
        AccessRow,
        "SELECT key_name, endpoint, accessed_at FROM enrich.pii_access_audit
          WHERE $1::uuid IS NOT NULL AND entity_id = $1 ORDER BY accessed_at",
        entity
    )
    .fetch_all(pool)
    .await?;
    let blocks = sqlx::query_as!(
        BlockRow,
        "SELECT kind, created_at FROM enrich.subject_blocks WHERE key_hash = ANY($1) ORDER BY created_at",
        keys
    )
    .fetch_all(pool)
    .await?;
    let archived = sqlx::query_as!(
        ArchivedRow,
        "SELECT source_table, reason, archived_at FROM enrich.archived_rows
          WHERE $1::text IS NOT NULL AND row_data->>'entity_id' = $1 AND restored_at IS NULL ORDER BY archived_at",
        entity.map(|e| e.to_string())
    )
    .fetch_all(pool)
    .await?;
    Ok((deliveries, accesses, blocks, archived))
}

/// The keyed hashes of all their identifiers (requests and blocks are filed
/// under the one each gave).
fn identifier_keys(
    ledger: &Ledger,
    id: &Identifier,
    cpf: Option<&brazil::Cpf>,
    phones: &[String],
    emails: &[String],
) -> Vec<Vec<u8>> {
    let mut ids: Vec<Identifier> = vec![id.clone()];
    ids.extend(cpf.cloned().map(Identifier::Cpf));
    ids.extend(
        phones
            .iter()
            .filter_map(|p| brazil::PhoneBr::parse(p).ok())
            .map(Identifier::Phone),
    );
    ids.extend(
        emails
            .iter()
            .filter_map(|e| brazil::Email::parse(e).ok())
            .map(Identifier::Email),
    );
    let mut keys: Vec<Vec<u8>> = ids.iter().map(|i| i.key(ledger).to_vec()).collect();
    keys.sort();
    keys.dedup();
    keys
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
        r#"SELECT 'out' AS "direction!", r.relationship_type::text AS relationship_type, r.relationship_category AS category,
                  o.name AS other_name, o.national_id AS other_national_id, o.entity_type::text AS other_type,
                  r.metadata->>'role' AS role, r.created_at
             FROM core.entity_relationships r JOIN core.entities o ON o.entity_id = r.target_entity_id
            WHERE r.source_entity_id = $1
           UNION ALL
           SELECT 'in', r.relationship_type::text, r.relationship_category,
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
                le.match_kind, le.confidence, le.identity_reasons, le.name_score::float8 AS name_score, le.linked_at
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

async fn forms(
    pool: &PgPool,
    needles: &Needles,
    entity: Option<Uuid>,
) -> Result<Vec<FormRow>, sqlx::Error> {
    let sql = format!(
        "SELECT google_lead_id, c2s_lead_id, answers, received_at, state,
                coalesce(context->'entity_ids' ? $2::text, false) AS linked
           FROM enrich.google_ads_leads
          WHERE coalesce(context->'entity_ids' ? $2::text, false) OR {} OR {} ORDER BY received_at",
        needles.sql("answers"),
        needles.sql("description")
    );
    sqlx::query_as(&sql)
        .bind(&needles.patterns)
        .bind(entity.map(|e| e.to_string()))
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
