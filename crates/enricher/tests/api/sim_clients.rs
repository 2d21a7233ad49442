//! The provider clients against the sandbox `c2s-sim`: happy paths over the
//! synthetic population, every fault kind, retries, the breaker, and webhooks.

use std::time::{Duration, Instant};

use brazil::{Cpf, Email, PhoneBr};
use c2s_enrich::domain::lead::{HookAction, LeadId};
use c2s_enrich::providers::breaker::BreakerState;
use c2s_enrich::providers::c2s::parse_webhook;
use c2s_enrich::providers::c2s::C2sClient;
use c2s_enrich::providers::diretrix::DiretrixClient;
use c2s_enrich::providers::pacer::Pacer;
use c2s_enrich::providers::policy::Policy;
use c2s_enrich::providers::work_api::WorkApiClient;
use c2s_enrich::providers::ProviderError;
use c2s_sim::{Faults, LeadKind, SimConfig, SimHandle};
use secrecy::SecretString;
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn sim() -> SimHandle {
    c2s_sim::start(SimConfig {
        seed: 7,
        leads: 40,
        ..SimConfig::default()
    })
    .await
    .expect("sandbox")
}

fn clients(sim: &SimHandle, policy: Policy) -> (C2sClient, DiretrixClient, WorkApiClient) {
    let c = &sim.state.config;
    (
        C2sClient::new(
            &sim.base_url(),
            SecretString::from(c.c2s_token.clone()),
            policy.clone(),
            Pacer::None,
        )
        .expect("c2s"),
        DiretrixClient::new(
            &sim.base_url(),
            c.diretrix_user.clone(),
            SecretString::from(c.diretrix_pass.clone()),
            policy.clone(),
            Pacer::None,
        )
        .expect("diretrix"),
        WorkApiClient::new(
            &sim.work_api_url(),
            SecretString::from(c.work_token.clone()),
            policy,
            Pacer::None,
        )
        .expect("work"),
    )
}

fn lead_of(sim: &SimHandle, kind: LeadKind) -> c2s_sim::SimLead {
    sim.state
        .leads()
        .into_iter()
        .find(|l| l.kind == kind)
        .expect("a lead of that kind")
}

#[tokio::test]
async fn an_owner_lead_resolves_through_every_provider_and_gets_its_note() {
    let sim = sim().await;
    let (c2s, diretrix, work) = clients(&sim, Policy::for_tests());
    let truth = lead_of(&sim, LeadKind::Owner);
    let owner_cpf = sim.state.population.people[truth.person.expect("person")]
        .cpf
        .clone();

    let lead = c2s
        .get_lead(&LeadId::parse(&truth.id).expect("id"))
        .await
        .expect("lead");
    let phone = PhoneBr::parse(lead.phone.as_deref().expect("phone")).expect("valid phone");
    let email = Email::parse(lead.email.as_deref().expect("email")).expect("valid email");

    let by_phone = diretrix.by_phone(&phone).await.expect("diretrix phone");
    assert!(by_phone.iter().any(|c| c.cpf == owner_cpf));
    let by_email = diretrix.by_email(&email).await.expect("diretrix email");
    assert_eq!(
        by_email.iter().map(|c| &c.cpf).collect::<Vec<_>>(),
        [&owner_cpf]
    );
    let work_phone = work.by_phone(&phone).await.expect("work phone");
    assert!(
        work_phone.iter().any(|c| c.cpf == owner_cpf),
        "companies dropped, owner present"
    );

    let dossier = work.dossier(&owner_cpf).await.expect("dossier");
    assert_eq!(dossier.cpf, owner_cpf);
    let listed = dossier.raw["telefones"].as_array().map_or(0, Vec::len);
    assert_eq!(
        dossier.phones.len() + 1,
        listed,
        "the duplicated number collapses"
    );
    assert!(!dossier.addresses.is_empty() && !dossier.phones.is_empty());

    c2s.post_note(&lead.id, "📞📧 Telefone e e-mail da mesma pessoa\n")
        .await
        .expect("note");
    let journal = sim.state.journal();
    assert_eq!(journal.notes_for(&truth.id).len(), 1);
    assert_eq!(journal.count("work_api", "cpf"), 1);
}

