//! The tier's C2S tag and the high-value alerts (issue 17), through the
//! pipeline with the sandbox, a local HTTP receiver standing in for Slack's
//! incoming webhook and a real SMTP server (aiosmtpd): each once per
//! qualifying lead, across re-runs, refusals and a crash between sending
//! and recording; never a CPF or the customer's name.

use c2s_enrich::domain::lead::LeadId;
use c2s_lab::testing::sandbox::setup_with;
use c2s_lab::testing::smtp::SmtpServer;
use c2s_sim::SimHandle;
use serde_json::Value;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn slack(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status))
        .mount(&server)
        .await;
    server
}

async fn slack_bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("Slack JSON"))
        .collect()
}

fn lead_ids(sim: &SimHandle) -> Vec<LeadId> {
    sim.state
        .leads()
        .iter()
        .map(|l| LeadId::parse(&l.id).expect("id"))
        .collect()
}

/// (lead, tier) of every lead that has a tier.
async fn tiers(pool: &sqlx::PgPool) -> Vec<(String, String)> {
    sqlx::query_as("SELECT lead_id, tier FROM enrich.leads WHERE tier IS NOT NULL ORDER BY lead_id")
        .fetch_all(pool)
        .await
        .expect("tiers")
}

/// Nothing in `text` that names a person of the sandbox: no CPF (in any
/// form), no name.
fn assert_no_personal_data(sim: &SimHandle, text: &str) {
    for p in &sim.state.population.people {
        assert!(!text.contains(p.cpf.digits()), "a CPF in {text}");
        assert!(!text.contains(&p.cpf.to_string()), "a CPF in {text}");
        assert!(
            !text.to_uppercase().contains(&p.name.to_uppercase()),
            "a name in {text}"
        );
    }
}

// Longer than 70 lines on purpose: one world run twice, every receiver
// checked against the tiers the database recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_qualifying_lead_gets_one_tag_one_slack_message_and_one_email() {
    let Some(smtp) = SmtpServer::start().await else {
        eprintln!("skipped: Python's aiosmtpd is not installed (CI installs it)");
        return;
    };
    let hook = slack(200).await;
    let port = smtp.port.to_string();
    let slack_url = format!("{}/services/T000/B000/XXXX", hook.uri());
    let (sim, test, pipeline) = setup_with(&[
        ("SLACK_WEBHOOK_URL", slack_url.as_str()),
        ("ALERT_EMAIL_TO", "vendas@mbras.test, diretoria@mbras.test"),
        ("ALERT_EMAIL_FROM", "c2s-enrich <alertas@mbras.test>"),
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", port.as_str()),
        ("SMTP_TLS", "none"),
        ("ALERT_MIN_TIER", "A"),
        ("C2S_LEAD_URL", "https://c2s.test/leads/{lead_id}"),
    ])
    .await;
    for round in 0..2 {
        for id in lead_ids(&sim) {
            pipeline
                .process(&id)
                .await
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
    }
    let tiered = tiers(&test.pool).await;
    assert!(!tiered.is_empty(), "some leads have a tier");
    let rules = &pipeline.settings.profile.rules;
    let min = rules.rank("A").expect("A");
    let qualifying: Vec<&String> = tiered
        .iter()
        .filter(|(_, t)| rules.rank(t).is_some_and(|r| r <= min))
        .map(|(l, _)| l)
        .collect();
    assert!(
        !qualifying.is_empty(),
        "the world has leads at A: {tiered:?}"
    );
    assert!(
        qualifying.len() < tiered.len(),
        "and some below: {tiered:?}"
    );

    // One tag per lead with a tier, named after it, never twice.
    for (lead, tier) in &tiered {
        assert_eq!(
            sim.state.lead_tag_names(lead),
            [format!("Perfil {tier}")],
            "{lead}"
        );
    }
    let journal = sim.state.journal();
    assert_eq!(journal.count("c2s", "tag_lead"), tiered.len());
    assert_eq!(journal.count("c2s", "create_tag"), {
        let mut distinct: Vec<&String> = tiered.iter().map(|(_, t)| t).collect();
        distinct.sort();
        distinct.dedup();
        distinct.len()
    });

    // One Slack message per qualifying lead: blocks, a link, no personal data.
    let bodies = slack_bodies(&hook).await;
    assert_eq!(bodies.len(), qualifying.len(), "{bodies:?}");
    for lead in &qualifying {
        let hits: Vec<&Value> = bodies
            .iter()
            .filter(|b| b.to_string().contains(lead.as_str()))
            .collect();
        assert_eq!(hits.len(), 1, "{lead}");
        let b = hits[0];
        assert!(
            b["text"].as_str().is_some_and(|t| t.contains("Perfil")),
            "{b}"
        );
        let blocks = b["blocks"].as_array().expect("blocks");
        assert_eq!(blocks[0]["type"], "header");
        let button = &blocks.last().expect("actions")["elements"][0];
        assert_eq!(button["url"], format!("https://c2s.test/leads/{lead}"));
        assert_no_personal_data(&sim, &b.to_string());
    }

    // The same by e-mail, to both recipients in one message each.
    let mail = smtp.messages();
    assert_eq!(mail.len(), qualifying.len(), "{mail:?}");
    for lead in &qualifying {
        let m: Vec<_> = mail
            .iter()
            .filter(|m| m.body.contains(lead.as_str()))
            .collect();
        assert_eq!(m.len(), 1, "{lead}");
        assert!(m[0].subject.contains("Perfil"), "{}", m[0].subject);
        assert!(m[0].to.contains("vendas@mbras.test") && m[0].to.contains("diretoria@mbras.test"));
        assert!(m[0].from.contains("alertas@mbras.test"));
        assert!(m[0]
            .body
            .contains(&format!("https://c2s.test/leads/{lead}")));
        assert_no_personal_data(&sim, &format!("{}{}", m[0].subject, m[0].body));
    }
}

