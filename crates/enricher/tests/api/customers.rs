//! `GET /api/v1/customers`: the golden record for `read:pii` keys, bad input
//! refused with the reason, every read audited without personal data.

use std::str::FromStr;

use c2s_enrich::domain::lead::LeadId;
use c2s_enrich::http::AppState;
use c2s_enrich::providers::work_api::parse_dossier;
use c2s_enrich::store::api_keys;
use c2s_enrich::store::dossier::{store_dossier, LeadContext, MatchKind, StoreOptions};
use c2s_lab::testing::{fixture, serve_app, TestDb};
use serde_json::Value;

/// How the tests store a dossier (the production income factor).
fn store_options() -> StoreOptions {
    StoreOptions {
        income_factor: rust_decimal::Decimal::from_str("1.9").expect("f"),
        fetched_at: chrono::Utc::now(),
    }
}

/// The Work API fixture's person, stored for `lead`; its dossier.
async fn store_fixture(test: &TestDb, lead: &LeadContext) -> c2s_enrich::domain::dossier::Dossier {
    let dossier = parse_dossier(serde_json::from_str(&fixture("work_api_cpf.json")).expect("json"))
        .expect("dossier");
    store_dossier(&test.pool, &dossier, lead, &store_options())
        .await
        .expect("stored");
    dossier
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_golden_record_is_served_to_read_pii_keys_and_every_read_is_audited() {
    let test = TestDb::migrated().await.expect("db");
    let lead = LeadContext {
        lead_id: Some(LeadId::parse("9f3c2a7b5d1e4f60a8b9c0d1e2f3a4b5").expect("id")),
        lead_name: Some("Helena Costa".into()),
        match_kind: MatchKind::PhoneAndEmail,
        ..LeadContext::default()
    };
    let dossier = store_fixture(&test, &lead).await;
    let (_, reader) = api_keys::create(&test.pool, "analyst", &["read:pii".to_owned()])
        .await
        .expect("key");
    let (_, trigger) = api_keys::create(&test.pool, "make-com", &["enrich".to_owned()])
        .await
        .expect("key");

    let served = serve_app(AppState::new(test.pool.clone()))
        .await
        .expect("serve");
    let base = format!("{}/api/v1/customers", served.base);
    let http = reqwest::Client::new();

    let r = http
        .get(&base)
        .query(&[("cpf", "529.982.247-25")])
        .bearer_auth(&reader)
        .header("x-request-id", "req-1")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    // The request id is ours; the client's is kept apart.
    let ours = r
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("our request id");
    assert!(uuid::Uuid::parse_str(&ours).is_ok(), "{ours}");
    assert_eq!(
        r.headers()
            .get("x-client-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("req-1")
    );
    let audited: Vec<String> = sqlx::query_scalar("SELECT request_id FROM enrich.pii_access_audit")
        .fetch_all(&test.pool)
        .await
        .expect("audit");
    assert_eq!(
        audited,
        std::slice::from_ref(&ours),
        "the audit records our id, never the client's"
    );
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["count"], 1);
    let c = &body["customers"][0];
    assert_eq!(c["national_id"], "52998224725");
    assert_eq!(c["phones"].as_array().map(Vec::len), Some(4));
    assert_eq!(c["emails"].as_array().map(Vec::len), Some(3));
    assert_eq!(c["addresses"].as_array().map(Vec::len), Some(4));
    assert_eq!(c["addresses"][0]["confidence"], 0.9);
    assert_eq!(c["relatives"].as_array().map(Vec::len), Some(2));
    // Masking rules: the person asked for in full, relatives' CPFs masked.
    let relative_cpfs: Vec<String> = dossier
        .relatives
        .iter()
        .map(|r| r.cpf.digits().to_owned())
        .collect();
    for (shown, cpf) in c["relatives"]
        .as_array()
        .expect("relatives")
        .iter()
        .zip(&relative_cpfs)
    {
        let shown = shown["national_id"].as_str().expect("masked id");
        assert!(
            shown.starts_with("***.") && shown.ends_with("-**"),
            "{shown}"
        );
        assert_eq!(
            &shown[4..11],
            &format!("{}.{}", &cpf[3..6], &cpf[6..9]),
            "{shown}"
        );
    }
    let text = c.to_string();
    for cpf in &relative_cpfs {
        assert!(!text.contains(cpf.as_str()), "a relative's CPF in clear");
    }
    assert_eq!(c["companies"].as_array().map(Vec::len), Some(3));
    assert_eq!(c["financials"]["reported_income"], 23618.43);
    assert_eq!(c["leads"][0]["lead_id"], "9f3c2a7b5d1e4f60a8b9c0d1e2f3a4b5");
    assert_eq!(c["profile"]["sex"], "F");

    // The body form: the same record, nothing of the person in the URL.
    let posted: Value = http
        .post(format!("{base}/lookup"))
        .bearer_auth(&reader)
        .json(&serde_json::json!({"cpf": "529.982.247-25"}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(&posted["customers"][0], c);
    let endpoints: Vec<String> =
        sqlx::query_scalar("SELECT endpoint FROM enrich.pii_access_audit ORDER BY id")
            .fetch_all(&test.pool)
            .await
            .expect("audit");
    assert_eq!(
        endpoints,
        ["GET /api/v1/customers", "POST /api/v1/customers/lookup"]
    );
    sqlx::query("DELETE FROM enrich.pii_access_audit WHERE endpoint LIKE 'POST%'")
        .execute(&test.pool)
        .await
        .expect("keep the rest of the test's counts");
    for (k, v) in [
        ("phone", "(11) 98765-4321"),
        ("email", "HELENA.MCOSTA@gmail.com"),
    ] {
        let r: Value = http
            .get(&base)
            .query(&[(k, v)])
            .bearer_auth(&reader)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(r["count"], 1, "{k}");
    }
    let none: Value = http
        .get(&base)
        .query(&[("cpf", "11144477735")])
        .bearer_auth(&reader)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(none["count"], 0);

    // A CPF of the right form whose check digits do not match is nobody's:
    // no one found (issue 14: a value the document's pattern allows is
    // never refused as malformed), saying why, never repeating it.
    let unchecked = http
        .get(&base)
        .query(&[("cpf", "52998224726")])
        .bearer_auth(&reader)
        .send()
        .await
        .expect("get");
    assert_eq!(unchecked.status(), 200);
    let body = unchecked.json::<Value>().await.expect("json");
    assert_eq!(body["count"], 0);
    let note = body["note"].as_str().unwrap_or_default().to_owned();
    assert!(
        note.contains("check digits") && !body.to_string().contains("52998224726"),
        "{body}"
    );
    // A value that is no CPF at all (too short) is still refused, and why.
    let bad = http
        .get(&base)
        .query(&[("cpf", "5299822472")])
        .bearer_auth(&reader)
        .send()
        .await
        .expect("get");
    assert_eq!(bad.status(), 400);
    let msg = bad.json::<Value>().await.expect("json")["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        msg.contains("fewer than 11 digits") && !msg.contains("5299822472"),
        "{msg}"
    );
    let two = http
        .get(&base)
        .query(&[("cpf", "52998224725"), ("email", "a@b.com")])
        .bearer_auth(&reader)
        .send()
        .await
        .expect("get");
    assert_eq!(two.status(), 400);
    assert_eq!(
        http.get(&base)
            .query(&[("cpf", "52998224725")])
            .send()
            .await
            .expect("get")
            .status(),
        401
    );
    assert_eq!(
        http.get(&base)
            .query(&[("cpf", "52998224725")])
            .bearer_auth(&trigger)
            .send()
            .await
            .expect("get")
            .status(),
        403
    );

    let audit = c2s_enrich::store::customers::audit_since(
        &test.pool,
        chrono::Utc::now() - chrono::Duration::minutes(5),
    )
    .await
    .expect("audit");
    assert_eq!(
        audit.len(),
        5,
        "three reads of Helena and two searches that found nobody (one by a CPF whose digits do not check)"
    );
    assert!(audit.iter().all(|a| a.key_name == "analyst"));
    assert_eq!(audit[0].request_id, ours, "our id, not the client's req-1");
    assert_eq!(
        audit
            .iter()
            .map(|a| a.query_kind.as_str())
            .collect::<Vec<_>>(),
        ["cpf", "phone", "email", "cpf", "cpf"]
    );
    assert!(audit[3].entity_id.is_none());
    assert!(audit[4].entity_id.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_two_people_share_answers_both_and_audits_each_read() {
    let test = TestDb::migrated().await.expect("db");
    let raw: Value = serde_json::from_str(&fixture("work_api_cpf.json")).expect("json");
    // A second person (another valid CPF and name) listing the same mobile.
    let mut other = raw.clone();
    other["DadosBasicos"]["cpf"] = "11144477735".into();
    other["DadosBasicos"]["nome"] = "RAFAEL COSTA LIMA".into();
    other["parentes"] = serde_json::json!([]);
    let options = store_options();
    for payload in [raw, other] {
        let dossier = parse_dossier(payload).expect("dossier");
        store_dossier(&test.pool, &dossier, &LeadContext::default(), &options)
            .await
            .expect("stored");
    }
    let (_, reader) = api_keys::create(&test.pool, "analyst", &["read:pii".to_owned()])
        .await
        .expect("key");
    let served = serve_app(AppState::new(test.pool.clone()))
        .await
        .expect("serve");
    let r: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/customers", served.base))
        .query(&[("phone", "(11) 98765-4321")])
        .bearer_auth(&reader)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(r["count"], 2, "{r}");
    let mut shown: Vec<String> = r["customers"]
        .as_array()
        .expect("customers")
        .iter()
        .map(|c| c["national_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    shown.sort();
    assert_eq!(shown, ["11144477735", "52998224725"]);
    // One audit row per person read, each naming that person.
    let audited: Vec<(String, Option<uuid::Uuid>)> = sqlx::query_as(
        "SELECT a.query_kind, a.entity_id FROM enrich.pii_access_audit a ORDER BY a.id",
    )
    .fetch_all(&test.pool)
    .await
    .expect("audit");
    assert_eq!(audited.len(), 2, "{audited:?}");
    let read: Vec<String> = sqlx::query_scalar(
        "SELECT e.national_id FROM enrich.pii_access_audit a JOIN core.entities e USING (entity_id)
          WHERE a.query_kind = 'phone' ORDER BY e.national_id",
    )
    .fetch_all(&test.pool)
    .await
    .expect("audited people");
    assert_eq!(read, ["11144477735", "52998224725"]);
}

/// `requests` audit records sent at once while another transaction holds the
/// audit table: the writer's first insert waits on the lock, every other
/// request queues behind it; returns each request's outcome once the lock is
/// let go.
async fn record_while_blocked(
    test: &TestDb,
    kinds: Vec<&'static str>,
) -> Vec<Result<(), c2s_enrich::store::pii_audit::AuditError>> {
    use c2s_enrich::store::pii_audit::{AuditEntry, AuditLog};
    let log = AuditLog::new(test.pool.clone());
    let mut blocker = test.pool.begin().await.expect("begin");
    sqlx::query("LOCK TABLE enrich.pii_access_audit IN EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .expect("lock");
    let tasks: Vec<_> = kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| {
            let log = log.clone();
            tokio::spawn(async move {
                log.record(vec![AuditEntry {
                    key_name: "analyst".into(),
                    endpoint: "test".into(),
                    query_kind: kind,
                    entity_id: None,
                    request_id: format!("r{i}"),
                    accessed_at: chrono::Utc::now(),
                }])
                .await
            })
        })
        .collect();
    // The writer is stuck on the lock; give the rest time to queue.
    for _ in 0..100 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
              WHERE c.relname = 'pii_access_audit' AND NOT l.granted",
        )
        .fetch_one(&test.pool)
        .await
        .expect("locks");
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    blocker.commit().await.expect("release");
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.expect("task"));
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_rows_of_concurrent_reads_commit_together_and_each_is_durable_when_acknowledged() {
    let test = TestDb::migrated().await.expect("db");
    let outcomes = record_while_blocked(&test, vec!["cpf"; 40]).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    // Every acknowledged row is there, read from another connection.
    let (rows, commits): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT xmin::text) FROM enrich.pii_access_audit")
            .fetch_one(&test.pool)
            .await
            .expect("audit");
    assert_eq!(rows, 40);
    // Rows of one transaction share its xmin: 40 reads, a handful of commits
    // (the first batch before the lock was seen, then the queued rest).
    assert!(commits < 10, "{commits} commits for 40 reads");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_the_database_refuses_fails_only_its_own_read() {
    let test = TestDb::migrated().await.expect("db");
    // `query_kind` is checked by the table: "bogus" is refused.
    let mut kinds = vec!["phone"; 10];
    kinds[4] = "bogus";
    let outcomes = record_while_blocked(&test, kinds).await;
    let failed: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| o.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed, [4], "{outcomes:?}");
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT request_id FROM enrich.pii_access_audit ORDER BY request_id")
            .fetch_all(&test.pool)
            .await
            .expect("audit");
    let expected: Vec<String> = (0..10)
        .filter(|i| *i != 4)
        .map(|i| format!("r{i}"))
        .collect();
    let mut expected = expected;
    expected.sort();
    assert_eq!(stored, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_answers_only_once_its_audit_row_is_committed() {
    let test = TestDb::migrated().await.expect("db");
    store_fixture(&test, &LeadContext::default()).await;
    let (_, reader) = api_keys::create(&test.pool, "analyst", &["read:pii".to_owned()])
        .await
        .expect("key");
    let served = serve_app(AppState::new(test.pool.clone()))
        .await
        .expect("serve");
    let mut blocker = test.pool.begin().await.expect("begin");
    sqlx::query("LOCK TABLE enrich.pii_access_audit IN EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .expect("lock");
    let lookup = tokio::spawn({
        let url = format!("{}/api/v1/customers/lookup", served.base);
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(&reader)
                .json(&serde_json::json!({"cpf": "529.982.247-25"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    // The record is read, but its audit row cannot commit: no answer yet.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !lookup.is_finished(),
        "answered before its audit row was committed"
    );
    blocker.commit().await.expect("release");
    assert_eq!(lookup.await.expect("task").expect("answer"), 200);
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.pii_access_audit")
        .fetch_one(&test.pool)
        .await
        .expect("audit");
    assert_eq!(audited, 1);
}

/// Every table the golden-record statement reads, for each kind of
/// identifier, is reached through an index: with sequential scans priced
/// out, a table without a usable index would still show one.
#[tokio::test]
async fn the_golden_record_statement_reads_every_table_by_index() {
    let test = TestDb::migrated().await.expect("db");
    let mut tx = test.pool.begin().await.expect("begin");
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut *tx)
        .await
        .expect("set");
    let prepare = format!(
        "PREPARE golden(text, text) AS {}",
        c2s_enrich::store::customers::GOLDEN_RECORD_SQL
    );
    sqlx::raw_sql(&prepare)
        .execute(&mut *tx)
        .await
        .expect("prepare");
    for (kind, value) in [
        ("cpf", "52998224725"),
        ("phone", "+5511987654321"),
        ("email", "helena@example.com"),
    ] {
        let plan: Value = sqlx::query_scalar(&format!(
            "EXPLAIN (FORMAT JSON) EXECUTE golden('{kind}', '{value}')"
        ))
        .fetch_one(&mut *tx)
        .await
        .expect("explain");
        let mut scans = Vec::new();
        collect_scans(&plan, &mut scans);
        let sequential: Vec<&String> = scans.iter().filter(|s| s.starts_with("Seq Scan")).collect();
        assert!(
            sequential.is_empty(),
            "{kind}: sequential scans {sequential:?} in {scans:?}"
        );
        assert!(
            scans.iter().any(|s| s.contains("entit")),
            "{kind}: the plan reads the people: {scans:?}"
        );
    }
}

/// "Node Type on relation" of every scan in an EXPLAIN (FORMAT JSON) plan.
fn collect_scans(plan: &Value, out: &mut Vec<String>) {
    match plan {
        Value::Object(map) => {
            if let (Some(Value::String(node)), Some(Value::String(rel))) =
                (map.get("Node Type"), map.get("Relation Name"))
            {
                out.push(format!("{node} on {rel}"));
            }
            map.values().for_each(|v| collect_scans(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_scans(v, out)),
        _ => {}
    }
}
