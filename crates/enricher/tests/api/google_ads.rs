//! Google Ads lead forms end to end: real HTTP intake, a real database, the
//! sandbox for every provider, workers draining the queue.

use std::sync::Arc;
use std::time::Duration;

use c2s_enrich::http::AppState;
use c2s_enrich::pipeline::worker::{self, WorkerOptions};
use c2s_enrich::pipeline::Pipeline;
use c2s_enrich::store::jobs::Backoff;
use c2s_lab::testing::{serve_app, ServedApp, TestDb};
use c2s_sim::{Faults, LeadKind, SimHandle};
use secrecy::SecretString;
use serde_json::{json, Value};

const KEY: &str = "google-key-of-the-form";

struct World {
    sim: SimHandle,
    test: TestDb,
    pipeline: Arc<Pipeline>,
    served: ServedApp,
    http: reqwest::Client,
}

async fn world(extra: &[(&str, &str)]) -> World {
    let (sim, test, pipeline) = c2s_lab::testing::sandbox::setup_with(extra).await;
    let pipeline = Arc::new(pipeline);
    let state = AppState {
        google_ads_key: Some(Arc::new(SecretString::from(KEY))),
        pipeline: Some(pipeline.clone()),
        ..AppState::new(test.pool.clone())
    };
    let served = serve_app(state).await.expect("serve");
    World {
        sim,
        test,
        pipeline,
        served,
        http: reqwest::Client::new(),
    }
}

fn options() -> WorkerOptions {
    WorkerOptions {
        id: "gads-test".into(),
        backoff: Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(20),
        },
        ..WorkerOptions::default()
    }
}

impl World {
    /// A sandbox lead whose phone and e-mail are one person's: (name, phone, email, cpf).
    fn owner(&self) -> (String, String, String, String) {
        let lead = self
            .sim
            .state
            .leads()
            .into_iter()
            .find(|l| l.kind == LeadKind::Owner)
            .expect("an owner lead");
        let person = &self.sim.state.population.people[lead.person.expect("person")];
        (
            lead.name.clone(),
            lead.phone.clone().expect("phone"),
            lead.email.clone().expect("email"),
            person.cpf.digits().to_owned(),
        )
    }

    fn form(&self, lead_id: &str, extra: &[(&str, &str, &str)]) -> Value {
        let (name, phone, email, _) = self.owner();
        let mut columns = vec![
            json!({"column_id": "FULL_NAME", "column_name": "Full Name", "string_value": name}),
            json!({"column_id": "PHONE_NUMBER", "column_name": "User Phone", "string_value": phone}),
            json!({"column_id": "EMAIL", "column_name": "User Email", "string_value": email}),
            json!({"column_id": "orcamento", "column_name": "Qual o seu orçamento?", "string_value": "Acima de 5 milhões"}),
        ];
        for (id, q, v) in extra {
            columns.push(json!({"column_id": id, "column_name": q, "string_value": v}));
        }
        json!({
            "lead_id": lead_id, "api_version": "1.0", "form_id": 4321, "campaign_id": 1234,
            "gcl_id": "gcl-xyz", "google_key": KEY, "is_test": false, "user_column_data": columns
        })
    }

    async fn post(&self, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/api/v1/webhooks/google-ads", self.served.base))
            .json(body)
            .send()
            .await
            .expect("post");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn drain(&self) {
        for _ in 0..50 {
            worker::drain(&self.pipeline, &options())
                .await
                .expect("drain");
            let open: i64 = self
                .scalar("SELECT count(*) FROM enrich.jobs WHERE state IN ('queued', 'running')")
                .await;
            if open == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        panic!("jobs did not finish");
    }

    async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.test.pool)
            .await
            .expect(sql)
    }

    fn created(&self) -> Vec<Value> {
        self.sim.state.journal().created_leads
    }
}