// Longer than 70 lines on purpose: one lead through a refusal, a retry, a
// crash between sending and recording, and an unclear send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_alerts_are_retried_sent_ones_never_again_and_unclear_ones_not_repeated() {
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&hook)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hook)
        .await;
    let (sim, test, pipeline) = setup_with(&[
        ("SLACK_WEBHOOK_URL", hook.uri().as_str()),
        ("ALERT_MIN_TIER", "D"),
    ])
    .await;
    let owner = sim
        .state
        .first_lead(c2s_sim::LeadKind::Owner)
        .expect("owner");
    let id = LeadId::parse(&owner.id).expect("id");

    // Slack refuses: the note is posted, the run asks to be retried.
    let err = pipeline
        .process(&id)
        .await
        .expect_err("the alert was refused");
    assert!(err.to_string().contains("slack"), "{err}");
    assert_eq!(sim.state.journal().notes_for(&owner.id).len(), 1);
    // The retry sends it, and posts nothing again.
    pipeline.process(&id).await.expect("retried");
    assert_eq!(
        sim.state.journal().notes_for(&owner.id).len(),
        1,
        "one note"
    );
    assert_eq!(hook.received_requests().await.unwrap_or_default().len(), 2);
    let (status, attempts): (String, i32) = sqlx::query_as(
        "SELECT status, attempts FROM enrich.lead_deliveries WHERE lead_id = $1 AND channel = 'slack'",
    )
    .bind(&owner.id)
    .fetch_one(&test.pool)
    .await
    .expect("delivery");
    assert_eq!((status.as_str(), attempts), ("sent", 2));

    // A crash after sending, before recording it: the deliveries stay
    // `pending`. A new run of the lead sends no alert again, and the tag
    // (read back from C2S first) is not added twice.
    sqlx::query("UPDATE enrich.lead_deliveries SET status = 'pending' WHERE lead_id = $1")
        .bind(&owner.id)
        .execute(&test.pool)
        .await
        .expect("crash");
    let tag_calls = sim.state.journal().count("c2s", "tag_lead");
    c2s_enrich::store::leads::restart_completed(&test.pool, &id)
        .await
        .expect("restart");
    pipeline.process(&id).await.expect("re-run");
    assert_eq!(
        hook.received_requests().await.unwrap_or_default().len(),
        2,
        "no second alert"
    );
    assert_eq!(
        sim.state.journal().count("c2s", "tag_lead"),
        tag_calls,
        "no second tag"
    );
    assert_eq!(sim.state.lead_tags(&owner.id).len(), 1);
    assert_eq!(
        sim.state.journal().notes_for(&owner.id).len(),
        1,
        "one note"
    );

    // An unclear send (Slack too slow to answer): not repeated either.
    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(3)))
        .mount(&slow)
        .await;
    let (sim, test, pipeline) = setup_with(&[
        ("SLACK_WEBHOOK_URL", slow.uri().as_str()),
        ("ALERT_MIN_TIER", "D"),
        ("ALERT_TIMEOUT_SECS", "1"),
    ])
    .await;
    let id = LeadId::parse(&owner_of(&sim)).expect("id");
    pipeline
        .process(&id)
        .await
        .expect("an unclear alert does not fail the run");
    c2s_enrich::store::leads::restart_completed(&test.pool, &id)
        .await
        .expect("restart");
    pipeline.process(&id).await.expect("re-run");
    assert_eq!(slow.received_requests().await.unwrap_or_default().len(), 1);
    let status: String = sqlx::query_scalar(
        "SELECT status FROM enrich.lead_deliveries WHERE lead_id = $1 AND channel = 'slack'",
    )
    .bind(id.as_str())
    .fetch_one(&test.pool)
    .await
    .expect("delivery");
    assert_eq!(status, "pending", "left as it is: it may have arrived");
}

