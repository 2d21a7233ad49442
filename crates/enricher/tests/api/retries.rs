//! Long-horizon retries (issue 16): a lead nobody was found for is asked
//! about again at the configured ages (never before its "not found" answers
//! expire); a retry that finds someone posts one new note, one that finds
//! nobody again posts none; retries spend only their share of a budget.
//! Time is moved by moving the stored due time back (the database's clock
//! decides when a retry is due).

use std::sync::Arc;

use c2s_enrich::pipeline::retry::enqueue_due;
use c2s_enrich::pipeline::worker::{self, JobOutcome};
use c2s_enrich::pipeline::Pipeline;
use c2s_lab::testing::sandbox::setup_with;
use c2s_sim::{Faults, SimHandle};
use chrono::{DateTime, Utc};

/// The sandbox's providers know nobody (or everyone again).
fn providers_know_nobody(sim: &SimHandle, nobody: bool) {
    for p in ["diretrix", "work_api"] {
        sim.state.set_faults(
            p,
            Faults {
                knows_nobody: nobody,
                ..Faults::default()
            },
        );
    }
}

async fn run_jobs(pipeline: &Arc<Pipeline>) -> Vec<JobOutcome> {
    worker::drain(pipeline, &crate::worker::options("retries"))
        .await
        .expect("drain")
        .into_iter()
        .map(|(_, o)| o)
        .collect()
}

/// The lead's retries made and when the next is due (as an age from its arrival).
async fn retry_state(pool: &sqlx::PgPool, lead: &str) -> (i32, Option<f64>) {
    let (retries, due, created): (i32, Option<DateTime<Utc>>, DateTime<Utc>) =
        sqlx::query_as("SELECT retries, retry_at, created_at FROM enrich.leads WHERE lead_id = $1")
            .bind(lead)
            .fetch_one(pool)
            .await
            .expect("lead");
    (
        retries,
        due.map(|d| (d - created).num_seconds() as f64 / 86_400.0),
    )
}

/// "Time passes": the retry is due now.
async fn make_due(pool: &sqlx::PgPool, lead: &str) {
    sqlx::query(
        "UPDATE enrich.leads SET retry_at = now() - interval '1 second' WHERE lead_id = $1",
    )
    .bind(lead)
    .execute(pool)
    .await
    .expect("due");
}

/// A sandbox whose providers know nobody, and an owner lead run to its
/// "nobody found" note.
async fn nobody_found(
    extra: &[(&str, &str)],
) -> (
    SimHandle,
    c2s_lab::testing::TestDb,
    Arc<Pipeline>,
    c2s_sim::SimLead,
) {
    let (sim, test, pipeline) = setup_with(extra).await;
    let pipeline = Arc::new(pipeline);
    let lead = owner(&sim);
    providers_know_nobody(&sim, true);
    crate::worker::enqueue_leads(&test.pool, std::slice::from_ref(&lead.id)).await;
    assert_eq!(run_jobs(&pipeline).await, vec![JobOutcome::Completed]);
    (sim, test, pipeline, lead)
}

/// Calls the sandbox's `provider` answered so far.
pub(crate) fn calls_to(sim: &SimHandle, provider: &str) -> usize {
    sim.state
        .journal()
        .calls
        .iter()
        .filter(|c| c.provider == provider)
        .count()
}

