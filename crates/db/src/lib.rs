//! The database as a thing to run: opening it (configured or embedded) and
//! migrating it. `embedded_pg` starts a private cluster, `migrate` runs the
//! migrations, `hardening` holds the online conversions they call, and `plan`
//! estimates a migration's cost before it runs.

mod config;
pub mod embedded_pg;
pub mod hardening;
pub mod migrate;
pub mod plan;

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use crate::embedded_pg::{EmbeddedOptions, EmbeddedPgError, EmbeddedPostgres};
pub use config::{mask_database_url, DatabaseConfig};

/// Name of the service's database inside the embedded cluster.
pub const EMBEDDED_DATABASE: &str = "c2s_enrich";

/// Why the database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Embedded(#[from] EmbeddedPgError),
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("invalid database URL {url}: {source}")]
    Url { url: String, source: sqlx::Error },
    #[error(transparent)]
    Migrate(#[from] crate::migrate::MigrateError),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error("background task failed: {0}")]
    Join(String),
}

/// An open database: the pool, and the embedded server if we run one (kept
/// alive as long as this value lives).
#[derive(Debug)]
pub struct Database {
    pub pool: PgPool,
    url: SecretString,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or starts the embedded cluster when unset.
    pub async fn open(config: &DatabaseConfig) -> Result<Self, DbError> {
        let (url, embedded) = match &config.url {
            Some(url) => (url.clone(), None),
            None => {
                let pg = start_embedded(config).await?;
                ensure_database(&pg.url("postgres"), EMBEDDED_DATABASE).await?;
                (pg.url(EMBEDDED_DATABASE), Some(pg))
            }
        };
        let pool = connect_pool(&url, config.max_connections).await?;
        Ok(Self {
            pool,
            url,
            embedded,
        })
    }

    /// The URL with its password masked.
    pub fn masked_url(&self) -> String {
        mask_database_url(&self.url)
    }

    /// The URL of another database on the same server.
    pub fn sibling_url(&self, database: &str) -> SecretString {
        replace_database(&self.url, database)
    }

    /// The embedded server, if one is in use.
    pub fn embedded(&self) -> Option<&EmbeddedPostgres> {
        self.embedded.as_ref()
    }

    /// Closes the pool, then stops the embedded server if we started it.
    pub async fn close(self) -> Result<(), DbError> {
        self.pool.close().await;
        if let Some(pg) = self.embedded {
            tokio::task::spawn_blocking(move || drop(pg))
                .await
                .map_err(|e| DbError::Join(e.to_string()))?;
        }
        Ok(())
    }
}

/// `url` with its database name replaced (query parameters dropped).
pub fn replace_database(url: &SecretString, database: &str) -> SecretString {
    let raw = url.expose_secret();
    let without_query = raw.split('?').next().unwrap_or(raw);
    let base = match without_query.rfind('/') {
        Some(i) if i > without_query.find("//").map_or(0, |j| j + 1) => &without_query[..i],
        _ => without_query,
    };
    SecretString::from(format!("{base}/{database}"))
}

/// One connection to the server of `admin_url`, for statements outside a pool.
async fn admin_connection(admin_url: &SecretString) -> Result<sqlx::PgConnection, DbError> {
    sqlx::PgConnection::connect_with(&connect_options(admin_url)?)
        .await
        .map_err(|source| DbError::Connect {
            url: mask_database_url(admin_url),
            source,
        })
}

/// Drops `database` (closing its sessions) and creates it empty.
pub async fn recreate_database(admin_url: &SecretString, database: &str) -> Result<(), DbError> {
    let mut conn = admin_connection(admin_url).await?;
    let quoted = database.replace('"', "\"\"");
    sqlx::query(&format!(
        "DROP DATABASE IF EXISTS \"{quoted}\" WITH (FORCE)"
    ))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    ensure_database(admin_url, database).await
}

