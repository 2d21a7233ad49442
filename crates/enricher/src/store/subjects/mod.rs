//! The data subject's requests (LGPD art. 18/19): the register of every
//! request with its 15-day deadline, and the block (opposition) that holds
//! like an erasure tombstone until lifted. A person is named here only by a
//! keyed hash of the identifier given.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::store::ledger::{CallKind, Ledger};

pub mod corrections;
pub mod gather;
mod rows;

/// How the person was named in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    Cpf(brazil::Cpf),
    Phone(brazil::PhoneBr),
    Email(brazil::Email),
}

impl Identifier {
    /// `cpf`, `phone` or `email` (as the tombstones).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Cpf(_) => "cpf",
            Self::Phone(_) => "phone",
            Self::Email(_) => "email",
        }
    }

    /// The keyed hash, normalised as the tombstones' (CPF digits, national
    /// phone number, lower-case e-mail).
    pub fn key(&self, ledger: &Ledger) -> [u8; 32] {
        match self {
            Self::Cpf(c) => ledger.subject_hash("cpf", c.digits()),
            Self::Phone(p) => ledger.subject_hash("phone", p.national()),
            Self::Email(e) => ledger.subject_hash("email", &e.as_str().trim().to_lowercase()),
        }
    }
}

/// One registered request.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Request {
    pub id: i64,
    /// `access`, `correction`, `block`, `unblock`, `erasure`.
    pub kind: String,
    pub identifier_kind: String,
    pub received_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    /// `open`, `done`, `refused`.
    pub status: String,
    pub acted_by: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl Request {
    /// Open past its deadline.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == "open" && self.deadline < now
    }
}

/// Blocks the person named by `id` (opposition): recorded as a request done
/// at once by `by`. Returns the request's id and whether the block is new.
pub async fn block(
    pool: &PgPool,
    ledger: &Ledger,
    id: &Identifier,
    by: &str,
) -> Result<(i64, bool), sqlx::Error> {
    let key = id.key(ledger);
    let mut tx = pool.begin().await?;
    let request = done_request(&mut tx, "block", id.kind(), &key, by, None).await?;
    let added = sqlx::query!(
        "INSERT INTO enrich.subject_blocks (kind, key_hash, request_id) VALUES ($1, $2, $3)
         ON CONFLICT (kind, key_hash) DO NOTHING",
        id.kind(),
        &key[..],
        request
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok((request, added == 1))
}

/// Lifts a block; returns the request's id and whether a block was there.
pub async fn unblock(
    pool: &PgPool,
    ledger: &Ledger,
    id: &Identifier,
    by: &str,
) -> Result<(i64, bool), sqlx::Error> {
    let key = id.key(ledger);
    let mut tx = pool.begin().await?;
    let request = done_request(&mut tx, "unblock", id.kind(), &key, by, None).await?;
    let removed = sqlx::query!(
        "DELETE FROM enrich.subject_blocks WHERE kind = $1 AND key_hash = $2",
        id.kind(),
        &key[..]
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok((request, removed > 0))
}

/// Registers a request carried out at once (a block, an erasure), in the
/// caller's transaction, with what was done when it matters later (an
/// erasure's C2S notes to remove by hand); returns its id.
pub(crate) async fn done_request(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    kind: &str,
    identifier_kind: &str,
    key: &[u8; 32],
    by: &str,
    details: Option<serde_json::Value>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO enrich.subject_requests (kind, identifier_kind, identifier_hash, status, acted_by, completed_at, details)
         VALUES ($1, $2, $3, 'done', $4, now(), $5) RETURNING id",
        kind,
        identifier_kind,
        &key[..],
        by,
        details
    )
    .fetch_one(&mut **tx)
    .await
}

/// The register, newest first; `overdue_only`: open requests past their
/// deadline.
pub async fn requests(pool: &PgPool, overdue_only: bool) -> Result<Vec<Request>, sqlx::Error> {
    sqlx::query_as!(
        Request,
        "SELECT id, kind, identifier_kind, received_at, deadline, status, acted_by, completed_at
           FROM enrich.subject_requests
          WHERE NOT $1 OR (status = 'open' AND deadline < now())
          ORDER BY received_at DESC, id DESC
          LIMIT 1000",
        overdue_only
    )
    .fetch_all(pool)
    .await
}

/// The register as the console shows it: open requests past their deadline
/// first, then the other open ones (both by deadline), then the rest newest
/// first, at most `limit`; and how many are open and overdue in all.
pub async fn register(pool: &PgPool, limit: i64) -> Result<(Vec<Request>, i64, i64), sqlx::Error> {
    let rows = sqlx::query_as!(
        Request,
        "SELECT id, kind, identifier_kind, received_at, deadline, status, acted_by, completed_at
           FROM enrich.subject_requests
          ORDER BY (status = 'open' AND deadline < now()) DESC, (status = 'open') DESC,
                   CASE WHEN status = 'open' THEN deadline END,
                   received_at DESC, id DESC
          LIMIT $1",
        limit
    )
    .fetch_all(pool)
    .await?;
    let counts = sqlx::query!(
        r#"SELECT count(*) AS "open!", count(*) FILTER (WHERE deadline < now()) AS "overdue!"
             FROM enrich.subject_requests WHERE status = 'open'"#
    )
    .fetch_one(pool)
    .await?;
    Ok((rows, counts.open, counts.overdue))
}

/// How many requests are open past their deadline (by the partial index).
pub async fn overdue_count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM enrich.subject_requests WHERE status = 'open' AND deadline < now()"#
    )
    .fetch_one(pool)
    .await
}

