//! Operating the service: health and readiness (including a database that
//! goes away and comes back), CORS, and the metrics after a real pipeline run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use c2s_enrich::http::AppState;
use c2s_enrich::pipeline::worker::{self, WorkerHealth, WorkerOptions};
use c2s_lab::testing::{serve_app, TestDb};
use secrecy::ExposeSecret;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP relay in front of PostgreSQL that can be cut (every connection
/// dropped, new ones refused) and restored on the same port.
struct Relay {
    port: u16,
    target: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let relay = Self {
            port,
            target,
            tasks: Arc::default(),
        };
        relay.serve(listener);
        relay
    }

    fn serve(&self, listener: TcpListener) {
        let (target, tasks) = (self.target.clone(), self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().expect("tasks").push(conn);
            }
        });
        self.tasks.lock().expect("tasks").push(accept);
    }

    fn cut(&self) {
        for t in self.tasks.lock().expect("tasks").drain(..) {
            t.abort();
        }
    }

    async fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("rebind");
        self.serve(listener);
    }
}

async fn get(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.expect("get");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_database_away_and_back() {
    let test = TestDb::migrated().await.expect("db");
    let mut url = reqwest::Url::parse(test.url().expose_secret()).expect("url");
    let target = format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().unwrap_or(5432)
    );
    let relay = Relay::start(target).await;
    url.set_host(Some("127.0.0.1")).expect("host");
    url.set_port(Some(relay.port)).expect("port");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy(url.as_str())
        .expect("pool");
    let served = serve_app(AppState::new(pool)).await.expect("serve");

    let (status, body) = get(&format!("{}/health/ready", served.base)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"]["ok"], true);
    assert_eq!(body["migrations"]["ok"], true);
    assert_eq!(get(&format!("{}/health", served.base)).await.0, 200);

    relay.cut();
    let (status, body) = get(&format!("{}/health/ready", served.base)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["database"]["ok"], false);
    assert_eq!(get(&format!("{}/health", served.base)).await.0, 503);
    // Liveness does not depend on the database: restarting would not help.
    assert_eq!(get(&format!("{}/health/live", served.base)).await.0, 200);

    relay.restore().await;
    let mut back = false;
    for _ in 0..40 {
        if get(&format!("{}/health/ready", served.base)).await.0 == 200 {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        back,
        "readiness came back by itself once the database returned"
    );
}

#[tokio::test]
async fn readiness_needs_current_migrations_and_a_live_worker() {
    let test = TestDb::migrated().await.expect("db");
    let health = Arc::new(WorkerHealth::default());
    let state = AppState {
        worker: Some(health.clone()),
        ..AppState::new(test.pool.clone())
    };
    let served = serve_app(state).await.expect("serve");
    let (status, body) = get(&format!("{}/health/ready", served.base)).await;
    assert_eq!(status, 503);
    assert_eq!(body["worker"]["ok"], false, "{body}");
    health.beat();
    assert_eq!(get(&format!("{}/health/ready", served.base)).await.0, 200);

    let last = c2s_enrich::db::migrate::MIGRATIONS
        .last()
        .expect("migrations")
        .version;
    c2s_enrich::db::migrate::down(
        &test.pool,
        last - 1,
        &c2s_enrich::db::migrate::MigrateOptions::default(),
    )
    .await
    .expect("down one");
    let (status, body) = get(&format!("{}/health/ready", served.base)).await;
    assert_eq!(status, 503);
    assert_eq!(body["migrations"]["ok"], false);
    assert!(body["migrations"]["detail"]
        .as_str()
        .expect("detail")
        .contains("1 pending"));
}

#[tokio::test]
async fn cors_is_closed_unless_the_origin_is_configured() {
    let test = TestDb::migrated().await.expect("db");
    let state = AppState {
        cors_origins: Arc::new(vec!["https://painel.mbras.com.br".into()]),
        ..AppState::new(test.pool.clone())
    };
    let served = serve_app(state).await.expect("serve");
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/customers?cpf=52998224725", served.base);
    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let ok = preflight("https://painel.mbras.com.br")
        .await
        .expect("preflight");
    assert_eq!(ok.status(), 204);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://painel.mbras.com.br"
    );
    assert!(ok.headers()["access-control-allow-headers"]
        .to_str()
        .expect("h")
        .contains("authorization"));
    let evil = preflight("https://evil.example").await.expect("preflight");
    assert_eq!(evil.status(), 403);
    assert!(evil.headers().get("access-control-allow-origin").is_none());

    // Plain requests: the header only for the allowed origin.
    let r = http
        .get(&url)
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = http
        .get(&url)
        .header("origin", "https://painel.mbras.com.br")
        .send()
        .await
        .expect("get");
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://painel.mbras.com.br"
    );

    // With nothing configured, nobody is allowed.
    let closed = serve_app(AppState::new(test.pool.clone()))
        .await
        .expect("serve");
    let r = http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/v1/customers", closed.base),
        )
        .header("origin", "https://painel.mbras.com.br")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .expect("preflight");
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_cover_requests_jobs_steps_providers_and_the_queue_after_a_run() {
    let (sim, test, pipeline) = c2s_lab::testing::sandbox::setup().await;
    let pipeline = Arc::new(pipeline);
    let served = serve_app(AppState {
        pipeline: Some(pipeline.clone()),
        ..AppState::new(test.pool.clone())
    })
    .await
    .expect("serve");
    let hook = format!("{}/api/v1/webhooks/c2s", served.base);
    let ids: Vec<String> = sim
        .state
        .leads()
        .iter()
        .take(6)
        .map(|l| l.id.clone())
        .collect();
    let report =
        c2s_sim::deliver_for_tests(&sim, &hook, "on_create_lead", Some(ids), 1, None).await;
    assert_eq!(report.statuses.get(&202), Some(&6), "{report:?}");
    worker::drain(&pipeline, &WorkerOptions::default())
        .await
        .expect("drain");
    // A request without a key is refused and counted.
    let refused = reqwest::get(format!("{}/api/v1/customers?cpf=52998224725", served.base))
        .await
        .expect("get");
    assert_eq!(refused.status(), 401);
    // Not on the public listener: on its own (METRICS_ADDR, loopback).
    let public = reqwest::get(format!("{}/metrics", served.base))
        .await
        .expect("public");
    assert_eq!(public.status(), 404);
    let metrics = c2s_lab::testing::serve_metrics(AppState::new(test.pool.clone()))
        .await
        .expect("metrics listener");
    let text = reqwest::get(format!("{}/metrics", metrics.base))
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    for needle in [
        "c2s_enrich_http_requests_total{method=\"POST\",route=\"/api/v1/webhooks/c2s\",status=\"202\"}",
        // The same series as ever; the encoder writes `le` first (label order carries no meaning).
        "c2s_enrich_http_request_duration_seconds_bucket{le=\"+Inf\",method=\"POST\",route=\"/api/v1/webhooks/c2s\"}",
        "c2s_enrich_job_outcomes_total{outcome=\"completed\"}",
        "c2s_enrich_jobs{state=\"queued\"} 0",
        "c2s_enrich_jobs{state=\"dead\"} 0",
        "c2s_enrich_step_duration_seconds_count{step=\"discover\",outcome=\"ok\"}",
        "c2s_enrich_step_duration_seconds_count{step=\"note\",outcome=\"ok\"}",
        "c2s_enrich_provider_requests_total{provider=\"c2s\",operation=\"get_lead\",outcome=\"ok\"}",
        "c2s_enrich_provider_request_duration_seconds_count{provider=\"work_api\"",
        "c2s_enrich_ledger_lookups_total{provider=\"work_api\",module=\"cpf\",result=\"paid\"}",
        "c2s_enrich_provider_calls{provider=\"diretrix\",module=\"phone\",outcome=",
        "c2s_enrich_provider_credits{provider=\"work_api\",module=\"cpf\"}",
        "c2s_enrich_events_total{event=\"note_posted\"}",
        "c2s_enrich_webhook_events_total{decision=\"enrich\"}",
        "c2s_enrich_auth_failures_total{reason=\"missing\"}",
        "c2s_enrich_queue_ready_jobs 0",
        "c2s_enrich_queue_oldest_ready_seconds",
        "c2s_enrich_provider_paused{provider=\"work_api\"} 0",
    ] {
        assert!(text.contains(needle), "missing {needle}");
    }
    // Completed work is not a gauge (no scan of every lead per scrape); the
    // ledger's figures come from the rollup, and match the ledger.
    assert!(!text.contains("c2s_enrich_leads{state=\"completed\""));
    let paid: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM enrich.provider_calls WHERE provider = 'work_api' AND module = 'cpf' AND outcome = 'found'",
    )
    .fetch_one(&test.pool)
    .await
    .expect("ledger");
    assert!(
        text.contains(&format!(
            "c2s_enrich_provider_calls{{provider=\"work_api\",module=\"cpf\",outcome=\"found\"}} {paid}\n"
        )),
        "rollup agrees with the ledger ({paid})"
    );
    // Every series parses as `name{labels} number` and carries no personal data.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().expect("value");
        assert!(value.parse::<f64>().is_ok(), "{line}");
        assert!(line.starts_with("c2s_enrich_"), "{line}");
    }
    for lead in sim.state.leads().iter().take(6) {
        for secret in [Some(&lead.name), lead.phone.as_ref(), lead.email.as_ref()]
            .into_iter()
            .flatten()
        {
            assert!(!text.contains(secret.as_str()), "personal data in metrics");
        }
        if let Some(p) = lead.person {
            let cpf = sim.state.population.people[p].cpf.digits().to_owned();
            assert!(!text.contains(&cpf), "a CPF in metrics");
        }
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let test = TestDb::migrated().await.expect("db");
    let served = serve_app(AppState::new(test.pool.clone()))
        .await
        .expect("serve");
    let http = reqwest::Client::new();
    for path in ["/health/live", "/", "/api/v1/leads/x", "/nowhere"] {
        let r = http
            .get(format!("{}{path}", served.base))
            .send()
            .await
            .expect("get");
        let h = r.headers();
        let value = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert_eq!(value("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(value("x-frame-options"), "DENY", "{path}");
        assert!(
            value("content-security-policy").contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert!(
            h.get("strict-transport-security").is_none(),
            "{path}: plain HTTP"
        );
    }
    // The status page keeps its own policy, framing refused on top.
    let page = http
        .get(format!("{}/", served.base))
        .send()
        .await
        .expect("get");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(
        csp.starts_with("default-src 'none'") && csp.ends_with("frame-ancestors 'none'"),
        "{csp}"
    );
    // Behind the TLS-terminating proxy: HSTS.
    let r = http
        .get(format!("{}/health/live", served.base))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .expect("get");
    assert!(r.headers()["strict-transport-security"]
        .to_str()
        .expect("hsts")
        .starts_with("max-age="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_policy_prunes_only_what_is_past_its_life_and_a_dry_run_changes_nothing() {
    use c2s_enrich::store::retention::{prune, Retention};
    let (sim, test, pipeline) = c2s_lab::testing::sandbox::setup().await;
    let pipeline = Arc::new(pipeline);
    // Real rows: four leads through the webhook intake and the workers.
    let leads: Vec<_> = sim.state.leads().into_iter().take(4).collect();
    for l in &leads {
        let events = c2s_enrich::providers::c2s::parse_webhook(
            &serde_json::json!({"hook_action": "on_create_lead", "lead": c2s_sim::render::c2s_lead(l)}),
        )
        .expect("event");
        c2s_enrich::store::events::record_delivery(&test.pool, &events)
            .await
            .expect("recorded");
    }
    worker::drain(&pipeline, &WorkerOptions::default())
        .await
        .expect("drain");
    sqlx::query("INSERT INTO enrich.pii_access_audit (key_name, endpoint, query_kind, request_id) VALUES ('k', 'lookup', 'cpf', 'r1'), ('k', 'lookup', 'cpf', 'r2')")
        .execute(&test.pool)
        .await
        .expect("audit");
    let (old_lead, old_lead_2) = (&leads[0].id, &leads[1].id);
    // Age half of everything past its life (the other half stays young).
    let backdate = [
        "UPDATE enrich.jobs SET finished_at = now() - interval '31 days' WHERE lead_id = $1",
        "UPDATE enrich.webhook_events SET received_at = now() - interval '31 days' WHERE lead_id = $1",
        "UPDATE enrich.leads SET completed_at = now() - interval '366 days' WHERE lead_id = $1",
        "UPDATE enrich.enrichment_snapshots SET fetched_at = now() - interval '181 days' WHERE lead_id = $1",
    ];
    for sql in backdate {
        for id in [old_lead, old_lead_2] {
            sqlx::query(sql)
                .bind(id)
                .execute(&test.pool)
                .await
                .expect("backdate");
        }
    }
    sqlx::query("UPDATE enrich.pii_access_audit SET accessed_at = now() - interval '1826 days' WHERE request_id = 'r1'")
        .execute(&test.pool)
        .await
        .expect("audit age");
    // Two cached answers past their cache life, one accounting row past the ledger's.
    sqlx::query("UPDATE enrich.provider_calls SET expires_at = now() - interval '1 hour' WHERE id IN (SELECT id FROM enrich.provider_calls WHERE response IS NOT NULL ORDER BY id LIMIT 2)")
        .execute(&test.pool)
        .await
        .expect("expire");
    sqlx::query("UPDATE enrich.provider_calls SET created_at = now() - interval '401 days', expires_at = now() - interval '30 days' WHERE id = (SELECT min(id) FROM enrich.provider_calls)")
        .execute(&test.pool)
        .await
        .expect("age");

    let census = |pool: sqlx::PgPool| async move {
        let q = "SELECT (SELECT count(*) FROM enrich.jobs), (SELECT count(*) FROM enrich.webhook_events),
                        (SELECT count(*) FROM enrich.provider_calls), (SELECT count(*) FROM enrich.provider_calls WHERE response IS NOT NULL),
                        (SELECT count(*) FROM enrich.enrichment_snapshots), (SELECT count(*) FROM enrich.pii_access_audit),
                        (SELECT count(*) FROM enrich.leads WHERE note_text IS NOT NULL), (SELECT count(*) FROM enrich.leads),
                        (SELECT count(*) FROM core.entities)";
        let row: (i64, i64, i64, i64, i64, i64, i64, i64, i64) =
            sqlx::query_as(q).fetch_one(&pool).await.expect("census");
        row
    };
    let before = census(test.pool.clone()).await;
    let policy = Retention::default();
    let planned = prune(&test.pool, &policy, true).await.expect("dry run");
    assert_eq!(
        census(test.pool.clone()).await,
        before,
        "a dry run changes nothing"
    );
    let done = prune(&test.pool, &policy, false).await.expect("prune");
    let rows = |v: &[c2s_enrich::store::retention::Pruned], action_part: &str| -> u64 {
        v.iter()
            .filter(|p| p.action.contains(action_part))
            .map(|p| p.rows)
            .sum()
    };
    for part in [
        "finished jobs",
        "webhook events",
        "answers past",
        "accounting",
        "snapshots",
        "audit",
        "note text",
    ] {
        assert_eq!(
            rows(&planned, part),
            rows(&done, part),
            "the dry run counted what went: {part}"
        );
        assert!(rows(&done, part) > 0, "something was due: {part}");
    }
    let after = census(test.pool.clone()).await;
    assert_eq!(after.0, before.0 - 2, "the two old leads' jobs");
    assert_eq!(after.1, before.1 - 2, "their webhook events");
    assert_eq!(
        after.2,
        before.2 - 1,
        "one accounting row past the ledger's life"
    );
    assert!(after.3 < before.3, "expired answers dropped");
    assert_eq!(after.5, before.5 - 1, "one audit row past five years");
    assert_eq!(after.6, before.6 - 2, "the old leads' note texts");
    assert_eq!(after.7, before.7, "every lead keeps its record");
    assert_eq!(after.8, before.8, "customer records are never pruned");
    let young_note: Option<String> =
        sqlx::query_scalar("SELECT note_text FROM enrich.leads WHERE lead_id = $1")
            .bind(&leads[2].id)
            .fetch_one(&test.pool)
            .await
            .expect("young lead");
    assert!(young_note.is_some(), "a recent lead keeps its note text");
    let expired_kept_answer: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM enrich.provider_calls WHERE response IS NOT NULL AND expires_at < now()",
    )
    .fetch_one(&test.pool)
    .await
    .expect("answers");
    assert_eq!(expired_kept_answer, 0);
    // A second prune finds nothing; 0 days keeps for ever.
    let again = prune(&test.pool, &policy, false).await.expect("again");
    assert_eq!(again.iter().map(|p| p.rows).sum::<u64>(), 0);
    let forever = Retention {
        audit_days: 0,
        ..Retention::default()
    };
    let kept = prune(&test.pool, &forever, true).await.expect("kept");
    assert!(kept
        .iter()
        .any(|p| p.kept_for_ever && p.action.contains("audit")));
}

/// An application with small connection limits, for the two tests below.
async fn limited_listener(
    test: &TestDb,
    limits: c2s_enrich::http::serve::ServeLimits,
) -> c2s_lab::testing::ServedApp {
    let app =
        c2s_enrich::http::Application::build(AppState::new(test.pool.clone()), "127.0.0.1", 0)
            .await
            .expect("bind")
            .with_limits(limits);
    c2s_lab::testing::serve_built(app).expect("serve")
}

#[tokio::test]
async fn a_half_sent_request_is_closed_after_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let test = TestDb::migrated().await.expect("db");
    let served = limited_listener(
        &test,
        c2s_enrich::http::serve::ServeLimits {
            header_read_timeout: Duration::from_secs(1),
            ..Default::default()
        },
    )
    .await;
    let addr = served.base.trim_start_matches("http://").to_owned();
    let mut slow = TcpStream::connect(&addr).await.expect("connect");
    slow.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("half a request");
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server closed the connection");
    let held = started.elapsed();
    assert!(
        held < Duration::from_secs(5),
        "held {held:?}, not about the 1 s timeout"
    );
    // A whole request is served as ever.
    let ok = reqwest::get(format!("{}/health/live", served.base))
        .await
        .expect("get");
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn past_the_connection_limit_new_connections_wait_until_one_closes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let test = TestDb::migrated().await.expect("db");
    let served = limited_listener(
        &test,
        c2s_enrich::http::serve::ServeLimits {
            header_read_timeout: Duration::from_secs(30),
            max_connections: 2,
            ..Default::default()
        },
    )
    .await;
    let addr = served.base.trim_start_matches("http://").to_owned();
    // Two clients hold a connection each without sending anything.
    let first = TcpStream::connect(&addr).await.expect("first");
    let _second = TcpStream::connect(&addr).await.expect("second");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(&addr).await.expect("third (backlog)");
    third
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(700), third.read(&mut buf)).await;
    assert!(early.is_err(), "not served while two connections are open");
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("served once a connection closed")
        .expect("read");
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
}