fn owner_of(sim: &SimHandle) -> String {
    sim.state
        .first_lead(c2s_sim::LeadKind::Owner)
        .expect("owner")
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_tag_and_no_alert_when_switched_off() {
    let hook = slack(200).await;
    let (sim, _test, pipeline) = setup_with(&[
        ("SLACK_WEBHOOK_URL", hook.uri().as_str()),
        ("ALERT_MIN_TIER", "off"),
        ("C2S_TAGS", "off"),
    ])
    .await;
    for id in lead_ids(&sim) {
        pipeline.process(&id).await.expect("processed");
    }
    assert!(hook
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty());
    let j = sim.state.journal();
    assert_eq!(j.count("c2s", "tag_lead") + j.count("c2s", "list_tags"), 0);
}

/// `n` answers of diretrix/phone with `outcome`, newer than any before
/// (each batch a minute after the one before).
async fn answers(pool: &sqlx::PgPool, outcome: &str, n: i32) {
    static BATCH: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
    let batch = BATCH.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    sqlx::query(
        "INSERT INTO enrich.provider_calls (provider, module, key_hash, outcome, credits, expires_at, created_at)
         SELECT 'diretrix', 'phone', decode(md5(random()::text) || md5(i::text), 'hex'), $1, 1,
                now() + interval '7 days', now() + make_interval(mins => $3, secs => i)
           FROM generate_series(1, $2) i",
    )
    .bind(outcome)
    .bind(n)
    .bind(batch)
    .execute(pool)
    .await
    .expect("answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovery_source_that_finds_nobody_fires_one_alert_per_silent_spell() {
    use c2s_enrich::domain::identity::Source;
    use c2s_enrich::pipeline::source_health::{check, Health};
    let hook = slack(200).await;
    let test = c2s_lab::testing::TestDb::migrated().await.expect("db");
    let alerts = c2s_enrich::notify::Alerts {
        slack: Some(std::sync::Arc::new(
            c2s_enrich::notify::Slack::new(
                secrecy::SecretString::from(hook.uri()),
                std::time::Duration::from_secs(5),
            )
            .expect("client"),
        )),
        ..Default::default()
    };
    let sources = [Source::DiretrixPhone, Source::WorkApiPhone];
    let phone = |r: &[(Source, Health)]| r[0].1.clone();
    answers(&test.pool, "not_found", 9).await;
    let r = check(&test.pool, &alerts, &sources, 10)
        .await
        .expect("check");
    assert_eq!(phone(&r), Health::TooFewAnswers);
    assert_eq!(r[1].1, Health::TooFewAnswers, "no answers at all");
    answers(&test.pool, "not_found", 1).await;
    let r = check(&test.pool, &alerts, &sources, 10)
        .await
        .expect("check");
    assert_eq!(phone(&r), Health::Silent { alerted_now: true });
    let r = check(&test.pool, &alerts, &sources, 10)
        .await
        .expect("check");
    assert_eq!(
        phone(&r),
        Health::Silent { alerted_now: false },
        "once per spell"
    );
    let bodies = slack_bodies(&hook).await;
    assert_eq!(bodies.len(), 1);
    assert!(
        bodies[0]["text"]
            .as_str()
            .unwrap_or("")
            .contains("diretrix/phone"),
        "{}",
        bodies[0]
    );
    // It finds someone: the spell is over; silent again later: a new alert.
    answers(&test.pool, "found", 1).await;
    let r = check(&test.pool, &alerts, &sources, 10)
        .await
        .expect("check");
    assert_eq!(phone(&r), Health::Finding);
    answers(&test.pool, "not_found", 10).await;
    let r = check(&test.pool, &alerts, &sources, 10)
        .await
        .expect("check");
    assert_eq!(phone(&r), Health::Silent { alerted_now: true });
    assert_eq!(slack_bodies(&hook).await.len(), 2);
}
