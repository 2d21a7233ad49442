//! The machine under the cluster: PostgreSQL's binaries, the unprivileged
//! user it runs as when we are root, a data directory that user can reach,
//! a free port, private files.

use std::fs::{self};
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::error::{io_err, EmbeddedPgError};
use super::options::EmbeddedOptions;
use secrecy::SecretString;

/// The OS identity the server runs under.
#[derive(Debug, Clone)]
pub(super) struct RunAs {
    pub(super) name: String,
    pub(super) uid: u32,
    pub(super) gid: u32,
}

pub(super) fn check(out: Output, action: &str) -> Result<(), EmbeddedPgError> {
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let detail = format!("{} {}", stderr.trim(), stdout.trim());
    Err(EmbeddedPgError::Command {
        action: action.to_owned(),
        detail: detail.trim().chars().take(2000).collect(),
    })
}

/// Finds the directory holding `initdb`, `pg_ctl` and `postgres`.
pub fn find_bin_dir() -> Result<PathBuf, EmbeddedPgError> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server(&dir) {
            return Ok(dir);
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, dir)| has_server(dir))
        .collect();
    candidates.sort();
    candidates
        .pop()
        .map(|(_, dir)| dir)
        .ok_or(EmbeddedPgError::BinariesNotFound)
}

pub(super) fn effective_uid_is_root() -> bool {
    // The owner of /proc/self is the process's effective uid.
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

pub(super) fn lookup_user(name: &str) -> Result<RunAs, EmbeddedPgError> {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.len() >= 4 && fields[0] == name).then(|| {
                Some(RunAs {
                    name: name.to_owned(),
                    uid: fields[2].parse().ok()?,
                    gid: fields[3].parse().ok()?,
                })
            })?
        })
        .find(|u| u.uid != 0)
        .ok_or_else(|| EmbeddedPgError::NoUnprivilegedUser(name.to_owned()))
}

/// Picks the data directory, making sure the server's user can reach it.
pub(super) fn choose_data_dir(
    options: &EmbeddedOptions,
    run_as: Option<&RunAs>,
) -> Result<PathBuf, EmbeddedPgError> {
    let wanted = std::path::absolute(&options.data_dir).map_err(io_err(&options.data_dir))?;
    let parent = wanted.parent().unwrap_or(Path::new("/")).to_owned();
    fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let Some(user) = run_as else {
        return Ok(wanted);
    };
    match first_untraversable(&parent, user) {
        None => Ok(wanted),
        Some(blocking) if options.allow_relocation => {
            let fallback = relocated_dir(&wanted);
            tracing::warn!(
                wanted = %wanted.display(), using = %fallback.display(), blocking = %blocking.display(),
                "the PostgreSQL user cannot reach the default data directory; using another (set C2S_ENRICH_PG_DIR to choose)"
            );
            let fb_parent = fallback.parent().unwrap_or(Path::new("/")).to_owned();
            secure_private_dir(&fb_parent)?;
            Ok(fallback)
        }
        Some(blocking) => Err(EmbeddedPgError::NotTraversable {
            user: user.name.clone(),
            data_dir: wanted,
            blocking,
        }),
    }
}

/// Creates `dir` (mode 0755, never following a link), or accepts it only when
/// it is a real directory owned by us that nobody else can write: the
/// fallback lives in a shared temp dir, where anyone could have prepared the
/// name first (a link to somewhere root would then write or chmod).
pub(super) fn secure_private_dir(dir: &Path) -> Result<(), EmbeddedPgError> {
    use std::os::unix::fs::DirBuilderExt;
    let ours = fs::metadata("/proc/self")
        .map(|m| m.uid())
        .map_err(io_err(Path::new("/proc/self")))?;
    match fs::DirBuilder::new().mode(0o755).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err(dir)(e)),
    }
    // `symlink_metadata`: the entry itself, not what a link points at.
    let meta = fs::symlink_metadata(dir).map_err(io_err(dir))?;
    let safe = meta.file_type().is_dir() && meta.uid() == ours && meta.mode() & 0o022 == 0;
    if safe {
        Ok(())
    } else {
        Err(EmbeddedPgError::UnsafeDirectory {
            path: dir.to_owned(),
        })
    }
}

/// A stable per-directory, per-user fallback under the system temp dir.
pub(super) fn relocated_dir(wanted: &Path) -> PathBuf {
    // FNV-1a: stable across runs and Rust versions, unlike DefaultHasher.
    let hash = wanted
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
    let uid = fs::metadata("/proc/self").map_or(0, |m| m.uid());
    std::env::temp_dir()
        .join(format!("c2s-enrich-pg-{uid}-{hash:016x}"))
        .join("pg")
}

/// The first ancestor (from the root down) that `user` cannot traverse.
pub(super) fn first_untraversable(dir: &Path, user: &RunAs) -> Option<PathBuf> {
    let mut chain: Vec<&Path> = dir.ancestors().collect();
    chain.reverse();
    chain.into_iter().find_map(|p| {
        let meta = fs::metadata(p).ok()?;
        let mode = meta.mode();
        let ok = (meta.uid() == user.uid && mode & 0o100 != 0)
            || (meta.gid() == user.gid && mode & 0o010 != 0)
            || mode & 0o001 != 0;
        (!ok).then(|| p.to_owned())
    })
}

pub(super) fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub(super) fn random_password() -> SecretString {
    // Two v4 UUIDs: 244 bits from the OS generator, hex only (safe in URLs).
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    SecretString::from(format!("{a}{b}"))
}

pub(super) fn write_private(path: &Path, contents: &str) -> Result<(), EmbeddedPgError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err(path))?;
    f.write_all(contents.as_bytes()).map_err(io_err(path))
}
