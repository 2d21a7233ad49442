//! The console's users and sessions: passwords hashed with Argon2id (the
//! `argon2` crate's defaults, OWASP's minimum: 19 MiB, 2 passes), a lock-out
//! after repeated failures, sessions kept as the SHA-256 of a random token
//! with their form token (CSRF), idle expiry and an absolute end.

use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// What a user may do in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Figures and leads, personal data masked.
    Viewer,
    /// As a viewer, and retries and note re-sends (the API's `enrich`).
    Operator,
    /// Everything, personal data in clear (`enrich`, `read:pii`, `admin`).
    Admin,
}

impl Role {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "viewer" => Ok(Self::Viewer),
            "operator" => Ok(Self::Operator),
            "admin" => Ok(Self::Admin),
            other => Err(format!("unknown role {other:?}: viewer, operator or admin")),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }

    /// The API scopes the role holds.
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Self::Viewer => &[],
            Self::Operator => &["enrich"],
            Self::Admin => &["enrich", "read:pii", "admin"],
        }
    }

    pub fn can(self, scope: &str) -> bool {
        self.scopes().contains(&scope)
    }
}

/// How sessions and logins are bounded.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// A session unused this long is over.
    pub idle: Duration,
    /// A session is over this long after the login, used or not.
    pub absolute: Duration,
    /// Failed logins in a row before the account is locked.
    pub max_failures: i32,
    /// How long a lock lasts.
    pub lockout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 3600),
            max_failures: 5,
            lockout: Duration::from_secs(15 * 60),
        }
    }
}

/// A user as listed (never the hash).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// Why a user could not be added.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("the name must be 2 to 63 characters: lower-case letters, digits, '.', '_' or '-'")]
    BadName,
    #[error("the password must have at least 12 characters")]
    WeakPassword,
    #[error("a user with this name exists")]
    Exists,
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    (2..=63).contains(&name.len())
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

/// Argon2id's PHC string for `password`.
fn hash_password(password: &str) -> Result<String, UserError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UserError::Hash(e.to_string()))
}

/// Adds a user.
pub async fn add(pool: &PgPool, name: &str, role: Role, password: &str) -> Result<i64, UserError> {
    if !valid_name(name) {
        return Err(UserError::BadName);
    }
    if password.chars().count() < 12 {
        return Err(UserError::WeakPassword);
    }
    let hash = hash_password(password)?;
    sqlx::query_scalar!(
        "INSERT INTO enrich.console_users (name, role, password_hash) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING RETURNING id",
        name,
        role.as_str(),
        hash
    )
    .fetch_optional(pool)
    .await?
    .ok_or(UserError::Exists)
}

/// Every user, by name.
pub async fn list(pool: &PgPool) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        "SELECT id, name, role, created_at, last_login_at, locked_until, disabled_at
           FROM enrich.console_users ORDER BY name"
    )
    .fetch_all(pool)
    .await
}

/// Disables a user and ends their sessions; `false` when there is no such
/// user.
pub async fn disable(pool: &PgPool, name: &str) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let id: Option<i64> = sqlx::query_scalar!(
        "UPDATE enrich.console_users SET disabled_at = coalesce(disabled_at, now()) WHERE name = $1 RETURNING id",
        name
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = id {
        sqlx::query!("DELETE FROM enrich.console_sessions WHERE user_id = $1", id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(id.is_some())
}

/// What a login attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// A new session: the cookie's token (shown once) and the user.
    Ok { token: String, user: SessionUser },
    /// Wrong name or password, or a locked or disabled login (which one is
    /// not said).
    Refused,
}

/// The user a session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The token every form of this session carries.
    pub csrf: String,
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// 256 random bits, in hex (session and form tokens).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A password to hand out: 20 characters from an alphabet without look-alikes
/// (about 116 bits).
pub fn generated_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..20)
        .map(|_| ALPHABET[(OsRng.next_u32() as usize) % ALPHABET.len()] as char)
        .collect()
}

/// Argon2 hashing at a time (each takes ~20 MiB and tens of milliseconds of
/// a core): logins wait their turn instead of starving the runtime.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// A hash nobody's password matches: an unknown or locked name costs the same
/// verification as a known one.
static DUMMY: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&generated_password()).unwrap_or_default());

