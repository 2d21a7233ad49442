//! `POST /api/v1/webhooks/c2s` over real HTTP against a fresh database.

use std::sync::Arc;

use c2s_enrich::http::AppState;
use c2s_lab::testing::{fixture, TestDb};
use secrecy::SecretString;
use serde_json::{json, Value};

struct Served {
    url: String,
    test: TestDb,
    _served: c2s_lab::testing::ServedApp,
}

async fn serve(secret: Option<&str>) -> Served {
    let test = TestDb::migrated().await.expect("db");
    let state = AppState {
        webhook_secret: secret.map(|s| Arc::new(SecretString::from(s.to_owned()))),
        ..AppState::new(test.pool.clone())
    };
    let served = c2s_lab::testing::serve_app(state).await.expect("serve");
    let url = format!("{}/api/v1/webhooks/c2s", served.base);
    Served {
        url,
        test,
        _served: served,
    }
}

async fn count(s: &Served, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&s.test.pool)
        .await
        .expect(sql)
}

fn create_event() -> Value {
    serde_json::from_str(&fixture("c2s_webhook_create.json")).expect("fixture")
}

#[tokio::test]
async fn a_delivery_is_recorded_and_enqueued_once_and_a_repeat_is_a_duplicate() {
    let s = serve(None).await;
    let http = reqwest::Client::new();
    let first = http
        .post(&s.url)
        .json(&create_event())
        .send()
        .await
        .expect("post");
    assert_eq!(first.status(), 202);
    let body: Value = first.json().await.expect("json");
    assert_eq!(body["accepted"], 1);
    assert!(body["events"][0]["job_id"].as_i64().is_some());
    let again = http
        .post(&s.url)
        .json(&create_event())
        .send()
        .await
        .expect("post");
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.json::<Value>().await.expect("json")["duplicate"],
        true
    );
    assert_eq!(
        count(&s, "SELECT count(*) FROM enrich.webhook_events").await,
        1
    );
    assert_eq!(count(&s, "SELECT count(*) FROM enrich.jobs").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_duplicates_make_one_job() {
    let s = serve(None).await;
    let http = reqwest::Client::new();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let rb = http.post(&s.url).json(&create_event());
            tokio::spawn(async move { rb.send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("join").expect("response"));
    }
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    let duplicates = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!((accepted, duplicates), (1, 49), "{statuses:?}");
    assert_eq!(count(&s, "SELECT count(*) FROM enrich.jobs").await, 1);
}

#[tokio::test]
async fn a_configured_secret_is_required_and_nothing_is_stored_without_it() {
    let s = serve(Some("s3cret")).await;
    let http = reqwest::Client::new();
    for header in [None, Some("wrong")] {
        let mut rb = http.post(&s.url).json(&create_event());
        if let Some(h) = header {
            rb = rb.header("x-webhook-token", h);
        }
        let r = rb.send().await.expect("post");
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.json::<Value>().await.expect("json")["error"]["code"],
            "unauthorized"
        );
    }
    assert_eq!(
        count(&s, "SELECT count(*) FROM enrich.webhook_events").await,
        0
    );
    let ok = http
        .post(&s.url)
        .header("x-webhook-token", "s3cret")
        .json(&create_event())
        .send()
        .await
        .expect("post");
    assert_eq!(ok.status(), 202);
}

