//! Manual and Make.com triggers and the lead state endpoint, over HTTP, with the
//! sandbox as the providers.

use std::sync::Arc;

use c2s_enrich::http::AppState;
use c2s_lab::testing::sandbox::setup;
use c2s_sim::{Faults, LeadKind};
use serde_json::Value;

async fn serve(state: AppState) -> (String, c2s_lab::testing::ServedApp) {
    let served = c2s_lab::testing::serve_app(state).await.expect("serve");
    (served.base.clone(), served)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_and_make_triggers_enrich_once_and_then_answer_from_the_record() {
    let (sim, test, pipeline) = setup().await;
    let (_, key) =
        c2s_enrich::store::api_keys::create(&test.pool, "make-com", &["enrich".to_owned()])
            .await
            .expect("key");
    let (_, reader) =
        c2s_enrich::store::api_keys::create(&test.pool, "analyst", &["read:pii".to_owned()])
            .await
            .expect("key");
    let state = AppState {
        pipeline: Some(Arc::new(pipeline)),
        ..AppState::new(test.pool.clone())
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
    let forged = http
        .post(format!("{base}/api/v1/c2s/enrich/{}", owner.id))
        .bearer_auth(format!("{key}x"))
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), 401);
    let wrong_scope = http
        .post(format!("{base}/api/v1/c2s/enrich/{}", owner.id))
        .header("x-api-key", &reader)
        .send()
        .await
        .expect("post");
    assert_eq!(wrong_scope.status(), 403);
    assert_eq!(
        sim.state.journal().calls.len(),
        0,
        "nothing paid without credentials"
    );

    let r = http
        .post(format!("{base}/api/v1/c2s/enrich/{}", owner.id))
        .bearer_auth(&key)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["success"], true);
    assert_eq!(body["same_person"], true);
    assert_eq!(body["message_sent"], true);
    // The earlier service's contract: how many persons were stored, so that
    // its post-deployment check `stored_in_db > 0` holds.
    assert_eq!(body["stored_in_db"], 1);
    assert_eq!(body["entity_ids"].as_array().map(Vec::len), Some(1));
    let cpf = body["cpfs"][0].as_str().expect("cpf");
    assert!(
        cpf.starts_with("***.") && cpf.ends_with("-**"),
        "masked: {cpf}"
    );
    let calls = sim.state.journal().calls.len();

    let again = http
        .get(format!(
            "{base}/api/v1/leads/process?id={}&api_key={key}",
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
        .bearer_auth(&key)
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
        .bearer_auth(&key)
        .send()
        .await
        .expect("post");
    assert_eq!(unknown.status(), 404);
    let bad = http
        .post(format!("{base}/api/v1/c2s/enrich/not-a-lead"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("post");
    assert_eq!(bad.status(), 400);
    let missing = http
        .get(format!("{base}/api/v1/leads/process?api_key={key}"))
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
        .bearer_auth(&key)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_duplicate_webhooks_end_in_one_job_and_one_note() {
    let (sim, test, pipeline) = setup().await;
    let pipeline = Arc::new(pipeline);
    let state = AppState {
        pipeline: Some(pipeline.clone()),
        ..AppState::new(test.pool.clone())
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

#[tokio::test]
async fn api_keys_are_created_once_listed_without_the_key_and_revoked() {
    use c2s_enrich::store::api_keys;
    let test = c2s_lab::testing::TestDb::migrated().await.expect("db");
    let (info, key) = api_keys::create(
        &test.pool,
        "ops",
        &["admin".to_owned(), "enrich".to_owned()],
    )
    .await
    .expect("create");
    assert!(key.starts_with(&format!("c2se_{}_", info.prefix)));
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.api_keys WHERE row_to_json(api_keys)::text LIKE '%' || $1 || '%'")
        .bind(key.rsplit('_').next().expect("secret"))
        .fetch_one(&test.pool)
        .await
        .expect("scan");
    assert_eq!(stored, 0, "only a hash of the key is stored");
    assert_eq!(
        api_keys::verify(&test.pool, &key)
            .await
            .expect("verify")
            .map(|k| k.name),
        Some("ops".to_owned())
    );
    assert!(
        api_keys::create(&test.pool, "ops", &["enrich".to_owned()])
            .await
            .is_err(),
        "one active key per name"
    );
    assert!(
        api_keys::create(&test.pool, "x", &["root".to_owned()])
            .await
            .is_err(),
        "unknown scope"
    );
    assert!(api_keys::revoke(&test.pool, "ops").await.expect("revoke"));
    assert_eq!(
        api_keys::verify(&test.pool, &key).await.expect("verify"),
        None,
        "revoked keys stop working"
    );
    assert_eq!(
        api_keys::verify(&test.pool, "c2se_short_x")
            .await
            .expect("verify"),
        None
    );
}

#[tokio::test]
async fn a_verified_key_is_believed_for_the_cache_period_and_no_longer() {
    use c2s_enrich::store::api_keys::{self, KeyCache};
    use std::time::Duration;
    let test = c2s_lab::testing::TestDb::migrated().await.expect("db");
    let (_, key) = api_keys::create(&test.pool, "ops", &["admin".to_owned()])
        .await
        .expect("create");
    let cached = KeyCache::new(Duration::from_secs(2));
    let uncached = KeyCache::new(Duration::ZERO);
    let name = |k: Option<api_keys::ApiKeyInfo>| k.map(|k| k.name);
    assert_eq!(
        name(cached.verify(&test.pool, &key).await.expect("verify")),
        Some("ops".into())
    );
    assert_eq!(
        name(uncached.verify(&test.pool, &key).await.expect("verify")),
        Some("ops".into())
    );
    // A wrong key is never believed, cached or not.
    let wrong = format!("{}x", &key[..key.len() - 1]);
    assert_eq!(
        name(cached.verify(&test.pool, &wrong).await.expect("verify")),
        None
    );
    assert!(api_keys::revoke(&test.pool, "ops").await.expect("revoke"));
    // Revoked by another process: without a cache it stops at once; with
    // one, it is believed until its entry ages out — then refused.
    assert_eq!(
        name(uncached.verify(&test.pool, &key).await.expect("verify")),
        None
    );
    assert_eq!(
        name(cached.verify(&test.pool, &key).await.expect("verify")),
        Some("ops".into()),
        "within the cache period the revocation is not seen yet (documented)"
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(
        name(cached.verify(&test.pool, &key).await.expect("verify")),
        None
    );
}

/// A service with these rate limits and one `enrich` key.
async fn limited_service(
    per_key: u32,
    per_ip: u32,
) -> (
    c2s_lab::testing::TestDb,
    String,
    String,
    c2s_lab::testing::ServedApp,
) {
    let test = c2s_lab::testing::TestDb::migrated().await.expect("db");
    let (_, key) = c2s_enrich::store::api_keys::create(&test.pool, "busy", &["enrich".to_owned()])
        .await
        .expect("key");
    let state = AppState {
        limits: c2s_enrich::http::Limits::new(per_key, per_ip),
        ..AppState::new(test.pool.clone())
    };
    let (base, stop) = serve(state).await;
    (test, key, base, stop)
}

#[tokio::test]
async fn a_key_over_its_rate_gets_429_with_retry_after() {
    let (_test, key, base, _stop) = limited_service(2, 100).await;
    let http = reqwest::Client::new();
    let url = format!("{base}/api/v1/leads/0123456789abcdef0123456789abcdef");
    for _ in 0..2 {
        assert_eq!(
            http.get(&url)
                .bearer_auth(&key)
                .send()
                .await
                .expect("get")
                .status(),
            404
        );
    }
    let limited = http.get(&url).bearer_auth(&key).send().await.expect("get");
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().get("retry-after").is_some());
    let spoofed = http
        .get(&url)
        .bearer_auth(&key)
        .header("x-c2s-client-ip", "10.9.9.9")
        .send()
        .await
        .expect("get");
    assert_eq!(
        spoofed.status(),
        429,
        "the client cannot choose its own IP bucket or escape the key's"
    );
}

fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().expect("ip"))
        .build()
        .expect("client")
}

#[tokio::test]
async fn failed_attempts_from_one_address_leave_other_clients_and_keys_served() {
    let (_test, key, base, _stop) = limited_service(100, 3).await;
    let url = format!("{base}/api/v1/leads/0123456789abcdef0123456789abcdef");
    let attacker = client_from("127.0.0.1");
    let other = client_from("127.0.0.2");
    // 127.0.0.1 guesses keys until its bucket is empty.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = attacker
            .get(&url)
            .bearer_auth("c2se_guess_x")
            .send()
            .await
            .expect("get");
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    // Even its right key now waits: the guesser pays.
    let r = attacker
        .get(&url)
        .bearer_auth(&key)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 429);
    // 127.0.0.2 is another client: its failures and its key are its own.
    assert_eq!(
        other
            .get(&url)
            .bearer_auth("c2se_guess_x")
            .send()
            .await
            .expect("get")
            .status(),
        401
    );
    for _ in 0..5 {
        // Authenticated traffic does not spend the address's failure bucket.
        assert_eq!(
            other
                .get(&url)
                .bearer_auth(&key)
                .send()
                .await
                .expect("get")
                .status(),
            404
        );
    }
}

#[test]
fn a_forwarded_address_is_believed_only_from_a_trusted_proxy() {
    use c2s_enrich::http::ClientIpPolicy;
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("fly-client-ip", "203.0.113.9".parse().expect("value"));
    let peer = |ip: &str| Some(ip.parse::<std::net::IpAddr>().expect("ip"));
    let none = ClientIpPolicy::new(Vec::new(), "Fly-Client-IP");
    assert_eq!(none.client(peer("10.1.2.3"), &headers), "10.1.2.3");
    let fly = ClientIpPolicy::new(
        vec![
            "10.0.0.0/8".parse().expect("net"),
            "fdaa::/16".parse().expect("net"),
        ],
        "Fly-Client-IP",
    );
    assert_eq!(fly.client(peer("10.1.2.3"), &headers), "203.0.113.9");
    assert_eq!(fly.client(peer("fdaa:0:1::3"), &headers), "203.0.113.9");
    // A client outside the proxy's network cannot choose its address.
    assert_eq!(fly.client(peer("198.51.100.7"), &headers), "198.51.100.7");
    // A trusted proxy's garbage is not an address: the peer stays.
    headers.insert("fly-client-ip", "not-an-ip".parse().expect("value"));
    assert_eq!(fly.client(peer("10.1.2.3"), &headers), "10.1.2.3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_run_answers_202_with_its_status_url_and_a_client_that_leaves_does_not_stop_it() {
    let (sim, test, pipeline) = setup().await;
    let (_, key) =
        c2s_enrich::store::api_keys::create(&test.pool, "make-com", &["enrich".to_owned()])
            .await
            .expect("key");
    let state = AppState {
        pipeline: Some(Arc::new(pipeline)),
        sync: Arc::new(c2s_enrich::http::SyncRuns {
            wait: std::time::Duration::from_secs(1),
            ..Default::default()
        }),
        ..AppState::new(test.pool.clone())
    };
    let (base, _stop) = serve(state).await;
    for p in ["diretrix", "work_api"] {
        sim.state.set_faults(
            p,
            Faults {
                latency_ms: 1500,
                ..Faults::default()
            },
        );
    }
    let owners: Vec<String> = sim
        .state
        .leads()
        .into_iter()
        .filter(|l| l.kind == LeadKind::Owner)
        .take(2)
        .map(|l| l.id)
        .collect();
    let http = reqwest::Client::new();

    // Past the wait: 202 and where to look.
    let slow = http
        .post(format!("{base}/api/v1/c2s/enrich/{}", owners[0]))
        .bearer_auth(&key)
        .send()
        .await
        .expect("post");
    assert_eq!(slow.status(), 202);
    let body: Value = slow.json().await.expect("json");
    assert_eq!(body["status_url"], format!("/api/v1/leads/{}", owners[0]));

    // A client that gives up after 200 ms.
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(200))
        .build()
        .expect("client");
    let gone = impatient
        .get(format!(
            "{base}/api/v1/leads/process?id={}&api_key={key}",
            owners[1]
        ))
        .send()
        .await;
    assert!(gone.is_err(), "the client timed out");
    // Right after it left, the lead has its job (no lead leased without one).
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.jobs WHERE lead_id = $1")
        .bind(&owners[1])
        .fetch_one(&test.pool)
        .await
        .expect("jobs");
    assert_eq!(jobs, 1);

    // Both runs go on to their one note, with nobody waiting for them.
    let done = c2s_enrich::app::wait_until(
        std::time::Duration::from_secs(30),
        std::time::Duration::from_millis(200),
        || async {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM enrich.jobs WHERE state = 'done' AND lead_id = ANY($1)",
            )
            .bind(&owners)
            .fetch_one(&test.pool)
            .await?;
            Ok(n == 2)
        },
    )
    .await
    .expect("wait");
    assert!(done, "both jobs finished");
    for id in &owners {
        assert_eq!(sim.state.journal().notes_for(id).len(), 1);
        let status = http
            .get(format!("{base}/api/v1/leads/{id}"))
            .bearer_auth(&key)
            .send()
            .await
            .expect("get");
        assert_eq!(
            status.json::<Value>().await.expect("json")["status"],
            "completed"
        );
    }
    let leased: i64 =
        sqlx::query_scalar("SELECT count(*) FROM enrich.leads WHERE lease_by IS NOT NULL")
            .fetch_one(&test.pool)
            .await
            .expect("leases");
    assert_eq!(leased, 0, "every lease given back");
}
