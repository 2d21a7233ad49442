//! Workers over the durable queue: every job to a final state, one note per
//! lead, a dead worker's job taken over, outages retried, quota pauses.

use std::sync::Arc;
use std::time::Duration;

use c2s_enrich::domain::lead::LeadId;
use c2s_enrich::pipeline::worker::{self, JobOutcome, WorkerOptions, ENRICH_LEAD};
use c2s_enrich::pipeline::{Pipeline, RunError};
use c2s_enrich::store::jobs::{self, Backoff, NewJob};
use c2s_lab::testing::sandbox::setup;
use c2s_sim::Faults;

/// Workers with short leases and back-offs (shared with other test modules).
pub(crate) fn options(id: &str) -> WorkerOptions {
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
        not_found_retries: 2,
        not_found_delay: Duration::from_millis(100),
    }
}

pub(crate) async fn enqueue_leads(pool: &sqlx::PgPool, ids: &[String]) {
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

fn first_owner(sim: &c2s_sim::SimHandle) -> c2s_sim::SimLead {
    sim.state
        .leads()
        .into_iter()
        .find(|l| l.kind == c2s_sim::LeadKind::Owner)
        .expect("owner")
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
async fn a_lead_unknown_to_c2s_is_asked_for_a_few_times_then_fails_visibly() {
    let (sim, test, pipeline) = setup().await;
    let pipeline = Arc::new(pipeline);
    let ghost = "0123456789abcdef0123456789abcdef".to_owned();
    enqueue_leads(&test.pool, std::slice::from_ref(&ghost)).await;
    let o = options("w");
    let first = worker::drain(&pipeline, &o).await.expect("drain");
    assert_eq!(first[0].1, JobOutcome::LeadNotFound);
    let queued: String = sqlx::query_scalar("SELECT state FROM enrich.jobs")
        .fetch_one(&test.pool)
        .await
        .expect("job");
    assert_eq!(queued, "queued", "asked again later, not dead at once");
    until_done(&pipeline, &o).await;
    // Once, then after each of the two retries: three questions, then dead.
    assert_eq!(sim.state.journal().count("c2s", "get_lead"), 3);
    let (job_state, attempts): (String, i32) =
        sqlx::query_as("SELECT state, attempts FROM enrich.jobs")
            .fetch_one(&test.pool)
            .await
            .expect("job");
    assert_eq!((job_state.as_str(), attempts), ("dead", 3));
    let (state, error): (String, Option<String>) =
        sqlx::query_as("SELECT state, last_error FROM enrich.leads WHERE lead_id = $1")
            .bind(&ghost)
            .fetch_one(&test.pool)
            .await
            .expect("lead");
    assert_eq!(state, "failed");
    assert!(error.is_some_and(|e| e.contains("not found")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_announced_before_c2s_serves_it_is_enriched_when_it_appears() {
    let (sim, test, pipeline) = setup().await;
    let pipeline = Arc::new(pipeline);
    let owner = first_owner(&sim);
    let hidden = sim.state.take_lead(&owner.id).expect("taken out");
    enqueue_leads(&test.pool, std::slice::from_ref(&owner.id)).await;
    let o = options("w");
    let first = worker::drain(&pipeline, &o).await.expect("drain");
    assert_eq!(first[0].1, JobOutcome::LeadNotFound);
    sim.state.put_lead(hidden);
    until_done(&pipeline, &o).await;
    assert_eq!(sim.state.journal().notes_for(&owner.id).len(), 1);
    let state: String = sqlx::query_scalar("SELECT state FROM enrich.jobs")
        .fetch_one(&test.pool)
        .await
        .expect("job");
    assert_eq!(state, "done");
}

/// The lead's lease, as another run that took it over would leave it.
async fn steal_lease(pool: &sqlx::PgPool, lead: &str, for_secs: f64) {
    sqlx::query(
        "UPDATE enrich.leads SET lease_by = 'intruder', lease_until = now() + make_interval(secs => $2) WHERE lead_id = $1",
    )
    .bind(lead)
    .bind(for_secs)
    .execute(pool)
    .await
    .expect("steal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_loses_its_lease_stops_before_its_next_outside_effect() {
    let (sim, test, pipeline) = setup().await;
    let pipeline = Arc::new(pipeline);
    let owner = first_owner(&sim).id;
    // Discovery is slow; while it runs, another run takes the lead over
    // (this one was presumed dead).
    for p in ["diretrix", "work_api"] {
        sim.state.set_faults(
            p,
            Faults {
                latency_ms: 1500,
                ..Faults::default()
            },
        );
    }
    enqueue_leads(&test.pool, std::slice::from_ref(&owner)).await;
    let o = options("w");
    let run = {
        let (pipeline, o) = (pipeline.clone(), o.clone());
        tokio::spawn(async move { worker::drain(&pipeline, &o).await })
    };
    tokio::time::sleep(Duration::from_millis(600)).await;
    steal_lease(&test.pool, &owner, 3600.0).await;
    let done = run.await.expect("join").expect("drain");
    assert_eq!(done[0].1, JobOutcome::LeaseLost);
    let journal = sim.state.journal();
    assert_eq!(
        journal.count("work_api", "cpf"),
        0,
        "no dossier bought after the lease was lost"
    );
    assert!(journal.notes_for(&owner).is_empty(), "no note posted");
    let (step, note_status, lease_by): (String, String, Option<String>) =
        sqlx::query_as("SELECT step, note_status, lease_by FROM enrich.leads WHERE lead_id = $1")
            .bind(&owner)
            .fetch_one(&test.pool)
            .await
            .expect("lead");
    assert_eq!(step, "discover", "the stale run recorded nothing");
    assert_eq!(note_status, "none");
    assert_eq!(
        lease_by.as_deref(),
        Some("intruder"),
        "its lease left alone"
    );
    let job: String = sqlx::query_scalar("SELECT state FROM enrich.jobs")
        .fetch_one(&test.pool)
        .await
        .expect("job");
    assert_eq!(job, "queued", "the job waits for the holder");

    // The intruder dies (its lease expires): the job finishes the lead, once.
    for p in ["diretrix", "work_api"] {
        sim.state.set_faults(p, Faults::default());
    }
    steal_lease(&test.pool, &owner, -1.0).await;
    until_done(&pipeline, &o).await;
    assert_eq!(sim.state.journal().notes_for(&owner).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_note_state_changes_only_for_the_lease_holder() {
    let (sim, test, pipeline) = setup().await;
    let owner = first_owner(&sim).id;
    // Another run holds the lead: `enrich` (and any caller) is refused,
    // nothing is called, nothing recorded.
    pipeline
        .process(&LeadId::parse(&owner).expect("id"))
        .await
        .expect("first run");
    sqlx::query("UPDATE enrich.leads SET step = 'note', note_status = 'none' WHERE lead_id = $1")
        .bind(&owner)
        .execute(&test.pool)
        .await
        .expect("rewind");
    steal_lease(&test.pool, &owner, 3600.0).await;
    sim.state.reset_journal();
    let err = pipeline
        .process(&LeadId::parse(&owner).expect("id"))
        .await
        .expect_err("held by another run");
    assert!(matches!(err, RunError::LeadBusy), "{err:?}");
    // A run that believes it holds the lease, but does not: no post.
    let stale = c2s_enrich::store::lease::Fence::holder("w-stale");
    let err = pipeline
        .process_fenced(&LeadId::parse(&owner).expect("id"), &stale)
        .await
        .expect_err("not the holder");
    assert!(matches!(err, RunError::LeaseLost), "{err:?}");
    assert!(sim.state.journal().notes_for(&owner).is_empty());
    let note_status: String =
        sqlx::query_scalar("SELECT note_status FROM enrich.leads WHERE lead_id = $1")
            .bind(&owner)
            .fetch_one(&test.pool)
            .await
            .expect("lead");
    assert_eq!(note_status, "none");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_update_during_a_run_is_processed_after_it() {
    let (sim, test, pipeline) = setup().await;
    let pipeline = Arc::new(pipeline);
    let leads = sim.state.leads();
    let owners: Vec<_> = leads
        .iter()
        .filter(|l| l.kind == c2s_sim::LeadKind::Owner && l.phone.is_some())
        .take(2)
        .collect();
    let (lead, other) = (owners[0].clone(), owners[1].clone());
    for p in ["diretrix", "work_api"] {
        sim.state.set_faults(
            p,
            Faults {
                latency_ms: 800,
                ..Faults::default()
            },
        );
    }
    let created = c2s_sim::render::c2s_lead(&lead);
    let events = c2s_enrich::providers::c2s::parse_webhook(
        &serde_json::json!({"hook_action": "on_create_lead", "lead": created}),
    )
    .expect("event");
    c2s_enrich::store::events::record_delivery(&test.pool, &events)
        .await
        .expect("recorded");
    let o = options("w");
    let run = {
        let (pipeline, o) = (pipeline.clone(), o.clone());
        tokio::spawn(async move { worker::drain(&pipeline, &o).await })
    };
    // While the first run looks the old contacts up, the agent replaces
    // them with another person's, and C2S says so.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(sim
        .state
        .set_contacts(&lead.id, other.phone.clone(), other.email.clone()));
    let edited = sim
        .state
        .leads()
        .into_iter()
        .find(|l| l.id == lead.id)
        .expect("lead");
    let events = c2s_enrich::providers::c2s::parse_webhook(&serde_json::json!(
        {"hook_action": "on_update_lead", "lead": c2s_sim::render::c2s_lead(&edited)}
    ))
    .expect("event");
    let recorded = c2s_enrich::store::events::record_delivery(&test.pool, &events)
        .await
        .expect("recorded");
    assert_eq!(recorded[0].decision, "enrich");
    let first = run.await.expect("join").expect("drain");
    assert!(
        first.iter().all(|(_, o)| *o == JobOutcome::Completed),
        "{first:?}"
    );
    for p in ["diretrix", "work_api"] {
        sim.state.set_faults(p, Faults::default());
    }
    until_done(&pipeline, &o).await;
    let (step, facts_revision, fingerprint): (String, i64, Option<String>) = sqlx::query_as(
        "SELECT step, facts_revision, contact_fingerprint FROM enrich.leads WHERE lead_id = $1",
    )
    .bind(&lead.id)
    .fetch_one(&test.pool)
    .await
    .expect("lead");
    assert_eq!((step.as_str(), facts_revision), ("done", 1));
    let parsed =
        c2s_enrich::providers::c2s::read_lead(&c2s_sim::render::c2s_lead(&edited)).expect("lead");
    let (phone, email, _) = c2s_enrich::domain::lead::usable_contacts(&parsed);
    assert_eq!(
        fingerprint,
        Some(c2s_enrich::domain::lead::contact_fingerprint(
            phone.as_ref(),
            email.as_ref()
        )),
        "the new contacts were looked up"
    );
    let new_phone = phone.expect("phone").national().to_owned();
    assert!(
        sim.state
            .journal()
            .calls
            .iter()
            .any(|c| c.provider == "diretrix" && c.query.contains(&new_phone)),
        "the new phone was asked for"
    );
    assert_eq!(
        sim.state.journal().notes_for(&lead.id).len(),
        1,
        "still one note per lead"
    );
}
