//! Contract tests: each client against a mock server, asserting the request
//! shape (method, path, encoding, auth, query, body) and the mapping of every
//! response kind PROVIDERS.md describes, including each fixture file.

use brazil::{Cpf, Email, PhoneBr};
use c2s_enrich::domain::lead::{HookAction, LeadId};
use c2s_enrich::providers::c2s::{C2sClient, LeadQuery, NewLead};
use c2s_enrich::providers::diretrix::DiretrixClient;
use c2s_enrich::providers::pacer::Pacer;
use c2s_enrich::providers::policy::Policy;
use c2s_enrich::providers::work_api::WorkApiClient;
use c2s_enrich::providers::ProviderError;
use c2s_lab::testing::fixture;
use secrecy::SecretString;
use wiremock::matchers::{basic_auth, body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "tok-SECRET-c2s";
const WORK_TOKEN: &str = "wk-SECRET-token";
const LEAD: &str = "9f3c2a7b5d1e4f60a8b9c0d1e2f3a4b5";

fn json_fixture(name: &str) -> serde_json::Value {
    serde_json::from_str(&fixture(name)).expect("json")
}

fn c2s(server: &MockServer) -> C2sClient {
    C2sClient::new(
        &server.uri(),
        SecretString::from(TOKEN),
        Policy::for_tests(),
        Pacer::None,
    )
    .expect("client")
}

fn diretrix(server: &MockServer) -> DiretrixClient {
    DiretrixClient::new(
        &server.uri(),
        "mbras".into(),
        SecretString::from("pw-SECRET"),
        Policy::for_tests(),
        Pacer::None,
    )
    .expect("client")
}

fn work(server: &MockServer) -> WorkApiClient {
    WorkApiClient::new(
        &format!("{}/api", server.uri()),
        SecretString::from(WORK_TOKEN),
        Policy::for_tests(),
        Pacer::None,
    )
    .expect("client")
}

fn lead_id() -> LeadId {
    LeadId::parse(LEAD).expect("lead id")
}

#[tokio::test]
async fn c2s_get_lead_sends_the_bearer_token_and_reads_the_fixture() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/integration/leads/{LEAD}")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("c2s_lead.json")))
        .expect(1)
        .mount(&server)
        .await;
    let lead = c2s(&server).get_lead(&lead_id()).await.expect("lead");
    assert_eq!(lead.id.as_str(), LEAD);
    assert_eq!(lead.email.as_deref(), Some("helena.mcosta@gmail.com"));
}

#[tokio::test]
async fn c2s_unknown_lead_is_not_found_and_other_statuses_map_to_kinds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_string("Lead not found"))
        .mount(&server)
        .await;
    assert_eq!(
        c2s(&server).get_lead(&lead_id()).await,
        Err(ProviderError::NotFound { provider: "c2s" })
    );

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    assert_eq!(
        c2s(&server).get_lead(&lead_id()).await,
        Err(ProviderError::Unauthorized { provider: "c2s" })
    );

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>oops 1234</html>"))
        .mount(&server)
        .await;
    let err = c2s(&server)
        .get_lead(&lead_id())
        .await
        .expect_err("malformed");
    assert!(
        matches!(&err, ProviderError::Malformed { excerpt, .. } if !excerpt.contains("1234")),
        "{err:?}"
    );
}

#[tokio::test]
async fn c2s_post_note_sends_body_and_accepts_any_2xx() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/integration/leads/{LEAD}/create_message")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(
            serde_json::json!({"body": "📞 Encontrado pelo telefone\n"}),
        ))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    c2s(&server)
        .post_note(&lead_id(), "📞 Encontrado pelo telefone\n")
        .await
        .expect("posted");
}

#[tokio::test]
async fn c2s_create_lead_wraps_attributes_and_reads_the_id_in_every_form() {
    for (response, expected) in [
        (serde_json::json!({"data": {"id": 4821}}), "4821"),
        (serde_json::json!({"data": {"id": "abc123"}}), "abc123"),
        (serde_json::json!({"id": "x1"}), "x1"),
        (serde_json::json!({"lead_id": 77}), "77"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/integration/leads"))
            .and(body_json(
                serde_json::json!({"data": {"type": "lead", "attributes": {
                "name": "Ana", "phone": "11987654321", "description": "d", "source": "Google Ads",
                "type_negotiation": "Compra", "seller_id": "s-1"}}}),
            ))
            .respond_with(ResponseTemplate::new(201).set_body_json(response))
            .expect(1)
            .mount(&server)
            .await;
        let new = NewLead {
            name: "Ana".into(),
            phone: Some("11987654321".into()),
            description: "d".into(),
            source: "Google Ads".into(),
            seller_id: Some("s-1".into()),
            ..Default::default()
        };
        assert_eq!(
            c2s(&server).create_lead(&new).await.expect("created"),
            expected
        );
    }
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"message": "param_data_not_found"})),
        )
        .mount(&server)
        .await;
    assert!(matches!(
        c2s(&server).create_lead(&NewLead::default()).await,
        Err(ProviderError::InvalidRequest { .. })
    ));
}