/// The requests made naming any of these identifiers (keyed hashes).
pub(crate) async fn requests_of(
    pool: &PgPool,
    keys: &[Vec<u8>],
) -> Result<Vec<Request>, sqlx::Error> {
    sqlx::query_as!(
        Request,
        "SELECT id, kind, identifier_kind, received_at, deadline, status, acted_by, completed_at
           FROM enrich.subject_requests WHERE identifier_hash = ANY($1) ORDER BY received_at, id",
        keys
    )
    .fetch_all(pool)
    .await
}

/// A provider query made with one of a person's identifiers.
#[derive(Debug, Clone)]
pub(crate) struct IdentifierQuery {
    pub kind: CallKind,
    /// `cpf`, `phone` or `email`.
    pub identifier_kind: &'static str,
    /// As the pipeline sends it (CPF digits, national phone, the e-mail).
    pub query: String,
}

/// Every provider query the pipeline makes with these identifiers: the
/// dossier by CPF, discovery by phone (Diretrix, the Work API) and by e-mail
/// (Diretrix). The ledger's rows for them are found by their keyed hashes.
pub(crate) fn identifier_queries(
    cpf: Option<&brazil::Cpf>,
    phones: &[brazil::PhoneBr],
    emails: &[String],
) -> Vec<IdentifierQuery> {
    let q = |provider, module, identifier_kind, query: &str| IdentifierQuery {
        kind: CallKind {
            provider,
            module,
            credits: 0,
            dossier: module == "cpf",
        },
        identifier_kind,
        query: query.to_owned(),
    };
    let mut out: Vec<IdentifierQuery> = cpf
        .map(|c| q("work_api", "cpf", "cpf", c.digits()))
        .into_iter()
        .collect();
    for p in phones {
        out.push(q("diretrix", "phone", "phone", p.national()));
        out.push(q("work_api", "phone", "phone", p.national()));
    }
    for e in emails {
        out.push(q("diretrix", "email", "email", e));
    }
    out
}

/// Registers a request received now (`open`, deadline in 15 days); returns
/// its id.
pub async fn open_request(
    pool: &PgPool,
    ledger: &Ledger,
    kind: &str,
    id: &Identifier,
    by: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO enrich.subject_requests (kind, identifier_kind, identifier_hash, status, acted_by)
         VALUES ($1, $2, $3, 'open', $4) RETURNING id",
        kind,
        id.kind(),
        &id.key(ledger)[..],
        by
    )
    .fetch_one(pool)
    .await
}

/// Closes an open request as `done` or `refused`, with why when refused.
pub async fn close_request(
    pool: &PgPool,
    request: i64,
    status: &str,
    details: Option<serde_json::Value>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE enrich.subject_requests SET status = $2, completed_at = now(), details = coalesce($3, details)
          WHERE id = $1 AND status = 'open'",
        request,
        status,
        details
    )
    .execute(pool)
    .await?;
    Ok(())
}
