//! Why the embedded cluster could not be had, each naming the path or
//! command at fault.

use std::path::{Path, PathBuf};

/// Why the embedded PostgreSQL could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPgError {
    #[error(
        "no PostgreSQL server binaries found (looked at `pg_config --bindir` and /usr/lib/postgresql/*/bin). \
         Install them (Debian/Ubuntu: `apt-get install postgresql`) or set DATABASE_URL to an existing server"
    )]
    BinariesNotFound,
    #[error("running as root, but the user {0:?} that must run PostgreSQL does not exist; create it or set C2S_ENRICH_PG_USER")]
    NoUnprivilegedUser(String),
    #[error(
        "PostgreSQL runs as user {user:?}, which cannot reach {data_dir} because {blocking} is not traversable by it; \
         choose another directory with C2S_ENRICH_PG_DIR or run `chmod o+x {blocking}`"
    )]
    NotTraversable {
        user: String,
        data_dir: PathBuf,
        blocking: PathBuf,
    },
    #[error(
        "{path} exists but is not a directory of ours that only we can write (a link, another owner, \
         or writable by others): refusing to use it for the database; remove it or set C2S_ENRICH_PG_DIR"
    )]
    UnsafeDirectory { path: PathBuf },
    #[error("{action} failed: {detail}")]
    Command { action: String, detail: String },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub(super) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EmbeddedPgError + '_ {
    move |source| EmbeddedPgError::Io {
        path: path.to_owned(),
        source,
    }
}
