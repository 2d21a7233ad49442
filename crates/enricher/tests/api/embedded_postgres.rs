//! The embedded PostgreSQL path: initialise, start, persist, attach, stop —
//! with the real server binaries, as root (dropping to `postgres`) or not.

use std::os::unix::fs::PermissionsExt;

use c2s_enrich::db::embedded_pg::{EmbeddedOptions, EmbeddedPostgres};
use secrecy::ExposeSecret;
use sqlx::Connection;

fn options(dir: &std::path::Path) -> EmbeddedOptions {
    EmbeddedOptions {
        data_dir: dir.join("pg"),
        allow_relocation: false,
        user: "postgres".into(),
        settings: vec![("fsync".into(), "off".into())],
    }
}

async fn query_one(url: &secrecy::SecretString, sql: &str) -> Result<String, sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(url.expose_secret()).await?;
    let value: String = sqlx::query_scalar(sql).fetch_one(&mut conn).await?;
    conn.close().await?;
    Ok(value)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_embedded_cluster_starts_keeps_its_data_across_restarts_and_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    // When we are root the server runs as `postgres`, which must traverse the dir.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let opts = options(dir.path());

    let first = {
        let o = opts.clone();
        tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&o))
            .await
            .expect("join")
            .expect("start")
    };
    let url = first.url("postgres");
    let mut conn = sqlx::PgConnection::connect(url.expose_secret())
        .await
        .expect("connect");
    sqlx::raw_sql("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
        .execute(&mut conn)
        .await
        .expect("write");
    conn.close().await.expect("close");

    // The password lives beside the data dir, private to its owner.
    let pw = std::fs::metadata(dir.path().join("pg.password")).expect("password file");
    assert_eq!(
        pw.permissions().mode() & 0o077,
        0,
        "password file must not be readable by others"
    );

    // A second start while running attaches instead of starting another server.
    let attached = {
        let o = opts.clone();
        tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&o))
            .await
            .expect("join")
            .expect("attach")
    };
    assert_eq!(attached.port(), first.port());
    drop(attached); // not the owner: must not stop the server
    assert_eq!(
        query_one(&url, "SELECT v FROM kept")
            .await
            .expect("still up"),
        "still here"
    );

    let port = first.port();
    tokio::task::spawn_blocking(move || drop(first))
        .await
        .expect("stop");
    assert!(
        query_one(&url, "SELECT 'x'").await.is_err(),
        "server on port {port} should be stopped after the owner is dropped"
    );
    let o = opts.clone();
    let none = tokio::task::spawn_blocking(move || EmbeddedPostgres::attach(&o))
        .await
        .expect("join");
    assert!(
        none.expect("attach").is_none(),
        "attach reports a stopped cluster as absent"
    );

    // Restart: same data, same password.
    let again = {
        let o = opts.clone();
        tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&o))
            .await
            .expect("join")
            .expect("restart")
    };
    let url = again.url("postgres");
    assert_eq!(
        query_one(&url, "SELECT v FROM kept")
            .await
            .expect("data kept"),
        "still here"
    );
    tokio::task::spawn_blocking(move || again.stop())
        .await
        .expect("join")
        .expect("explicit stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_dir_holding_foreign_files_is_refused_rather_than_wiped() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::create_dir_all(dir.path().join("pg")).expect("mkdir");
    std::fs::write(dir.path().join("pg").join("notes.txt"), "mine").expect("write");
    let opts = options(dir.path());
    let err = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&opts))
        .await
        .expect("join")
        .expect_err("must refuse");
    assert!(
        err.to_string().contains("not a PostgreSQL data directory"),
        "{err}"
    );
    assert!(dir.path().join("pg").join("notes.txt").exists());
}
