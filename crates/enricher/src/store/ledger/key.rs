//! The ledger's HMAC key: generated once and kept in the database, checked
//! against the fingerprint recorded with the hashes it made.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;

/// HMAC-SHA256 with `key` (HMAC takes keys of any length, so this cannot fail).
pub(super) fn keyed_mac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

/// Why the ledger cannot start.
#[derive(Debug, thiserror::Error)]
pub enum LedgerKeyError {
    #[error("ledger database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error(
        "LEDGER_HASH_KEY does not match the key this database's ledger was written with \
         (fingerprint {stored}, this key {given}): with it, cached answers and erasure \
         tombstones would not be found (paying again, and an erased person coming back). \
         Use the original key"
    )]
    WrongKey { stored: String, given: String },
}

/// Records the key's fingerprint on first use; refuses a different key later.
pub(super) async fn check_fingerprint(pool: &PgPool, key: &[u8]) -> Result<(), LedgerKeyError> {
    let mut mac = keyed_mac(key);
    mac.update(b"c2s-enrich ledger key fingerprint");
    let given: String = mac.finalize().into_bytes()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    sqlx::query!("INSERT INTO enrich.settings (name, value) VALUES ('ledger_key_fingerprint', $1) ON CONFLICT (name) DO NOTHING", &given)
        .execute(pool)
        .await?;
    let stored: String = sqlx::query_scalar!(
        "SELECT value FROM enrich.settings WHERE name = 'ledger_key_fingerprint'"
    )
    .fetch_one(pool)
    .await?;
    if stored == given {
        Ok(())
    } else {
        Err(LedgerKeyError::WrongKey { stored, given })
    }
}

pub(super) async fn stored_key(pool: &PgPool) -> Result<Vec<u8>, sqlx::Error> {
    let fresh = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    sqlx::query!("INSERT INTO enrich.settings (name, value) VALUES ('ledger_hash_key', $1) ON CONFLICT (name) DO NOTHING", &fresh)
        .execute(pool)
        .await?;
    let key: String =
        sqlx::query_scalar!("SELECT value FROM enrich.settings WHERE name = 'ledger_hash_key'")
            .fetch_one(pool)
            .await?;
    Ok(key.into_bytes())
}
