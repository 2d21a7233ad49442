//! The `c2s-enrich` binary as an operator runs it.

use std::process::Command;

use c2s_lab::testing::TestDb;
use secrecy::ExposeSecret;

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_c2s-enrich"));
    for var in [
        "DATABASE_URL",
        "DB_URL",
        "LOG_FORMAT",
        "RUST_LOG",
        "C2S_ENRICH_CONFIG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn every_subcommand_has_help() {
    for sub in [
        &[][..],
        &["migrate"],
        &["db-url"],
        &["db-stop"],
        &["demo"],
        &["archive"],
        &["archive", "list"],
        &["archive", "restore"],
        &["prune"],
        &["maintenance"],
        &["backfill"],
        &["sync"],
        &["subject"],
        &["subject", "export"],
        &["subject", "correct"],
        &["ropa"],
        &["user"],
        &["user", "add"],
    ] {
        let out = bin().args(sub).arg("--help").output().expect("run");
        assert!(out.status.success(), "{sub:?} --help failed");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage: c2s-enrich"),
            "{sub:?}"
        );
    }
}

#[test]
fn webhooks_subscribe_without_a_token_names_the_missing_variable() {
    let out = bin()
        .args(["webhooks", "subscribe", "--url", "https://svc.example/hook"])
        .env_remove("C2S_TOKEN")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("C2S_TOKEN"));
}

#[test]
fn backfill_refuses_a_moving_window_a_bad_notes_value_and_a_window_ending_before_it_starts() {
    for (args, expected) in [
        (&["--since", "30d"][..], "not a span back from now"),
        (&["--since", "2025-01-01", "--notes", "closed"], "--notes"),
        (
            &["--since", "2025-02-01", "--until", "2025-01-01"],
            "--until must be later than --since",
        ),
        (&["--since", "yesterday"], "--since"),
    ] {
        let out = bin().arg("backfill").args(args).output().expect("run");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_bad_variable_is_reported_by_name_with_exit_code_2() {
    let out = bin()
        .env("PORT", "eighty")
        .arg("migrate")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PORT: expected a whole number"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_with_database_url_applies_migrations_and_logs_json_without_the_password() {
    let test = TestDb::empty().await.expect("test database");
    let url = test.url().expose_secret().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        bin()
            .env("DATABASE_URL", &url)
            .env("LOG_FORMAT", "json")
            .arg("migrate")
            .output()
    })
    .await
    .expect("join")
    .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("applied"));
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v.get("level").is_some(), "{line}");
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.schema_migrations")
        .fetch_one(&test.pool)
        .await
        .expect("migrations table");
    assert!(count >= 1);
}

