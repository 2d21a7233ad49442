//! The golden record of a person, read from `core.*` (never from a provider),
//! and the audit of who read it.

use sqlx::PgPool;
use uuid::Uuid;

use super::pii_audit::{AuditEntry, AuditError, AuditLog};

/// How a customer was looked up (the audit keeps the kind, not the value):
/// the data subject's identifier.
pub use super::subjects::Identifier as CustomerQuery;

/// Masking rules of the golden record: the person asked for is shown in full
/// (the reader holds `read:pii`); third parties are not what was asked for,
/// so a relative's CPF is masked (`***.456.789-**`) — name and relation stay.
/// Companies' CNPJs are public registry data and stay.
pub fn apply_masking(record: &mut serde_json::Value) {
    if let Some(relatives) = record.get_mut("relatives").and_then(|r| r.as_array_mut()) {
        for r in relatives {
            if let Some(nid) = r.get_mut("national_id") {
                let masked = nid
                    .as_str()
                    .and_then(|s| brazil::Cpf::parse(s).ok())
                    .map_or_else(|| "***".to_owned(), |c| c.masked());
                *nid = serde_json::Value::String(masked);
            }
        }
    }
}

/// Who reads personal data, for the audit.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub key_name: &'a str,
    pub endpoint: &'a str,
    pub request_id: &'a str,
}

/// The golden-record statement (for plan checks).
pub const GOLDEN_RECORD_SQL: &str = include_str!("sql/golden_record.sql");

/// The golden records of the people matching `query` (newest enrichment
/// first) with their entity ids, masking rules applied. One read-only
/// statement; nothing is recorded: personal data read here must be audited
/// by the caller — the API's reads go through [`read_audited`]; the lookup
/// benchmark's floor is the one other reader.
pub async fn read_unaudited(
    pool: &PgPool,
    query: &CustomerQuery,
) -> Result<Vec<(Uuid, serde_json::Value)>, sqlx::Error> {
    let value = match query {
        CustomerQuery::Cpf(c) => c.digits().to_owned(),
        CustomerQuery::Phone(p) => p.e164(),
        CustomerQuery::Email(e) => e.as_str().to_owned(),
    };
    let rows = sqlx::query_file!("src/store/sql/golden_record.sql", query.kind(), value,)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut record = r.record;
            apply_masking(&mut record);
            (r.entity_id, record)
        })
        .collect())
}

/// The golden records of the people matching `query` (`None`: an identifier
/// nobody can have, of `kind`), recorded in the audit — one row per person
/// read, one without a person when nobody matched — before they are
/// returned: a read whose audit row cannot be committed fails.
pub async fn read_audited(
    pool: &PgPool,
    audit: &AuditLog,
    query: Option<&CustomerQuery>,
    kind: &'static str,
    reader: &Reader<'_>,
) -> Result<Vec<serde_json::Value>, AuditError> {
    let found = match query {
        Some(q) => read_unaudited(pool, q).await?,
        None => Vec::new(),
    };
    let accessed_at = chrono::Utc::now();
    let entry = |entity_id| AuditEntry {
        key_name: reader.key_name.to_owned(),
        endpoint: reader.endpoint.to_owned(),
        query_kind: kind,
        entity_id,
        request_id: reader.request_id.to_owned(),
        accessed_at,
    };
    let entries = if found.is_empty() {
        vec![entry(None)]
    } else {
        found.iter().map(|(id, _)| entry(Some(*id))).collect()
    };
    audit.record(entries).await?;
    Ok(found.into_iter().map(|(_, record)| record).collect())
}

/// One audit row.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct AuditRow {
    pub accessed_at: chrono::DateTime<chrono::Utc>,
    pub key_name: String,
    pub endpoint: String,
    pub query_kind: String,
    pub entity_id: Option<Uuid>,
    pub request_id: String,
}

/// Audit rows since `since`, oldest first.
pub async fn audit_since(
    pool: &PgPool,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query_as!(AuditRow, "SELECT accessed_at, key_name, endpoint, query_kind, entity_id, request_id FROM enrich.pii_access_audit
          WHERE accessed_at >= $1 ORDER BY accessed_at, id", since)
    .fetch_all(pool)
    .await
}