/// Whether `password` matches the PHC string, off the async runtime.
async fn verify(phc: String, password: &str) -> bool {
    let Ok(_turn) = HASHING.acquire().await else {
        return false;
    };
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// Checks a login; on success opens a session. The attempt is counted
/// before the password is checked (parallel guesses cannot pass the limit);
/// the limit reached locks the account, a lock that ended starts the count
/// again, a success clears it. An unknown, disabled or locked name costs the
/// same check and reads the same as a wrong password.
pub async fn login(
    pool: &PgPool,
    policy: &Policy,
    name: &str,
    password: &str,
) -> Result<Login, sqlx::Error> {
    let row = sqlx::query!(
        "UPDATE enrich.console_users
            SET failed_logins = (CASE WHEN locked_until IS NOT NULL THEN 0 ELSE failed_logins END) + 1,
                locked_until = CASE WHEN (CASE WHEN locked_until IS NOT NULL THEN 0 ELSE failed_logins END) + 1 >= $2
                                    THEN now() + make_interval(secs => $3) END
          WHERE name = $1 AND disabled_at IS NULL AND (locked_until IS NULL OR locked_until <= now())
        RETURNING id, role, password_hash",
        name,
        policy.max_failures,
        policy.lockout.as_secs_f64()
    )
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        verify(DUMMY.clone(), password).await;
        return Ok(Login::Refused);
    };
    if !verify(row.password_hash, password).await {
        return Ok(Login::Refused);
    }
    let role = Role::parse(&row.role).unwrap_or(Role::Viewer);
    let token = random_token();
    let csrf = random_token();
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "UPDATE enrich.console_users SET failed_logins = 0, locked_until = NULL, last_login_at = now() WHERE id = $1",
        row.id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO enrich.console_sessions (token_hash, user_id, csrf_token, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
        token_hash(&token),
        row.id,
        csrf,
        policy.absolute.as_secs_f64()
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Login::Ok {
        token,
        user: SessionUser {
            id: row.id,
            name: name.to_owned(),
            role,
            csrf,
        },
    })
}

/// Lifts a lock and enables a disabled login; `false` when there is no such
/// user.
pub async fn unlock(pool: &PgPool, name: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query!(
        "UPDATE enrich.console_users SET failed_logins = 0, locked_until = NULL, disabled_at = NULL WHERE name = $1",
        name
    )
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

/// The user of a live session, its use recorded; `None` when the token is
/// unknown, the session idle too long or past its end, or the user disabled
/// (an ended session is deleted).
pub async fn session(
    pool: &PgPool,
    policy: &Policy,
    token: &str,
) -> Result<Option<SessionUser>, sqlx::Error> {
    let hash = token_hash(token);
    let row = sqlx::query!(
        r#"UPDATE enrich.console_sessions s SET last_seen_at = now()
             FROM enrich.console_users u
            WHERE s.token_hash = $1 AND u.id = s.user_id AND u.disabled_at IS NULL
              AND s.expires_at > now() AND s.last_seen_at > now() - make_interval(secs => $2)
        RETURNING u.id, u.name, u.role, s.csrf_token"#,
        hash,
        policy.idle.as_secs_f64()
    )
    .fetch_optional(pool)
    .await?;
    match row {
        Some(r) => Ok(Some(SessionUser {
            id: r.id,
            name: r.name,
            role: Role::parse(&r.role).unwrap_or(Role::Viewer),
            csrf: r.csrf_token,
        })),
        None => {
            logout(pool, token).await?;
            Ok(None)
        }
    }
}

/// Ends a session.
pub async fn logout(pool: &PgPool, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM enrich.console_sessions WHERE token_hash = $1",
        token_hash(token)
    )
    .execute(pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roles_and_hashes() {
        assert!(valid_name("ana.souza"));
        assert!(
            !valid_name("Ana")
                && !valid_name("a")
                && !valid_name("-ana")
                && !valid_name("ana souza")
        );
        assert_eq!(Role::parse("operator"), Ok(Role::Operator));
        assert!(Role::parse("root").is_err());
        assert!(
            Role::Admin.can("read:pii")
                && !Role::Operator.can("read:pii")
                && Role::Operator.can("enrich")
        );
        assert!(Role::Viewer.scopes().is_empty());
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        let parsed = PasswordHash::new(&h).expect("phc");
        assert!(Argon2::default()
            .verify_password(b"correct horse battery", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"wrong", &parsed)
            .is_err());
    }
}
