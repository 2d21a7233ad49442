//! Workers over the durable queue: every job to a final state, one note per
//! lead, a dead worker's job taken over, outages retried, quota pauses.

mod common;

use std::sync::Arc;
use std::time::Duration;

use c2s_enrich::pipeline::run::Pipeline;
use c2s_enrich::pipeline::worker::{self, JobOutcome, WorkerOptions, ENRICH_LEAD};
use c2s_enrich::store::jobs::{self, Backoff, NewJob};
use c2s_sim::Faults;
use common::setup;

fn options(id: &str) -> WorkerOptions {
    WorkerOptions {
        health: Default::default(),
        id: id.into(),
        concurrency: 3,
        lease: Duration::from_secs(5),
        heartbeat: Duration::from_secs(1),
        idle_poll: Duration::from_millis(50),
        pause_cooldown: Duration::from_millis(300),
        backoff: Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_millis(200),
        },
    }
}

async fn enqueue_leads(pool: &sqlx::PgPool, ids: &[String]) {
    for (i, id) in ids.iter().enumerate() {
        let key = format!("test:{id}:{i}");
        let job = NewJob {
            kind: ENRICH_LEAD,
            job_key: Some(&key),
            lead_id: Some(id),
            payload: serde_json::json!({"lead_id": id}),
            max_attempts: 5,
        };
        jobs::enqueue(pool, &job).await.expect("enqueue");
    }
}

async fn until_done(pipeline: &Arc<Pipeline>, o: &WorkerOptions) {
    for _ in 0..100 {
        worker::drain(pipeline, o).await.expect("drain");
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM enrich.jobs WHERE state IN ('queued', 'running')",
        )
        .fetch_one(&pipeline.pool)
        .await
        .expect("count");
        if open == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("jobs did not finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_workers_take_every_lead_to_exactly_one_note() {
    let (sim, test, pipeline) = setup().await;
    let pipeline = Arc::new(pipeline);
    let ids: Vec<String> = sim
        .state
        .leads()
        .iter()
        .take(12)
        .map(|l| l.id.clone())
        .collect();
    // Every lead twice (a duplicate delivery that got past de-duplication).
    let doubled: Vec<String> = ids.iter().chain(ids.iter()).cloned().collect();
    enqueue_leads(&test.pool, &doubled).await;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(worker::run(pipeline.clone(), options("w"), rx));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let open: i64 =
            sqlx::query_scalar("SELECT count(*) FROM enrich.jobs WHERE state <> 'done'")
                .fetch_one(&test.pool)
                .await
                .expect("count");
        if open == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{open} jobs still open"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tx.send(true).expect("shutdown");
    runner.await.expect("workers stop");
    let journal = sim.state.journal();
    for id in &ids {
        assert_eq!(journal.notes_for(id).len(), 1, "lead {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_left_by_a_killed_worker_is_finished_by_another_with_one_note() {
    let (sim, test, pipeline) = setup().await;
    let pipeline = Arc::new(pipeline);
    let id = sim.state.leads()[0].id.clone();
    enqueue_leads(&test.pool, std::slice::from_ref(&id)).await;
    // The ghost claims the job and dies (never renews, never finishes).
    let ghost = jobs::claim(&test.pool, "ghost", Duration::from_millis(400))
        .await
        .expect("claim")
        .expect("job");
    let done = worker::drain(&pipeline, &options("w"))
        .await
        .expect("drain");
    assert!(done.is_empty(), "the lease is still the ghost's");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let done = worker::drain(&pipeline, &options("w"))
        .await
        .expect("drain");
    assert_eq!(done, vec![(ghost.id, JobOutcome::Completed)]);
    assert_eq!(sim.state.journal().notes_for(&id).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_retried_and_a_quota_error_pauses_without_burning_attempts() {
    let (sim, test, pipeline) = setup().await;
    let pipeline = Arc::new(pipeline);
    let leads = sim.state.leads();
    let owner = leads
        .iter()
        .find(|l| l.kind == c2s_sim::LeadKind::Owner)
        .expect("owner")
        .id
        .clone();
    enqueue_leads(&test.pool, std::slice::from_ref(&owner)).await;
    sim.state.set_faults(
        "diretrix",
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    );
    let first = worker::drain(&pipeline, &options("w"))
        .await
        .expect("drain");
    assert_eq!(first[0].1, JobOutcome::Retrying);
    sim.state.set_faults("diretrix", Faults::default());
    until_done(&pipeline, &options("w")).await;
    assert_eq!(sim.state.journal().notes_for(&owner).len(), 1);

    let other = leads
        .iter()
        .filter(|l| l.kind == c2s_sim::LeadKind::Owner)
        .nth(1)
        .expect("owner")
        .id
        .clone();
    enqueue_leads(&test.pool, std::slice::from_ref(&other)).await;
    sim.state.set_faults(
        "work_api",
        Faults {
            quota_after: Some(0),
            ..Faults::default()
        },
    );
    let paused = worker::drain(&pipeline, &options("w"))
        .await
        .expect("drain");
    assert_eq!(paused[0].1, JobOutcome::Paused);
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM enrich.jobs WHERE lead_id = $1")
        .bind(&other)
        .fetch_one(&test.pool)
        .await
        .expect("job");
    assert_eq!(attempts, 0, "a pause is not an attempt");
    // Every other job now waits too, without calling anyone.
    let third = leads
        .iter()
        .filter(|l| l.kind == c2s_sim::LeadKind::Owner)
        .nth(2)
        .expect("owner")
        .id
        .clone();
    enqueue_leads(&test.pool, std::slice::from_ref(&third)).await;
    let calls = sim.state.journal().calls.len();
    let waiting = worker::drain(&pipeline, &options("w"))
        .await
        .expect("drain");
    assert!(
        waiting.iter().all(|(_, o)| *o == JobOutcome::Paused),
        "{waiting:?}"
    );
    assert_eq!(
        sim.state.journal().calls.len(),
        calls,
        "nobody called while paused"
    );
    sim.state.set_faults("work_api", Faults::default());
    tokio::time::sleep(Duration::from_millis(350)).await;
    until_done(&pipeline, &options("w")).await;
    assert_eq!(sim.state.journal().notes_for(&other).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_unknown_to_c2s_fails_visibly_instead_of_retrying_forever() {
    let (_sim, test, pipeline) = setup().await;
    let pipeline = Arc::new(pipeline);
    let ghost = "0123456789abcdef0123456789abcdef".to_owned();
    enqueue_leads(&test.pool, std::slice::from_ref(&ghost)).await;
    let done = worker::drain(&pipeline, &options("w"))
        .await
        .expect("drain");
    assert_eq!(done[0].1, JobOutcome::Dead);
    let (state, error): (String, Option<String>) =
        sqlx::query_as("SELECT state, last_error FROM enrich.leads WHERE lead_id = $1")
            .bind(&ghost)
            .fetch_one(&test.pool)
            .await
            .expect("lead");
    assert_eq!(state, "failed");
    assert!(error.is_some_and(|e| e.contains("not found")));
}
