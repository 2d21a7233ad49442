//! The erasure itself: one transaction that removes the person and scrubs
//! every mention, then records its tombstones.

use sqlx::PgPool;
use uuid::Uuid;

use crate::store::ledger::Ledger;

use super::needles::Needles;

/// What an erasure removed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Erased {
    pub erasure_id: i64,
    pub rows_removed: i64,
    pub ledger_rows_removed: i64,
    /// Its entry in the request register.
    pub request_id: i64,
    /// What was sent out and must be removed there by hand (C2S has no API
    /// to delete a note; a Slack message or an e-mail sent is not ours to
    /// delete): also stored in the request's record.
    pub to_remove_by_hand: Vec<ToRemove>,
}

/// Something sent out about a lead that carries the person's data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ToRemove {
    pub lead_id: String,
    /// In C2S: `note` (our note on the lead), `description` (of a lead we
    /// created from a Google Ads form), `tag` (the tier's tag). Elsewhere:
    /// `slack_alert`, `email_alert` (the tier's alert).
    pub what: String,
    /// When it was posted or created.
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Erases the person with `cpf`; `None` when nobody has it.
pub async fn erase(
    pool: &PgPool,
    ledger: &Ledger,
    cpf: &brazil::Cpf,
    actor: &str,
    request_id: Option<&str>,
) -> Result<Option<Erased>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some(subject) = Subject::lock_and_read(&mut tx, cpf).await? else {
        return Ok(None);
    };
    let addresses = subject.delete(&mut tx).await?;
    let own_forms = subject.scrub_linked(&mut tx).await?;
    let mut ledger_rows = subject.forget_answers(&mut tx, ledger, cpf).await?;
    // Whatever else mentions them: failed leads (never linked), other
    // people's cached answers and snapshots listing them as a relative,
    // archived rows, Google Ads forms, webhook deliveries.
    let needles = Needles::of(Some(cpf), &subject.used_phones, &subject.used_emails);
    let mentions = scrub_mentions(&mut tx, &needles, subject.entity).await?;
    ledger_rows += mentions.cached_answers;
    let mut leads_touched = subject.leads.clone();
    leads_touched.extend(mentions.leads);
    let mut forms = own_forms;
    forms.extend(mentions.forms);
    let to_remove_by_hand = sent_out(&mut tx, &leads_touched, &forms).await?;
    cancel_runs(&mut tx, &leads_touched, &forms).await?;
    let rows_removed = 1 + subject.dependent + i64::try_from(addresses).unwrap_or(i64::MAX);
    let ledger_rows_removed = i64::try_from(ledger_rows).unwrap_or(i64::MAX);
    let erasure_id = record(
        &mut tx,
        (actor, request_id),
        (rows_removed, ledger_rows_removed),
        &needles.tombstones(ledger),
    )
    .await?;
    // The request register (LGPD art. 19): an erasure done at once.
    let key = ledger.subject_hash("cpf", cpf.digits());
    let details =
        serde_json::json!({ "erasure_id": erasure_id, "to_remove_by_hand": to_remove_by_hand });
    let request_id =
        crate::store::subjects::done_request(&mut tx, "erasure", "cpf", &key, actor, Some(details))
            .await?;
    tx.commit().await?;
    Ok(Some(Erased {
        erasure_id,
        rows_removed,
        ledger_rows_removed,
        request_id,
        to_remove_by_hand,
    }))
}

type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

/// The person being erased, as read under the erasure's locks.
#[derive(Debug)]
struct Subject {
    entity: Uuid,
    phones: Vec<String>,
    emails: Vec<String>,
    leads: Vec<String>,
    /// The contacts the person used as a lead (the dossier's own lists also
    /// hold household lines and relatives' e-mails, which are not theirs to
    /// tombstone or scrub).
    used_phones: Vec<String>,
    used_emails: Vec<String>,
    /// Addresses only they used (and no property record points at).
    own_addresses: Vec<Uuid>,
    /// Their companies' CNPJs (the cached company names go with them).
    companies: Vec<String>,
    /// Rows hanging from the entity (removed with it).
    dependent: i64,
}

