//! Erasing a person (LGPD): the entity and everything hanging from it, the
//! addresses only they used, their snapshots and lead links, the personal data
//! kept in the leads' processing state, notes and webhook payloads, the
//! cached provider answers for their CPF, phones and e-mails — and anything
//! else that mentions them: failed leads' records, archived rows, Google Ads
//! answers, other people's cached dossiers and snapshots listing them — in one
//! transaction, with their open jobs cancelled. Relatives and shared
//! addresses survive; a record without personal data remains.
//!
//! The erasure then *holds*: tombstones keep the CPF, phones and e-mails as
//! keyed hashes, and a later lead with those contacts makes no provider call
//! and stores nothing about the person ([`is_erased_subject`]).

use sqlx::PgPool;
use uuid::Uuid;

use crate::store::ledger::{CallKind, Ledger};

/// What an erasure removed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Erased {
    pub erasure_id: i64,
    pub rows_removed: i64,
    pub ledger_rows_removed: i64,
}

fn kind(provider: &'static str, module: &'static str, dossier: bool) -> CallKind {
    CallKind {
        provider,
        module,
        credits: 0,
        dossier,
    }
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
    // The store's lock on this CPF: a dossier being stored for the person
    // finishes first (and is erased with the rest), or waits and then finds
    // the tombstone ([`CpfGuard`]).
    // Erasures one at a time; an answer being recorded waits or is seen
    // (see the ledger's record of an answer).
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7)), pg_advisory_xact_lock(hashtextextended($2, 7))")
        .bind(crate::store::ledger::ERASURE_LOCK)
        .bind(format!("nid:{}", cpf.digits()))
        .execute(&mut *tx)
        .await?;
    let entity: Option<Uuid> =
        sqlx::query_scalar("SELECT entity_id FROM core.entities WHERE national_id = $1 FOR UPDATE")
            .bind(cpf.digits())
            .fetch_optional(&mut *tx)
            .await?;
    let Some(entity) = entity else {
        return Ok(None);
    };
    let phones: Vec<String> =
        sqlx::query_scalar("SELECT phone FROM core.entity_phones WHERE entity_id = $1")
            .bind(entity)
            .fetch_all(&mut *tx)
            .await?;
    let emails: Vec<String> =
        sqlx::query_scalar("SELECT email FROM core.entity_emails WHERE entity_id = $1")
            .bind(entity)
            .fetch_all(&mut *tx)
            .await?;
    let leads: Vec<String> =
        sqlx::query_scalar("SELECT lead_id FROM enrich.lead_entities WHERE entity_id = $1")
            .bind(entity)
            .fetch_all(&mut *tx)
            .await?;
    // The contacts the person used as a lead (the dossier's own lists also
    // hold household lines and relatives' e-mails, which are not theirs to
    // tombstone or scrub).
    let used: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT contact_phone, contact_email FROM enrich.lead_entities WHERE entity_id = $1",
    )
    .bind(entity)
    .fetch_all(&mut *tx)
    .await?;
    let used_phones: Vec<String> = used.iter().filter_map(|(p, _)| p.clone()).collect();
    let used_emails: Vec<String> = used.iter().filter_map(|(_, e)| e.clone()).collect();
    let own_addresses: Vec<Uuid> = sqlx::query_scalar(
        "SELECT ea.address_id FROM core.entity_addresses ea
          WHERE ea.entity_id = $1
            AND NOT EXISTS (SELECT 1 FROM core.entity_addresses o WHERE o.address_id = ea.address_id AND o.entity_id <> $1)
            AND NOT EXISTS (SELECT 1 FROM core.properties p WHERE p.address_id = ea.address_id)",
    )
    .bind(entity)
    .fetch_all(&mut *tx)
    .await?;
    let dependent: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM core.entity_profiles WHERE entity_id = $1)
              + (SELECT count(*) FROM core.entity_financials WHERE entity_id = $1)
              + (SELECT count(*) FROM core.entity_phones WHERE entity_id = $1)
              + (SELECT count(*) FROM core.entity_emails WHERE entity_id = $1)
              + (SELECT count(*) FROM core.entity_addresses WHERE entity_id = $1)
              + (SELECT count(*) FROM core.entity_relationships WHERE source_entity_id = $1 OR target_entity_id = $1)
              + (SELECT count(*) FROM enrich.enrichment_snapshots WHERE entity_id = $1)
              + (SELECT count(*) FROM enrich.lead_entities WHERE entity_id = $1)",
    )
    .bind(entity)
    .fetch_one(&mut *tx)
    .await?;
    // Every table hanging from the entity cascades.
    sqlx::query("DELETE FROM core.entities WHERE entity_id = $1")
        .bind(entity)
        .execute(&mut *tx)
        .await?;
    let addresses = sqlx::query("DELETE FROM core.addresses WHERE id = ANY($1)")
        .bind(&own_addresses)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    // The leads' own records hold the person's contacts and the note's text.
    sqlx::query(
        "UPDATE enrich.leads SET context = '{}'::jsonb, note_text = NULL, contact_fingerprint = NULL, last_error = NULL
          WHERE lead_id = ANY($1)",
    )
    .bind(&leads)
    .execute(&mut *tx)
    .await?;
    // Google Ads deliveries: the form's answers, the note in the description.
    sqlx::query(
        "UPDATE enrich.google_ads_leads
            SET answers = '[]'::jsonb, context = '{}'::jsonb, description = NULL, last_error = NULL
          WHERE c2s_lead_id = ANY($1) OR context->'entity_ids' ? $2",
    )
    .bind(&leads)
    .bind(entity.to_string())
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE enrich.webhook_events SET payload = '{\"erased\": true}'::jsonb WHERE lead_id = ANY($1)")
        .bind(&leads)
        .execute(&mut *tx)
        .await?;
    let mut queries: Vec<(CallKind, String)> =
        vec![(kind("work_api", "cpf", true), cpf.digits().to_owned())];
    for p in phones.iter().filter_map(|p| brazil::PhoneBr::parse(p).ok()) {
        queries.push((kind("diretrix", "phone", false), p.national().to_owned()));
        queries.push((kind("work_api", "phone", false), p.national().to_owned()));
    }
    for e in &emails {
        queries.push((kind("diretrix", "email", false), e.clone()));
    }
    let hashes: Vec<Vec<u8>> = queries
        .iter()
        .map(|(k, q)| ledger.key_hash(*k, q).to_vec())
        .collect();
    let mut ledger_rows = sqlx::query("DELETE FROM enrich.provider_calls WHERE key_hash = ANY($1)")
        .bind(&hashes)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    // Whatever else mentions them: failed leads (never linked), other
    // people's cached answers and snapshots listing them as a relative,
    // archived rows, Google Ads forms, webhook deliveries.
    let needles = Needles::of(cpf, &used_phones, &used_emails);
    let mentioning = |column: &str| needles.sql(column);
    let scrubbed_leads: Vec<String> = sqlx::query_scalar(&format!(
        "UPDATE enrich.leads SET context = '{{}}'::jsonb, note_text = NULL, contact_fingerprint = NULL, last_error = NULL
          WHERE {} OR {} RETURNING lead_id",
        mentioning("context"),
        mentioning("note_text"),
    ))
    .bind(&needles.patterns)
    .fetch_all(&mut *tx)
    .await?;
    // Their Google Ads forms: answers gone, and a form not yet turned into a
    // C2S lead is not (its job is cancelled below; nothing is left to send).
    let scrubbed_forms: Vec<String> = sqlx::query_scalar(&format!(
        "UPDATE enrich.google_ads_leads SET answers = '[]'::jsonb, context = '{{}}'::jsonb, description = NULL, last_error = NULL
          WHERE {} OR {} OR {} RETURNING google_lead_id",
        mentioning("answers"),
        mentioning("context"),
        mentioning("description"),
    ))
    .bind(&needles.patterns)
    .fetch_all(&mut *tx)
    .await?;
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
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tracing::debug!(rows = n, what, "erasure scrub");
        if what == "cached answers" {
            ledger_rows += n;
        }
    }
    // Their leads' open jobs end: nothing more is done for them.
    let mut leads_touched = leads.clone();
    leads_touched.extend(scrubbed_leads);
    sqlx::query(
        "UPDATE enrich.jobs SET state = 'done', last_error = 'cancelled: the person was erased', finished_at = now(),
                locked_by = NULL, locked_until = NULL, updated_at = now()
          WHERE (lead_id = ANY($1) OR (lead_id IS NULL AND payload->>'google_lead_id' = ANY($2)))
            AND state IN ('queued', 'running')",
    )
    .bind(&leads_touched)
    .bind(&scrubbed_forms)
    .execute(&mut *tx)
    .await?;
    // A run of theirs under way loses its lead lease now: its next write
    // (and the note) is refused, so it cannot put back what this removed.
    // The lease lapses after a minute (longer than any lease renewal period);
    // later runs of the lead go on as usual, finding the tombstones.
    sqlx::query(
        "UPDATE enrich.leads SET lease_by = 'erasure', lease_until = now() + interval '1 minute'
          WHERE lead_id = ANY($1)",
    )
    .bind(&leads_touched)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE enrich.google_ads_leads SET state = 'failed', last_error = 'cancelled: the person was erased', updated_at = now()
          WHERE google_lead_id = ANY($1) AND state IN ('pending', 'processing')",
    )
    .bind(&scrubbed_forms)
    .execute(&mut *tx)
    .await?;
    let rows_removed = 1 + dependent + i64::try_from(addresses).unwrap_or(i64::MAX);
    let tombstones = needles.tombstones(ledger);
    let ledger_rows_removed = i64::try_from(ledger_rows).unwrap_or(i64::MAX);
    let erasure_id: i64 = sqlx::query_scalar(
        "INSERT INTO enrich.erasures (actor, request_id, rows_removed, ledger_rows_removed) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(actor)
    .bind(request_id)
    .bind(rows_removed)
    .bind(ledger_rows_removed)
    .fetch_one(&mut *tx)
    .await?;
    for (kind, hash) in &tombstones {
        sqlx::query(
            "INSERT INTO enrich.erasure_tombstones (kind, key_hash, erasure_id) VALUES ($1, $2, $3)
             ON CONFLICT (kind, key_hash) DO UPDATE SET erasure_id = EXCLUDED.erasure_id",
        )
        .bind(*kind)
        .bind(&hash[..])
        .bind(erasure_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Some(Erased {
        erasure_id,
        rows_removed,
        ledger_rows_removed,
    }))
}

/// What identifies the person in stored text, as case-insensitive regular
/// expressions with boundaries, so that nothing else matches: the CPF's
/// digits however punctuated; each phone they used, national digits however
/// written (`(11) 98765-4321`, `+55 11 98765 4321`), never inside a longer
/// number; each e-mail they used, whole (`ana@x.com` is not in
/// `joana@x.com` nor in `ana@x.com.br`). Only values that parse become
/// needles: junk in legacy rows can never match everything.
struct Needles {
    patterns: Vec<String>,
    cpf: String,
    phones: Vec<String>,
    emails: Vec<String>,
}

/// Digits with any punctuation between them, not inside a longer number.
fn digits_pattern(digits: &str, country_prefix: bool) -> String {
    const SEP: &str = "[[:space:].()-]*";
    let body: Vec<String> = digits.chars().map(|c| c.to_string()).collect();
    let prefix = if country_prefix {
        format!("(\\+?55{SEP})?")
    } else {
        String::new()
    };
    format!("(^|[^0-9]){prefix}{}($|[^0-9])", body.join(SEP))
}

fn email_pattern(email: &str) -> String {
    let escaped: String = email
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '@' || c == '_' || c == '%' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect();
    format!("(^|[^a-z0-9._%+-]){escaped}(?![a-z0-9_%+-]|\\.[a-z0-9])")
}

impl Needles {
    fn of(cpf: &brazil::Cpf, phones: &[String], emails: &[String]) -> Self {
        let mut phones: Vec<String> = phones
            .iter()
            .filter_map(|p| brazil::PhoneBr::parse(p).ok())
            .map(|p| p.national().to_owned())
            .collect();
        phones.sort();
        phones.dedup();
        let mut emails: Vec<String> = emails
            .iter()
            .filter_map(|e| brazil::Email::parse(e).ok())
            .map(|e| e.as_str().to_lowercase())
            .collect();
        emails.sort();
        emails.dedup();
        let mut patterns = vec![digits_pattern(cpf.digits(), false)];
        patterns.extend(phones.iter().map(|p| digits_pattern(p, true)));
        patterns.extend(emails.iter().map(|e| email_pattern(e)));
        Self {
            patterns,
            cpf: cpf.digits().to_owned(),
            phones,
            emails,
        }
    }

    /// `column` mentions the person (`$1`: the patterns).
    fn sql(&self, column: &str) -> String {
        format!(
            "({column} IS NOT NULL AND EXISTS (SELECT 1 FROM unnest($1::text[]) r WHERE {column}::text ~* r))"
        )
    }

    fn tombstones(&self, ledger: &Ledger) -> Vec<(&'static str, [u8; 32])> {
        let mut t = vec![("cpf", ledger.subject_hash("cpf", &self.cpf))];
        t.extend(
            self.phones
                .iter()
                .map(|p| ("phone", ledger.subject_hash("phone", p))),
        );
        t.extend(
            self.emails
                .iter()
                .map(|e| ("email", ledger.subject_hash("email", e))),
        );
        t
    }
}

/// Whether a lead's contacts belong to an erased person (a tombstone
/// matches): then nothing is looked up or stored for them.
pub async fn is_erased_subject(
    pool: &PgPool,
    ledger: &Ledger,
    cpf: Option<&brazil::Cpf>,
    phones: &[brazil::PhoneBr],
    email: Option<&brazil::Email>,
) -> Result<bool, sqlx::Error> {
    let mut kinds = Vec::new();
    let mut hashes = Vec::new();
    if let Some(c) = cpf {
        kinds.push("cpf");
        hashes.push(ledger.subject_hash("cpf", c.digits()).to_vec());
    }
    for p in phones {
        kinds.push("phone");
        hashes.push(ledger.subject_hash("phone", p.national()).to_vec());
    }
    if let Some(e) = email {
        kinds.push("email");
        hashes.push(
            ledger
                .subject_hash("email", &e.as_str().trim().to_lowercase())
                .to_vec(),
        );
    }
    if hashes.is_empty() {
        return Ok(false);
    }
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM enrich.erasure_tombstones t
                          JOIN unnest($1::text[], $2::bytea[]) AS q(kind, key_hash) USING (kind, key_hash))",
    )
    .bind(&kinds)
    .bind(&hashes)
    .fetch_one(pool)
    .await
}

