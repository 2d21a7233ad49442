//! Credit budgets (issue 16): a paid call that would pass a provider's daily
//! or monthly budget is not made, across instances; the budget opens again
//! with the next period; retries and the back-fill use only their share; a
//! call that never reached the provider is given back; a new lead's refusal
//! pauses the provider until the period ends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use c2s_enrich::domain::Candidate;
use c2s_enrich::pipeline::worker::{self, JobOutcome};
use c2s_enrich::providers::ProviderError;
use c2s_enrich::store::ledger::{
    budget_state, Budgets, CallKind, Caps, Freshness, Ledger, LedgerError, Period, Shares, Spender,
};
use c2s_lab::testing::TestDb;
use chrono::{DateTime, Utc};

const PHONE: CallKind = CallKind {
    provider: "diretrix",
    module: "phone",
    credits: 1,
    dossier: false,
};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("time").to_utc()
}

/// Budgets of Diretrix on a clock the test moves.
fn budgets(caps: Caps, clock: &Arc<Mutex<DateTime<Utc>>>) -> Budgets {
    let c = clock.clone();
    Budgets::new(vec![("diretrix".into(), caps)], Shares::default())
        .with_clock(Arc::new(move || *c.lock().expect("clock")))
}

async fn ledger(test: &TestDb, budgets: Budgets) -> Ledger {
    Ledger::new(test.pool.clone(), None, Freshness::default())
        .await
        .expect("ledger")
        .with_budgets(budgets)
}

/// One lookup of `query` as `spender`, counting the calls made.
async fn ask(
    ledger: &Ledger,
    query: &str,
    spender: Spender,
    calls: &Arc<AtomicUsize>,
) -> Result<bool, LedgerError> {
    let calls = calls.clone();
    ledger
        .lookup_as(PHONE, query, spender, || async move {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(Some(vec![Candidate {
                cpf: brazil::Cpf::parse("52998224725").expect("cpf"),
                name: Some("HELENA".into()),
            }]))
        })
        .await
        .map(|l| l.cached)
}

