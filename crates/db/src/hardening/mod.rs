//! Rust steps of the hardening migrations (see `migrate.rs`).

use std::time::Duration;

use brazil::PhoneBr;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// The future a migration hook (a Rust step of the hardening) returns.
pub type HookFuture<'c> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + 'c>>;

pub(crate) mod convert;
pub(crate) mod shape;

pub use convert::convert_columns;

const BATCH: i64 = 2000;

/// Fills `phone_e164` for every phone that lacks a valid one (migration 7).
pub fn backfill_e164(conn: &mut PgConnection) -> HookFuture<'_> {
    Box::pin(async move {
        let mut after = None::<Uuid>;
        let (mut filled, mut archived) = (0u64, 0u64);
        loop {
            let batch = match backfill_batch(conn, after).await {
                Ok(b) => b,
                // Gave way to traffic under lock_timeout: wait, then retry the batch.
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let Some(last) = batch.last_id else { break };
            after = Some(last);
            filled += batch.filled;
            archived += batch.archived;
        }
        tracing::info!(filled, archived, "phone_e164 back-fill done");
        Ok(())
    })
}

struct BatchResult {
    last_id: Option<Uuid>,
    filled: u64,
    archived: u64,
}

async fn backfill_batch(
    conn: &mut PgConnection,
    after: Option<Uuid>,
) -> Result<BatchResult, sqlx::Error> {
    let mut tx = conn.begin().await?;
    // A NULL phone (legacy rows have them) cannot be repaired: archived, as
    // an invalid one.
    let rows: Vec<(Uuid, Option<String>)> = sqlx::query_as(
        r"SELECT id, phone FROM core.entity_phones
           WHERE (id > $1 OR $1 IS NULL) AND (phone_e164 IS NULL OR phone_e164 !~ '^\+55[1-9][1-9][0-9]{8,9}$')
           ORDER BY id LIMIT $2 FOR UPDATE",
    )
    .bind(after)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    let last_id = rows.last().map(|(id, _)| *id);
    let (mut ids, mut e164s, mut invalid) = (Vec::new(), Vec::new(), Vec::new());
    for (id, phone) in rows {
        match phone.as_deref().map(PhoneBr::parse) {
            Some(Ok(p)) => {
                ids.push(id);
                e164s.push(p.e164());
            }
            Some(Err(_)) | None => invalid.push(id),
        }
    }
    let filled = sqlx::query(
        "UPDATE core.entity_phones p
            SET metadata = coalesce(p.metadata, '{}'::jsonb) || jsonb_build_object('legacy',
                    coalesce(p.metadata->'legacy', '{}'::jsonb) || jsonb_build_object('phone_e164', p.phone_e164)),
                phone_e164 = u.e164,
                updated_at = now()
           FROM unnest($1::uuid[], $2::text[]) AS u(id, e164)
          WHERE p.id = u.id",
    )
    .bind(&ids)
    .bind(&e164s)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let archived = sqlx::query(
        "WITH moved AS (DELETE FROM core.entity_phones p WHERE p.id = ANY($1) RETURNING p.*)
         INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data)
         SELECT 'core.entity_phones', id::text, 'invalid_phone', to_jsonb(moved) FROM moved",
    )
    .bind(&invalid)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(BatchResult {
        last_id,
        filled,
        archived,
    })
}

/// Fills `year` (and `month`) of a legacy `core.entity_financials` whose
/// period was under other names (migration 3 added ours and the trigger that
/// keeps both equal; an update through the trigger fills ours), in batches.
/// Values that are not plain numbers stay NULL on our side.
pub fn backfill_financial_period(conn: &mut PgConnection) -> HookFuture<'_> {
    Box::pin(async move {
        // The mapping migration 3 applied (kept as the trigger's comment).
        let mapping: Option<Option<String>> = sqlx::query_scalar(
            "SELECT obj_description(t.oid, 'pg_trigger') FROM pg_trigger t
              WHERE t.tgname = 'c2s_financial_period' AND t.tgrelid = 'core.entity_financials'::regclass",
        )
        .fetch_optional(&mut *conn)
        .await?;
        let Some(Some(mapping)) = mapping else {
            return Ok(());
        };
        let mut columns = mapping.split(',');
        let year = columns.next().unwrap_or_default().to_owned();
        let month = columns.next().map(str::to_owned);
        let mut pending = format!(
            "(f.year IS NULL AND btrim(f.{}::text) ~ '^[0-9]{{1,4}}$')",
            quote(&year)
        );
        if let Some(month) = &month {
            pending.push_str(&format!(
                " OR (f.month IS NULL AND btrim(f.{}::text) ~ '^(0?[1-9]|1[0-2])$')",
                quote(month)
            ));
        }
        // The trigger fills ours on a no-op update.
        let sql = format!(
            "UPDATE core.entity_financials SET year = year
              WHERE id IN (SELECT f.id FROM core.entity_financials f
                            WHERE (f.id > $2 OR $2 IS NULL) AND ({pending}) ORDER BY f.id LIMIT $1)
              RETURNING id"
        );
        let filled = by_key(conn, &sql).await?;
        tracing::info!(filled, "financial period back-fill done");
        Ok(())
    })
}

pub(crate) fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// How many times a statement that gave way to traffic is tried again.
const LOCK_RETRIES: u32 = 60;

/// [`run`], tried again while it gives way to traffic (`lock_timeout`).
async fn run_retrying(conn: &mut PgConnection, sql: String) -> Result<(), sqlx::Error> {
    let mut attempt = 0;
    loop {
        match run(&mut *conn, sql.clone()).await {
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("55P03") && attempt < LOCK_RETRIES =>
            {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => return other,
        }
    }
}

/// A string as an SQL literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Runs `sql` (one batch: `LIMIT $1`, keys above `$2` — NULL for the first
/// batch, so that no key is below it, not even the nil uuid: the text reads
/// `(k > $2 OR $2 IS NULL)`, planned per execution in the migration session
/// — `RETURNING` the uuid keys changed) from the lowest key to the highest,
/// so each batch reads on from where the last stopped; waits when it gave way
/// to traffic. The rows changed.
async fn by_key(conn: &mut PgConnection, sql: &str) -> Result<u64, sqlx::Error> {
    let (mut after, mut total) = (None::<Uuid>, 0u64);
    loop {
        match sqlx::query_scalar::<_, Uuid>(sql)
            .bind(BATCH)
            .bind(after)
            .fetch_all(&mut *conn)
            .await
        {
            Ok(keys) => match keys.iter().max() {
                None => return Ok(total),
                Some(last) => {
                    after = Some(*last);
                    total += keys.len() as u64;
                }
            },
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Runs statements (simple protocol: several may be given at once).
async fn run(conn: &mut PgConnection, sql: String) -> Result<(), sqlx::Error> {
    sqlx::Executor::execute(conn, sql.as_str())
        .await
        .map(|_| ())
}
