//! How the embedded cluster is asked for.

use std::path::PathBuf;

/// Options for [`EmbeddedPostgres::start`].
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Data directory (created if missing).
    pub data_dir: PathBuf,
    /// If the data directory is unreachable by the unprivileged user and was not
    /// chosen explicitly, use a directory under the system temp dir instead.
    pub allow_relocation: bool,
    /// The unprivileged OS user when running as root.
    pub user: String,
    /// Extra `-c name=value` server settings (tests turn off fsync).
    pub settings: Vec<(String, String)>,
}