impl Subject {
    /// Takes the locks and reads the person; `None` when nobody has `cpf`.
    async fn lock_and_read(tx: &mut Tx, cpf: &brazil::Cpf) -> Result<Option<Self>, sqlx::Error> {
        // The store's lock on this CPF: a dossier being stored for the person
        // finishes first (and is erased with the rest), or waits and then finds
        // the tombstone ([`CpfGuard`]).
        // Erasures one at a time; an answer being recorded waits or is seen
        // (see the ledger's record of an answer).
        sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended($1, 7)), pg_advisory_xact_lock(hashtextextended($2, 7))", crate::store::ledger::ERASURE_LOCK, format!("nid:{}", cpf.digits()))
            .execute(&mut **tx)
            .await?;
        let entity: Option<Uuid> = sqlx::query_scalar!(
            "SELECT entity_id FROM core.entities WHERE national_id = $1 FOR UPDATE",
            cpf.digits()
        )
        .fetch_optional(&mut **tx)
        .await?;
        let Some(entity) = entity else {
            return Ok(None);
        };
        let own = sqlx::query!(
            r#"SELECT ARRAY(SELECT phone FROM core.entity_phones WHERE entity_id = $1) AS "phones!",
                      ARRAY(SELECT email FROM core.entity_emails WHERE entity_id = $1) AS "emails!""#,
            entity
        )
        .fetch_one(&mut **tx)
        .await?;
        // The leads linked to them, and the contacts those leads came with.
        let links = sqlx::query!(
            "SELECT lead_id, contact_phone, contact_email FROM enrich.lead_entities WHERE entity_id = $1",
            entity
        )
        .fetch_all(&mut **tx)
        .await?;
        let own_addresses: Vec<Uuid> = sqlx::query_scalar!("SELECT ea.address_id FROM core.entity_addresses ea
              WHERE ea.entity_id = $1
                AND NOT EXISTS (SELECT 1 FROM core.entity_addresses o WHERE o.address_id = ea.address_id AND o.entity_id <> $1)
                AND NOT EXISTS (SELECT 1 FROM core.properties p WHERE p.address_id = ea.address_id)", entity)
        .fetch_all(&mut **tx)
        .await?;
        let companies = companies_of(tx, entity).await?;
        let dependent: i64 = sqlx::query_scalar!("SELECT (SELECT count(*) FROM core.entity_profiles WHERE entity_id = $1)
                  + (SELECT count(*) FROM core.entity_financials WHERE entity_id = $1)
                  + (SELECT count(*) FROM core.entity_phones WHERE entity_id = $1)
                  + (SELECT count(*) FROM core.entity_emails WHERE entity_id = $1)
                  + (SELECT count(*) FROM core.entity_addresses WHERE entity_id = $1)
                  + (SELECT count(*) FROM core.entity_relationships WHERE source_entity_id = $1 OR target_entity_id = $1)
                  + (SELECT count(*) FROM enrich.enrichment_snapshots WHERE entity_id = $1)
                  + (SELECT count(*) FROM enrich.lead_entities WHERE entity_id = $1) AS \"n!\"", entity)
        .fetch_one(&mut **tx)
        .await?;
        Ok(Some(Self {
            entity,
            phones: own.phones,
            emails: own.emails,
            leads: links.iter().map(|l| l.lead_id.clone()).collect(),
            used_phones: links
                .iter()
                .filter_map(|l| l.contact_phone.clone())
                .collect(),
            used_emails: links
                .iter()
                .filter_map(|l| l.contact_email.clone())
                .collect(),
            own_addresses,
            companies,
            dependent,
        }))
    }

    /// Deletes the entity (every table hanging from it cascades) and the
    /// addresses only they used; answers how many addresses went.
    async fn delete(&self, tx: &mut Tx) -> Result<u64, sqlx::Error> {
        sqlx::query!(
            "DELETE FROM core.entities WHERE entity_id = $1",
            self.entity
        )
        .execute(&mut **tx)
        .await?;
        Ok(sqlx::query!(
            "DELETE FROM core.addresses WHERE id = ANY($1)",
            &self.own_addresses
        )
        .execute(&mut **tx)
        .await?
        .rows_affected())
    }