#[tokio::test]
async fn a_form_lead_is_enriched_and_created_in_c2s_once_with_note_and_answers() {
    let w = world(&[("C2S_SELLER_ID", "seller-77")]).await;
    let (status, body) = w.post(&w.form("g-happy-1", &[])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["decision"], "accepted");
    w.drain().await;

    let created = w.created();
    assert_eq!(created.len(), 1, "exactly one C2S lead");
    let attrs = &created[0];
    assert_eq!(attrs["source"], "Google Ads");
    assert_eq!(attrs["seller_id"], "seller-77");
    assert_eq!(attrs["type_negotiation"], "Compra");
    assert!(attrs.get("is_test").is_none());
    let description = attrs["description"].as_str().expect("description");
    assert!(
        description
            .starts_with("Ref. Google Ads: g-happy-1\n\n📞📧 Telefone e e-mail da mesma pessoa"),
        "{description}"
    );
    assert!(description.contains("✅ DADOS PESSOAIS"), "{description}");
    assert!(
        description.contains("Qual o seu orçamento?: Acima de 5 milhões"),
        "{description}"
    );

    let (_, _, _, cpf) = w.owner();
    let (state, c2s_lead, outcome): (String, String, String) = sqlx::query_as(
        "SELECT state, c2s_lead_id, outcome FROM enrich.google_ads_leads WHERE google_lead_id = 'g-happy-1'",
    )
    .fetch_one(&w.test.pool)
    .await
    .expect("row");
    assert_eq!(
        (state.as_str(), outcome.as_str()),
        ("completed", "enriched")
    );
    // The created lead is known as done, so C2S's own webhooks for it cost nothing.
    let (step, note_status): (String, String) =
        sqlx::query_as("SELECT step, note_status FROM enrich.leads WHERE lead_id = $1")
            .bind(&c2s_lead)
            .fetch_one(&w.test.pool)
            .await
            .expect("lead row");
    assert_eq!((step.as_str(), note_status.as_str()), ("done", "sent"));
    let linked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM enrich.lead_entities le JOIN core.entities e USING (entity_id)
          WHERE le.lead_id = $1 AND e.national_id = $2 AND le.match_kind = 'phone_and_email'",
    )
    .bind(&c2s_lead)
    .bind(&cpf)
    .fetch_one(&w.test.pool)
    .await
    .expect("link");
    assert_eq!(linked, 1);

    // C2S then announces the lead we created: a lead is created once, so the
    // announcement is a duplicate — nothing enqueued, no lookups, no note.
    let before = w.sim.state.journal().calls.len();
    let jobs_before: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.jobs")
        .fetch_one(&w.test.pool)
        .await
        .expect("jobs");
    let event = json!({"hook_action": "on_create_lead", "id": c2s_lead, "attributes": {"updated_at": "2026-11-24T12:00:00-03:00"}});
    let r = w
        .http
        .post(format!("{}/api/v1/webhooks/c2s", w.served.base))
        .json(&event)
        .send()
        .await
        .expect("webhook");
    assert_eq!(r.status(), 200, "a duplicate announcement");
    let answer: serde_json::Value = r.json().await.expect("json");
    assert_eq!(answer["duplicate"], true, "{answer}");
    let jobs_after: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.jobs")
        .fetch_one(&w.test.pool)
        .await
        .expect("jobs");
    assert_eq!(jobs_after, jobs_before, "nothing enqueued for our own lead");
    w.drain().await;
    let journal = w.sim.state.journal();
    assert_eq!(
        journal.calls.len(),
        before,
        "no provider call for our own lead"
    );
    assert!(
        journal.notes.is_empty(),
        "the note went in the description, never as a second note"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_and_concurrent_deliveries_make_one_job_and_one_c2s_lead() {
    let w = world(&[]).await;
    let body = w.form("g-dup-1", &[]);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (http, url, body) = (
                w.http.clone(),
                format!("{}/api/v1/webhooks/google-ads", w.served.base),
                body.clone(),
            );
            tokio::spawn(async move {
                let r = http.post(url).json(&body).send().await.expect("post");
                assert_eq!(r.status(), 200);
                r.json::<Value>().await.expect("json")["decision"].clone()
            })
        })
        .collect();
    let mut accepted = 0;
    for t in tasks {
        let d = t.await.expect("task");
        assert!(d == "accepted" || d == "duplicate", "{d}");
        accepted += usize::from(d == "accepted");
    }
    assert_eq!(accepted, 1);
    assert_eq!(w.scalar("SELECT count(*) FROM enrich.jobs").await, 1);
    w.drain().await;
    let (_, again) = w.post(&body).await;
    assert_eq!(again["decision"], "duplicate");
    w.drain().await;
    assert_eq!(w.created().len(), 1);
}

