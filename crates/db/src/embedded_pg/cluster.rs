//! The cluster's life: initialise, start, wait, connect, stop.

use std::fs::{self, File};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::error::{io_err, EmbeddedPgError};
use super::options::EmbeddedOptions;
use super::os::{
    check, choose_data_dir, effective_uid_is_root, find_bin_dir, free_port, lookup_user,
    random_password, relocated_dir, write_private, RunAs,
};
use secrecy::{ExposeSecret, SecretString};

pub(super) const SUPERUSER: &str = "postgres";

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