#[tokio::test]
async fn c2s_subscribe_sends_one_call_per_action_and_maps_422() {
    let server = MockServer::start().await;
    for action in HookAction::ALL {
        Mock::given(method("POST"))
            .and(path("/integration/leads/subscribe"))
            .and(body_json(serde_json::json!({"hook_url": "https://svc.example/hook", "hook_action": action.as_str()})))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = c2s(&server);
    for action in HookAction::ALL {
        client
            .subscribe("https://svc.example/hook", action)
            .await
            .expect("subscribed");
    }
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/integration/leads/unsubscribe"))
        .respond_with(
            ResponseTemplate::new(422).set_body_json(
                serde_json::json!({"success": false, "msg": "hook_action not found"}),
            ),
        )
        .mount(&server)
        .await;
    let err = c2s(&server)
        .unsubscribe("https://svc.example/hook", HookAction::OnCloseLead)
        .await
        .expect_err("422");
    assert!(
        matches!(err, ProviderError::InvalidRequest { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn c2s_list_leads_caps_perpage_passes_filters_and_skips_unreadable_leads() {
    let server = MockServer::start().await;
    let good = json_fixture("c2s_lead.json")["data"].clone();
    Mock::given(method("GET"))
        .and(path("/integration/leads"))
        .and(query_param("page", "2"))
        .and(query_param("perpage", "50"))
        .and(query_param("sort", "-created_at"))
        .and(query_param("created_gte", "2026-11-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "data": [good, {"id": "not-a-lead-id"}], "meta": {"total": 51, "page": 2, "perpage": 50}})))
        .expect(1)
        .mount(&server)
        .await;
    let q = LeadQuery {
        page: 2,
        perpage: 500,
        sort: Some("-created_at".into()),
        created_gte: Some("2026-11-01".into()),
        ..Default::default()
    };
    let page = c2s(&server).list_leads(&q).await.expect("page");
    assert_eq!(
        (page.leads.len(), page.unreadable, page.total),
        (1, 1, Some(51))
    );
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_providers_retry_after_then_succeed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("c2s_lead.json")))
        .expect(1)
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    c2s(&server)
        .get_lead(&lead_id())
        .await
        .expect("second attempt succeeds");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "Retry-After: 1 was honoured"
    );
}

#[tokio::test]
async fn server_errors_are_retried_up_to_the_limit_then_reported_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;
    let err = c2s(&server)
        .get_lead(&lead_id())
        .await
        .expect_err("still down");
    assert!(matches!(err, ProviderError::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn diretrix_sends_basic_auth_and_the_phone_without_country_code() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/Consultas/Pessoa/Telefone/11987654321"))
        .and(basic_auth("mbras", "pw-SECRET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("diretrix_phone.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/Consultas/Pessoa/Telefone/55987654321"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .expect(1)
        .mount(&server)
        .await;
    let client = diretrix(&server);
    let found = client
        .by_phone(&PhoneBr::parse("+55 (11) 98765-4321").expect("phone"))
        .await
        .expect("lookup");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].cpf.digits(), "52998224725");
    assert_eq!(found[0].name.as_deref(), Some("HELENA MARQUES DA COSTA"));
    let rs = client
        .by_phone(&PhoneBr::parse("55987654321").expect("RS phone"))
        .await
        .expect("lookup");
    assert!(
        rs.is_empty(),
        "DDD 55 kept in the path; empty array = not found"
    );
}

#[tokio::test]
async fn diretrix_percent_encodes_the_email_and_normalises_returned_cpfs() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/Consultas/Pessoa/Email/helena.mcosta%40gmail.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
            {"nome": "HELENA M COSTA", "cpf": "529.982.247-25"},
            {"nome": "SHORT", "cpf": "1234567890"},
            {"nome": "BROKEN", "cpf": "52998224726"},
            {"nome": "NO CPF"}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let found = diretrix(&server)
        .by_email(&Email::parse("Helena.MCosta@gmail.com").expect("email"))
        .await
        .expect("lookup");
    let cpfs: Vec<&str> = found.iter().map(|c| c.cpf.digits()).collect();
    assert_eq!(
        cpfs,
        ["52998224725", "01234567890"],
        "formatted and short-of-zeros CPFs normalised, invalid dropped"
    );
}

#[tokio::test]
async fn diretrix_400_and_404_mean_not_found_while_5xx_is_an_outage() {
    for status in [400, 404] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
        let found = diretrix(&server)
            .by_phone(&PhoneBr::parse("11987654321").expect("phone"))
            .await;
        assert_eq!(found, Ok(vec![]), "HTTP {status}");
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let err = diretrix(&server)
        .by_phone(&PhoneBr::parse("11987654321").expect("phone"))
        .await
        .expect_err("502");
    assert!(matches!(err, ProviderError::Unavailable { .. }));
}

#[tokio::test]
async fn work_api_dossier_sends_token_module_and_cpf_in_the_query() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api"))
        .and(query_param("token", WORK_TOKEN))
        .and(query_param("modulo", "cpf"))
        .and(query_param("consulta", "52998224725"))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("work_api_cpf.json")))
        .expect(1)
        .mount(&server)
        .await;
    let d = work(&server)
        .dossier(&Cpf::parse("529.982.247-25").expect("cpf"))
        .await
        .expect("dossier");
    assert_eq!(d.name, "HELENA MARQUES DA COSTA");
    assert_eq!(d.raw["DadosBasicos"]["cpf"], "52998224725");
}

#[tokio::test]
async fn a_dossier_for_another_cpf_is_refused_and_a_body_error_names_nobody() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("work_api_cpf.json")))
        .mount(&server)
        .await;
    // The fixture is 529.982.247-25's dossier; another CPF was asked for.
    let err = work(&server)
        .dossier(&Cpf::parse("111.444.777-35").expect("cpf"))
        .await
        .expect_err("someone else's dossier");
    assert!(
        matches!(&err, ProviderError::Malformed { excerpt, .. } if excerpt == "a dossier for another CPF"),
        "{err:?}"
    );
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"DadosBasicos": {"nome": "HELENA COSTA", "cpf": "x"}}"#),
        )
        .mount(&server)
        .await;
    let err = work(&server)
        .dossier(&Cpf::parse("52998224725").expect("cpf"))
        .await
        .expect_err("no valid CPF");
    let text = format!("{err} {err:?}");
    assert!(matches!(err, ProviderError::Malformed { .. }), "{text}");
    assert!(!text.contains("HELENA"), "no name in the error: {text}");
}

