//! The back-fill (issue 16): 2,000 historical sandbox leads under
//! `--max-credits 500` spend at most 500 and stop; the next run continues
//! from the checkpoint, never running a lead twice; a dry run pays nothing;
//! `--notes none` stores without posting.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use c2s_enrich::pipeline::backfill::{self, BackfillOptions, BackfillReport, Notes, Progress};
use c2s_enrich::store::ledger::CreditCap;
use c2s_lab::testing::sandbox::{sandbox_config, setup_world};
use c2s_sim::SimHandle;
use chrono::{TimeZone, Utc};

struct Quiet;

impl Progress for Quiet {
    fn total(&self, _: u64) {}
    fn lead_done(&self, _: &BackfillReport) {}
}

fn options(notes: Notes, dry_run: bool) -> BackfillOptions {
    BackfillOptions {
        since: Utc
            .with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
            .single()
            .expect("time"),
        until: None,
        notes,
        dry_run,
    }
}

/// One back-fill run with its own `--max-credits` (`None`: unlimited).
async fn backfill_run(
    sim: &SimHandle,
    pool: &sqlx::PgPool,
    max: Option<i64>,
    o: &BackfillOptions,
) -> (BackfillReport, i64) {
    let config = sandbox_config(sim, &[]);
    let cap = Arc::new(CreditCap::new(max.unwrap_or(i64::MAX)));
    let pipeline = c2s_enrich::app::pipeline_capped(&config, pool, Some(cap.clone()))
        .await
        .expect("pipeline");
    let c2s = c2s_enrich::app::c2s_client(&config).expect("c2s");
    let report = backfill::run(&pipeline, &c2s, o, &AtomicBool::new(false), &Quiet)
        .await
        .expect("backfill");
    (report, cap.spent())
}

/// Notes per lead in the sandbox's journal.
fn notes_per_lead(sim: &SimHandle) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for n in sim.state.journal().notes {
        *out.entry(n.lead_id).or_default() += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_under_500_credits_spends_at_most_500_and_the_next_run_continues() {
    let (sim, test, _) = setup_world(c2s_sim::World::Classic, 11, 2000, &[]).await;
    let o = options(Notes::All, false);

    let (first, spent) = backfill_run(&sim, &test.pool, Some(500), &o).await;
    assert_eq!(
        first.stopped.as_deref(),
        Some("--max-credits reached"),
        "{first:?}"
    );
    assert!(spent <= 500, "{spent}");
    let paid_first = crate::budget::paid_calls(&sim);
    assert!(paid_first <= 500, "{paid_first} paid calls");
    let credits: i64 =
        sqlx::query_scalar("SELECT coalesce(sum(credits), 0)::int8 FROM enrich.provider_calls")
            .fetch_one(&test.pool)
            .await
            .expect("credits");
    assert_eq!(credits, spent, "the ledger's credits are the cap's");
    assert!(first.processed > 50, "{first:?}");
    let checkpoint: Option<String> = sqlx::query_scalar(
        "SELECT value FROM enrich.settings WHERE name LIKE 'backfill_checkpoint:%'",
    )
    .fetch_optional(&test.pool)
    .await
    .expect("checkpoint");
    assert!(checkpoint.is_some(), "a checkpoint is kept");

    let noted_first: std::collections::HashSet<String> = notes_per_lead(&sim).into_keys().collect();
    assert_eq!(noted_first.len(), first.processed, "one note per lead run");
    sim.state.reset_journal();
    let (second, spent) = backfill_run(&sim, &test.pool, Some(500), &o).await;
    assert!(
        spent <= 500 && crate::budget::paid_calls(&sim) <= 500,
        "{spent}"
    );
    assert!(second.processed > 50, "{second:?}");
    // It continued from the checkpoint: at most the page it stopped in is
    // listed again (its completed leads skipped), not the first run's leads.
    assert!(second.already_done <= 50, "{second:?}");
    assert!(
        second.listed + first.listed < 2000 + 100,
        "{} + {} listed",
        first.listed,
        second.listed
    );
    let completed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM enrich.leads WHERE state = 'completed'")
            .fetch_one(&test.pool)
            .await
            .expect("completed");
    assert_eq!(completed as usize, first.processed + second.processed);
    let noted_second = notes_per_lead(&sim);
    assert!(noted_second.values().all(|n| *n == 1), "one note per lead");
    assert_eq!(noted_second.len(), second.processed);
    assert!(
        noted_second.keys().all(|id| !noted_first.contains(id)),
        "no lead of the first run is run (and noted) again"
    );
    assert!(second.resumed_from.is_some(), "{second:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_pays_nothing_and_counts_each_contact_once() {
    let (sim, test, _) = setup_world(c2s_sim::World::Classic, 11, 120, &[]).await;
    let (report, spent) = backfill_run(&sim, &test.pool, None, &options(Notes::All, true)).await;
    assert_eq!(report.listed, 120);
    assert_eq!(
        (spent, crate::budget::paid_calls(&sim)),
        (0, 0),
        "nothing paid"
    );
    assert!(sim.state.journal().notes.is_empty());
    let leads: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.leads")
        .fetch_one(&test.pool)
        .await
        .expect("leads");
    assert_eq!(leads, 0, "nothing stored");
    // Each distinct contact once per source: never more than three per lead.
    assert!(
        report.lookups_needed > 0 && report.lookups_needed <= 3 * 120,
        "{report:?}"
    );
    assert!(
        report.dossiers_about > 0 && report.dossiers_about <= 120,
        "{report:?}"
    );

    // Then for real, without a limit: what it paid is within the estimate's
    // lookups plus its dossiers.
    let (real, _) = backfill_run(&sim, &test.pool, None, &options(Notes::None, false)).await;
    assert_eq!(real.processed, 120 - report.already_done);
    assert!(real.stopped.is_none(), "{real:?}");
    assert!(
        crate::budget::paid_calls(&sim) <= report.lookups_needed + 2 * report.dossiers_about,
        "{} paid vs {report:?}",
        crate::budget::paid_calls(&sim)
    );
    assert!(
        sim.state.journal().notes.is_empty(),
        "--notes none posts nothing"
    );
    assert!(real.enriched > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_backfill_of_the_same_window_is_refused_while_one_runs() {
    let (sim, test, _) = setup_world(c2s_sim::World::Classic, 11, 30, &[]).await;
    let o = options(Notes::None, true);
    // Another back-fill of this window holds its lock.
    let name = format!("backfill_checkpoint:{}:", o.since.to_rfc3339());
    let mut other = test.pool.acquire().await.expect("connection");
    sqlx::query("SELECT pg_advisory_lock(hashtextextended($1, 0))")
        .bind(&name)
        .execute(&mut *other)
        .await
        .expect("lock");
    let config = sandbox_config(&sim, &[]);
    let pipeline = c2s_enrich::app::pipeline(&config, &test.pool)
        .await
        .expect("pipeline");
    let c2s = c2s_enrich::app::c2s_client(&config).expect("c2s");
    let refused = backfill::run(&pipeline, &c2s, &o, &AtomicBool::new(false), &Quiet).await;
    assert!(
        matches!(refused, Err(backfill::BackfillError::Busy)),
        "{refused:?}"
    );
    assert!(sim.state.journal().calls.is_empty(), "nothing listed");
    sqlx::query("SELECT pg_advisory_unlock_all()")
        .execute(&mut *other)
        .await
        .expect("unlock");
    drop(other);
    let (ran, _) = backfill_run(&sim, &test.pool, None, &o).await;
    assert_eq!(ran.listed, 30, "runs once the other has ended");
}