/// Starts (or attaches to) the embedded cluster described by `config`.
pub async fn start_embedded(config: &DatabaseConfig) -> Result<EmbeddedPostgres, DbError> {
    let options = embedded_options(config);
    tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&options))
        .await
        .map_err(|e| DbError::Join(e.to_string()))?
        .map_err(DbError::from)
}

/// The embedded cluster's options as configured.
pub fn embedded_options(config: &DatabaseConfig) -> EmbeddedOptions {
    EmbeddedOptions {
        data_dir: config.embedded_dir.clone(),
        allow_relocation: !config.embedded_dir_explicit,
        user: config.embedded_user.clone(),
        settings: Vec::new(),
    }
}

fn connect_options(url: &SecretString) -> Result<PgConnectOptions, DbError> {
    url.expose_secret()
        .parse::<PgConnectOptions>()
        // Statements are reported at DEBUG (sqlx's default): the service counts
        // them (`c2s_enrich_sql_statements_total`); the default log filters
        // keep `sqlx` at `warn`, so they reach the log only when asked for.
        .map(|o| o.log_statements(tracing::log::LevelFilter::Debug))
        .map_err(|source| DbError::Url {
            url: mask_database_url(url),
            source,
        })
}

/// How long a session of ours may sit idle inside a transaction before the
/// server ends it: no code path holds a transaction across an outside call,
/// so only a bug or a stuck task can reach it, and then it must not pin locks
/// and a pool slot for ever.
pub const IDLE_IN_TRANSACTION_TIMEOUT: &str = "60s";

/// A pool on `url`, checked with one connection before returning. Every
/// session gets [`IDLE_IN_TRANSACTION_TIMEOUT`].
pub async fn connect_pool(url: &SecretString, max_connections: u32) -> Result<PgPool, DbError> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(connect_options(url)?.options([(
            "idle_in_transaction_session_timeout",
            IDLE_IN_TRANSACTION_TIMEOUT,
        )]))
        .await
        .map_err(|source| DbError::Connect {
            url: mask_database_url(url),
            source,
        })
}

/// Another pool of at most `max_connections` on the same server and
/// settings as `pool`, connecting on first use (the intake's own pool).
pub fn sibling_pool(pool: &PgPool, max_connections: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(pool.connect_options().as_ref().clone())
}

/// Creates `database` on the server of `admin_url` unless it exists.
pub async fn ensure_database(admin_url: &SecretString, database: &str) -> Result<(), DbError> {
    let mut conn = admin_connection(admin_url).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(database)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        // Identifiers cannot be bound; `database` is one of our constants or a
        // generated test name, quoted all the same.
        let created = sqlx::query(&format!(
            "CREATE DATABASE \"{}\"",
            database.replace('"', "\"\"")
        ))
        .execute(&mut conn)
        .await;
        match created {
            Ok(_) => {}
            // Another process created it between our check and our CREATE.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e.into()),
        }
    }
    conn.close().await?;
    Ok(())
}

pub use crate::migrate::MigrationStatus;

/// Applies every pending migration (default runner settings).
pub async fn migrate_up(pool: &PgPool) -> Result<(), DbError> {
    crate::migrate::up(pool, &Default::default()).await?;
    Ok(())
}

/// Reverts every migration newer than `target` (`0` reverts them all).
pub async fn migrate_down(pool: &PgPool, target: i64) -> Result<(), DbError> {
    crate::migrate::down(pool, target, &Default::default()).await?;
    Ok(())
}

/// Lists the known migrations and whether each is applied.
pub async fn migration_status(pool: &PgPool) -> Result<Vec<MigrationStatus>, DbError> {
    Ok(crate::migrate::status(pool).await?)
}

/// The database answers (a trivial query).
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(pool)
        .await
        .map(|_| ())
}

/// A database of this name exists on the server `pool` is connected to.
pub async fn database_exists(pool: &PgPool, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(pool)
        .await
}
