//! Missed webhooks: C2S silently loses a share of its deliveries, and the
//! service is killed mid-burst with no re-delivery of what failed meanwhile —
//! only the reconciliation sweep can find those leads.

#[allow(unused_imports)]
use super::*;

/// The sweep's period in the drill (production default: 300 s).
const SWEEP_SECS: u64 = 5;
/// The share of webhook events C2S never sends.
const DROP_RATE: f64 = 0.3;
/// The burst arrives in this many waves; the service is killed during
/// wave `KILL_AT` and is back before wave `BACK_AT` (the waves between
/// fail and are not re-delivered).
const WAVES: usize = 10;
const KILL_AT: usize = 3;
const BACK_AT: usize = 6;

/// Every lead must end with exactly one note within two sweep periods of
/// the service's last restart (plus the time the work itself takes), and
/// nothing may be paid twice.
pub async fn missed_webhooks(server: &Server, o: &ChaosOptions) -> anyhow::Result<Outcome> {
    let sim = c2s_sim::start(sandbox(o, 5)).await?;
    let db = server.scratch("chaos_missed").await?;
    c2s_enrich::db::migrate_up(&db.pool).await?;
    let mut env = support::sim_env(&sim);
    env.insert("RECONCILE_INTERVAL_SECS".into(), SWEEP_SECS.to_string());
    env.insert("RECONCILE_OVERLAP_SECS".into(), "60".into());
    sim.state.set_faults(
        "c2s",
        Faults {
            webhook_drop_rate: DROP_RATE,
            ..Faults::default()
        },
    );
    let port = free_port()?;
    let args = ["--concurrency", "8", "--lease-secs", "3"];
    let started = Instant::now();
    let child = Child::serve_on(port, &env, &db.url, &args).await?;
    // The service's first sweep sets its watermark; the leads are new in
    // C2S after that: created (stamped) now, as the burst arrives.
    first_sweep_done(&db.pool).await?;
    let ids: Vec<String> = sim.state.leads().into_iter().map(|l| l.id).collect();
    for id in &ids {
        sim.state.touch_lead(id);
    }
    let (delivered, child, restarted) = deliver_in_waves(&sim, o, &ids, child, port, |port| {
        Child::serve_on(port, &env, &db.url, &args)
    })
    .await?;
    // Two sweep periods, plus the time the work takes at the sandbox's pace.
    let budget = Duration::from_secs(2 * SWEEP_SECS + 60 + o.leads as u64 / 5);
    let done = wait_completed(&db.pool, o.leads, budget).await?;
    let took = restarted.elapsed();
    child.stop().await;
    anyhow::ensure!(
        done,
        "leads did not all complete within {} s of the restart (sweep every {SWEEP_SECS} s)",
        budget.as_secs()
    );
    let notes = verify(&db.pool, &sim, o.leads).await?;
    let reconciled: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT lead_id) FROM enrich.webhook_events WHERE source = 'reconcile'",
    )
    .fetch_one(&db.pool)
    .await?;
    let lost = delivered.dropped + delivered.errors;
    anyhow::ensure!(
        lost == 0 || reconciled > 0,
        "{lost} deliveries were lost but the sweep recorded no lead"
    );
    let mut out = outcome("missed-webhooks", o, started, notes, provider_calls(&sim));
    out.details
        .insert("dropped_deliveries", delivered.dropped as f64);
    out.details
        .insert("failed_deliveries", delivered.errors as f64);
    out.details.insert("reconciled_leads", reconciled as f64);
    out.details
        .insert("sweep_period_seconds", SWEEP_SECS as f64);
    out.details
        .insert("seconds_after_restart", took.as_secs_f64());
    out.details.insert(
        "calls_lost_with_a_killed_holder",
        unknown_outcomes(&db.pool).await?,
    );
    server.done(db).await?;
    Ok(out)
}

/// Waits (≤ 15 s) for the service's first sweep to have set its watermark.
async fn first_sweep_done(pool: &PgPool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let set: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM enrich.settings WHERE name = 'reconcile_watermark')",
        )
        .fetch_one(pool)
        .await?;
        if set {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the service's first reconciliation sweep did not run within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Delivers the burst in waves, the service killed during one wave and back
/// a few waves later (what failed between is not re-delivered). Returns the
/// delivery report, the running service and when it last started.
async fn deliver_in_waves<F, Fut>(
    sim: &SimHandle,
    o: &ChaosOptions,
    ids: &[String],
    child: Child,
    port: u16,
    start: F,
) -> anyhow::Result<(c2s_sim::DeliveryReport, Child, Instant)>
where
    F: Fn(u16) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Child>>,
{
    let base = format!("http://127.0.0.1:{port}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(o.seed);
    let (mut child, mut restarted) = (Some(child), Instant::now());
    let mut delivered = c2s_sim::DeliveryReport::default();
    for (wave, chunk) in ids.chunks(ids.len().div_ceil(WAVES).max(1)).enumerate() {
        if wave == BACK_AT {
            child = Some(start(port).await?);
            restarted = Instant::now();
        }
        let delivering = burst(sim, &base, Some(chunk.to_vec()));
        if wave == KILL_AT {
            // Killed while this wave is being delivered and worked on.
            tokio::time::sleep(Duration::from_millis(rng.gen_range(5..40))).await;
            if let Some(c) = child.take() {
                c.kill().await;
            }
        }
        let report = delivering.await?;
        delivered.requests += report.requests;
        delivered.errors += report.errors;
        delivered.dropped += report.dropped;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let child = match child {
        Some(c) => c,
        None => {
            restarted = Instant::now();
            start(port).await?
        }
    };
    Ok((delivered, child, restarted))
}
