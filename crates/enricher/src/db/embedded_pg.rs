//! A private PostgreSQL cluster for running without `DATABASE_URL`.
//!
//! Uses the PostgreSQL binaries installed on the machine (`pg_config --bindir`,
//! else the newest `/usr/lib/postgresql/*/bin`), keeps its data under a
//! directory of ours, listens on 127.0.0.1 on a free port with a random
//! password (stored in the data directory, mode 0600), and is stopped when the
//! handle that started it is dropped. PostgreSQL refuses to run as root, so when
//! we are root `initdb` and the server run as an unprivileged user (default
//! `postgres`) that owns the data directory. See docs/adr/0002-embedded-postgres.md.

use std::fs::{self, File};
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use secrecy::{ExposeSecret, SecretString};

const SUPERUSER: &str = "postgres";

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

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EmbeddedPgError + '_ {
    move |source| EmbeddedPgError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The OS identity the server runs under.
#[derive(Debug, Clone)]
struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
}

/// A running embedded cluster. Dropping the handle stops the server if this
/// handle started it (a server found already running is left running).
#[derive(Debug)]
pub struct EmbeddedPostgres {
    data_dir: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    password: SecretString,
    run_as: Option<RunAs>,
    owned: bool,
}

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

impl EmbeddedPostgres {
    /// Starts (initialising if needed) the cluster, or attaches to it if it is
    /// already running. Blocking: call from `spawn_blocking` in async code.
    pub fn start(options: &EmbeddedOptions) -> Result<Self, EmbeddedPgError> {
        let bin_dir = find_bin_dir()?;
        let run_as = if effective_uid_is_root() {
            Some(lookup_user(&options.user)?)
        } else {
            None
        };
        let data_dir = choose_data_dir(options, run_as.as_ref())?;
        let lock_path = data_dir.with_extension("lock");
        let lock = File::create(&lock_path).map_err(io_err(&lock_path))?;
        // Serialises initdb/start between processes sharing the directory.
        lock.lock().map_err(io_err(&lock_path))?;

        let mut pg = Self {
            data_dir,
            bin_dir,
            port: 0,
            password: SecretString::from(String::new()),
            run_as,
            owned: false,
        };
        if !pg.data_dir.join("PG_VERSION").exists() {
            pg.prepare_empty_data_dir()?;
            pg.init()?;
        }
        pg.password = pg.read_password()?;
        if let Some(port) = pg.running_port() {
            tracing::info!(data_dir = %pg.data_dir.display(), port, "embedded PostgreSQL already running; attaching");
            pg.port = port;
            return Ok(pg);
        }
        pg.launch(&options.settings)?;
        pg.owned = true;
        Ok(pg)
    }

    /// Attaches to a cluster that is already running (for `db-stop`), looking
    /// where [`EmbeddedPostgres::start`] would have put it.
    pub fn attach(options: &EmbeddedOptions) -> Result<Option<Self>, EmbeddedPgError> {
        let bin_dir = find_bin_dir()?;
        let wanted = std::path::absolute(&options.data_dir).map_err(io_err(&options.data_dir))?;
        let relocated = relocated_dir(&wanted);
        let data_dir = if wanted.join("PG_VERSION").exists() {
            wanted
        } else if options.allow_relocation && relocated.join("PG_VERSION").exists() {
            relocated
        } else {
            return Ok(None);
        };
        let mut pg = Self {
            data_dir: data_dir.clone(),
            bin_dir,
            port: 0,
            password: SecretString::from(String::new()),
            run_as: None,
            owned: false,
        };
        pg.run_as = if effective_uid_is_root() {
            let owner = fs::metadata(&data_dir).map_err(io_err(&data_dir))?;
            Some(RunAs {
                name: format!("uid {}", owner.uid()),
                uid: owner.uid(),
                gid: owner.gid(),
            })
        } else {
            None
        };
        pg.password = pg.read_password()?;
        match pg.running_port() {
            Some(port) => {
                pg.port = port;
                Ok(Some(pg))
            }
            None => Ok(None),
        }
    }

    /// Keeps the server running after this handle is dropped.
    pub fn detach(mut self) {
        self.owned = false;
    }

