//! Manual and Make.com triggers and the lead state endpoint, over HTTP, with the
//! sandbox as the providers.

mod common;

use std::sync::Arc;

use c2s_enrich::http::{AppState, Application};
use c2s_sim::{Faults, LeadKind};
use common::setup;
use secrecy::SecretString;
use serde_json::Value;

const TOKEN: &str = "api-tok";

async fn serve(state: AppState) -> (String, tokio::sync::oneshot::Sender<()>) {
    let app = Application::build(state, "127.0.0.1", 0)
        .await
        .expect("bind");
    let base = format!("http://{}", app.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    (base, tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_and_make_triggers_enrich_once_and_then_answer_from_the_record() {
    let (sim, test, pipeline) = setup().await;
    let state = AppState {
        pool: test.pool.clone(),
        webhook_secret: None,
        api_token: Some(Arc::new(SecretString::from(TOKEN))),
        pipeline: Some(Arc::new(pipeline)),
    };
    let (base, _stop) = serve(state).await;
    let http = reqwest::Client::new();
    let owner = sim
        .state
        .leads()
        .into_iter()
        .find(|l| l.kind == LeadKind::Owner)
        .expect("owner");

    let anonymous = http
        .post(format!("{base}/api/v1/c2s/enrich/{}", owner.id))
        .send()
        .await
        .expect("post");
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        sim.state.journal().calls.len(),
        0,
        "nothing paid without credentials"
    );

    let r = http
        .post(format!("{base}/api/v1/c2s/enrich/{}", owner.id))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["success"], true);
    assert_eq!(body["same_person"], true);
    assert_eq!(body["message_sent"], true);
    assert_eq!(body["stored_in_db"], true);
    let cpf = body["cpfs"][0].as_str().expect("cpf");
    assert!(
        cpf.starts_with("***.") && cpf.ends_with("-**"),
        "masked: {cpf}"
    );
    let calls = sim.state.journal().calls.len();

    let again = http
        .get(format!(
            "{base}/api/v1/leads/process?id={}&api_key={TOKEN}",
            owner.id
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.json::<Value>().await.expect("json")["entity_ids"],
        body["entity_ids"]
    );
    assert_eq!(
        sim.state.journal().calls.len(),
        calls,
        "already processed: nothing called"
    );
    assert_eq!(sim.state.journal().notes_for(&owner.id).len(), 1);

    let state = http
        .get(format!("{base}/api/v1/leads/{}", owner.id))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("get");
    assert_eq!(
        state.json::<Value>().await.expect("json")["status"],
        "completed"
    );

    let unknown = http
        .post(format!(
            "{base}/api/v1/c2s/enrich/0123456789abcdef0123456789abcdef"
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("post");
    assert_eq!(unknown.status(), 404);
    let bad = http
        .post(format!("{base}/api/v1/c2s/enrich/not-a-lead"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("post");
    assert_eq!(bad.status(), 400);
    let missing = http
        .get(format!("{base}/api/v1/leads/process?api_key={TOKEN}"))
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status(), 400);

    let other = sim
        .state
        .leads()
        .into_iter()
        .filter(|l| l.kind == LeadKind::Owner)
        .nth(1)
        .expect("owner");
    sim.state.set_faults(
        "diretrix",
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    );
    let down = http
        .post(format!("{base}/api/v1/c2s/enrich/{}", other.id))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("post");
    assert_eq!(down.status(), 503);
    let queued: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM enrich.jobs WHERE lead_id = $1 AND state = 'queued'",
    )
    .bind(&other.id)
    .fetch_one(&test.pool)
    .await
    .expect("job");
    assert_eq!(queued, 1, "left to the workers to retry");
}

#[tokio::test]
async fn without_an_api_token_the_endpoints_are_disabled() {
    let test = c2s_enrich::testing::TestDb::migrated().await.expect("db");
    let state = AppState {
        pool: test.pool.clone(),
        webhook_secret: None,
        api_token: None,
        pipeline: None,
    };
    let (base, _stop) = serve(state).await;
    let r = reqwest::Client::new()
        .post(format!(
            "{base}/api/v1/c2s/enrich/0123456789abcdef0123456789abcdef"
        ))
        .bearer_auth("anything")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 503);
    assert!(r.text().await.expect("text").contains("API_TOKEN"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_duplicate_webhooks_end_in_one_job_and_one_note() {
    let (sim, test, pipeline) = setup().await;
    let pipeline = Arc::new(pipeline);
    let state = AppState {
        pool: test.pool.clone(),
        webhook_secret: None,
        api_token: None,
        pipeline: Some(pipeline.clone()),
    };
    let (base, _stop) = serve(state).await;
    let hook = format!("{base}/api/v1/webhooks/c2s");
    let owner = sim
        .state
        .leads()
        .into_iter()
        .find(|l| l.kind == LeadKind::Owner)
        .expect("owner");
    let report = c2s_sim::deliver_for_tests(
        &sim,
        &hook,
        "on_create_lead",
        Some(vec![owner.id.clone()]),
        50,
        None,
    )
    .await;
    assert_eq!(report.statuses.get(&202), Some(&1));
    assert_eq!(report.statuses.get(&200), Some(&49));
    let options = c2s_enrich::pipeline::worker::WorkerOptions {
        id: "w".into(),
        ..Default::default()
    };
    let done = c2s_enrich::pipeline::worker::drain(&pipeline, &options)
        .await
        .expect("drain");
    assert_eq!(done.len(), 1, "one job");
    assert_eq!(
        sim.state.journal().notes_for(&owner.id).len(),
        1,
        "one note"
    );
}
