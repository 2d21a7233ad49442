//! The paid-call ledger: never pay twice for a fresh answer, coalesce identical
//! concurrent lookups, re-fetch expired answers, never cache failures.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use c2s_enrich::domain::Candidate;
use c2s_enrich::providers::ProviderError;
use c2s_enrich::store::ledger::{usage, CallKind, Freshness, Ledger};
use c2s_lab::testing::TestDb;

const DISCOVERY: CallKind = CallKind {
    provider: "diretrix",
    module: "phone",
    credits: 1,
    dossier: false,
};

fn helena() -> Vec<Candidate> {
    vec![Candidate {
        cpf: brazil::Cpf::parse("52998224725").expect("cpf"),
        name: Some("HELENA".into()),
    }]
}

async fn counted_fetch(calls: Arc<AtomicUsize>) -> Result<Option<Vec<Candidate>>, ProviderError> {
    calls.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(Some(helena()))
}

#[tokio::test]
async fn the_second_identical_query_is_answered_free_from_the_ledger() {
    let test = TestDb::migrated().await.expect("db");
    let ledger = Ledger::new(test.pool.clone(), None, Freshness::default())
        .await
        .expect("ledger");
    let calls = Arc::new(AtomicUsize::new(0));
    let first = ledger
        .lookup(DISCOVERY, "11987654321", || counted_fetch(calls.clone()))
        .await
        .expect("first");
    let second = ledger
        .lookup(DISCOVERY, "11987654321", || counted_fetch(calls.clone()))
        .await
        .expect("second");
    assert!(!first.cached && second.cached);
    assert_eq!(second.value, Some(helena()));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "paid once");

    // A new Ledger (another instance, a restart) shares the stored key and the cache.
    let other = Ledger::new(test.pool.clone(), None, Freshness::default())
        .await
        .expect("ledger");
    let third = other
        .lookup(DISCOVERY, "11987654321", || counted_fetch(calls.clone()))
        .await
        .expect("third");
    assert!(third.cached);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let figures = usage(&test.pool, chrono::Utc::now() - chrono::Duration::hours(1))
        .await
        .expect("usage");
    assert_eq!(figures.len(), 1);
    assert_eq!(
        (
            figures[0].paid_calls,
            figures[0].cache_hits,
            figures[0].credits
        ),
        (1, 2, 1)
    );
    // The query is not stored in clear anywhere in the ledger.
    let clear: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM enrich.provider_calls WHERE row_to_json(provider_calls)::text LIKE '%11987654321%'",
    )
    .fetch_one(&test.pool)
    .await
    .expect("scan");
    assert_eq!(clear, 0);
}

