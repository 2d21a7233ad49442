//! Where the customer database is, and how its URL is shown.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

/// Where the customer database is.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `DATABASE_URL` / `DB_URL`; `None` means the embedded PostgreSQL.
    pub url: Option<SecretString>,
    /// Data directory of the embedded PostgreSQL (`C2S_ENRICH_PG_DIR`).
    pub embedded_dir: PathBuf,
    /// Whether `embedded_dir` was chosen by the user (no silent relocation then).
    pub embedded_dir_explicit: bool,
    /// OS user that runs the embedded PostgreSQL when we are root (`C2S_ENRICH_PG_USER`).
    pub embedded_user: String,
    /// Pool size (`DB_MAX_CONNECTIONS`).
    pub max_connections: u32,
    /// The intake's own pool (`DB_INTAKE_CONNECTIONS`): webhooks are recorded
    /// through it, so they answer whatever the workers hold.
    pub intake_connections: u32,
}

/// `postgres://user:***@host:port/db` — the URL with its password hidden.
pub fn mask_database_url(url: &SecretString) -> String {
    let raw = url.expose_secret();
    let Some((scheme, rest)) = raw.split_once("://") else {
        return "<invalid database URL>".to_owned();
    };
    // Shown only when the URL parser's reading accounts for every `@` (one
    // for the user information, none elsewhere) and the database name is
    // plain: otherwise a password holding `@`, `/`, `?` or `#` unencoded
    // could be read as host, port or path, and a piece of it printed.
    let hidden = format!("{scheme}://<hidden: not an unambiguous URL>");
    let Ok(parsed) = url::Url::parse(raw) else {
        return hidden;
    };
    let user = parsed.username();
    let has_userinfo = !user.is_empty() || parsed.password().is_some();
    let database = parsed.path().trim_start_matches('/');
    if rest.matches('@').count() != usize::from(has_userinfo)
        || database.contains(['/', '@', ':', '?', '#'])
    {
        return hidden;
    }
    let userinfo = match (user.is_empty(), parsed.password().is_some()) {
        (_, true) => format!("{user}:***@"),
        (false, false) => format!("{user}@"),
        (true, false) => String::new(),
    };
    let host = parsed.host_str().unwrap_or_default();
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{scheme}://{userinfo}{host}{port}/{database}")
}
