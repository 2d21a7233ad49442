//! The durable job queue against a real PostgreSQL.

use std::collections::HashSet;
use std::time::Duration;

use c2s_enrich::store::jobs::{self, Backoff, Failed, NewJob};
use c2s_lab::testing::TestDb;

fn job<'a>(key: &'a str, lead: &'a str) -> NewJob<'a> {
    NewJob {
        kind: "enrich_lead",
        job_key: Some(key),
        lead_id: Some(lead),
        payload: serde_json::json!({"k": key}),
        max_attempts: 3,
    }
}

const LEASE: Duration = Duration::from_secs(30);
const QUICK: Backoff = Backoff {
    base: Duration::from_millis(200),
    max: Duration::from_millis(400),
};

#[tokio::test]
async fn a_job_exists_exactly_when_the_enqueuing_transaction_commits_and_keys_deduplicate() {
    let test = TestDb::migrated().await.expect("db");
    let pool = &test.pool;
    let mut tx = pool.begin().await.expect("tx");
    jobs::enqueue(&mut *tx, &job("a", "l1"))
        .await
        .expect("enqueue");
    tx.rollback().await.expect("rollback");
    assert!(
        jobs::claim(pool, "w1", LEASE)
            .await
            .expect("claim")
            .is_none(),
        "rolled back with its transaction"
    );

    let mut tx = pool.begin().await.expect("tx");
    let id = jobs::enqueue(&mut *tx, &job("a", "l1"))
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
    assert!(id.is_some());
    assert_eq!(
        jobs::enqueue(pool, &job("a", "l1")).await.expect("again"),
        None,
        "same key: ignored"
    );
    let claimed = jobs::claim(pool, "w1", LEASE)
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(
        (
            claimed.state.as_str(),
            claimed.attempts,
            claimed.payload["k"].as_str()
        ),
        ("running", 1, Some("a"))
    );
    assert!(
        jobs::claim(pool, "w2", LEASE)
            .await
            .expect("claim")
            .is_none(),
        "claimed once"
    );
    assert!(jobs::complete(pool, claimed.id, "w1")
        .await
        .expect("complete"));
}

#[tokio::test]
async fn a_job_whose_worker_died_is_claimed_again_when_its_lease_expires() {
    let test = TestDb::migrated().await.expect("db");
    let pool = &test.pool;
    jobs::enqueue(pool, &job("a", "l1")).await.expect("enqueue");
    let short = Duration::from_millis(600);
    let first = jobs::claim(pool, "dead-worker", short)
        .await
        .expect("claim")
        .expect("job");
    assert!(
        jobs::claim(pool, "w2", short)
            .await
            .expect("claim")
            .is_none(),
        "lease still alive"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let again = jobs::claim(pool, "w2", LEASE)
        .await
        .expect("claim")
        .expect("expired lease");
    assert_eq!(
        (again.id, again.attempts, again.locked_by.as_deref()),
        (first.id, 2, Some("w2"))
    );
    assert!(
        !jobs::complete(pool, first.id, "dead-worker")
            .await
            .expect("complete"),
        "the old worker lost it"
    );
    assert!(jobs::complete(pool, first.id, "w2")
        .await
        .expect("complete"));
}

#[tokio::test]
async fn heartbeats_keep_the_lease_alive() {
    let test = TestDb::migrated().await.expect("db");
    let pool = &test.pool;
    jobs::enqueue(pool, &job("a", "l1")).await.expect("enqueue");
    let lease = Duration::from_millis(600);
    let j = jobs::claim(pool, "w1", lease)
        .await
        .expect("claim")
        .expect("job");
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(jobs::heartbeat(pool, j.id, "w1", lease)
            .await
            .expect("heartbeat"));
    }
    assert!(jobs::claim(pool, "w2", lease)
        .await
        .expect("claim")
        .is_none());
    assert!(
        !jobs::heartbeat(pool, j.id, "w2", lease)
            .await
            .expect("heartbeat"),
        "only the holder renews"
    );
}