    /// The data directory actually used.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connection URL for `database` (contains the password: keep it secret).
    pub fn url(&self, database: &str) -> SecretString {
        SecretString::from(format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password.expose_secret(),
            self.port
        ))
    }

    /// Stops the server now (fast shutdown), whoever started it.
    pub fn stop(mut self) -> Result<(), EmbeddedPgError> {
        self.owned = false;
        self.pg_ctl_stop()
    }

    /// Stops the server, waits `downtime`, and starts it again on the same
    /// port with the same settings (`pg_ctl restart` reuses `postmaster.opts`):
    /// a database that goes away and comes back, for the reliability harness.
    pub fn bounce(&self, downtime: std::time::Duration) -> Result<(), EmbeddedPgError> {
        self.pg_ctl_stop()?;
        std::thread::sleep(downtime);
        let log = self.data_dir.join("server.log");
        let out = self.run(
            Command::new(self.bin_dir.join("pg_ctl"))
                .arg("restart")
                .arg("-D")
                .arg(&self.data_dir)
                .arg("-l")
                .arg(&log)
                .args(["-m", "fast", "-w", "-t", "60"]),
            "pg_ctl restart",
        )?;
        check(out, "pg_ctl restart")
    }

    fn pg_ctl_stop(&self) -> Result<(), EmbeddedPgError> {
        let out = self.run(
            Command::new(self.bin_dir.join("pg_ctl"))
                .arg("stop")
                .arg("-D")
                .arg(&self.data_dir)
                .args(["-m", "fast", "-w", "-t", "60"]),
            "pg_ctl stop",
        )?;
        check(out, "pg_ctl stop")
    }

    /// A directory without PG_VERSION is an interrupted initdb (or never used):
    /// refuse to touch one holding anything else than initdb's own files.
    fn prepare_empty_data_dir(&self) -> Result<(), EmbeddedPgError> {
        if !self.data_dir.exists() {
            return Ok(());
        }
        let leftovers = fs::read_dir(&self.data_dir)
            .map_err(io_err(&self.data_dir))?
            .count();
        if leftovers > 0
            && !self.data_dir.join("global").exists()
            && !self.data_dir.join("base").exists()
        {
            return Err(EmbeddedPgError::Command {
                action: "initdb".into(),
                detail: format!(
                    "{} is not empty and is not a PostgreSQL data directory; move it away or choose another C2S_ENRICH_PG_DIR",
                    self.data_dir.display()
                ),
            });
        }
        self.clean_failed_init()
    }

    fn init(&self) -> Result<(), EmbeddedPgError> {
        tracing::info!(data_dir = %self.data_dir.display(), "initialising embedded PostgreSQL cluster");
        fs::create_dir_all(&self.data_dir).map_err(io_err(&self.data_dir))?;
        fs::set_permissions(&self.data_dir, fs::Permissions::from_mode(0o700))
            .map_err(io_err(&self.data_dir))?;
        self.give_to_server_user(&self.data_dir)?;
        let password = random_password();
        let pw_path = self.password_path();
        write_private(&pw_path, password.expose_secret())?;
        self.give_to_server_user(&pw_path)?;
        let mut first_try = true;
        loop {
            let mut cmd = Command::new(self.bin_dir.join("initdb"));
            cmd.arg("-D")
                .arg(&self.data_dir)
                .args(["-U", SUPERUSER, "-E", "UTF8", "--auth=scram-sha-256"])
                .arg(format!("--pwfile={}", pw_path.display()));
            if first_try {
                cmd.arg("--locale=C.UTF-8");
            } else {
                cmd.arg("--no-locale");
            }
            let out = self.run(&mut cmd, "initdb")?;
            if out.status.success() {
                return Ok(());
            }
            if !first_try {
                return check(out, "initdb");
            }
            // The C.UTF-8 locale is missing on some systems: retry with plain C.
            first_try = false;
            self.clean_failed_init()?;
        }
    }

    fn clean_failed_init(&self) -> Result<(), EmbeddedPgError> {
        for entry in fs::read_dir(&self.data_dir).map_err(io_err(&self.data_dir))? {
            let path = entry.map_err(io_err(&self.data_dir))?.path();
            let removed = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            removed.map_err(io_err(&path))?;
        }
        Ok(())
    }

    /// Beside the data directory (initdb wants an empty one), mode 0600.
    fn password_path(&self) -> PathBuf {
        self.data_dir.with_extension("password")
    }

    fn launch(&mut self, settings: &[(String, String)]) -> Result<(), EmbeddedPgError> {
        let mut last_error = None;
        for _ in 0..3 {
            let port = free_port().map_err(io_err(&self.data_dir))?;
            let mut options =
                format!("-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories=''");
            for (k, v) in settings {
                options.push_str(&format!(" -c {k}={v}"));
            }
            let log = self.data_dir.join("server.log");
            let out = self.run(
                Command::new(self.bin_dir.join("pg_ctl"))
                    .arg("start")
                    .arg("-D")
                    .arg(&self.data_dir)
                    .arg("-l")
                    .arg(&log)
                    .args(["-w", "-t", "60", "-o", &options]),
                "pg_ctl start",
            )?;
            match check(out, "pg_ctl start") {
                Ok(()) => {
                    self.port = port;
                    tracing::info!(port, data_dir = %self.data_dir.display(), "embedded PostgreSQL started");
                    return Ok(());
                }
                // Another process may have taken the port between our probe and
                // the server's bind: try another.
                Err(e) => last_error = Some(e),
            }
        }
        let tail = fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default();
        let tail: Vec<&str> = tail.lines().rev().take(5).collect();
        Err(last_error.unwrap_or_else(|| EmbeddedPgError::Command {
            action: "pg_ctl start".into(),
            detail: tail.join(" | "),
        }))
    }

    /// The port of the running server, from `postmaster.pid`, if it is alive.
    fn running_port(&self) -> Option<u16> {
        let out = self
            .run(
                Command::new(self.bin_dir.join("pg_ctl"))
                    .arg("status")
                    .arg("-D")
                    .arg(&self.data_dir),
                "pg_ctl status",
            )
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let pid_file = fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    fn read_password(&self) -> Result<SecretString, EmbeddedPgError> {
        let path = self.password_path();
        let text = fs::read_to_string(&path).map_err(io_err(&path))?;
        Ok(SecretString::from(text.trim().to_owned()))
    }

    fn give_to_server_user(&self, path: &Path) -> Result<(), EmbeddedPgError> {
        if let Some(user) = &self.run_as {
            std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid)).map_err(io_err(path))?;
        }
        Ok(())
    }

    fn run(&self, cmd: &mut Command, action: &str) -> Result<Output, EmbeddedPgError> {
        if let Some(user) = &self.run_as {
            cmd.uid(user.uid).gid(user.gid).current_dir(&self.data_dir);
        }
        cmd.env("LC_ALL", "C.UTF-8").env_remove("PGDATA");
        cmd.output().map_err(|e| EmbeddedPgError::Command {
            action: action.to_owned(),
            detail: e.to_string(),
        })
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if self.owned {
            match self.pg_ctl_stop() {
                Ok(()) => {
                    tracing::info!(data_dir = %self.data_dir.display(), "embedded PostgreSQL stopped")
                }
                Err(e) => tracing::warn!(error = %e, "could not stop embedded PostgreSQL"),
            }
        }
    }
}