#[test]
fn db_url_masks_the_password_unless_asked() {
    // With DATABASE_URL set, db-url only prints: the server need not exist.
    let url = "postgres://app:hunter2@db.example:5432/core?sslmode=require";
    let out = bin()
        .env("DATABASE_URL", url)
        .arg("db-url")
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "postgres://app:***@db.example:5432/core"
    );
    let out = bin()
        .env("DATABASE_URL", url)
        .args(["db-url", "--show-password"])
        .output()
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), url);
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_commands_list_retry_and_requeue_dead_jobs() {
    let test = TestDb::migrated().await.expect("test database");
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO enrich.jobs (kind, lead_id, state, attempts, last_error) VALUES ('enrich_lead', 'l1', 'dead', 8, 'work_api: timed out') RETURNING id",
    )
    .fetch_one(&test.pool)
    .await
    .expect("dead job");
    let url = test.url().expose_secret().to_owned();
    let run = move |args: Vec<String>| {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                bin().env("DATABASE_URL", &url).args(&args).output()
            })
            .await
            .expect("join")
            .expect("run")
        }
    };
    let listed = run(vec![
        "jobs".into(),
        "list".into(),
        "--state".into(),
        "dead".into(),
    ])
    .await;
    assert!(String::from_utf8_lossy(&listed.stdout).contains("work_api: timed out"));
    let retried = run(vec!["jobs".into(), "retry".into(), id.to_string()]).await;
    assert!(
        retried.status.success(),
        "{}",
        String::from_utf8_lossy(&retried.stderr)
    );
    let again = run(vec!["jobs".into(), "retry".into(), id.to_string()]).await;
    assert_eq!(
        again.status.code(),
        Some(1),
        "a queued job cannot be retried"
    );
    let state: String = sqlx::query_scalar("SELECT state FROM enrich.jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&test.pool)
        .await
        .expect("state");
    assert_eq!(state, "queued");
    let bad = run(vec![
        "jobs".into(),
        "list".into(),
        "--state".into(),
        "zombie".into(),
    ])
    .await;
    assert_eq!(bad.status.code(), Some(1));

    // The retention prune: a dry run names what would go and removes nothing.
    sqlx::query("UPDATE enrich.jobs SET state = 'dead', finished_at = now() - interval '91 days' WHERE id = $1")
        .bind(id)
        .execute(&test.pool)
        .await
        .expect("age");
    let dry = run(vec!["prune".into(), "--dry-run".into(), "--json".into()]).await;
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&dry.stdout).expect("json");
    let dead = report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["action"] == "delete dead jobs")
        .expect("dead-jobs rule");
    assert_eq!(dead["rows"], 1);
    assert_eq!(dead["older_than_days"], 90);
    let still: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.jobs")
        .fetch_one(&test.pool)
        .await
        .expect("count");
    assert_eq!(still, 1, "a dry run deletes nothing");
    let pruned = run(vec!["prune".into()]).await;
    assert!(String::from_utf8_lossy(&pruned.stdout).contains("delete dead jobs"));
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.jobs")
        .fetch_one(&test.pool)
        .await
        .expect("count");
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_that_call_providers_name_the_missing_credentials() {
    let test = TestDb::migrated().await.expect("test database");
    let url = test.url().expose_secret().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        bin()
            .env("DATABASE_URL", &url)
            .env("C2S_TOKEN", "t")
            .args(["enrich", "9f3c2a7b5d1e4f60a8b9c0d1e2f3a4b5"])
            .output()
    })
    .await
    .expect("join")
    .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("missing provider credentials: DIRETRIX_USER, DIRETRIX_PASS, WORK_API"),
        "{stderr}"
    );
    let bad = bin()
        .args(["enrich", "../../etc"])
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/x")
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn serve_refuses_to_start_without_a_webhook_secret_unless_told_to_accept_unsigned() {
    let out = bin()
        .env_remove("WEBHOOK_SECRET")
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
        .arg("serve")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("WEBHOOK_SECRET is not set"), "{stderr}");
    assert!(stderr.contains("--allow-unsigned-webhooks"), "{stderr}");
    // Allowed knowingly: past the check (it then fails on the unreachable
    // database), with the warning logged.
    let out = bin()
        .env_remove("WEBHOOK_SECRET")
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
        .args(["serve", "--allow-unsigned-webhooks"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("WEBHOOK_SECRET is not set:"), "{all}");
    assert!(all.contains("--allow-unsigned-webhooks was given"), "{all}");
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_plan_prints_the_plan_and_fails_only_when_it_cannot_be_done() {
    let test = TestDb::empty().await.expect("test database");
    c2s_lab::testing::legacy::create(&test.pool, 30)
        .await
        .expect("legacy fixture");
    let url = test.url().expose_secret().to_owned();
    let run = |args: &'static [&'static str], extra: Option<(&'static str, &'static str)>| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            let mut cmd = bin();
            cmd.env("DATABASE_URL", &url).args(args);
            if let Some((k, v)) = extra {
                cmd.env(k, v);
            }
            cmd.output().expect("run")
        })
    };
    let out = run(&["migrate", "--plan", "--json"], None)
        .await
        .expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(plan["state"], "legacy");
    assert!(plan["tables"].as_array().is_some_and(|t| t.len() == 9));
    let out = run(&["migrate", "--plan"], None).await.expect("join");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("database: legacy") && text.contains("build concurrently:"),
        "{text}"
    );
    // Nothing was migrated.
    let applied: bool =
        sqlx::query_scalar("SELECT to_regclass('enrich.schema_migrations') IS NOT NULL")
            .fetch_one(&test.pool)
            .await
            .expect("check");
    assert!(!applied, "the plan created nothing");

    sqlx::query("ALTER TABLE core.entity_financials RENAME COLUMN year TO ano")
        .execute(&test.pool)
        .await
        .expect("rename");
    let out = run(&["migrate", "--plan"], None).await.expect("join");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot be hardened as it is") && err.contains("ano"),
        "{err}"
    );
    let out = run(
        &["migrate", "--plan"],
        Some(("HARDENING_FINANCIAL_PERIOD", "ano")),
    )
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