#[tokio::test]
async fn bad_payloads_get_4xx_and_store_nothing() {
    let s = serve(None).await;
    let http = reqwest::Client::new();
    let cases: Vec<(reqwest::RequestBuilder, u16)> = vec![
        (http.post(&s.url).body("{not json"), 400),
        (
            http.post(&s.url)
                .json(&json!({"hook_action": "on_create_lead", "attributes": {}})),
            400,
        ),
        (
            http.post(&s.url)
                .json(&json!({"hook_action": "on_create_lead", "id": "../../etc"})),
            400,
        ),
        (
            http.post(&s.url).json(
                &json!({"hook_action": "on_delete", "id": "9f3c2a7b5d1e4f60a8b9c0d1e2f3a4b5"}),
            ),
            400,
        ),
        (
            http.post(&s.url)
                .json(&json!({"id": "9f3c2a7b5d1e4f60a8b9c0d1e2f3a4b5"})),
            400,
        ),
        (http.post(&s.url).json(&json!([])), 400),
        (http.post(&s.url).body(vec![b' '; 600 * 1024]), 413),
    ];
    for (rb, status) in cases {
        let r = rb
            .header("content-type", "application/json")
            .send()
            .await
            .expect("post");
        assert_eq!(r.status().as_u16(), status);
    }
    assert_eq!(
        count(&s, "SELECT count(*) FROM enrich.webhook_events").await,
        0
    );
    assert_eq!(count(&s, "SELECT count(*) FROM enrich.jobs").await, 0);
}

#[tokio::test]
async fn close_is_recorded_only_and_an_update_without_new_contacts_costs_nothing() {
    let s = serve(None).await;
    let http = reqwest::Client::new();
    let mut close = create_event();
    close["hook_action"] = "on_close_lead".into();
    let r = http.post(&s.url).json(&close).send().await.expect("post");
    assert_eq!(r.status(), 202);
    assert_eq!(
        r.json::<Value>().await.expect("json")["events"][0]["decision"],
        "close_recorded"
    );

    // The lead was processed with these contacts (fingerprint recorded by the pipeline).
    let event = create_event();
    let lead = c2s_enrich::providers::c2s::read_lead(&event).expect("lead");
    let (phone, email, _) = c2s_enrich::domain::lead::usable_contacts(&lead);
    let fp = c2s_enrich::domain::lead::contact_fingerprint(phone.as_ref(), email.as_ref());
    sqlx::query("INSERT INTO enrich.leads (lead_id, step, state, contact_fingerprint, note_status) VALUES ($1, 'done', 'completed', $2, 'sent')")
        .bind(lead.id.as_str())
        .bind(&fp)
        .execute(&s.test.pool)
        .await
        .expect("lead state");
    let mut update = create_event();
    update["hook_action"] = "on_update_lead".into();
    update["attributes"]["updated_at"] = "2026-11-20T14:00:00-03:00".into();
    let r = http.post(&s.url).json(&update).send().await.expect("post");
    assert_eq!(
        r.json::<Value>().await.expect("json")["events"][0]["decision"],
        "contacts_unchanged"
    );
    assert_eq!(
        count(&s, "SELECT count(*) FROM enrich.jobs").await,
        0,
        "no job, no lookups"
    );

    update["attributes"]["updated_at"] = "2026-11-20T15:00:00-03:00".into();
    update["attributes"]["customer"]["email"] = "helena.nova@gmail.com".into();
    let r = http.post(&s.url).json(&update).send().await.expect("post");
    assert_eq!(
        r.json::<Value>().await.expect("json")["events"][0]["decision"],
        "enrich"
    );
    assert_eq!(count(&s, "SELECT count(*) FROM enrich.jobs").await, 1);
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM enrich.leads WHERE step = 'lead' AND note_status = 'sent'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_batch_records_each_event() {
    let s = serve(None).await;
    let mut second = create_event();
    second["id"] = "0a1b2c3d4e5f60718293a4b5c6d7e8f9".into();
    let batch = json!([create_event(), {"hook_action": "on_create_lead", "lead": second}]);
    let r = post(&s, &batch).await;
    assert_eq!(r.status(), 202);
    assert_eq!(r.json::<Value>().await.expect("json")["accepted"], 2);
    assert_eq!(count(&s, "SELECT count(*) FROM enrich.jobs").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_accepted_while_the_workers_hold_every_connection_of_the_main_pool() {
    let test = TestDb::migrated().await.expect("db");
    let main = c2s_enrich::db::connect_pool(test.url(), 2)
        .await
        .expect("pool");
    let state = AppState {
        intake: c2s_enrich::db::sibling_pool(&main, 2),
        ..AppState::new(main.clone())
    };
    let served = c2s_lab::testing::serve_app(state).await.expect("serve");
    // The workers' pool is exhausted (busy sessions, as under slow work).
    let _held = (
        main.acquire().await.expect("one"),
        main.acquire().await.expect("two"),
    );
    let started = std::time::Instant::now();
    let answer = reqwest::Client::new()
        .post(format!("{}/api/v1/webhooks/c2s", served.base))
        .json(&create_event())
        .send()
        .await
        .expect("post");
    assert_eq!(answer.status(), 202);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "answered by the intake's own pool, not after the main pool's 10 s acquire timeout"
    );
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.jobs")
        .fetch_one(&test.pool)
        .await
        .expect("jobs");
    assert_eq!(jobs, 1);
}

/// `n` distinct create events (ids `…0001`, `…0002`, …).
fn batch(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let mut e = create_event();
            e["id"] = json!(format!("{:032x}", i + 1));
            e
        })
        .collect()
}