    /// Their leads' own records (contacts, the note's text), their Google Ads
    /// deliveries (answers, the note in the description), their webhook
    /// deliveries; answers their forms' ids.
    async fn scrub_linked(&self, tx: &mut Tx) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query!("UPDATE enrich.leads SET context = '{}'::jsonb, note_text = NULL, contact_fingerprint = NULL, last_error = NULL,
                     tier = NULL, tier_score = NULL, tier_rules = NULL, tier_reasons = NULL
              WHERE lead_id = ANY($1)", &self.leads)
        .execute(&mut **tx)
        .await?;
        let forms: Vec<String> = sqlx::query_scalar!("UPDATE enrich.google_ads_leads
                SET answers = '[]'::jsonb, context = '{}'::jsonb, description = NULL, last_error = NULL
              WHERE c2s_lead_id = ANY($1) OR context->'entity_ids' ? $2 RETURNING google_lead_id", &self.leads, self.entity.to_string())
        .fetch_all(&mut **tx)
        .await?;
        sqlx::query!("UPDATE enrich.webhook_events SET payload = '{\"erased\": true}'::jsonb WHERE lead_id = ANY($1)", &self.leads)
            .execute(&mut **tx)
            .await?;
        Ok(forms)
    }

    /// The cached provider answers for their CPF, phones and e-mails;
    /// answers how many ledger rows went.
    async fn forget_answers(
        &self,
        tx: &mut Tx,
        ledger: &Ledger,
        cpf: &brazil::Cpf,
    ) -> Result<u64, sqlx::Error> {
        let phones: Vec<brazil::PhoneBr> = self
            .phones
            .iter()
            .filter_map(|p| brazil::PhoneBr::parse(p).ok())
            .collect();
        let queries = crate::store::subjects::identifier_queries(Some(cpf), &phones, &self.emails);
        let mut hashes: Vec<Vec<u8>> = queries
            .iter()
            .map(|q| ledger.key_hash(q.kind, &q.query).to_vec())
            .collect();
        // The company names cached for their companies: an individual
        // entrepreneur's company bears the person's own name.
        hashes.extend(self.companies.iter().map(|cnpj| {
            ledger
                .key_hash(crate::store::ledger::CNPJ_COMPANY, cnpj)
                .to_vec()
        }));
        Ok(sqlx::query!(
            "DELETE FROM enrich.provider_calls WHERE key_hash = ANY($1)",
            &hashes
        )
        .execute(&mut **tx)
        .await?
        .rows_affected())
    }
}

/// The CNPJs of the person's companies.
async fn companies_of(tx: &mut Tx, entity: Uuid) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT DISTINCT o.national_id AS "cnpj!" FROM core.entity_relationships r
             JOIN core.entities o ON o.entity_id = r.target_entity_id
            WHERE r.source_entity_id = $1 AND r.relationship_category = 'company' AND o.national_id IS NOT NULL"#,
        entity
    )
    .fetch_all(&mut **tx)
    .await
}

/// What scrubbing the mentions touched.
#[derive(Debug)]
struct Mentions {
    leads: Vec<String>,
    forms: Vec<String>,
    cached_answers: u64,
}

/// Scrubs every stored text that mentions the person (`needles`).
// Longer than 70 lines on purpose: The list of stored texts an erasure scrubs, one statement each.
async fn scrub_mentions(
    tx: &mut Tx,
    needles: &Needles,
    entity: Uuid,
) -> Result<Mentions, sqlx::Error> {
    // Built at run time (one predicate per column mentioning the person), so
    // these are the store's few unchecked statements: no user text enters the
    // SQL, the patterns are bound.
    let mentioning = |column: &str| needles.sql(column);
    let leads: Vec<String> = sqlx::query_scalar(&format!(
        "UPDATE enrich.leads SET context = '{{}}'::jsonb, note_text = NULL, contact_fingerprint = NULL, last_error = NULL
          WHERE {} OR {} RETURNING lead_id",
        mentioning("context"),
        mentioning("note_text"),
    ))
    .bind(&needles.patterns)
    .fetch_all(&mut **tx)
    .await?;
    // Their Google Ads forms: answers gone, and a form not yet turned into a
    // C2S lead is not (its job is cancelled; nothing is left to send).
    let forms: Vec<String> = sqlx::query_scalar(&format!(
        "UPDATE enrich.google_ads_leads SET answers = '[]'::jsonb, context = '{{}}'::jsonb, description = NULL, last_error = NULL
          WHERE {} OR {} OR {} RETURNING google_lead_id",
        mentioning("answers"),
        mentioning("context"),
        mentioning("description"),
    ))
    .bind(&needles.patterns)
    .fetch_all(&mut **tx)
    .await?;
    let mut cached_answers = 0;
    for (sql, what) in [
        (
            format!(
                "UPDATE enrich.webhook_events SET payload = '{{\"erased\": true}}'::jsonb WHERE {}",
                mentioning("payload")
            ),
            "webhook deliveries",
        ),
        (
            // Their own archived rows carry the entity id; others mention them.
            format!(
                "DELETE FROM enrich.archived_rows WHERE row_data->>'entity_id' = '{entity}' OR {}",
                mentioning("row_data")
            ),
            "archived rows",
        ),
        (
            format!(
                "DELETE FROM enrich.enrichment_snapshots WHERE {}",
                mentioning("payload")
            ),
            "snapshots",
        ),
        (
            format!(
                "DELETE FROM enrich.provider_calls WHERE response IS NOT NULL AND {}",
                mentioning("response")
            ),
            "cached answers",
        ),
    ] {
        let n = sqlx::query(&sql)
            .bind(&needles.patterns)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        tracing::debug!(rows = n, what, "erasure scrub");
        if what == "cached answers" {
            cached_answers = n;
        }
    }
    Ok(Mentions {
        leads,
        forms,
        cached_answers,
    })
}