fn owner(sim: &SimHandle) -> c2s_sim::SimLead {
    sim.state
        .leads()
        .into_iter()
        .find(|l| l.kind == c2s_sim::LeadKind::Owner)
        .expect("owner")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_that_finds_someone_posts_one_new_note_and_stops_retrying() {
    let (sim, test, pipeline, lead) = nobody_found(&[
        ("RETRY_AFTER_DAYS", "1,7,30"),
        ("CACHE_NOT_FOUND_DAYS", "0"),
    ])
    .await;
    let notes = sim.state.journal().notes_for(&lead.id).len();
    assert_eq!(notes, 1, "the first note says nobody was found");
    let (retries, due) = retry_state(&test.pool, &lead.id).await;
    assert_eq!(retries, 0);
    let due = due.expect("a retry is due");
    assert!((due - 1.0).abs() < 0.01, "due one day after arrival: {due}");
    // Not due yet: nothing is enqueued.
    assert_eq!(enqueue_due(&test.pool, 100).await.expect("sweep"), 0);

    // A day later the providers know the person.
    make_due(&test.pool, &lead.id).await;
    providers_know_nobody(&sim, false);
    sim.state.reset_journal();
    assert_eq!(enqueue_due(&test.pool, 100).await.expect("sweep"), 1);
    assert_eq!(
        enqueue_due(&test.pool, 100).await.expect("again"),
        0,
        "enqueued once"
    );
    assert_eq!(run_jobs(&pipeline).await, vec![JobOutcome::Completed]);
    let journal = sim.state.journal();
    let notes = journal.notes_for(&lead.id);
    assert_eq!(notes.len(), 1, "one new note");
    let name = &sim.state.population.people[lead.person.expect("person")].name;
    assert!(notes[0].body.contains(name.as_str()), "{}", notes[0].body);
    assert_eq!(
        retry_state(&test.pool, &lead.id).await,
        (1, None),
        "found: no more retries"
    );
    // Run again (a redelivery): nothing more is posted.
    sim.state.reset_journal();
    c2s_enrich::store::leads::restart_completed(
        &test.pool,
        &c2s_enrich::domain::lead::LeadId::parse(&lead.id).expect("id"),
    )
    .await
    .expect("restart");
    let job = c2s_enrich::store::jobs::NewJob {
        kind: worker::ENRICH_LEAD,
        job_key: Some("redelivered"),
        lead_id: Some(&lead.id),
        payload: serde_json::json!({"lead_id": lead.id}),
        max_attempts: 5,
    };
    c2s_enrich::store::jobs::enqueue(&test.pool, &job)
        .await
        .expect("enqueue");
    assert_eq!(run_jobs(&pipeline).await, vec![JobOutcome::Completed]);
    assert!(sim.state.journal().notes_for(&lead.id).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_that_find_nobody_post_nothing_and_end_after_the_last_age() {
    let (sim, test, pipeline, lead) = nobody_found(&[
        ("RETRY_AFTER_DAYS", "1,7,30"),
        ("CACHE_NOT_FOUND_DAYS", "0"),
    ])
    .await;
    for (n, next) in [(1, Some(7.0)), (2, Some(30.0)), (3, None)] {
        make_due(&test.pool, &lead.id).await;
        let paid = || calls_to(&sim, "diretrix") + calls_to(&sim, "work_api");
        let calls = paid();
        assert_eq!(enqueue_due(&test.pool, 100).await.expect("sweep"), 1);
        assert_eq!(run_jobs(&pipeline).await, vec![JobOutcome::Completed]);
        assert!(paid() > calls, "retry {n} asked the providers again");
        let (retries, due) = retry_state(&test.pool, &lead.id).await;
        assert_eq!(retries, n);
        match (due, next) {
            (Some(d), Some(age)) => assert!((d - age).abs() < 0.01, "retry {n}: due at {d}"),
            (None, None) => {}
            other => panic!("retry {n}: {other:?}"),
        }
    }
    assert_eq!(
        sim.state.journal().notes_for(&lead.id).len(),
        1,
        "only the first 'nobody found' note"
    );
    assert_eq!(enqueue_due(&test.pool, 100).await.expect("sweep"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_waits_for_its_not_found_answers_to_expire_and_spends_only_its_share() {
    let (sim, test, pipeline, lead) = nobody_found(&[
        ("RETRY_AFTER_DAYS", "1,7,30"),
        ("CACHE_NOT_FOUND_DAYS", "7"),
        ("WORK_API_DAILY_CREDITS", "100"),
        ("BUDGET_RETRY_SHARE", "0"),
    ])
    .await;
    let (_, due) = retry_state(&test.pool, &lead.id).await;
    let due = due.expect("due");
    assert!(
        (due - 7.0).abs() < 0.01,
        "the 1-day retry waits for the 7-day not-found answers: {due}"
    );
    // Due, but the retries' share of the Work API budget is 0: the retry
    // waits for the next day and pauses nobody.
    make_due(&test.pool, &lead.id).await;
    providers_know_nobody(&sim, false);
    sqlx::query("DELETE FROM enrich.provider_calls")
        .execute(&test.pool)
        .await
        .expect("expire answers");
    assert_eq!(enqueue_due(&test.pool, 100).await.expect("sweep"), 1);
    let before = calls_to(&sim, "work_api");
    assert_eq!(run_jobs(&pipeline).await, vec![JobOutcome::Paused]);
    assert_eq!(
        calls_to(&sim, "work_api"),
        before,
        "no Work API call beyond the retries' share"
    );
    let paused: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.provider_pauses")
        .fetch_one(&test.pool)
        .await
        .expect("pauses");
    assert_eq!(paused, 0, "a retry over its share pauses nobody");
    assert_eq!(sim.state.journal().notes_for(&lead.id).len(), 1);
}