#[tokio::test]
async fn failures_back_off_then_the_job_dies_and_an_operator_can_requeue_it() {
    let test = TestDb::migrated().await.expect("db");
    let pool = &test.pool;
    let id = jobs::enqueue(pool, &job("a", "l1"))
        .await
        .expect("enqueue")
        .expect("id");
    for attempt in 1..=3 {
        let j = loop {
            if let Some(j) = jobs::claim(pool, "w1", LEASE).await.expect("claim") {
                break j;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(j.attempts, attempt);
        let outcome = jobs::fail(
            pool,
            &j,
            "w1",
            "diretrix: unavailable: HTTP 503",
            true,
            QUICK,
        )
        .await
        .expect("fail");
        if attempt < 3 {
            assert!(
                matches!(outcome, Failed::Retrying(d) if d >= Duration::from_millis(100)),
                "{outcome:?}"
            );
            assert!(
                jobs::claim(pool, "w1", LEASE)
                    .await
                    .expect("claim")
                    .is_none(),
                "not before its backoff"
            );
        } else {
            assert_eq!(outcome, Failed::Dead);
        }
    }
    let dead = jobs::list(pool, Some("dead"), 10).await.expect("list");
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("diretrix: unavailable: HTTP 503")
    );
    assert!(jobs::retry(pool, id).await.expect("retry"));
    let j = jobs::claim(pool, "w1", LEASE)
        .await
        .expect("claim")
        .expect("requeued");
    assert_eq!(j.attempts, 1);
    let outcome = jobs::fail(pool, &j, "w1", "token invalid", false, QUICK)
        .await
        .expect("fail");
    assert_eq!(
        outcome,
        Failed::Dead,
        "a non-retryable failure dies at once"
    );
    assert_eq!(jobs::requeue_dead(pool).await.expect("requeue"), 1);
    let j = jobs::claim(pool, "w1", LEASE)
        .await
        .expect("claim")
        .expect("requeued");
    assert!(jobs::postpone(pool, j.id, "w1", Duration::ZERO)
        .await
        .expect("postpone"));
    let j = jobs::claim(pool, "w1", LEASE)
        .await
        .expect("claim")
        .expect("again");
    assert_eq!(
        j.attempts, 1,
        "a postponed run does not count as an attempt"
    );
}

#[tokio::test]
async fn a_leads_jobs_never_run_at_the_same_time() {
    let test = TestDb::migrated().await.expect("db");
    let pool = &test.pool;
    jobs::enqueue(pool, &job("create", "lead-1"))
        .await
        .expect("enqueue");
    jobs::enqueue(pool, &job("update", "lead-1"))
        .await
        .expect("enqueue");
    jobs::enqueue(pool, &job("other", "lead-2"))
        .await
        .expect("enqueue");
    let first = jobs::claim(pool, "w1", LEASE)
        .await
        .expect("claim")
        .expect("job");
    let second = jobs::claim(pool, "w2", LEASE)
        .await
        .expect("claim")
        .expect("job");
    assert_eq!(
        second.lead_id.as_deref(),
        Some("lead-2"),
        "lead-1's second job waits"
    );
    assert!(jobs::claim(pool, "w3", LEASE)
        .await
        .expect("claim")
        .is_none());
    jobs::complete(pool, first.id, "w1")
        .await
        .expect("complete");
    let third = jobs::claim(pool, "w3", LEASE)
        .await
        .expect("claim")
        .expect("now free");
    assert_eq!(third.job_key.as_deref(), Some("update"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_workers_claim_every_job_exactly_once() {
    let test = TestDb::migrated().await.expect("db");
    let pool = test.pool.clone();
    let keys: Vec<String> = (0..40).map(|i| format!("job-{i}")).collect();
    for (i, k) in keys.iter().enumerate() {
        jobs::enqueue(&pool, &job(k, &format!("lead-{i}")))
            .await
            .expect("enqueue");
    }
    let mut tasks = Vec::new();
    for w in 0..6 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(j) = jobs::claim(&pool, &format!("w{w}"), LEASE)
                .await
                .expect("claim")
            {
                jobs::complete(&pool, j.id, &format!("w{w}"))
                    .await
                    .expect("complete");
                mine.push(j.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("join"));
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!((all.len(), unique.len()), (40, 40));
}
