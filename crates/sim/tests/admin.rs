//! The sandbox as a process and over HTTP: CLI, admin API, provider quirks.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use c2s_sim::{Faults, SimConfig};
use serde_json::{json, Value};

#[test]
fn the_binary_documents_itself_and_prints_the_configuration_to_use() {
    let help = Command::new(env!("CARGO_BIN_EXE_c2s-sim"))
        .arg("--help")
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&help.stdout);
    for needle in [
        "--seed",
        "--leads",
        "/__admin/faults/{provider}",
        "/__admin/deliver",
        "rate_limit_rate",
        "quota_after",
    ] {
        assert!(text.contains(needle), "--help lacks {needle}");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_c2s-sim"))
        .args(["--seed", "42", "--leads", "10"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let stdout = child.stdout.take().expect("stdout");
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .take(9)
        .map(|l| l.expect("line"))
        .collect();
    child.kill().expect("stop");
    let _ = child.wait();
    assert!(
        lines[0].starts_with("c2s-sim listening on http://127.0.0.1:"),
        "{lines:?}"
    );
    for var in [
        "C2S_BASE_URL=",
        "C2S_TOKEN=",
        "DIRETRIX_BASE_URL=",
        "DIRETRIX_USER=",
        "DIRETRIX_PASS=",
        "WORK_API_BASE_URL=",
        "WORK_API=",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(var)),
            "missing {var} in {lines:?}"
        );
    }
}

#[tokio::test]
async fn faults_and_the_journal_are_driven_over_the_admin_api() {
    let sim = c2s_sim::start(SimConfig {
        leads: 10,
        ..SimConfig::default()
    })
    .await
    .expect("start");
    let http = reqwest::Client::new();
    let base = sim.base_url();
    let put = http
        .put(format!("{base}/__admin/faults/work_api"))
        .json(&json!({"fail_next": 1, "latency_ms": 5}))
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), 200);
    assert_eq!(
        sim.state.faults("work_api"),
        Faults {
            fail_next: 1,
            latency_ms: 5,
            ..Faults::default()
        }
    );
    let bad = http
        .put(format!("{base}/__admin/faults/nobody"))
        .json(&json!({}))
        .send()
        .await
        .expect("put");
    assert_eq!(bad.status(), 404);
    let typo = http
        .put(format!("{base}/__admin/faults/c2s"))
        .json(&json!({"eror_rate": 1}))
        .send()
        .await
        .expect("put");
    assert_eq!(typo.status(), 400, "unknown fault names are refused");

    let token = &sim.state.config.work_token;
    let first = http
        .get(format!(
            "{base}/api?token={token}&modulo=cpf&consulta=52998224725"
        ))
        .send()
        .await
        .expect("call");
    assert_eq!(first.status(), 503);
    let second: Value = http
        .get(format!(
            "{base}/api?token={token}&modulo=cpf&consulta=52998224725"
        ))
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    assert_eq!(
        second["status"], 404,
        "unknown CPF: HTTP 200 with status 404 in the body"
    );
    let module: Value = http
        .get(format!("{base}/api?token={token}&modulo=mae&consulta=x"))
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    assert_eq!(module["status"], 403);

    let journal: Value = http
        .get(format!("{base}/__admin/journal"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(journal["calls"].as_array().map(Vec::len), Some(3));
    let leads: Value = http
        .get(format!("{base}/__admin/leads"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(leads.as_array().map(Vec::len), Some(10));
    assert_eq!(
        http.post(format!("{base}/__admin/reset"))
            .send()
            .await
            .expect("reset")
            .status(),
        204
    );
    assert!(sim.state.journal().calls.is_empty());

    let no_data = http
        .post(format!("{base}/integration/leads"))
        .bearer_auth(&sim.state.config.c2s_token)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .expect("create");
    assert_eq!(no_data.status(), 400);
    assert_eq!(
        no_data.json::<Value>().await.expect("json")["message"],
        "param_data_not_found"
    );
    let bad_hook = http
        .post(format!("{base}/integration/leads/subscribe"))
        .bearer_auth(&sim.state.config.c2s_token)
        .json(&json!({"hook_url": "http://x/y", "hook_action": "on_delete"}))
        .send()
        .await
        .expect("subscribe");
    assert_eq!(bad_hook.status(), 422);
    sim.stop().await;
}
