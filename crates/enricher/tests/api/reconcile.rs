//! The reconciliation sweep: leads no webhook brought are found by listing
//! C2S, through the webhook intake's idempotency keys — one job and one note
//! per lead however it arrived, nothing enqueued twice, changed contacts
//! taken up.

use std::time::Duration;

use c2s_enrich::pipeline::reconcile::{sweep, sweep_turn, ReconcileOptions, SweepLimits};
use c2s_enrich::pipeline::worker::{self, WorkerOptions};
use c2s_lab::testing::sandbox::{setup, setup_world};
use chrono::{TimeZone, Utc};

fn options() -> WorkerOptions {
    WorkerOptions {
        not_found_retries: 0,
        ..crate::worker::options("reconcile-test")
    }
}

/// Before every generated sandbox lead (stamped in November 2026).
/// One sweep over every lead C2S lists, from the sandbox's beginning.
async fn sweep_all(
    test: &c2s_lab::testing::TestDb,
    pipeline: &c2s_enrich::pipeline::Pipeline,
) -> c2s_enrich::pipeline::reconcile::SweepReport {
    sweep(
        &test.pool,
        &pipeline.providers.c2s,
        the_beginning(),
        None,
        SweepLimits::default(),
    )
    .await
    .expect("sweep")
}

fn the_beginning() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
        .single()
        .expect("time")
}

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leads_no_webhook_brought_are_noted_after_one_sweep_and_a_delivered_one_is_not_enqueued_again(
) {
    // 60 leads: more than one page of C2S's list (50).
    let (sim, test, pipeline) = setup_world(c2s_sim::World::Classic, 11, 60, &[]).await;
    let leads = sim.state.leads();
    // One lead arrives by webhook as usual; C2S loses the others' deliveries.
    let delivered = &leads[0];
    let events = c2s_enrich::providers::c2s::parse_webhook(&serde_json::json!(
        {"hook_action": "on_create_lead", "lead": c2s_sim::render::c2s_lead(delivered)}
    ))
    .expect("event");
    c2s_enrich::store::events::record_delivery(&test.pool, &events)
        .await
        .expect("recorded");

    let report = sweep_all(&test, &pipeline).await;
    assert_eq!(report.listed, leads.len(), "{report:?}");
    assert_eq!(report.unseen, leads.len() - 1, "{report:?}");
    assert_eq!(report.enqueued, leads.len() - 1, "{report:?}");
    assert!(report.pages >= 2, "{report:?}");
    // The delivered lead: its one job, not a second.
    let jobs_of_delivered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM enrich.jobs WHERE lead_id = $1")
            .bind(&delivered.id)
            .fetch_one(&test.pool)
            .await
            .expect("jobs");
    assert_eq!(jobs_of_delivered, 1);
    assert_eq!(
        count(
            &test.pool,
            "SELECT count(*) FROM enrich.webhook_events WHERE source = 'reconcile'"
        )
        .await,
        (leads.len() - 1) as i64
    );
    // What the sweep keeps of an event holds no personal data.
    let payloads: Vec<String> = sqlx::query_scalar(
        "SELECT payload::text FROM enrich.webhook_events WHERE source = 'reconcile'",
    )
    .fetch_all(&test.pool)
    .await
    .expect("payloads");
    for lead in &leads {
        let contacts = [lead.email.as_deref(), lead.phone.as_deref()];
        for c in contacts.into_iter().flatten().filter(|c| !c.is_empty()) {
            assert!(
                !payloads.iter().any(|p| p.contains(c)),
                "a contact in {payloads:?}"
            );
        }
    }

    let pipeline = std::sync::Arc::new(pipeline);
    let o = options();
    for _ in 0..50 {
        worker::drain(&pipeline, &o).await.expect("drain");
        if count(
            &test.pool,
            "SELECT count(*) FROM enrich.jobs WHERE state IN ('queued', 'running')",
        )
        .await
            == 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let journal = sim.state.journal();
    for lead in &leads {
        assert_eq!(
            journal.notes_for(&lead.id).len(),
            1,
            "lead {}: one note",
            lead.id
        );
    }

    // Our notes moved every lead's `updated_at`: the next sweep lists them
    // all again and enqueues nothing.
    let again = sweep_all(&test, &pipeline).await;
    assert_eq!(
        (again.listed, again.unseen, again.changed, again.enqueued),
        (leads.len(), 0, 0, 0),
        "{again:?}"
    );

    // An agent changes a lead's contacts and C2S's update never arrives:
    // the sweep takes the new contacts up.
    let other = &leads[1];
    assert!(sim
        .state
        .set_contacts(&leads[2].id, other.phone.clone(), other.email.clone()));
    let changed = sweep_all(&test, &pipeline).await;
    assert_eq!(
        (changed.unseen, changed.changed, changed.enqueued),
        (0, 1, 1),
        "{changed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_sweep_is_one_process_turn_and_moves_its_watermark_forward() {
    let (sim, test, pipeline) = setup().await;
    let o = ReconcileOptions {
        every: Duration::from_secs(3600),
        overlap: Duration::from_secs(600),
        hours: None,
    };
    // The first turn starts from now: history is the back-fill's, not the
    // sweep's (the generated leads are older).
    let first = sweep_turn(&test.pool, &pipeline.providers.c2s, o)
        .await
        .expect("turn")
        .expect("this process had the turn");
    assert_eq!(first.unseen, 0, "{first:?}");
    // Another process (or this one) within the period has no turn.
    assert!(sweep_turn(&test.pool, &pipeline.providers.c2s, o)
        .await
        .expect("turn")
        .is_none());
    let watermark: String =
        sqlx::query_scalar("SELECT value FROM enrich.settings WHERE name = 'reconcile_watermark'")
            .fetch_one(&test.pool)
            .await
            .expect("watermark");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&watermark).is_ok(),
        "{watermark}"
    );
    // A lead C2S changes after that is seen by the next turn.
    sqlx::query("UPDATE enrich.settings SET value = (now() - interval '2 hours')::text WHERE name = 'last_reconcile_at'")
        .execute(&test.pool)
        .await
        .expect("age the turn");
    sqlx::query("UPDATE enrich.settings SET value = '2026-11-30T00:00:00Z' WHERE name = 'reconcile_watermark'")
        .execute(&test.pool)
        .await
        .expect("watermark before the sandbox's clock");
    let lead = &sim.state.leads()[3];
    assert!(sim.state.touch_lead(&lead.id));
    let second = sweep_turn(&test.pool, &pipeline.providers.c2s, o)
        .await
        .expect("turn")
        .expect("turn passed");
    assert_eq!(
        (second.listed, second.unseen, second.enqueued),
        (1, 1, 1),
        "{second:?}"
    );
    let moved: String =
        sqlx::query_scalar("SELECT value FROM enrich.settings WHERE name = 'reconcile_watermark'")
            .fetch_one(&test.pool)
            .await
            .expect("watermark");
    let moved = chrono::DateTime::parse_from_rfc3339(&moved).expect("a time");
    assert!(
        moved
            > Utc
                .with_ymd_and_hms(2026, 11, 30, 0, 0, 0)
                .single()
                .expect("time"),
        "{moved}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_webhook_after_the_sweep_with_another_stamp_is_a_duplicate_not_a_second_job() {
    let (sim, test, pipeline) = setup().await;
    let lead = sim.state.leads()[0].clone();
    let report = sweep_all(&test, &pipeline).await;
    assert!(report.unseen > 0, "{report:?}");
    // C2S's own delivery arrives late, stamped otherwise (an edit meanwhile).
    let mut rendered = c2s_sim::render::c2s_lead(&lead);
    rendered["attributes"]["updated_at"] = serde_json::json!("2026-11-30T10:00:00-03:00");
    let events = c2s_enrich::providers::c2s::parse_webhook(
        &serde_json::json!({"hook_action": "on_create_lead", "lead": rendered}),
    )
    .expect("event");
    let recorded = c2s_enrich::store::events::record_delivery(&test.pool, &events)
        .await
        .expect("recorded");
    assert_eq!(recorded[0].decision, "duplicate");
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.jobs WHERE lead_id = $1")
        .bind(&lead.id)
        .fetch_one(&test.pool)
        .await
        .expect("jobs");
    assert_eq!(jobs, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_cut_short_keeps_its_progress_and_the_next_turn_resumes_there() {
    let (sim, test, pipeline) = setup_world(c2s_sim::World::Classic, 11, 60, &[]).await;
    let c2s = &pipeline.providers.c2s;
    let mut stamps: Vec<String> = sim
        .state
        .leads()
        .into_iter()
        .map(|l| l.updated_at)
        .collect();
    stamps.sort();
    // One page only: cut short, its progress kept.
    let first = sweep(
        &test.pool,
        c2s,
        the_beginning(),
        None,
        SweepLimits {
            max_pages: Some(1),
            checkpoint: Some("reconcile_watermark"),
        },
    )
    .await
    .expect("sweep");
    assert!(first.truncated, "{first:?}");
    assert_eq!(first.listed, 50);
    let kept = c2s_enrich::store::settings::time(&test.pool, "reconcile_watermark")
        .await
        .expect("watermark")
        .expect("kept after the page");
    assert_eq!(
        kept,
        chrono::DateTime::parse_from_rfc3339(&stamps[49]).expect("stamp")
    );
    // From there, the rest: the page's last lead again (known) and ten more.
    let rest = sweep(&test.pool, c2s, kept, None, SweepLimits::default())
        .await
        .expect("sweep");
    assert_eq!((rest.truncated, rest.unseen), (false, 10), "{rest:?}");

    // A scheduled turn that fails keeps where it stopped; the next resumes
    // there (no overlap) and forgets it once it reaches the end.
    sim.state.set_faults(
        "c2s",
        c2s_sim::Faults {
            error_rate: 1.0,
            ..Default::default()
        },
    );
    let o = ReconcileOptions {
        every: Duration::from_secs(3600),
        overlap: Duration::from_secs(600),
        hours: None,
    };
    assert!(sweep_turn(&test.pool, c2s, o).await.is_err());
    let resume = c2s_enrich::store::settings::time(&test.pool, "reconcile_resume")
        .await
        .expect("resume");
    assert_eq!(resume, Some(kept.to_utc()));
    sim.state.set_faults("c2s", c2s_sim::Faults::default());
    sqlx::query("UPDATE enrich.settings SET value = (now() - interval '2 hours')::text WHERE name = 'last_reconcile_at'")
        .execute(&test.pool)
        .await
        .expect("age the turn");
    let resumed = sweep_turn(&test.pool, c2s, o)
        .await
        .expect("turn")
        .expect("had the turn");
    assert_eq!((resumed.listed, resumed.unseen), (11, 0), "{resumed:?}");
    assert_eq!(
        c2s_enrich::store::settings::time(&test.pool, "reconcile_resume")
            .await
            .expect("resume"),
        None
    );
}
