//! `c2s-enrich dq`: fails on a legacy database, passes once it is hardened.

use std::process::Command;

use c2s_enrich::db::migrate::{self, MigrateOptions};
use c2s_lab::testing::{legacy, TestDb};
use secrecy::ExposeSecret;

async fn run_dq(url: String, json: bool) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_c2s-enrich"));
        cmd.env("DATABASE_URL", url).env_remove("DB_URL").arg("dq");
        if json {
            cmd.arg("--json");
        }
        cmd.output()
    })
    .await
    .expect("join")
    .expect("run dq")
}

#[tokio::test(flavor = "multi_thread")]
async fn dq_fails_on_an_unhardened_database_and_passes_after_migrate() {
    let test = TestDb::empty().await.expect("db");
    legacy::create(&test.pool, 100).await.expect("legacy");
    let url = test.url().expose_secret().to_owned();

    let out = run_dq(url.clone(), false).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for line in [
        "FAIL duplicate (entity_id, phone)",
        "FAIL CEP not matching",
        "FAIL UF not one of the 27",
        "FAIL phones without phone_e164",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("hard checks failed"));

    let report = c2s_enrich::ops::dq::run(&test.pool)
        .await
        .expect("library report");
    assert!(!report.passed());
    assert_eq!(
        report.orphans, 2,
        "an orphan phone and a link to a missing address"
    );

    migrate::up(&test.pool, &MigrateOptions::default())
        .await
        .expect("harden");
    let out = run_dq(url, true).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert!(json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .all(|c| c["passed"] == true));
    // 100 bulk people, every other one enriched, every fourth with a lead id.
    assert_eq!(json["enrichment"]["entities"], 100);
    assert_eq!(json["enrichment"]["enriched"], 50);
    assert_eq!(json["enrichment"]["enriched_with_lead_id"], 25);
    assert_eq!(json["orphans"], 0);
}
