//! A private PostgreSQL cluster for running without `DATABASE_URL`.
//!
//! Uses the PostgreSQL binaries installed on the machine (`pg_config --bindir`,
//! else the newest `/usr/lib/postgresql/*/bin`), keeps its data under a
//! directory of ours, listens on 127.0.0.1 on a free port with a random
//! password (stored in the data directory, mode 0600), and is stopped when the
//! handle that started it is dropped. PostgreSQL refuses to run as root, so when
//! we are root `initdb` and the server run as an unprivileged user (default
//! `postgres`) that owns the data directory. See docs/adr/0002-embedded-postgres.md.

mod cluster;
mod error;
mod options;
mod os;

pub use cluster::EmbeddedPostgres;
pub use error::EmbeddedPgError;
pub use options::EmbeddedOptions;
pub use os::find_bin_dir;

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::Path;

    use super::os::*;
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
