//! Restarts: the service SIGKILLed mid-burst, and two instances on one database.

#[allow(unused_imports)]
use super::*;

/// SIGKILL the service three times at random moments of the burst.
pub async fn crash(server: &Server, o: &ChaosOptions) -> anyhow::Result<Outcome> {
    let sim = c2s_sim::start(sandbox(o, 5)).await?;
    let db = server.scratch("chaos_crash").await?;
    c2s_enrich::db::migrate_up(&db.pool).await?;
    let env = support::sim_env(&sim);
    let port = free_port()?;
    let args = ["--concurrency", "8", "--lease-secs", "3"];
    let started = Instant::now();
    let mut child = Child::serve_on(port, &env, &db.url, &args).await?;
    let base = child.base.clone();
    let first_burst = burst(&sim, &base, None);
    let mut rng = rand::rngs::StdRng::seed_from_u64(o.seed);
    let mut kills = 0;
    for k in 0..3 {
        // The first kill lands during the burst itself, the others mid-work.
        let wait = if k == 0 { 50..300 } else { 300..1500 };
        tokio::time::sleep(Duration::from_millis(rng.gen_range(wait))).await;
        child.kill().await;
        kills += 1;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(50..500))).await;
        child = Child::serve_on(port, &env, &db.url, &args).await?;
    }
    let first = first_burst.await?;
    // C2S re-delivers what failed while we were down: here, everything again.
    let again = burst(&sim, &base, None).await?;
    let done = wait_completed(&db.pool, o.leads, Duration::from_secs(300)).await?;
    child.stop().await;
    anyhow::ensure!(
        done,
        "leads did not all complete within 5 minutes after the kills"
    );
    let notes = verify(&db.pool, &sim, o.leads).await?;
    let mut out = outcome("crash", o, started, notes, provider_calls(&sim));
    out.details.insert("kills", f64::from(kills));
    out.details.insert(
        "calls_lost_with_a_killed_holder",
        unknown_outcomes(&db.pool).await?,
    );
    out.details
        .insert("first_burst_failed_deliveries", first.errors as f64);
    out.details.insert(
        "redelivered_duplicates",
        again.statuses.get(&200).copied().unwrap_or(0) as f64,
    );
    server.done(db).await?;
    Ok(out)
}

/// Two processes on one database; the Work API spacing must hold globally.
pub async fn two_instances(server: &Server, o: &ChaosOptions) -> anyhow::Result<Outcome> {
    // Slots are spaced exactly; arrivals may shift by scheduling jitter, so
    // the hard check is the count in every one-second window.
    const SPACING_MS: u64 = 50;
    let sim = c2s_sim::start(sandbox(o, 2)).await?;
    let db = server.scratch("chaos_two").await?;
    c2s_enrich::db::migrate_up(&db.pool).await?;
    let mut env = support::sim_env(&sim);
    env.insert("WORK_API_MIN_INTERVAL_MS".into(), SPACING_MS.to_string());
    let started = Instant::now();
    let a = Child::serve(&env, &db.url, &["--concurrency", "6"]).await?;
    let b = Child::serve(&env, &db.url, &["--concurrency", "6"]).await?;
    let ids: Vec<String> = sim.state.leads().into_iter().map(|l| l.id).collect();
    let (first, second) = ids.split_at(ids.len() / 2);
    // Each half to one instance, then everything to the other (duplicates).
    let (x, y) = tokio::join!(
        burst(&sim, &a.base, Some(first.to_vec())),
        burst(&sim, &b.base, Some(second.to_vec()))
    );
    let (z, w) = tokio::join!(
        burst(&sim, &b.base, Some(first.to_vec())),
        burst(&sim, &a.base, Some(second.to_vec()))
    );
    for r in [x, y, z, w] {
        r?;
    }
    let done = wait_completed(&db.pool, o.leads, Duration::from_secs(600)).await?;
    a.stop().await;
    b.stop().await;
    anyhow::ensure!(done, "leads did not all complete within 10 minutes");
    let notes = verify(&db.pool, &sim, o.leads).await?;
    let mut starts: Vec<u64> = sim
        .state
        .journal()
        .calls
        .iter()
        .filter(|c| c.provider == "work_api")
        .map(|c| c.at_ms)
        .collect();
    starts.sort_unstable();
    let min_gap = starts
        .windows(2)
        .map(|w| w[1] - w[0])
        .min()
        .unwrap_or(u64::MAX);
    // Never more calls in any second than the spacing allows (+2 for calls
    // sent late after their slot: arrival times carry scheduling jitter, so
    // the smallest gap is reported, not judged). Unpaced, two processes send
    // several times this many.
    let per_second_cap = (1000 / SPACING_MS) as usize + 2;
    let busiest = starts
        .iter()
        .enumerate()
        .map(|(i, t)| starts[i..].iter().take_while(|u| **u < t + 1000).count())
        .max()
        .unwrap_or(0);
    anyhow::ensure!(
        busiest <= per_second_cap,
        "{busiest} Work API calls within one second; at most {per_second_cap} allowed"
    );
    let mut out = outcome("two-instances", o, started, notes, provider_calls(&sim));
    out.details.insert("work_api_calls", starts.len() as f64);
    out.details.insert("work_api_spacing_ms", SPACING_MS as f64);
    out.details.insert("work_api_min_gap_ms", min_gap as f64);
    out.details
        .insert("work_api_busiest_second", busiest as f64);
    server.done(db).await?;
    Ok(out)
}