#[tokio::test]
async fn unknown_things_are_not_found_in_each_providers_own_way() {
    let sim = sim().await;
    let (c2s, diretrix, work) = clients(&sim, Policy::for_tests());
    let missing = LeadId::parse("0123456789abcdef0123456789abcdef").expect("id");
    assert_eq!(
        c2s.get_lead(&missing).await.err(),
        Some(ProviderError::NotFound { provider: "c2s" })
    );
    let nobody = PhoneBr::parse("(11) 3000-0001").expect("phone");
    assert_eq!(
        diretrix.by_phone(&nobody).await,
        Ok(vec![]),
        "Diretrix's 400 means not found"
    );
    assert_eq!(work.by_phone(&nobody).await, Ok(vec![]));
    let stranger = Cpf::parse("11144477735").expect("cpf");
    assert_eq!(
        work.dossier(&stranger).await.err(),
        Some(ProviderError::NotFound {
            provider: "work_api"
        })
    );
    let unknown = lead_of(&sim, LeadKind::Unknown);
    let email = Email::parse(unknown.email.as_deref().expect("email")).expect("email");
    assert_eq!(diretrix.by_email(&email).await, Ok(vec![]));
    let wrong = WorkApiClient::new(
        &sim.work_api_url(),
        SecretString::from("nope"),
        Policy::for_tests(),
        Pacer::None,
    )
    .expect("client");
    assert_eq!(
        wrong.dossier(&stranger).await.err(),
        Some(ProviderError::Unauthorized {
            provider: "work_api"
        })
    );
}

#[tokio::test]
async fn every_fault_kind_maps_to_its_error_and_transient_ones_are_retried() {
    let sim = sim().await;
    let (c2s, _, _) = clients(&sim, Policy::for_tests());
    let truth = lead_of(&sim, LeadKind::Owner);
    let id = LeadId::parse(&truth.id).expect("id");
    let cpf = sim.state.population.people[truth.person.expect("person")]
        .cpf
        .clone();

    sim.state.set_faults(
        "c2s",
        Faults {
            fail_next: 2,
            ..Faults::default()
        },
    );
    c2s.get_lead(&id).await.expect("two 503s, then success");
    assert_eq!(sim.state.journal().count("c2s", "get_lead"), 3);

    sim.state.set_faults(
        "c2s",
        Faults {
            rate_limit_next: 1,
            retry_after_secs: 1,
            ..Faults::default()
        },
    );
    let started = Instant::now();
    c2s.get_lead(&id).await.expect("429 then success");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After honoured"
    );

    let cases: Vec<(Faults, &str)> = vec![
        (
            Faults {
                error_rate: 1.0,
                ..Faults::default()
            },
            "unavailable",
        ),
        (
            Faults {
                malformed_rate: 1.0,
                ..Faults::default()
            },
            "malformed",
        ),
        (
            Faults {
                quota_after: Some(0),
                ..Faults::default()
            },
            "quota_exhausted",
        ),
        (
            Faults {
                token_invalid: true,
                ..Faults::default()
            },
            "unauthorized",
        ),
        (
            Faults {
                timeout_rate: 1.0,
                timeout_ms: 5000,
                ..Faults::default()
            },
            "timeout",
        ),
        (
            Faults {
                rate_limit_rate: 1.0,
                retry_after_secs: 0,
                ..Faults::default()
            },
            "rate_limited",
        ),
    ];
    let quick = Policy {
        request_timeout: Duration::from_millis(500),
        max_retries: 1,
        ..Policy::for_tests()
    };
    let work = WorkApiClient::new(
        &sim.work_api_url(),
        SecretString::from(sim.state.config.work_token.clone()),
        quick,
        Pacer::None,
    )
    .expect("client");
    for (faults, expected) in cases {
        sim.state.set_faults("work_api", faults.clone());
        let err = work.dossier(&cpf).await.expect_err("fault");
        assert_eq!(err.kind(), expected, "{faults:?} gave {err:?}");
    }
    sim.state.set_faults(
        "work_api",
        Faults {
            latency_ms: 50,
            jitter_ms: 20,
            ..Faults::default()
        },
    );
    let started = Instant::now();
    work.dossier(&cpf).await.expect("slow but fine");
    assert!(started.elapsed() >= Duration::from_millis(50));
    drop(c2s);
}