/// The keyed hashes of a dossier's CPFs (the person's and their relatives'),
/// checked against the tombstones inside the store's transaction, after its
/// locks: an erasure that committed while the dossier was being fetched
/// cannot be undone by storing it.
#[derive(Debug, Clone, Default)]
pub struct CpfGuard {
    keys: Vec<(brazil::Cpf, Vec<u8>)>,
}

impl CpfGuard {
    /// The guard for these CPFs.
    pub fn of<'a>(ledger: &Ledger, cpfs: impl IntoIterator<Item = &'a brazil::Cpf>) -> Self {
        let keys = cpfs
            .into_iter()
            .map(|c| (c.clone(), ledger.subject_hash("cpf", c.digits()).to_vec()))
            .collect();
        Self { keys }
    }

    /// The guard for `dossier`'s CPFs.
    pub fn for_dossier(ledger: &Ledger, dossier: &crate::domain::dossier::Dossier) -> Self {
        Self::of(
            ledger,
            std::iter::once(&dossier.cpf).chain(dossier.relatives.iter().map(|r| &r.cpf)),
        )
    }

    /// The guarded CPFs that were erased.
    pub(crate) async fn erased<'e, E: sqlx::PgExecutor<'e>>(
        &self,
        executor: E,
    ) -> Result<Vec<brazil::Cpf>, sqlx::Error> {
        if self.keys.is_empty() {
            return Ok(Vec::new());
        }
        let hashes: Vec<&[u8]> = self.keys.iter().map(|(_, h)| h.as_slice()).collect();
        let hit: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT key_hash FROM enrich.erasure_tombstones WHERE kind = 'cpf' AND key_hash = ANY($1)",
        )
        .bind(&hashes)
        .fetch_all(executor)
        .await?;
        Ok(self
            .keys
            .iter()
            .filter(|(_, h)| hit.contains(h))
            .map(|(c, _)| c.clone())
            .collect())
    }
}

/// Which of `cpfs` belong to erased people (their dossiers are not bought,
/// nothing about them is stored).
pub async fn erased_cpfs(
    pool: &PgPool,
    ledger: &Ledger,
    cpfs: &[brazil::Cpf],
) -> Result<Vec<brazil::Cpf>, sqlx::Error> {
    CpfGuard::of(ledger, cpfs).erased(pool).await
}