async fn post(s: &Served, body: &impl serde::Serialize) -> reqwest::Response {
    reqwest::Client::new()
        .post(&s.url)
        .json(body)
        .send()
        .await
        .expect("post")
}

async fn assert_nothing_stored(s: &Served, tables: &[&str]) {
    for table in tables {
        assert_eq!(
            count(s, &format!("SELECT count(*) FROM {table}")).await,
            0,
            "{table}"
        );
    }
}

#[tokio::test]
async fn a_delivery_of_more_than_100_events_is_refused_whole_with_413() {
    let s = serve(None).await;
    let r = post(&s, &batch(101)).await;
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "too_large");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("at most 100 events")),
        "{body}"
    );
    assert_nothing_stored(&s, &["enrich.webhook_events", "enrich.jobs"]).await;
    // 100 is allowed.
    let r = post(&s, &batch(100)).await;
    assert_eq!(r.status(), 202);
    assert_eq!(count(&s, "SELECT count(*) FROM enrich.jobs").await, 100);
}

#[tokio::test]
async fn each_event_row_stores_its_own_lead_object_never_the_batch() {
    let s = serve(None).await;
    let events = batch(50);
    let r = post(&s, &events).await;
    assert_eq!(r.status(), 202);
    let stored: Vec<(String, Value)> =
        sqlx::query_as("SELECT lead_id, payload FROM enrich.webhook_events ORDER BY lead_id")
            .fetch_all(&s.test.pool)
            .await
            .expect("rows");
    assert_eq!(stored.len(), 50);
    for (i, (lead_id, payload)) in stored.iter().enumerate() {
        assert_eq!(payload, &events[i], "row {lead_id} holds its own event");
    }
}

#[tokio::test]
async fn an_oversized_key_refuses_the_whole_delivery_before_anything_is_stored() {
    let s = serve(None).await;
    let mut events = batch(3);
    events[2]["attributes"]["updated_at"] = json!("9".repeat(5000));
    let r = post(&s, &events).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.expect("json");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("event 2: updated_at is longer than 64 characters")),
        "{body}"
    );
    assert_nothing_stored(
        &s,
        &["enrich.webhook_events", "enrich.jobs", "enrich.leads"],
    )
    .await;
}

#[tokio::test]
async fn a_batch_that_fails_in_the_database_stores_none_of_its_events() {
    let s = serve(None).await;
    // The database refuses the third event (a check our parser does not
    // make): the first two must not stay behind.
    sqlx::query(
        "ALTER TABLE enrich.webhook_events ADD CONSTRAINT test_refuse CHECK (lead_id <> lpad('3', 32, '0'))",
    )
    .execute(&s.test.pool)
    .await
    .expect("constraint");
    let r = post(&s, &batch(3)).await;
    assert_eq!(r.status(), 500);
    assert_nothing_stored(&s, &["enrich.webhook_events", "enrich.jobs"]).await;
}
