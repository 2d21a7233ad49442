//! API keys: `c2se_<prefix>_<secret>`, shown once; stored as SHA-256 (the secret
//! is 128 random bits, so a fast hash is enough), found by prefix, compared in
//! constant time, with scopes `enrich`, `read:pii`, `admin`.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// What a key may do.
pub const SCOPES: [&str; 3] = ["enrich", "read:pii", "admin"];

/// A key as listed (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ApiKeyInfo {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Why a key could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("unknown scope {0:?}; scopes are enrich, read:pii, admin")]
    UnknownScope(String),
    #[error("at least one scope is required")]
    NoScope,
    #[error("a key must have a name")]
    NoName,
    #[error("an active key named {0:?} already exists; revoke it first")]
    NameTaken(String),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

fn random_hex(bytes: usize) -> String {
    (0..bytes.div_ceil(16))
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect::<String>()
        .chars()
        .take(bytes * 2)
        .collect()
}

/// Creates a key; returns its info and the key, which is never shown again.
pub async fn create(
    pool: &PgPool,
    name: &str,
    scopes: &[String],
) -> Result<(ApiKeyInfo, String), ApiKeyError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiKeyError::NoName);
    }
    if scopes.is_empty() {
        return Err(ApiKeyError::NoScope);
    }
    if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(ApiKeyError::UnknownScope(bad.clone()));
    }
    let prefix = random_hex(4);
    let secret = random_hex(16);
    let key = format!("c2se_{prefix}_{secret}");
    let inserted = sqlx::query_as!(
        ApiKeyInfo,
        "INSERT INTO enrich.api_keys (name, prefix, key_hash, scopes) VALUES ($1, $2, $3, $4)
         RETURNING id, name, prefix, scopes, created_at, last_used_at, revoked_at",
        name,
        &prefix,
        hash(&key),
        scopes
    )
    .fetch_one(pool)
    .await;
    match inserted {
        Ok(info) => Ok((info, key)),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("uq_api_keys_active_name") => {
            Err(ApiKeyError::NameTaken(name.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Every key, newest first.
pub async fn list(pool: &PgPool) -> Result<Vec<ApiKeyInfo>, sqlx::Error> {
    sqlx::query_as!(ApiKeyInfo, "SELECT id, name, prefix, scopes, created_at, last_used_at, revoked_at FROM enrich.api_keys ORDER BY id DESC")
        .fetch_all(pool)
        .await
}

/// Revokes the active key named `name`; `false` if there is none.
pub async fn revoke(pool: &PgPool, name: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query!(
        "UPDATE enrich.api_keys SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL",
        name
    )
    .execute(pool)
    .await?
    .rows_affected()
        > 0)
}

/// The active key matching `presented`, if any (and marks it used: `last_used_at`
/// is kept to the minute).
pub async fn verify(pool: &PgPool, presented: &str) -> Result<Option<ApiKeyInfo>, sqlx::Error> {
    let Some(prefix) = presented
        .strip_prefix("c2se_")
        .and_then(|r| r.split('_').next())
        .filter(|p| p.len() == 8)
    else {
        return Ok(None);
    };
    let given = hash(presented);
    // One round trip: the key by its prefix, and — when the hash matches —
    // its last use recorded, at most once a minute (not a write per request).
    let row = sqlx::query!(
        r#"WITH k AS (
               SELECT id, name, prefix, scopes, created_at, last_used_at, revoked_at, key_hash
                 FROM enrich.api_keys WHERE prefix = $1 AND revoked_at IS NULL),
           touched AS (
               UPDATE enrich.api_keys a SET last_used_at = now()
                 FROM k WHERE a.id = k.id AND k.key_hash = $2
                  AND (a.last_used_at IS NULL OR a.last_used_at < now() - interval '1 minute'))
           SELECT id AS "id!", name AS "name!", prefix AS "prefix!", scopes AS "scopes!",
                  created_at AS "created_at!", last_used_at, revoked_at, key_hash AS "key_hash!"
             FROM k"#,
        prefix,
        &given[..]
    )
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    // The stored hash compared again here, in constant time.
    let equal = r.key_hash.len() == given.len()
        && r.key_hash
            .iter()
            .zip(&given)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !equal {
        return Ok(None);
    }
    let info = ApiKeyInfo {
        id: r.id,
        name: r.name,
        prefix: r.prefix,
        scopes: r.scopes,
        created_at: r.created_at,
        last_used_at: r.last_used_at,
        revoked_at: r.revoked_at,
    };
    Ok(Some(info))
}

/// Keys verified in the last `ttl`, so a busy client's requests do not each
/// ask the database (ADR 0010). Only keys that verified are kept (a new key
/// works at once; a wrong one is asked about every time, and rate-limited per
/// client address). The price: a key revoked elsewhere (`keys revoke` is
/// another process) still works on a running server until its entry ages
/// out — `API_KEY_CACHE_SECS`, default 5; 0 asks the database every time.
#[derive(Debug)]
pub struct KeyCache {
    ttl: std::time::Duration,
    entries: std::sync::Mutex<std::collections::HashMap<Vec<u8>, (ApiKeyInfo, std::time::Instant)>>,
}

/// Verified keys kept at most (a deployment has a handful).
const KEY_CACHE_ENTRIES: usize = 256;

impl Default for KeyCache {
    fn default() -> Self {
        Self::new(std::time::Duration::from_secs(5))
    }
}

impl KeyCache {
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl,
            entries: std::sync::Mutex::default(),
        }
    }

    /// As [`verify`], answered from the cache while the key's entry is fresh.
    pub async fn verify(
        &self,
        pool: &PgPool,
        presented: &str,
    ) -> Result<Option<ApiKeyInfo>, sqlx::Error> {
        if self.ttl.is_zero() {
            return verify(pool, presented).await;
        }
        let given = hash(presented);
        let now = std::time::Instant::now();
        if let Some((info, _)) = self
            .lock()
            .get(&given)
            .filter(|(_, at)| now.duration_since(*at) < self.ttl)
        {
            return Ok(Some(info.clone()));
        }
        let found = verify(pool, presented).await?;
        if let Some(info) = &found {
            let mut entries = self.lock();
            entries.retain(|_, (_, at)| now.duration_since(*at) < self.ttl);
            if entries.len() >= KEY_CACHE_ENTRIES {
                entries.clear();
            }
            entries.insert(given, (info.clone(), now));
        }
        Ok(found)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<Vec<u8>, (ApiKeyInfo, std::time::Instant)>,
    > {
        // A panic while holding it leaves nothing half-written: entries are
        // whole values.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