/// What was sent out about their leads: our notes, the descriptions of the
/// leads we created from their Google Ads forms, the tier's tags and alerts
/// (read after the scrub: statuses and the created lead's id stay).
async fn sent_out(
    tx: &mut Tx,
    leads: &[String],
    forms: &[String],
) -> Result<Vec<ToRemove>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT lead_id AS "lead_id!", 'note' AS "what!", coalesce(completed_at, updated_at) AS at
             FROM enrich.leads WHERE lead_id = ANY($1) AND note_status IN ('sent', 'pending')
           UNION
           SELECT c2s_lead_id, 'description', coalesce(completed_at, updated_at)
             FROM enrich.google_ads_leads WHERE google_lead_id = ANY($2) AND c2s_lead_id IS NOT NULL
           UNION
           SELECT lead_id, CASE channel WHEN 'tag' THEN 'tag' ELSE channel || '_alert' END, sent_at
             FROM enrich.lead_deliveries WHERE lead_id = ANY($1) AND status = 'sent'
           ORDER BY 3, 1, 2"#,
        leads,
        forms
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ToRemove {
            lead_id: r.lead_id,
            what: r.what,
            at: r.at,
        })
        .collect())
}

/// Ends their leads' open jobs and forms (nothing more is done for them)
/// and takes their leads' leases: a run of theirs under way has its next
/// write (and the note) refused, so it cannot put back what this removed.
/// The lease lapses after a minute (longer than any lease renewal period);
/// later runs of the lead go on as usual, finding the tombstones.
async fn cancel_runs(tx: &mut Tx, leads: &[String], forms: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE enrich.jobs SET state = 'done', last_error = 'cancelled: the person was erased', finished_at = now(),
                locked_by = NULL, locked_until = NULL, updated_at = now()
          WHERE (lead_id = ANY($1) OR (lead_id IS NULL AND payload->>'google_lead_id' = ANY($2)))
            AND state IN ('queued', 'running')", leads, forms)
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "UPDATE enrich.leads SET lease_by = 'erasure', lease_until = now() + interval '1 minute'
          WHERE lead_id = ANY($1)",
        leads
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!("UPDATE enrich.google_ads_leads SET state = 'failed', last_error = 'cancelled: the person was erased', updated_at = now()
          WHERE google_lead_id = ANY($1) AND state IN ('pending', 'processing')", forms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records the erasure (who, which request, how much) and its tombstones;
/// answers the erasure's id.
async fn record(
    tx: &mut Tx,
    (actor, request_id): (&str, Option<&str>),
    (rows_removed, ledger_rows_removed): (i64, i64),
    tombstones: &[(&'static str, [u8; 32])],
) -> Result<i64, sqlx::Error> {
    let erasure_id: i64 = sqlx::query_scalar!("INSERT INTO enrich.erasures (actor, request_id, rows_removed, ledger_rows_removed) VALUES ($1, $2, $3, $4) RETURNING id", actor, request_id, rows_removed, ledger_rows_removed)
    .fetch_one(&mut **tx)
    .await?;
    for (kind, hash) in tombstones {
        sqlx::query!(
            "INSERT INTO enrich.erasure_tombstones (kind, key_hash, erasure_id) VALUES ($1, $2, $3)
             ON CONFLICT (kind, key_hash) DO UPDATE SET erasure_id = EXCLUDED.erasure_id",
            *kind,
            &hash[..],
            erasure_id
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(erasure_id)
}
