//! `c2s-enrich enrich <lead>` against the sandbox: the lead runs as a job (the
//! API's synchronous run), its note is posted once however often the command
//! runs, and a lead C2S does not know is said plainly.

use std::process::{Command, Output};

use c2s_lab::testing::sandbox::setup;
use c2s_sim::LeadKind;
use secrecy::ExposeSecret;

fn enrich(url: &str, sim_env: &[(String, String)], lead: &str) -> Output {
    enrich_waiting(url, sim_env, lead, "120")
}

fn enrich_waiting(url: &str, sim_env: &[(String, String)], lead: &str, wait_secs: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_c2s-enrich"));
    cmd.args(["enrich", lead, "--wait-secs", wait_secs])
        .env("DATABASE_URL", url)
        .env_remove("DB_URL")
        .env("RUST_LOG", "warn");
    for (k, v) in sim_env {
        cmd.env(k, v);
    }
    for p in ["C2S", "DIRETRIX", "WORK_API", "CNPJ"] {
        cmd.env(format!("{p}_MIN_INTERVAL_MS"), "0");
    }
    cmd.output().expect("run c2s-enrich")
}

/// A lead whose phone and e-mail are one person's.
fn owner_lead(sim: &c2s_sim::SimHandle) -> c2s_sim::SimLead {
    sim.state.first_lead(LeadKind::Owner).expect("owner")
}

/// The variables that point the command at the sandbox.
fn sim_env(sim: &c2s_sim::SimHandle) -> Vec<(String, String)> {
    sim.env()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrich_runs_the_lead_as_a_job_and_posts_its_note_once() {
    let (sim, test, _pipeline) = setup().await;
    let lead = owner_lead(&sim);
    let url = test.url().expose_secret().to_owned();
    let env = sim_env(&sim);

    let (u, e, id) = (url.clone(), env.clone(), lead.id.clone());
    let first = tokio::task::spawn_blocking(move || enrich(&u, &e, &id))
        .await
        .expect("join");
    let stdout = String::from_utf8_lossy(&first.stdout);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with(&format!("lead {}: enriched (note sent, job ", lead.id)),
        "{stdout}"
    );
    let journal = sim.state.journal();
    let notes = journal.notes_for(&lead.id);
    assert_eq!(notes.len(), 1, "one note");
    assert!(
        stdout.contains(notes[0].body.as_str()),
        "prints the note as posted"
    );

    // Again: the recorded outcome, no second note, no provider paid again.
    let paid = |j: &c2s_sim::Journal| {
        j.calls
            .iter()
            .filter(|c| c.provider != "c2s" && c.status < 500)
            .count()
    };
    let paid_before = paid(&sim.state.journal());
    assert!(paid_before > 0, "the first run paid for its lookups");
    let (u, e, id) = (url.clone(), env.clone(), lead.id.clone());
    let second = tokio::task::spawn_blocking(move || enrich(&u, &e, &id))
        .await
        .expect("join");
    assert_eq!(second.status.code(), Some(0));
    assert_eq!(
        sim.state.journal().notes_for(&lead.id).len(),
        1,
        "still one note"
    );
    assert_eq!(
        paid(&sim.state.journal()),
        paid_before,
        "nothing paid again"
    );

    // Both runs were synchronous-run jobs (the API's kind), and ended.
    let jobs: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT state, job_key FROM enrich.jobs WHERE lead_id = $1 ORDER BY id")
            .bind(&lead.id)
            .fetch_all(&test.pool)
            .await
            .expect("jobs");
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    for (state, key) in &jobs {
        assert_eq!(state, "done");
        assert!(
            key.as_deref()
                .is_some_and(|k| k.starts_with(&format!("sync:{}:", lead.id))),
            "{key:?}"
        );
    }

    // A lead C2S does not know: said plainly, exit status 1, left queued.
    let unknown = "0123456789abcdef0123456789abcdef";
    let (u, e) = (url.clone(), env.clone());
    let out = tokio::task::spawn_blocking(move || enrich(&u, &e, unknown))
        .await
        .expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("C2S does not know lead {unknown}")),
        "{stderr}"
    );
    let left: Vec<String> = sqlx::query_scalar("SELECT state FROM enrich.jobs WHERE lead_id = $1")
        .bind(unknown)
        .fetch_all(&test.pool)
        .await
        .expect("job");
    assert_eq!(left, ["queued"], "asked again later by the workers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrich_waits_for_a_run_under_way_instead_of_cutting_it_short() {
    let (sim, test, _pipeline) = setup().await;
    let lead = owner_lead(&sim);
    // The dossier takes 3 s; the command is told to wait 1 s.
    sim.state.set_faults(
        "work_api",
        c2s_sim::Faults {
            latency_ms: 3000,
            ..c2s_sim::Faults::default()
        },
    );
    let url = test.url().expose_secret().to_owned();
    let env = sim_env(&sim);
    let id = lead.id.clone();
    let out = tokio::task::spawn_blocking(move || enrich_waiting(&url, &env, &id, "1"))
        .await
        .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("still running after 1s"), "{stderr}");
    assert!(
        stdout.starts_with(&format!("lead {}: enriched (note sent, job ", lead.id)),
        "{stdout}"
    );
    assert_eq!(sim.state.journal().notes_for(&lead.id).len(), 1, "one note");
    let state: String = sqlx::query_scalar("SELECT state FROM enrich.jobs WHERE lead_id = $1")
        .bind(&lead.id)
        .fetch_one(&test.pool)
        .await
        .expect("job");
    assert_eq!(state, "done", "the run went to its end");
}
