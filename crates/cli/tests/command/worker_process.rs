//! A real worker process killed with SIGKILL in the middle of a job: another
//! worker takes the job over once the lease expires, and the lead gets one note.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use c2s_enrich::pipeline::worker::{self, JobOutcome, WorkerOptions, ENRICH_LEAD};
use c2s_enrich::store::jobs::{self, NewJob};
use c2s_lab::testing::sandbox::setup;
use c2s_sim::{Faults, LeadKind};
use secrecy::ExposeSecret;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_worker_process_has_its_job_finished_by_another_worker() {
    let (sim, test, pipeline) = setup().await;
    let pipeline = Arc::new(pipeline);
    let lead = sim
        .state
        .leads()
        .into_iter()
        .find(|l| l.kind == LeadKind::Owner)
        .expect("owner");
    let job = NewJob {
        kind: ENRICH_LEAD,
        job_key: Some("kill"),
        lead_id: Some(&lead.id),
        payload: serde_json::json!({"lead_id": lead.id}),
        max_attempts: 5,
    };
    let job_id = jobs::enqueue(&test.pool, &job)
        .await
        .expect("enqueue")
        .expect("id");
    // The dossier call hangs long enough for the kill to land mid-job.
    sim.state.set_faults(
        "work_api",
        Faults {
            latency_ms: 4000,
            ..Faults::default()
        },
    );

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_c2s-enrich"));
    cmd.args(["worker", "--concurrency", "1", "--lease-secs", "2"])
        .env("DATABASE_URL", test.url().expose_secret())
        .env_remove("DB_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in sim.env() {
        cmd.env(k, v);
    }
    for p in ["C2S", "DIRETRIX", "WORK_API", "CNPJ"] {
        cmd.env(format!("{p}_MIN_INTERVAL_MS"), "0");
    }
    let mut child = cmd.spawn().expect("worker process");

    // Wait until the child holds the job and has reached the (slow) Work API.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let running: Option<String> = sqlx::query_scalar(
            "SELECT locked_by FROM enrich.jobs WHERE id = $1 AND state = 'running'",
        )
        .bind(job_id)
        .fetch_optional(&test.pool)
        .await
        .expect("job");
        let at_work_api = sim
            .state
            .journal()
            .calls
            .iter()
            .any(|c| c.provider == "work_api")
            || sim.state.journal().count("diretrix", "phone") > 0;
        if running.is_some() && at_work_api {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the worker process never took the job"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let killed_at = Instant::now();
    sim.state.set_faults("work_api", Faults::default());
    assert!(
        sim.state.journal().notes_for(&lead.id).is_empty(),
        "killed before the note"
    );

    let options = WorkerOptions {
        id: "survivor".into(),
        ..WorkerOptions::default()
    };
    let outcome = loop {
        let done = worker::drain(&pipeline, &options).await.expect("drain");
        // The dead worker's lease on the lead can outlive its job lease by a
        // heartbeat: the job is then put back (LeadBusy) and taken again.
        if let Some((_, o)) = done
            .into_iter()
            .find(|(id, o)| *id == job_id && *o != JobOutcome::LeadBusy)
        {
            break o;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(60),
            "not resumed within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(outcome, JobOutcome::Completed);
    println!(
        "job resumed {:.1}s after the kill",
        killed_at.elapsed().as_secs_f64()
    );
    assert_eq!(
        sim.state.journal().notes_for(&lead.id).len(),
        1,
        "exactly one note"
    );
}