#[tokio::test]
async fn a_test_lead_is_recorded_but_never_looked_up_nor_sent() {
    let w = world(&[]).await;
    let mut body = w.form("TeSter-1", &[]);
    body["is_test"] = json!(true);
    let (status, r) = w.post(&body).await;
    assert_eq!(
        (status, r["decision"].as_str()),
        (200, Some("test_recorded"))
    );
    w.drain().await;
    assert_eq!(w.scalar("SELECT count(*) FROM enrich.jobs").await, 0);
    assert_eq!(
        w.scalar("SELECT count(*) FROM enrich.google_ads_leads WHERE is_test AND state = 'test_recorded' AND c2s_status = 'skipped_test'").await,
        1
    );
    assert!(w.sim.state.journal().calls.is_empty());
    assert!(w.created().is_empty());
}

#[tokio::test]
async fn a_failed_creation_is_retried_without_repeating_lookups() {
    let w = world(&[]).await;
    w.sim.state.set_faults(
        "c2s",
        Faults {
            fail_next: 1,
            ..Faults::default()
        },
    );
    w.post(&w.form("g-fail-1", &[])).await;
    // The retry is due half a second later: not ready while this drain runs
    // (with the usual 10–20 ms a loaded machine's drain could reach it too).
    let first = worker::drain(
        &w.pipeline,
        &WorkerOptions {
            backoff: Backoff {
                base: Duration::from_millis(500),
                max: Duration::from_millis(500),
            },
            ..options()
        },
    )
    .await
    .expect("drain");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1, worker::JobOutcome::Retrying);
    assert!(w.created().is_empty());
    let lookups = |j: &c2s_sim::Journal| j.calls.iter().filter(|c| c.provider != "c2s").count();
    let paid_before = lookups(&w.sim.state.journal());
    assert!(paid_before > 0);
    w.drain().await;
    let journal = w.sim.state.journal();
    assert_eq!(journal.created_leads.len(), 1);
    assert_eq!(
        journal.count("c2s", "create_lead"),
        2,
        "one failed, one created"
    );
    assert_eq!(
        lookups(&journal),
        paid_before,
        "the retry only creates the lead"
    );
}

#[tokio::test]
async fn a_lost_answer_is_reconciled_instead_of_creating_a_second_lead() {
    let w = world(&[]).await;
    // C2S creates the lead but the answer never reaches us.
    w.sim.state.set_faults(
        "c2s",
        Faults {
            lose_answer_next: 1,
            ..Faults::default()
        },
    );
    w.post(&w.form("g-lost-1", &[])).await;
    w.drain().await;
    let journal = w.sim.state.journal();
    assert_eq!(journal.created_leads.len(), 1, "never a second lead");
    assert_eq!(journal.count("c2s", "create_lead"), 1);
    assert!(
        journal.count("c2s", "list_leads") >= 1,
        "looked the lead up"
    );
    let c2s_lead: String = sqlx::query_scalar(
        "SELECT c2s_lead_id FROM enrich.google_ads_leads WHERE google_lead_id = 'g-lost-1' AND c2s_status = 'created'",
    )
    .fetch_one(&w.test.pool)
    .await
    .expect("mapped");
    let sim_ids: Vec<String> = w
        .sim
        .state
        .leads()
        .into_iter()
        .filter(|l| l.source.as_deref() == Some("Google Ads"))
        .map(|l| l.id)
        .collect();
    assert_eq!(sim_ids, vec![c2s_lead]);
}