fn refusal(r: Result<bool, LedgerError>) -> c2s_enrich::store::ledger::Refusal {
    match r {
        Err(LedgerError::OverBudget(refusal)) => refusal,
        other => panic!("expected a budget refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_spent_daily_budget_refuses_the_call_until_the_next_day_and_the_month_holds_across_days()
{
    let test = TestDb::migrated().await.expect("db");
    // 20:00 in São Paulo on the 30th of November.
    let clock = Arc::new(Mutex::new(at("2026-11-30T23:00:00Z")));
    let caps = Caps {
        daily: Some(3),
        monthly: Some(4),
    };
    let ledger = ledger(&test, budgets(caps, &clock)).await;
    let calls = Arc::new(AtomicUsize::new(0));
    for q in ["11900000001", "11900000002", "11900000003"] {
        assert!(!ask(&ledger, q, Spender::New, &calls).await.expect("paid"));
    }
    let refused = refusal(ask(&ledger, "11900000004", Spender::New, &calls).await);
    assert_eq!(refused.period, Period::Day);
    assert_eq!(
        refused.until,
        at("2026-12-01T03:00:00Z"),
        "midnight in São Paulo"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "the refused call was not made"
    );
    // An answer already paid for is still free.
    assert!(ask(&ledger, "11900000001", Spender::New, &calls)
        .await
        .expect("hit"));
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.provider_reservations")
        .fetch_one(&test.pool)
        .await
        .expect("reservations");
    assert_eq!(held, 0, "a refused call gives its reservation back");

    // 01:00 in São Paulo on the 1st of December: a new day and a new month.
    *clock.lock().expect("clock") = at("2026-12-01T04:00:00Z");
    assert!(!ask(&ledger, "11900000004", Spender::New, &calls)
        .await
        .expect("new day"));
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    let state = budget_state(&test.pool, ledger.budgets())
        .await
        .expect("state");
    let spent: Vec<(&str, i64, i64)> = state
        .iter()
        .map(|s| (s.period, s.spent, s.budget))
        .collect();
    assert_eq!(spent, vec![("day", 1, 3), ("month", 1, 4)]);

    // Later in December the month's budget (4) is what stops it.
    for (day, q) in [
        ("02", "11900000005"),
        ("03", "11900000006"),
        ("04", "11900000007"),
    ] {
        *clock.lock().expect("clock") = at(&format!("2026-12-{day}T15:00:00Z"));
        assert!(!ask(&ledger, q, Spender::New, &calls).await.expect("paid"));
    }
    *clock.lock().expect("clock") = at("2026-12-05T15:00:00Z");
    let refused = refusal(ask(&ledger, "11900000008", Spender::New, &calls).await);
    assert_eq!(refused.period, Period::Month);
    assert_eq!(refused.until, at("2027-01-01T03:00:00Z"));
    assert_eq!(calls.load(Ordering::SeqCst), 7);
    // The day's row took nothing for the refused call.
    let today: i64 = sqlx::query_scalar(
        "SELECT credits FROM enrich.provider_budget_spend WHERE period = 'day' AND starts = '2026-12-05'",
    )
    .fetch_optional(&test.pool)
    .await
    .expect("row")
    .unwrap_or(0);
    assert_eq!(today, 0);
}

#[tokio::test]
async fn the_back_fill_and_retries_stop_at_their_share_and_new_leads_have_the_rest() {
    let test = TestDb::migrated().await.expect("db");
    let clock = Arc::new(Mutex::new(Utc::now()));
    let caps = Caps {
        daily: Some(10),
        monthly: None,
    };
    let ledger = ledger(&test, budgets(caps, &clock)).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("119{n:08}")
    };
    // The back-fill's share is 50 %: 5 credits.
    for _ in 0..5 {
        ask(&ledger, &next(), Spender::Backfill, &calls)
            .await
            .expect("paid");
    }
    let refused = refusal(ask(&ledger, &next(), Spender::Backfill, &calls).await);
    assert_eq!(refused.spender, Spender::Backfill);
    // Retries (80 %) go on to 8.
    for _ in 0..3 {
        ask(&ledger, &next(), Spender::Retry, &calls)
            .await
            .expect("paid");
    }
    refusal(ask(&ledger, &next(), Spender::Retry, &calls).await);
    // New leads have the rest of the budget.
    for _ in 0..2 {
        ask(&ledger, &next(), Spender::New, &calls)
            .await
            .expect("paid");
    }
    let refused = refusal(ask(&ledger, &next(), Spender::New, &calls).await);
    assert_eq!(
        (refused.spender, refused.period),
        (Spender::New, Period::Day)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 10);
}

#[tokio::test]
async fn a_call_the_provider_never_acted_on_is_given_back_and_a_timed_out_one_stays_charged() {
    let test = TestDb::migrated().await.expect("db");
    let clock = Arc::new(Mutex::new(Utc::now()));
    let caps = Caps {
        daily: Some(2),
        monthly: Some(100),
    };
    let ledger = ledger(&test, budgets(caps, &clock)).await;
    let failing = |e: ProviderError| {
        let ledger = &ledger;
        async move {
            ledger
                .lookup(PHONE, "11912345678", || async {
                    Err::<Option<Vec<Candidate>>, _>(e)
                })
                .await
        }
    };
    let never_sent = failing(ProviderError::CircuitOpen {
        provider: "diretrix",
    })
    .await;
    assert!(
        matches!(never_sent, Err(LedgerError::Provider(_))),
        "{never_sent:?}"
    );
    let spent = |state: &[c2s_enrich::store::ledger::BudgetState]| {
        state.iter().find(|s| s.period == "day").map(|s| s.spent)
    };
    let state = budget_state(&test.pool, ledger.budgets())
        .await
        .expect("state");
    assert_eq!(spent(&state), Some(0), "never sent: given back");
    // A timeout may have been billed: the charge stays.
    let timed_out = failing(ProviderError::Timeout {
        provider: "diretrix",
    })
    .await;
    assert!(
        matches!(timed_out, Err(LedgerError::Provider(_))),
        "{timed_out:?}"
    );
    let state = budget_state(&test.pool, ledger.budgets())
        .await
        .expect("state");
    assert_eq!(spent(&state), Some(1), "timed out: still charged");
    // So one credit of the day's two is left.
    let calls = Arc::new(AtomicUsize::new(0));
    ask(&ledger, "11912345678", Spender::New, &calls)
        .await
        .expect("paid");
    refusal(ask(&ledger, "11912345679", Spender::New, &calls).await);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_asking_at_once_never_pass_the_budget_together() {
    let test = TestDb::migrated().await.expect("db");
    let clock = Arc::new(Mutex::new(Utc::now()));
    let caps = Caps {
        daily: Some(7),
        monthly: None,
    };
    let a = Arc::new(ledger(&test, budgets(caps, &clock)).await);
    let b = Arc::new(ledger(&test, budgets(caps, &clock)).await);
    let calls = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (l, calls) = (
            if i % 2 == 0 { a.clone() } else { b.clone() },
            calls.clone(),
        );
        tasks.push(tokio::spawn(async move {
            ask(&l, &format!("118{i:08}"), Spender::New, &calls).await
        }));
    }
    let mut refused = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => {}
            Err(LedgerError::OverBudget(_)) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        7,
        "exactly the budget was paid"
    );
    assert_eq!(refused, 13);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_lead_over_budget_waits_without_an_attempt_and_looks_again_within_minutes() {
    let (sim, test, pipeline) =
        c2s_lab::testing::sandbox::setup_with(&[("WORK_API_DAILY_CREDITS", "0")]).await;
    let pipeline = Arc::new(pipeline);
    let lead = sim
        .state
        .leads()
        .into_iter()
        .find(|l| l.kind == c2s_sim::LeadKind::Owner)
        .expect("owner");
    crate::worker::enqueue_leads(&test.pool, std::slice::from_ref(&lead.id)).await;
    let outcomes = worker::drain(&pipeline, &crate::worker::options("budget"))
        .await
        .expect("drain");
    assert_eq!(outcomes[0].1, JobOutcome::Paused, "{outcomes:?}");
    assert_eq!(
        crate::retries::calls_to(&sim, "work_api"),
        0,
        "no Work API call past a budget of 0"
    );
    let (attempts, waits): (i32, f64) = sqlx::query_as(
        "SELECT attempts, extract(epoch FROM run_at - now())::float8 FROM enrich.jobs WHERE lead_id = $1",
    )
    .bind(&lead.id)
    .fetch_one(&test.pool)
    .await
    .expect("job");
    assert_eq!(attempts, 0, "a spent budget is not an attempt");
    assert!(
        (0.0..=301.0).contains(&waits),
        "looks again within five minutes (a raised budget is used at once): {waits} s"
    );
    // No pause for everyone: work that needs no Work API call goes on.
    let paused: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.provider_pauses")
        .fetch_one(&test.pool)
        .await
        .expect("pauses");
    assert_eq!(paused, 0);
    assert!(sim.state.journal().notes_for(&lead.id).is_empty());
}

/// Paid calls (Diretrix and Work API requests answered) in a sandbox's journal.
pub(crate) fn paid_calls(sim: &c2s_sim::SimHandle) -> usize {
    sim.state
        .journal()
        .calls
        .iter()
        .filter(|c| c.paid() && c.status < 500)
        .count()
}

/// The owner leads of the classic world through one discovery mode: the
/// paid calls, and each lead's (persons presented, true name in its note).
async fn owners_through(mode: &str) -> (usize, Vec<(usize, bool)>) {
    let (sim, _test, pipeline) =
        c2s_lab::testing::sandbox::setup_with(&[("DISCOVERY_MODE", mode)]).await;
    let mut seen = Vec::new();
    for lead in sim
        .state
        .leads()
        .into_iter()
        .filter(|l| l.kind == c2s_sim::LeadKind::Owner)
        .take(8)
    {
        let id = c2s_enrich::domain::lead::LeadId::parse(&lead.id).expect("id");
        let outcome = pipeline.process(&id).await.expect("processed");
        let name = &sim.state.population.people[lead.person.expect("person")].name;
        let journal = sim.state.journal();
        let notes = journal.notes_for(&lead.id);
        assert_eq!(notes.len(), 1, "{mode}: one note");
        seen.push((outcome.persons, notes[0].body.contains(name.as_str())));
    }
    (paid_calls(&sim), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waterfall_finds_the_same_people_for_fewer_paid_calls() {
    let (parallel_calls, parallel) = owners_through("parallel").await;
    let (waterfall_calls, waterfall) = owners_through("waterfall").await;
    assert_eq!(
        waterfall, parallel,
        "the same people presented, named in the note"
    );
    assert!(
        parallel
            .iter()
            .all(|(persons, named)| *persons >= 1 && *named),
        "{parallel:?}"
    );
    assert!(
        waterfall_calls < parallel_calls,
        "waterfall {waterfall_calls} paid calls vs parallel {parallel_calls}"
    );
}