fn check(out: Output, action: &str) -> Result<(), EmbeddedPgError> {
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

fn effective_uid_is_root() -> bool {
    // The owner of /proc/self is the process's effective uid.
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn lookup_user(name: &str) -> Result<RunAs, EmbeddedPgError> {
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
fn choose_data_dir(
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
fn secure_private_dir(dir: &Path) -> Result<(), EmbeddedPgError> {
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
fn relocated_dir(wanted: &Path) -> PathBuf {
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
fn first_untraversable(dir: &Path, user: &RunAs) -> Option<PathBuf> {
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

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn random_password() -> SecretString {
    // Two v4 UUIDs: 244 bits from the OS generator, hex only (safe in URLs).
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    SecretString::from(format!("{a}{b}"))
}

fn write_private(path: &Path, contents: &str) -> Result<(), EmbeddedPgError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temp_fallback_is_refused_when_someone_prepared_it() {
        let shared = tempfile::tempdir().expect("tmp");
        // Fresh: created private to us.
        let fresh = shared.path().join("fresh");
        secure_private_dir(&fresh).expect("created");
        assert_eq!(fs::metadata(&fresh).expect("meta").mode() & 0o777, 0o755);
        secure_private_dir(&fresh).expect("ours, reused");
        // A link planted where the directory would be (to a place root
        // would then write into): refused, and the target left alone.
        let target = shared.path().join("target");
        fs::create_dir(&target).expect("target");
        fs::set_permissions(&target, fs::Permissions::from_mode(0o700)).expect("chmod");
        let link = shared.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(matches!(
            secure_private_dir(&link),
            Err(EmbeddedPgError::UnsafeDirectory { .. })
        ));
        assert_eq!(fs::metadata(&target).expect("meta").mode() & 0o777, 0o700);
        // A directory anyone can write into: refused.
        let open = shared.path().join("open");
        fs::create_dir(&open).expect("open");
        fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).expect("chmod");
        assert!(secure_private_dir(&open).is_err());
        // The fallback's name carries the user's id.
        let uid = fs::metadata("/proc/self").expect("self").uid();
        let name = relocated_dir(Path::new("/root/x/pg"));
        assert!(name
            .to_string_lossy()
            .contains(&format!("c2s-enrich-pg-{uid}-")));
    }
}