#[tokio::test]
async fn a_typed_cpf_is_used_directly_and_the_description_is_cut_to_the_limit() {
    let w = world(&[("C2S_DESCRIPTION_MAX_LENGTH", "300")]).await;
    let (_, _, _, cpf) = w.owner();
    let formatted = format!("{}.{}.{}-{}", &cpf[0..3], &cpf[3..6], &cpf[6..9], &cpf[9..]);
    w.post(&w.form(
        "g-cpf-1",
        &[("qual_o_seu_cpf", "Qual o seu CPF?", &formatted)],
    ))
    .await;
    w.drain().await;
    let journal = w.sim.state.journal();
    assert_eq!(
        journal.count("diretrix", "phone") + journal.count("diretrix", "email"),
        0
    );
    let description = journal.created_leads[0]["description"]
        .as_str()
        .expect("d")
        .to_owned();
    assert!(
        description.starts_with("Ref. Google Ads: g-cpf-1\n\n🧾 CPF informado no formulário"),
        "{description}"
    );
    assert_eq!(description.chars().count(), 300);
    assert!(description.ends_with('…'));
    let kind: String = sqlx::query_scalar(
        "SELECT le.match_kind FROM enrich.lead_entities le JOIN core.entities e USING (entity_id) WHERE e.national_id = $1",
    )
    .bind(&cpf)
    .fetch_one(&w.test.pool)
    .await
    .expect("link");
    assert_eq!(kind, "form_cpf");
}

#[tokio::test]
async fn bad_keys_and_bodies_are_refused_and_nothing_is_stored() {
    let w = world(&[]).await;
    let mut wrong = w.form("g-bad-1", &[]);
    wrong["google_key"] = json!("guess");
    assert_eq!(w.post(&wrong).await.0, 401);
    let mut missing = w.form("g-bad-2", &[]);
    missing.as_object_mut().expect("obj").remove("google_key");
    assert_eq!(w.post(&missing).await.0, 401);
    let (status, body) = w.post(&json!({"google_key": KEY, "lead_id": ""})).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .expect("msg")
        .contains("lead_id"));
    let (status, _) = w
        .post(&json!({"google_key": KEY, "lead_id": "x", "user_column_data": "nope"}))
        .await;
    assert_eq!(status, 400);
    let r = w
        .http
        .post(format!("{}/api/v1/webhooks/google-ads", w.served.base))
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    assert_eq!(
        w.scalar("SELECT count(*) FROM enrich.google_ads_leads")
            .await,
        0
    );
    assert_eq!(w.scalar("SELECT count(*) FROM enrich.jobs").await, 0);

    // Without a configured key the intake is off, whatever the body says.
    let test = TestDb::migrated().await.expect("db");
    let off = serve_app(AppState::new(test.pool.clone()))
        .await
        .expect("serve");
    let r = w
        .http
        .post(format!("{}/api/v1/webhooks/google-ads", off.base))
        .json(&w.form("g-off-1", &[]))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 503);
}

#[tokio::test]
async fn erasing_the_person_clears_the_form_answers_and_the_description() {
    let w = world(&[]).await;
    let (name, phone, email, cpf) = w.owner();
    w.post(&w.form("g-erase-1", &[])).await;
    w.drain().await;
    assert_eq!(
        w.scalar("SELECT count(*) FROM enrich.google_ads_leads WHERE state = 'completed'")
            .await,
        1
    );
    let cpf = brazil::Cpf::parse(&cpf).expect("cpf");
    let erased =
        c2s_enrich::store::erasure::erase(&w.test.pool, &w.pipeline.ledger, &cpf, "test", None)
            .await
            .expect("erase");
    assert!(erased.is_some());
    let phone = brazil::PhoneBr::parse(&phone).expect("phone");
    for needle in [
        cpf.digits().to_owned(),
        cpf.to_string(),
        phone.national().to_owned(),
        email,
        name,
    ] {
        let left = c2s_lab::testing::occurrences(&w.test.pool, &needle).await;
        assert!(left.is_empty(), "still found in {left:?}");
    }
}

