//! No secret or personal data in logs or errors while the clients work, retry
//! and fail. Alone in its own test binary: tracing caches per-callsite interest
//! process-wide, so a log capture shares nothing with tests running in parallel.

use brazil::{Cpf, Email};
use c2s_enrich::providers::diretrix::DiretrixClient;
use c2s_enrich::providers::pacer::Pacer;
use c2s_enrich::providers::policy::Policy;
use c2s_enrich::providers::work_api::WorkApiClient;
use c2s_lab::testing::capture_logs;
use c2s_lab::testing::fixture;
use secrecy::SecretString;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WORK_TOKEN: &str = "wk-SECRET-token";

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

#[tokio::test]
async fn no_secret_or_personal_data_reaches_the_logs() {
    let (_guard, logs) = capture_logs();
    let server = MockServer::start().await;
    // The first two requests fail with 503 (retried, logged), then the dossier answers.
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("modulo", "cpf"))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("work_api_cpf.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/Consultas/Pessoa/Email/helena.mcosta%40gmail.com"))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("diretrix_email.json")))
        .mount(&server)
        .await;
    work(&server)
        .dossier(&Cpf::parse("52998224725").expect("cpf"))
        .await
        .expect("dossier");
    diretrix(&server)
        .by_email(&Email::parse("helena.mcosta@gmail.com").expect("email"))
        .await
        .expect("lookup");
    let unreachable = WorkApiClient::new(
        "http://127.0.0.1:9",
        SecretString::from(WORK_TOKEN),
        Policy::for_tests(),
        Pacer::None,
    )
    .expect("client");
    let err = unreachable
        .dossier(&Cpf::parse("52998224725").expect("cpf"))
        .await
        .expect_err("refused");
    let text = format!("{}\n{err}\n{err:?}", logs.text());
    assert!(text.contains("retrying"), "the retries were logged: {text}");
    for secret in [
        WORK_TOKEN,
        "pw-SECRET",
        "52998224725",
        "529.982.247-25",
        "helena",
        "HELENA",
        "11987654321",
    ] {
        assert!(
            !text.contains(secret),
            "{secret:?} leaked into logs/errors:\n{text}"
        );
    }
}
