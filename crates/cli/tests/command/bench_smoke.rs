//! `c2s-enrich bench --quick` end to end through the binary: every benchmark
//! runs on tiny sizes against scratch databases, writes Markdown and JSON,
//! and its figures are internally consistent. (Real figures need --release
//! and the default sizes; see docs/benchmarks.md.)

use c2s_lab::testing::TestDb;
use secrecy::ExposeSecret;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_benchmark_runs_and_reports_consistent_figures() {
    let test = TestDb::migrated().await.expect("db");
    let dir = tempfile::tempdir().expect("dir");
    let (md, json) = (dir.path().join("b.md"), dir.path().join("b.json"));
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_c2s-enrich"))
        .args(["bench", "--quick", "--scale", "0.002", "--markdown"])
        .arg(&md)
        .arg("--json")
        .arg(&json)
        .env("DATABASE_URL", test.url().expose_secret())
        .env("C2S_ENRICH_BIN", env!("CARGO_BIN_EXE_c2s-enrich"))
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("bench ran");
    assert!(
        out.status.success(),
        "bench failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("parse");
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);

    // 1: the end-to-end latency cannot beat the critical path's lower bound.
    assert!(
        f(&r["pipeline"]["one_person_p50_ratio"]) >= 1.0,
        "{}",
        r["pipeline"]
    );
    assert!(f(&r["pipeline"]["two_persons_p50_ratio"]) >= 1.0);
    // 2: throughput measured at each level; storage slower than raw COPY.
    let levels = r["throughput"]["levels"].as_array().expect("levels");
    assert_eq!(levels.len(), 2);
    assert!(levels.iter().all(|l| f(&l["leads_per_second"]) > 0.0));
    assert!(
        f(&r["storage"]["store_over_copy"]) > 1.0,
        "{}",
        r["storage"]
    );
    assert!(f(&r["storage"]["rows_per_person"]) > 10.0);
    // The service counted its statements by phase: discovery, storing and
    // the note each sent some; a dossier is stored in a handful of round trips.
    for l in levels {
        let per_lead = &l["statements_per_lead"];
        for phase in ["discover", "store", "note", "request"] {
            assert!(f(&per_lead[phase]) > 0.0, "{phase}: {per_lead}");
        }
    }
    let statements = f(&r["storage"]["statements_per_dossier"]);
    assert!((3.0..=20.0).contains(&statements), "{}", r["storage"]);
    // The CPU of the service and of PostgreSQL was read.
    assert!(levels
        .iter()
        .all(|l| f(&l["postgres_cores"]) > 0.0 && f(&l["service_cores"]) > 0.0));
    // 3: the migration ran under the probe without a failed statement.
    assert_eq!(
        r["hardening"]["probe_errors_during"], 0,
        "{}",
        r["hardening"]
    );
    assert!(r["hardening"]["probe_during"]["n"].as_u64().unwrap_or(0) > 0);
    // 4: lookups answered, and the same lookups measured as direct SQL.
    for e in r["lookup"]["endpoints"].as_array().expect("endpoints") {
        assert!(f(&e["requests_per_second"]) > 0.0, "{e}");
        assert_eq!(e["failed"], 0, "{e}");
        assert!(f(&e["floor_per_second"]) > 0.0, "{e}");
        let ratio = f(&e["api_over_floor"]);
        let expected = f(&e["floor_per_second"]) / f(&e["requests_per_second"]);
        assert!((ratio - expected).abs() < 1e-6 * expected.max(1.0), "{e}");
    }
    // 5: a real process was measured.
    assert!(f(&r["throughput"]["peak_rss_mib"]) >= f(&r["throughput"]["idle_rss_mib"]));
    assert!(f(&r["throughput"]["idle_rss_mib"]) > 1.0);
    // 6: each distinct lookup paid at most once (ours ≤ floor), and a cache
    // saves calls when 57 % of the contacts repeat.
    let cost = &r["cost"];
    let (ours, naive, floor) = (
        cost["ours"]["paid_calls"].as_u64().expect("ours"),
        cost["naive"]["paid_calls"].as_u64().expect("naive"),
        cost["floor_calls"].as_u64().expect("floor"),
    );
    assert!(ours <= floor, "paid more than the distinct lookups: {cost}");
    assert!(
        naive > ours,
        "a cache must save something with 57 % repeats: {cost}"
    );

    let text = std::fs::read_to_string(&md).expect("md");
    for heading in [
        "## 1. Pipeline overhead",
        "## 2. Throughput",
        "### Storage vs COPY",
        "## 3. Hardening",
        "## 4. Lookup API",
        "## 5. Memory",
        "## 6. Cost",
    ] {
        assert!(text.contains(heading), "missing {heading}");
    }
    assert!(
        text.contains("API ÷ floor"),
        "the lookup table reads the API against its floor"
    );
}