#[tokio::test]
async fn a_typed_cpf_of_someone_else_is_ignored_paid_once_never_shown_and_discovery_runs() {
    let w = world(&[]).await;
    let (_, _, _, own) = w.owner();
    // Anyone can type anyone's CPF in a public form: a person unrelated to
    // the one filling it in (not the owner, not a sibling).
    let stranger = w
        .sim
        .state
        .population
        .people
        .iter()
        .rev()
        .find(|p| p.cpf.digits() != own)
        .expect("someone else")
        .clone();
    let typed = stranger.cpf.to_string();
    w.post(&w.form(
        "g-cpf-stranger",
        &[("qual_o_seu_cpf", "Qual o seu CPF?", &typed)],
    ))
    .await;
    w.drain().await;
    let journal = w.sim.state.journal();
    let asked_for_stranger = journal
        .calls
        .iter()
        .filter(|c| c.operation == "cpf" && c.query == stranger.cpf.digits())
        .count();
    assert_eq!(asked_for_stranger, 1, "the check pays once");
    assert!(
        journal.count("diretrix", "phone") >= 1,
        "normal discovery ran"
    );
    let description = journal.created_leads[0]["description"]
        .as_str()
        .expect("d")
        .to_owned();
    assert!(
        !description.contains(&stranger.cpf.to_string()),
        "{description}"
    );
    assert!(!description.contains(&stranger.name), "{description}");
    assert!(
        !description.contains("🧾 CPF informado no formulário"),
        "{description}"
    );
    assert!(
        description.contains(&format!("CPF: {}", brazil::Cpf::parse(&own).expect("cpf"))),
        "{description}"
    );
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM core.entities WHERE national_id = $1 AND is_enriched",
    )
    .bind(stranger.cpf.digits())
    .fetch_one(&w.test.pool)
    .await
    .expect("count");
    assert_eq!(stored, 0, "the stranger is not stored as enriched");
    let context: Value = sqlx::query_scalar(
        "SELECT context FROM enrich.google_ads_leads WHERE google_lead_id = 'g-cpf-stranger'",
    )
    .fetch_one(&w.test.pool)
    .await
    .expect("context");
    let decisions = context["discovery"]["decisions"].to_string();
    assert!(
        decisions.contains("typed in the form, but its dossier matches neither"),
        "{decisions}"
    );
    assert!(!decisions.contains(stranger.cpf.digits()), "masked");
}

#[tokio::test]
async fn after_erasure_a_new_form_of_the_person_is_sent_to_c2s_and_nothing_of_it_is_kept() {
    let w = world(&[]).await;
    let (name, phone, email, cpf) = w.owner();
    w.post(&w.form("g-before", &[])).await;
    w.drain().await;
    // A second form arrives, and the erasure comes before it is processed.
    w.post(&w.form("g-pending", &[])).await;
    let cpf = brazil::Cpf::parse(&cpf).expect("cpf");
    c2s_enrich::store::erasure::erase(&w.test.pool, &w.pipeline.ledger, &cpf, "test", None)
        .await
        .expect("erase")
        .expect("erased");
    assert_eq!(
        w.scalar("SELECT count(*) FROM enrich.google_ads_leads WHERE google_lead_id = 'g-pending' AND state = 'failed'")
            .await,
        1,
        "the pending form is cancelled"
    );
    let created_before = w.sim.state.journal().count("c2s", "create_lead");
    w.drain().await;
    assert_eq!(
        w.sim.state.journal().count("c2s", "create_lead"),
        created_before,
        "a cancelled form creates no C2S lead"
    );
    // They fill the form again: they asked to be contacted, so C2S gets the
    // lead — with no provider asked and nothing of theirs kept here.
    let calls = |w: &World| {
        w.sim
            .state
            .journal()
            .calls
            .iter()
            .filter(|c| c.provider != "c2s")
            .count()
    };
    let before = calls(&w);
    w.post(&w.form("g-after", &[])).await;
    w.drain().await;
    assert_eq!(
        w.sim.state.journal().count("c2s", "create_lead"),
        created_before + 1
    );
    assert_eq!(calls(&w), before, "no lookup about the erased person");
    let phone = brazil::PhoneBr::parse(&phone).expect("phone");
    for needle in [
        cpf.digits().to_owned(),
        phone.national().to_owned(),
        email,
        name,
    ] {
        let left = c2s_lab::testing::occurrences(&w.test.pool, &needle).await;
        assert!(left.is_empty(), "still found in {left:?}");
    }
}

