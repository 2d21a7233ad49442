//! Test support: a fresh, migrated database per test on a real PostgreSQL.
//!
//! Server choice, in order: `DATABASE_URL` (its server; a database of its own is
//! created per test), the local server on 127.0.0.1:5432 (user `postgres`, trust
//! auth), else one embedded cluster shared by the test processes of this user
//! (under the system temp dir, left running for the next run to reuse).
//! `C2S_TEST_EMBEDDED=1` forces the embedded cluster even when a server is
//! reachable, so that path is exercised on machines that have one.
//! Each [`TestDb`] drops its database when dropped; databases left behind by a
//! killed run are dropped by the next run after an hour.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};
use sqlx::{Connection, PgPool};

use c2s_enrich::db::embedded_pg::{EmbeddedOptions, EmbeddedPostgres};
use c2s_enrich::db::{self, replace_database as with_database, DbError};

pub mod fuzz;
pub mod legacy;
pub mod sandbox;
pub mod smtp;

const PREFIX: &str = "c2s_test_";
const LOCAL_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database created for one test, dropped (forcibly) when this value drops.
#[derive(Debug)]
pub struct TestDb {
    pub pool: PgPool,
    pub name: String,
    url: SecretString,
    admin_url: SecretString,
}

impl TestDb {
    /// A new database with every migration applied.
    pub async fn migrated() -> Result<Self, DbError> {
        let db = Self::empty().await?;
        db::migrate_up(&db.pool).await?;
        Ok(db)
    }

    /// A new database with nothing in it (to test migrations themselves).
    pub async fn empty() -> Result<Self, DbError> {
        let admin_url = admin_url().await?;
        drop_stale_databases(&admin_url).await;
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let name = format!(
            "{PREFIX}{stamp}_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        db::ensure_database(&admin_url, &name).await?;
        let url = with_database(&admin_url, &name);
        let pool = db::connect_pool(&url, 5).await?;
        Ok(Self {
            pool,
            name,
            url,
            admin_url,
        })
    }

    /// The URL of this test's database (with password, if any).
    pub fn url(&self) -> &SecretString {
        &self.url
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot be awaited here: use
        // a thread with its own small runtime and wait for it. The pool belongs
        // to the test's (now blocked) runtime, so it is not closed from here:
        // `WITH (FORCE)` ends its sessions server-side.
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move { drop_database(&admin, &name).await.ok() })
        });
        let _ = handle.join();
    }
}

async fn admin_url() -> Result<SecretString, DbError> {
    if let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        return Ok(with_database(&SecretString::from(url), "postgres"));
    }
    let force_embedded = std::env::var("C2S_TEST_EMBEDDED").is_ok_and(|v| v == "1");
    let local = SecretString::from(LOCAL_SERVER.to_owned());
    if !force_embedded && reachable(&local).await {
        return Ok(local);
    }
    shared_embedded_url().await
}

async fn reachable(url: &SecretString) -> bool {
    let attempt = sqlx::PgConnection::connect(url.expose_secret());
    matches!(
        tokio::time::timeout(Duration::from_secs(3), attempt).await,
        Ok(Ok(_))
    )
}

async fn shared_embedded_url() -> Result<SecretString, DbError> {
    static URL: OnceLock<SecretString> = OnceLock::new();
    if let Some(url) = URL.get() {
        return Ok(url.clone());
    }
    let options = EmbeddedOptions {
        data_dir: std::env::temp_dir().join("c2s-enrich-test-pg").join("pg"),
        allow_relocation: false,
        user: "postgres".into(),
        // Test data is disposable: durability only costs time here.
        settings: vec![
            ("fsync".into(), "off".into()),
            ("synchronous_commit".into(), "off".into()),
            ("full_page_writes".into(), "off".into()),
        ],
    };
    let pg = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&options))
        .await
        .map_err(|e| DbError::Join(e.to_string()))??;
    let url = pg.url("postgres");
    // Shared by every test of this process and reused by later runs.
    pg.detach();
    Ok(URL.get_or_init(|| url).clone())
}

async fn drop_database(admin_url: &SecretString, name: &str) -> Result<(), sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(admin_url.expose_secret()).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    conn.close().await
}

/// Drops test databases whose embedded timestamp is more than an hour old.
async fn drop_stale_databases(admin_url: &SecretString) {
    static DONE: OnceLock<()> = OnceLock::new();
    if DONE.set(()).is_err() {
        return;
    }
    let Ok(mut conn) = sqlx::PgConnection::connect(admin_url.expose_secret()).await else {
        return;
    };
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'c2s\\_test\\_%'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap_or_default();
    let _ = conn.close().await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for name in names {
        let stamp = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|s| s.parse::<u64>().ok());
        if stamp.is_some_and(|s| now.saturating_sub(s) > 3600) {
            let _ = drop_database(admin_url, &name).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_keeping_credentials_and_host() {
        let u = SecretString::from("postgres://u:p@h:5432/app?sslmode=disable".to_owned());
        assert_eq!(
            with_database(&u, "x").expose_secret(),
            "postgres://u:p@h:5432/x"
        );
        let u = SecretString::from("postgres://h".to_owned());
        assert_eq!(with_database(&u, "x").expose_secret(), "postgres://h/x");
    }
}

/// Log lines captured by [`capture_logs`].
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every log event (all levels, JSON lines) of the current thread
/// while the guard lives, so a test can assert nothing secret was logged. Use
/// with a current-thread runtime.
pub fn capture_logs() -> (tracing::subscriber::DefaultGuard, CapturedLogs) {
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    // Callsites first hit before this subscriber existed cached "not interested".
    tracing::callsite::rebuild_interest_cache();
    (guard, logs)
}

/// The text of a provider fixture in the repository's `fixtures/` folder.
pub fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// The HTTP API running on a free local port for one test; stops when dropped.
#[derive(Debug)]
pub struct ServedApp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Starts the API with `state` on 127.0.0.1:0.
pub async fn serve_app(state: c2s_enrich::http::AppState) -> std::io::Result<ServedApp> {
    serve_built(c2s_enrich::http::Application::build(state, "127.0.0.1", 0).await?)
}

/// The metrics listener (`/metrics`) on a free loopback port.
pub async fn serve_metrics(state: c2s_enrich::http::AppState) -> std::io::Result<ServedApp> {
    serve_built(c2s_enrich::http::Application::build_metrics(state, "127.0.0.1:0").await?)
}

/// Runs a bound application until the returned value is dropped.
pub fn serve_built(app: c2s_enrich::http::Application) -> std::io::Result<ServedApp> {
    let base = format!("http://{}", app.local_addr()?);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    Ok(ServedApp { base, _stop: tx })
}

/// The tables of `core`, `ref` and `enrich` whose rows mention `needle`
/// anywhere (case-insensitive, as text), with counts: proof that an erasure
/// left nothing behind.
pub async fn occurrences(pool: &PgPool, needle: &str) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables
          WHERE table_schema IN ('core', 'ref', 'enrich') AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_default();
    let mut found = Vec::new();
    for t in tables {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {t} x WHERE x::text ILIKE '%' || $1 || '%'"
        ))
        .bind(needle)
        .fetch_one(pool)
        .await
        .unwrap_or(-1);
        if n != 0 {
            found.push(format!("{t} ({n})"));
        }
    }
    found
}
