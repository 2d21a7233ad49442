//! Call policy against a real local HTTP server: the breaker opens and
//! recovers, and a rate limit shared through PostgreSQL holds across clients.

use std::time::{Duration, Instant};

use brazil::Cpf;
use c2s_enrich::providers::breaker::BreakerState;
use c2s_enrich::providers::pacer::Pacer;
use c2s_enrich::providers::policy::Policy;
use c2s_enrich::providers::work_api::WorkApiClient;
use c2s_enrich::providers::ProviderError;
use c2s_lab::testing::fixture;
use c2s_lab::testing::TestDb;
use secrecy::SecretString;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn cpf() -> Cpf {
    Cpf::parse("52998224725").expect("cpf")
}

#[tokio::test]
async fn the_breaker_opens_after_repeated_outages_and_a_probe_closes_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("work_api_cpf.json")))
        .mount(&server)
        .await;
    let policy = Policy {
        max_retries: 0,
        breaker_threshold: 2,
        breaker_cooldown: Duration::from_millis(300),
        ..Policy::for_tests()
    };
    let client = WorkApiClient::new(&server.uri(), SecretString::from("t"), policy, Pacer::None)
        .expect("client");
    for _ in 0..2 {
        assert!(matches!(
            client.dossier(&cpf()).await,
            Err(ProviderError::Unavailable { .. })
        ));
    }
    assert_eq!(client.transport().breaker().state(), BreakerState::Open);
    assert_eq!(
        client.dossier(&cpf()).await.err(),
        Some(ProviderError::CircuitOpen {
            provider: "work_api"
        })
    );
    assert_eq!(
        server.received_requests().await.map_or(0, |r| r.len()),
        2,
        "an open breaker sends nothing"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    client
        .dossier(&cpf())
        .await
        .expect("the half-open probe succeeds");
    assert_eq!(client.transport().breaker().state(), BreakerState::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_shared_through_postgres_holds_across_two_clients() {
    let test = TestDb::migrated().await.expect("db");
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(fixture("work_api_not_found.json")),
        )
        .mount(&server)
        .await;
    let spacing = Duration::from_millis(150);
    let make = || {
        let pacer = Pacer::shared(spacing, test.pool.clone(), "work_api");
        WorkApiClient::new(
            &server.uri(),
            SecretString::from("t"),
            Policy::for_tests(),
            pacer,
        )
        .expect("client")
    };
    let (one, two) = (make(), make());
    let started = Instant::now();
    let calls_one = async {
        for _ in 0..4 {
            let _ = one.dossier(&cpf()).await;
        }
    };
    let calls_two = async {
        for _ in 0..4 {
            let _ = two.dossier(&cpf()).await;
        }
    };
    tokio::join!(calls_one, calls_two);
    let elapsed = started.elapsed();
    assert_eq!(server.received_requests().await.map_or(0, |r| r.len()), 8);
    // Eight calls spaced 150 ms apart take at least 7 × 150 ms, whichever client
    // makes them; two independent in-process limits would allow ~450 ms.
    assert!(elapsed >= spacing * 7, "8 calls took only {elapsed:?}");
}