#[tokio::test]
async fn ad_leads_are_created_with_their_mapped_product_and_unmapped_ads_are_recorded() {
    let dir = tempfile::tempdir().expect("dir");
    let map = dir.path().join("products.toml");
    std::fs::write(
        &map,
        r#"
[[products]]
campaign_id = "1234"
description = "Lançamentos Jardins"

[[products]]
adgroup_id = "5678"
description = "Cobertura Jardim Europa, 4 suítes"
reference = "MB-1234"
price = "12500000"
"#,
    )
    .expect("map");
    let w = world(&[("GOOGLE_ADS_PRODUCTS_FILE", map.to_str().expect("path"))]).await;
    // The ad group's entry is more specific than the campaign's.
    let mut by_adgroup = w.form("g-prod-1", &[]);
    by_adgroup["adgroup_id"] = json!(5678);
    let by_campaign = w.form("g-prod-2", &[]);
    let mut unmapped = w.form("g-prod-3", &[]);
    unmapped["campaign_id"] = json!(999);
    for body in [&by_adgroup, &by_campaign, &unmapped] {
        assert_eq!(w.post(body).await.0, 200);
    }
    w.drain().await;
    let created = w.created();
    assert_eq!(created.len(), 3);
    let product_of = |lead_id: &str| {
        created
            .iter()
            .find(|c| {
                c["description"]
                    .as_str()
                    .is_some_and(|d| d.contains(lead_id))
            })
            .unwrap_or_else(|| panic!("{lead_id} created"))["product"]
            .clone()
    };
    assert_eq!(
        product_of("g-prod-1"),
        json!({"description": "Cobertura Jardim Europa, 4 suítes", "prop_ref": "MB-1234", "price": "12500000"})
    );
    assert_eq!(
        product_of("g-prod-2"),
        json!({"description": "Lançamentos Jardins"})
    );
    assert_eq!(
        product_of("g-prod-3"),
        Value::Null,
        "no product for an unmapped ad"
    );
    let recorded: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT google_lead_id, product_ref, adgroup_id FROM enrich.google_ads_leads ORDER BY google_lead_id",
    )
    .fetch_all(&w.test.pool)
    .await
    .expect("rows");
    assert_eq!(
        recorded,
        [
            (
                "g-prod-1".into(),
                Some("MB-1234".into()),
                Some("5678".into())
            ),
            ("g-prod-2".into(), Some("Lançamentos Jardins".into()), None),
            ("g-prod-3".into(), None, None),
        ]
    );
}

#[tokio::test]
async fn an_ad_lead_gets_its_tier_its_tag_and_its_alert_once() {
    let hook = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&hook)
        .await;
    let uri = hook.uri();
    let w = world(&[("SLACK_WEBHOOK_URL", uri.as_str()), ("ALERT_MIN_TIER", "D")]).await;
    for _ in 0..2 {
        assert_eq!(w.post(&w.form("g-tier-1", &[])).await.0, 200);
    }
    w.drain().await;
    let (c2s_id, tier): (String, Option<String>) = sqlx::query_as(
        "SELECT g.c2s_lead_id, l.tier FROM enrich.google_ads_leads g
           JOIN enrich.leads l ON l.lead_id = g.c2s_lead_id WHERE g.google_lead_id = 'g-tier-1'",
    )
    .fetch_one(&w.test.pool)
    .await
    .expect("created lead");
    let tier = tier.expect("the created lead has a tier");
    assert_eq!(
        w.sim.state.lead_tag_names(&c2s_id),
        [format!("Perfil {tier}")]
    );
    // A C2S run of the created lead (its webhook, a forced run) sends
    // nothing again.
    let id = c2s_enrich::domain::lead::LeadId::parse(&c2s_id).expect("id");
    w.pipeline.process(&id).await.expect("re-run");
    assert_eq!(w.sim.state.lead_tags(&c2s_id).len(), 1, "one tag");
    let alerts = hook.received_requests().await.unwrap_or_default();
    assert_eq!(alerts.len(), 1);
    assert!(String::from_utf8_lossy(&alerts[0].body).contains(&c2s_id));
    let description = w.created()[0]["description"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        description.contains(&format!("🏷️ Perfil {tier} — ")),
        "{description}"
    );
}
