//! `c2s-enrich subject export|correct`, `erase` and `ropa` as an operator runs
//! them, against the sandbox's database after a lead was enriched.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use c2s_enrich::domain::lead::LeadId;
use c2s_lab::testing::sandbox::setup;
use c2s_sim::LeadKind;
use secrecy::ExposeSecret;

fn run(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_c2s-enrich"))
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("DB_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run c2s-enrich")
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_exports_corrects_and_erases_a_person_and_writes_the_record() {
    let (sim, test, pipeline) = setup().await;
    let lead = sim.state.first_lead(LeadKind::Owner).expect("owner");
    pipeline
        .process(&LeadId::parse(&lead.id).expect("id"))
        .await
        .expect("processed");
    let person = sim.state.population.people[lead.person.expect("person")].clone();
    let d = person.cpf.digits();
    let cpf = format!("{}.{}.{}-{}", &d[..3], &d[3..6], &d[6..9], &d[9..]);
    let url = test.url().expose_secret().to_owned();
    let dir = tempfile::tempdir().expect("dir");
    let page = dir.path().join("titular.html");
    let page_arg = page.to_str().expect("path").to_owned();
    let (u, c) = (url.clone(), cpf.clone());
    let out = tokio::task::spawn_blocking(move || {
        run(
            &u,
            &[
                "subject", "export", "--cpf", &c, "--format", "html", "--out", &page_arg, "--by",
                "dpo",
            ],
        )
    })
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("access request"), "{}", text(&out));
    let written = std::fs::read_to_string(&page).expect("page");
    assert!(written.contains(&person.name));
    let mode = std::fs::metadata(&page).expect("meta").permissions().mode();
    assert_eq!(mode & 0o077, 0, "the file is its owner's only");
    let (u, c) = (url.clone(), cpf.clone());
    let out = tokio::task::spawn_blocking(move || run(&u, &["subject", "export", "--cpf", &c]))
        .await
        .expect("join");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["leads"][0]["lead_id"], lead.id.as_str());

    let (u, c) = (url.clone(), cpf.clone());
    let outs = tokio::task::spawn_blocking(move || {
        [
            run(
                &u,
                &[
                    "subject", "correct", "--cpf", &c, "--field", "income", "--value", "1",
                    "--source", "x",
                ],
            ),
            run(
                &u,
                &[
                    "subject",
                    "correct",
                    "--cpf",
                    &c,
                    "--field",
                    "birth_date",
                    "--value",
                    "31/02/1980",
                    "--source",
                    "x",
                ],
            ),
            run(
                &u,
                &[
                    "subject",
                    "correct",
                    "--cpf",
                    "529.982.247-25",
                    "--field",
                    "name",
                    "--value",
                    "X",
                    "--source",
                    "RG",
                ],
            ),
            run(
                &u,
                &[
                    "subject",
                    "correct",
                    "--cpf",
                    &c,
                    "--field",
                    "name",
                    "--value",
                    "Nome Certo",
                    "--source",
                    "RG",
                ],
            ),
            run(&u, &["erase", &c]),
            run(&u, &["ropa"]),
        ]
    })
    .await
    .expect("join");
    let [unknown, bad_date, nobody, corrected, erased, ropa] = outs;
    assert_ne!(unknown.status.code(), Some(0));
    assert!(
        text(&unknown).contains("unknown field \"income\""),
        "{}",
        text(&unknown)
    );
    assert!(
        text(&bad_date).contains("birth_date must be a date"),
        "{}",
        text(&bad_date)
    );
    assert!(
        text(&nobody).contains("nobody with this CPF is stored"),
        "{}",
        text(&nobody)
    );
    assert_eq!(corrected.status.code(), Some(0), "{}", text(&corrected));
    assert!(text(&corrected).contains("name corrected"));
    assert_eq!(erased.status.code(), Some(0), "{}", text(&erased));
    let erased = text(&erased);
    assert!(erased.contains("remove by hand in C2S"), "{erased}");
    assert!(erased.contains("note"), "{erased}");
    assert!(erased.contains(&lead.id), "{erased}");
    assert!(
        !erased.contains(person.cpf.digits()) && !erased.contains(&cpf),
        "no CPF in clear"
    );
    assert_eq!(ropa.status.code(), Some(0), "{}", text(&ropa));
    assert!(String::from_utf8_lossy(&ropa.stdout).starts_with("# Registro das operações"));
}
