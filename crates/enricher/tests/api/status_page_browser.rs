//! The status page in a real headless Chromium: it renders the figures, draws
//! the leads-per-hour chart, and logs nothing to the console (no script error,
//! no blocked request, no CSP violation).
//!
//! Needs Debian's `chromium` (CI installs it and sets C2S_REQUIRE_BROWSER=1,
//! which turns a missing browser into a failure). Elsewhere, without a
//! browser, the test says so and passes without checking anything.

use std::path::PathBuf;
use std::time::Duration;

use c2s_enrich::http::AppState;
use c2s_lab::testing::{serve_app, TestDb};

use super::browser::{chromium, required};

/// Runs Chromium headless on `url` with `extra` arguments; returns (stdout, stderr).
async fn run_chromium(bin: &PathBuf, url: &str, extra: &[String]) -> (String, String) {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--window-size=1280,1100",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(url)
    .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("chromium finished within 90 s")
        .expect("chromium ran");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_renders_its_chart_without_console_errors() {
    let Some(bin) = chromium() else {
        assert!(
            !required(),
            "C2S_REQUIRE_BROWSER is set but no Chromium was found (apt-get install chromium)"
        );
        eprintln!(
            "SKIPPED: no Chromium on this machine (install Debian's `chromium` to run this test)"
        );
        return;
    };
    let test = TestDb::migrated().await.expect("db");
    for i in 0..7 {
        sqlx::query(
            "INSERT INTO enrich.leads (lead_id, state, outcome, created_at)
             VALUES ($1, 'completed', $2, now() - make_interval(hours => $3))",
        )
        .bind(format!("{i:032x}"))
        .bind(if i % 3 == 0 {
            "nobody_found"
        } else {
            "enriched"
        })
        .bind(i % 4)
        .execute(&test.pool)
        .await
        .expect("lead");
    }
    let served = serve_app(AppState::new(test.pool.clone()))
        .await
        .expect("serve");
    let url = format!("{}/", served.base);

    let (dom, log) = run_chromium(&bin, &url, &["--dump-dom".into()]).await;
    assert!(
        dom.contains("data-rendered=\"true\""),
        "the page did not render its figures:\n{dom}"
    );
    let chart_start = dom.find("id=\"chart\"").expect("chart element");
    let chart = &dom[chart_start
        ..dom[chart_start..]
            .find("</svg>")
            .map_or(dom.len(), |e| chart_start + e)];
    assert_eq!(
        chart.matches("<rect").count(),
        24,
        "one bar per hour:\n{chart}"
    );
    assert!(chart.contains("data-bars=\"24\""), "{chart}");
    assert!(
        dom.contains("57,1 %"),
        "success share of 4 enriched / 7 ended:\n{dom}"
    );
    // No WEBHOOK_SECRET in this state: the unsigned-webhooks warning shows.
    let unsigned = dom
        .find("id=\"unsigned\"")
        .map(|i| &dom[i..dom[i..].find('>').map_or(dom.len(), |e| i + e)])
        .expect("the unsigned-webhooks warning element");
    assert!(
        unsigned.contains("display: block"),
        "the unsigned-webhooks warning is shown: {unsigned}"
    );
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console output: {console:#?}");

    // The screenshot the runbook describes.
    let shot = std::env::temp_dir().join(format!("c2s-status-{}.png", std::process::id()));
    let _ = run_chromium(&bin, &url, &[format!("--screenshot={}", shot.display())]).await;
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    let _ = std::fs::remove_file(&shot);
}