#[tokio::test]
async fn an_expired_answer_is_fetched_again_and_not_found_is_cached_too() {
    let test = TestDb::migrated().await.expect("db");
    let expired = Freshness {
        discovery: Duration::ZERO,
        ..Freshness::default()
    };
    let ledger = Ledger::new(test.pool.clone(), None, expired)
        .await
        .expect("ledger");
    let calls = Arc::new(AtomicUsize::new(0));
    for _ in 0..2 {
        let looked = ledger
            .lookup(DISCOVERY, "11987654321", || counted_fetch(calls.clone()))
            .await
            .expect("lookup");
        assert!(!looked.cached);
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "a stale answer is paid for again"
    );

    let nothing = Arc::new(AtomicUsize::new(0));
    let fetch_none = |n: Arc<AtomicUsize>| async move {
        n.fetch_add(1, Ordering::SeqCst);
        Err::<Option<Vec<Candidate>>, _>(ProviderError::NotFound {
            provider: "diretrix",
        })
    };
    let a = ledger
        .lookup(DISCOVERY, "11900000000", || fetch_none(nothing.clone()))
        .await
        .expect("not found is an answer");
    let b = ledger
        .lookup(DISCOVERY, "11900000000", || fetch_none(nothing.clone()))
        .await
        .expect("cached");
    assert_eq!((a.value, b.value, b.cached), (None, None, true));
    assert_eq!(nothing.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn failures_are_recorded_but_never_cached() {
    let test = TestDb::migrated().await.expect("db");
    let ledger = Ledger::new(test.pool.clone(), None, Freshness::default())
        .await
        .expect("ledger");
    let calls = Arc::new(AtomicUsize::new(0));
    let failing = |n: Arc<AtomicUsize>| async move {
        n.fetch_add(1, Ordering::SeqCst);
        Err::<Option<Vec<Candidate>>, _>(ProviderError::Timeout {
            provider: "diretrix",
        })
    };
    for _ in 0..2 {
        let err = ledger
            .lookup(DISCOVERY, "11987654321", || failing(calls.clone()))
            .await
            .expect_err("timeout");
        assert!(err.to_string().contains("timed out"));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let (errors, credits): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE outcome = 'error' AND error_kind = 'timeout'), coalesce(sum(credits), 0) FROM enrich.provider_calls",
    )
    .fetch_one(&test.pool)
    .await
    .expect("rows");
    assert_eq!(
        (errors, credits),
        (2, 0),
        "recorded, free (never reached the provider)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_identical_queries_cause_one_paid_call_even_across_instances() {
    let test = TestDb::migrated().await.expect("db");
    let a = Arc::new(
        Ledger::new(test.pool.clone(), None, Freshness::default())
            .await
            .expect("ledger a"),
    );
    let b = Arc::new(
        Ledger::new(test.pool.clone(), None, Freshness::default())
            .await
            .expect("ledger b"),
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let ledger = if i % 2 == 0 { a.clone() } else { b.clone() };
        let calls = calls.clone();
        tasks.push(tokio::spawn(async move {
            ledger
                .lookup(DISCOVERY, "11987654321", || counted_fetch(calls))
                .await
                .map(|l| l.cached)
        }));
    }
    let mut paid = 0;
    for t in tasks {
        if !t.await.expect("join").expect("lookup") {
            paid += 1;
        }
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one paid call for 20 identical lookups"
    );
    assert_eq!(paid, 1);
}

#[tokio::test]
async fn a_persons_cached_answers_can_be_forgotten() {
    let test = TestDb::migrated().await.expect("db");
    let ledger = Ledger::new(test.pool.clone(), None, Freshness::default())
        .await
        .expect("ledger");
    let calls = Arc::new(AtomicUsize::new(0));
    ledger
        .lookup(DISCOVERY, "11987654321", || counted_fetch(calls.clone()))
        .await
        .expect("lookup");
    ledger
        .lookup(DISCOVERY, "11987654321", || counted_fetch(calls.clone()))
        .await
        .expect("hit");
    let removed = ledger
        .forget(&[(DISCOVERY, "11987654321".to_owned())])
        .await
        .expect("forget");
    assert_eq!(removed, 2);
    let again = ledger
        .lookup(DISCOVERY, "11987654321", || counted_fetch(calls.clone()))
        .await
        .expect("refetch");
    assert!(!again.cached);
    assert_ne!(
        ledger.key_hash(DISCOVERY, "x"),
        ledger.key_hash(
            CallKind {
                module: "email",
                ..DISCOVERY
            },
            "x"
        )
    );
}

async fn slow_fetch(
    calls: Arc<AtomicUsize>,
    wait: Duration,
) -> Result<Option<Vec<Candidate>>, ProviderError> {
    calls.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(wait).await;
    Ok(Some(helena()))
}

/// Sessions of this test database idle in a transaction, and reservations.
async fn idle_in_transaction(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    )
    .fetch_one(pool)
    .await
    .expect("activity")
}

async fn count_outcome(pool: &sqlx::PgPool, outcome: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM enrich.provider_calls WHERE outcome = $1")
        .bind(outcome)
        .fetch_one(pool)
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_provider_call_holds_no_transaction_and_no_connection() {
    let test = TestDb::migrated().await.expect("db");
    // A pool of two: the call must not keep either.
    let pool = c2s_enrich::db::connect_pool(test.url(), 2)
        .await
        .expect("pool");
    let ledger = Arc::new(
        Ledger::new(pool.clone(), None, Freshness::default())
            .await
            .expect("ledger"),
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let mut lookups = Vec::new();
    for i in 0..4 {
        let (ledger, calls) = (ledger.clone(), calls.clone());
        lookups.push(tokio::spawn(async move {
            ledger
                .lookup(DISCOVERY, &format!("1198765432{i}"), || {
                    slow_fetch(calls, Duration::from_secs(2))
                })
                .await
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Four calls in flight on a pool of two: the database is still served,
    // nothing idles in a transaction, and each call holds a reservation.
    let started = std::time::Instant::now();
    let reservations: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.provider_reservations")
        .fetch_one(&pool)
        .await
        .expect("reservations");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "the pool is free"
    );
    assert_eq!(reservations, 4);
    assert_eq!(idle_in_transaction(&test.pool).await, 0);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    for l in lookups {
        assert!(!l.await.expect("join").expect("lookup").cached);
    }
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.provider_reservations")
        .fetch_one(&pool)
        .await
        .expect("reservations");
    assert_eq!(left, 0, "answers recorded release their reservations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backends_killed_mid_call_cause_no_second_payment() {
    let test = TestDb::migrated().await.expect("db");
    let pool = c2s_enrich::db::connect_pool(test.url(), 4)
        .await
        .expect("pool");
    let ledger = Arc::new(
        Ledger::new(pool.clone(), None, Freshness::default())
            .await
            .expect("ledger"),
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let mut lookups = Vec::new();
    for _ in 0..6 {
        let (ledger, calls) = (ledger.clone(), calls.clone());
        lookups.push(tokio::spawn(async move {
            ledger
                .lookup(DISCOVERY, "11987654321", || {
                    slow_fetch(calls, Duration::from_millis(1500))
                })
                .await
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Every session of the service's pool is killed while the call runs.
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()) k",
    )
    .fetch_one(&test.pool)
    .await
    .expect("terminate");
    assert!(killed >= 1, "the pool had sessions to kill");
    for l in lookups {
        l.await
            .expect("join")
            .expect("the lookup survives the killed sessions");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "paid once");
    let again = ledger
        .lookup(DISCOVERY, "11987654321", || {
            slow_fetch(calls.clone(), Duration::ZERO)
        })
        .await
        .expect("again");
    assert!(again.cached);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(count_outcome(&test.pool, "found").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_whose_holder_died_expires_and_is_recorded_as_unknown() {
    let test = TestDb::migrated().await.expect("db");
    let ttl = Duration::from_millis(600);
    let dead = Ledger::new(test.pool.clone(), None, Freshness::default())
        .await
        .expect("ledger")
        .with_reservation_ttl(ttl);
    let calls = Arc::new(AtomicUsize::new(0));
    // The holder's lookup is dropped mid-call (its process died): no answer,
    // no release, no more heartbeats.
    let c = calls.clone();
    let _ = tokio::time::timeout(
        Duration::from_millis(300),
        dead.lookup(DISCOVERY, "11987654321", || {
            slow_fetch(c, Duration::from_secs(30))
        }),
    )
    .await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let other = Ledger::new(test.pool.clone(), None, Freshness::default())
        .await
        .expect("ledger")
        .with_reservation_ttl(ttl);
    let started = std::time::Instant::now();
    let looked = other
        .lookup(DISCOVERY, "11987654321", || {
            slow_fetch(calls.clone(), Duration::ZERO)
        })
        .await
        .expect("lookup");
    assert!(!looked.cached);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited for the expiry only"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "asked again after the expiry"
    );
    assert_eq!(
        count_outcome(&test.pool, "unknown").await,
        1,
        "the lost call is visible"
    );
    assert_eq!(count_outcome(&test.pool, "found").await, 1);
}

#[tokio::test]
async fn every_pooled_session_has_an_idle_in_transaction_timeout() {
    let test = TestDb::migrated().await.expect("db");
    let pool = c2s_enrich::db::connect_pool(test.url(), 1)
        .await
        .expect("pool");
    let timeout: String = sqlx::query_scalar("SHOW idle_in_transaction_session_timeout")
        .fetch_one(&pool)
        .await
        .expect("show");
    assert_eq!(timeout, "1min");
}