#[tokio::test]
async fn the_breaker_opens_on_an_outage_and_recovers_when_the_provider_does() {
    let sim = sim().await;
    let policy = Policy {
        max_retries: 0,
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_millis(200),
        ..Policy::for_tests()
    };
    let (_, diretrix, _) = clients(&sim, policy);
    let phone = PhoneBr::parse("11987654321").expect("phone");
    sim.state.set_faults(
        "diretrix",
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    );
    for _ in 0..3 {
        assert!(matches!(
            diretrix.by_phone(&phone).await,
            Err(ProviderError::Unavailable { .. })
        ));
    }
    assert_eq!(
        diretrix.by_phone(&phone).await.err(),
        Some(ProviderError::CircuitOpen {
            provider: "diretrix"
        })
    );
    assert_eq!(
        sim.state.journal().count("diretrix", "phone"),
        3,
        "nothing sent while open"
    );
    sim.state.set_faults("diretrix", Faults::default());
    tokio::time::sleep(Duration::from_millis(250)).await;
    diretrix.by_phone(&phone).await.expect("probe succeeds");
    assert_eq!(diretrix.transport().breaker().state(), BreakerState::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_delivered_in_every_shape_with_duplicates_and_the_secret_header() {
    let sim = sim().await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-webhook-token", "s3cret"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&receiver)
        .await;
    let ids: Vec<String> = sim
        .state
        .leads()
        .iter()
        .take(6)
        .map(|l| l.id.clone())
        .collect();
    let report = c2s_sim::deliver_for_tests(
        &sim,
        &format!("{}/hook", receiver.uri()),
        HookAction::OnCreateLead.as_str(),
        Some(ids.clone()),
        2,
        Some(("x-webhook-token", "s3cret")),
    )
    .await;
    assert_eq!(report.requests, 12);
    assert_eq!(report.statuses.get(&202), Some(&12));
    let received = receiver.received_requests().await.expect("recorded");
    let mut seen = Vec::new();
    for r in &received {
        let payload: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        for event in parse_webhook(&payload).expect("every shape parses") {
            assert_eq!(event.action, Some(HookAction::OnCreateLead));
            seen.push(event.lead.id.as_str().to_owned());
        }
    }
    seen.sort();
    seen.dedup();
    let mut expected = ids;
    expected.sort();
    assert_eq!(seen, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posting_a_note_fires_an_update_webhook_like_c2s_does() {
    let sim = sim().await;
    let (c2s, _, _) = clients(&sim, Policy::for_tests());
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let hook_url = format!("{}/hook", receiver.uri());
    c2s.subscribe(&hook_url, HookAction::OnUpdateLead)
        .await
        .expect("subscribed");
    let lead = lead_of(&sim, LeadKind::Owner);
    let before = c2s
        .get_lead(&LeadId::parse(&lead.id).expect("id"))
        .await
        .expect("lead")
        .updated_at;
    c2s.post_note(&LeadId::parse(&lead.id).expect("id"), "nota\n")
        .await
        .expect("note");
    let deadline = Instant::now() + Duration::from_secs(5);
    let payload = loop {
        if let Some(r) = receiver
            .received_requests()
            .await
            .and_then(|r| r.first().cloned())
        {
            break serde_json::from_slice::<serde_json::Value>(&r.body).expect("json");
        }
        assert!(Instant::now() < deadline, "no update webhook within 5 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let events = parse_webhook(&payload).expect("parse");
    assert_eq!(events[0].action, Some(HookAction::OnUpdateLead));
    assert_eq!(events[0].lead.id.as_str(), lead.id);
    assert_ne!(
        events[0].lead.updated_at, before,
        "the note moved updated_at"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_work_api_rate_limit_holds_for_two_clients_on_the_sandbox() {
    let sim = sim().await;
    let test = c2s_lab::testing::TestDb::migrated().await.expect("db");
    let spacing = Duration::from_millis(100);
    let make = || {
        let pacer = Pacer::shared(spacing, test.pool.clone(), "work_api");
        WorkApiClient::new(
            &sim.work_api_url(),
            SecretString::from(sim.state.config.work_token.clone()),
            Policy::for_tests(),
            pacer,
        )
        .expect("client")
    };
    let (one, two) = (make(), make());
    let cpf = Cpf::parse("11144477735").expect("cpf");
    let started = Instant::now();
    let a = async {
        for _ in 0..3 {
            let _ = one.dossier(&cpf).await;
        }
    };
    let b = async {
        for _ in 0..3 {
            let _ = two.dossier(&cpf).await;
        }
    };
    tokio::join!(a, b);
    assert_eq!(sim.state.journal().count("work_api", "cpf"), 6);
    assert!(
        started.elapsed() >= spacing * 5,
        "6 calls in {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_through_the_ledger_are_paid_once_and_record_the_http_status() {
    use c2s_enrich::store::ledger::{CallKind, Freshness, Ledger};
    let sim = sim().await;
    let test = c2s_lab::testing::TestDb::migrated().await.expect("db");
    let ledger = Ledger::new(test.pool.clone(), None, Freshness::default())
        .await
        .expect("ledger");
    let (_, diretrix, work) = clients(&sim, Policy::for_tests());
    let truth = lead_of(&sim, LeadKind::Owner);
    let phone = PhoneBr::parse(truth.phone.as_deref().expect("phone")).expect("phone");
    let kind = CallKind {
        provider: "diretrix",
        module: "phone",
        credits: 1,
        dossier: false,
    };
    for _ in 0..3 {
        let looked = ledger
            .lookup(kind, phone.national(), || async {
                diretrix.by_phone(&phone).await.map(Some)
            })
            .await
            .expect("lookup");
        assert!(looked.value.is_some_and(|v| !v.is_empty()));
    }
    assert_eq!(
        sim.state.journal().count("diretrix", "phone"),
        1,
        "one paid call for three lookups"
    );
    let nobody = PhoneBr::parse("(11) 3000-0001").expect("phone");
    ledger
        // An empty answer is "not found" (cached for the shorter not-found window).
        .lookup(kind, nobody.national(), || async {
            diretrix
                .by_phone(&nobody)
                .await
                .map(|v| (!v.is_empty()).then_some(v))
        })
        .await
        .expect("not found is an answer");
    let cpf_kind = CallKind {
        provider: "work_api",
        module: "cpf",
        credits: 1,
        dossier: true,
    };
    sim.state.set_faults(
        "work_api",
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    );
    let stranger = Cpf::parse("11144477735").expect("cpf");
    let failed = ledger
        .lookup(cpf_kind, stranger.digits(), || async {
            work.dossier(&stranger).await.map(|d| Some(d.raw))
        })
        .await;
    assert!(failed.is_err());
    let statuses: Vec<(String, Option<i32>)> = sqlx::query_as(
        "SELECT outcome, http_status FROM enrich.provider_calls WHERE outcome <> 'hit' ORDER BY id",
    )
    .fetch_all(&test.pool)
    .await
    .expect("rows");
    assert_eq!(
        statuses,
        [
            ("found".to_owned(), Some(200)),
            ("not_found".to_owned(), Some(400)),
            ("error".to_owned(), Some(503))
        ]
    );
}