#[tokio::test]
async fn work_api_errors_sent_as_http_200_are_detected() {
    let cases = [
        (
            "work_api_not_found.json",
            ProviderError::NotFound {
                provider: "work_api",
            },
        ),
        (
            "work_api_token_invalid.json",
            ProviderError::Unauthorized {
                provider: "work_api",
            },
        ),
        (
            "work_api_no_credits.json",
            ProviderError::QuotaExhausted {
                provider: "work_api",
            },
        ),
        (
            "work_api_module_missing.json",
            ProviderError::ModuleUnavailable {
                provider: "work_api",
                module: "cpf".into(),
            },
        ),
    ];
    for (file, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string(fixture(file)))
            .mount(&server)
            .await;
        let got = work(&server)
            .dossier(&Cpf::parse("52998224725").expect("cpf"))
            .await
            .expect_err(file);
        assert_eq!(got, expected, "{file}");
    }
    for body in [
        serde_json::json!({"erro": "CPF não encontrado"}),
        serde_json::json!({"status": "404"}),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
        let got = work(&server)
            .dossier(&Cpf::parse("52998224725").expect("cpf"))
            .await;
        assert_eq!(
            got.err(),
            Some(ProviderError::NotFound {
                provider: "work_api"
            })
        );
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let got = work(&server)
        .dossier(&Cpf::parse("52998224725").expect("cpf"))
        .await;
    assert_eq!(
        got.err(),
        Some(ProviderError::NotFound {
            provider: "work_api"
        }),
        "a real HTTP 404 too"
    );
}

#[tokio::test]
async fn work_api_phone_discovery_returns_people_and_never_companies() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param("modulo", "phone"))
        .and(query_param("consulta", "11987654321"))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("work_api_phone.json")))
        .expect(1)
        .mount(&server)
        .await;
    let people = work(&server)
        .by_phone(&PhoneBr::parse("+5511987654321").expect("phone"))
        .await
        .expect("lookup");
    let cpfs: Vec<&str> = people.iter().map(|c| c.cpf.digits()).collect();
    assert_eq!(
        cpfs,
        ["31847920560", "52998224725"],
        "the company is dropped; the owner is not always first"
    );

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"msg": []})))
        .mount(&server)
        .await;
    assert_eq!(
        work(&server)
            .by_phone(&PhoneBr::parse("11987654321").expect("phone"))
            .await,
        Ok(vec![])
    );
}
