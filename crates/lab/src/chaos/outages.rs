//! Outages: flaky and dead providers, the database gone mid-burst, providers slower than the webhook path.

#[allow(unused_imports)]
use super::*;

/// 20 % errors and timeouts everywhere, and a Work API outage in the middle.
pub async fn faults(server: &Server, o: &ChaosOptions) -> anyhow::Result<Outcome> {
    let flaky = Faults {
        latency_ms: 5,
        jitter_ms: 5,
        error_rate: 0.10,
        timeout_rate: 0.10,
        timeout_ms: 300,
        ..Faults::default()
    };
    let mut config = sandbox(o, 5);
    for p in ["c2s", "diretrix", "work_api"] {
        config.faults.insert(p.into(), flaky.clone());
    }
    let sim = c2s_sim::start(config).await?;
    let db = server.scratch("chaos_faults").await?;
    c2s_enrich::db::migrate_up(&db.pool).await?;
    let mut env = support::sim_env(&sim);
    // Workers sleep through the providers' backoff (Work API: 5/10/20 s):
    // more of them keep the run short; the policy itself is production's.
    env.insert("DB_MAX_CONNECTIONS".into(), "40".into());
    let started = Instant::now();
    let child = Child::serve(&env, &db.url, &["--concurrency", "32"]).await?;
    let first_burst = burst(&sim, &child.base, None);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let outage_from = sim.state.elapsed_ms();
    sim.state.set_faults(
        "work_api",
        Faults {
            error_rate: 1.0,
            ..flaky.clone()
        },
    );
    tokio::time::sleep(o.outage).await;
    sim.state.set_faults("work_api", flaky);
    let outage_to = sim.state.elapsed_ms();
    let delivered = first_burst.await?;
    // Deliveries that met a 5xx of ours would be retried by C2S: re-deliver.
    if delivered.statuses.get(&202).copied().unwrap_or(0)
        + delivered.statuses.get(&200).copied().unwrap_or(0)
        < o.leads
    {
        burst(&sim, &child.base, None).await?;
    }
    let done = wait_completed(&db.pool, o.leads, Duration::from_secs(600) + o.outage).await?;
    child.stop().await;
    anyhow::ensure!(
        done,
        "leads did not all complete within 10 minutes after the outage"
    );
    let notes = verify(&db.pool, &sim, o.leads).await?;
    let calls = sim.state.journal().calls.len();
    let mut out = outcome("faults", o, started, notes, calls);
    no_storm(&sim, outage_from, outage_to, &mut out.details)?;
    server.done(db).await?;
    Ok(out)
}

/// No retry storm: the breaker and backoff keep the dead provider's load
/// tiny during its outage (`from`..`to`, sandbox ms), and the total stays
/// within twice the calls that were answered. Records the figures.
fn no_storm(
    sim: &SimHandle,
    from: u64,
    to: u64,
    details: &mut HashMap<&'static str, f64>,
) -> anyhow::Result<()> {
    let journal = sim.state.journal();
    let during: usize = journal
        .calls
        .iter()
        .filter(|c| c.provider == "work_api" && c.at_ms >= from && c.at_ms < to)
        .count();
    let outage_secs = (to - from) as f64 / 1000.0;
    let per_second = during as f64 / outage_secs.max(0.001);
    let answered = journal.calls.iter().filter(|c| c.status < 500).count();
    let calls = journal.calls.len();
    anyhow::ensure!(
        per_second <= 5.0,
        "{per_second:.1} Work API calls/s during the outage"
    );
    anyhow::ensure!(
        calls <= answered * 2,
        "{calls} provider calls for {answered} answered: a retry storm"
    );
    details.insert("outage_seconds", outage_secs);
    details.insert("work_api_calls_during_outage", during as f64);
    details.insert("work_api_calls_per_second_during_outage", per_second);
    details.insert("answered_calls", answered as f64);
    Ok(())
}

/// PostgreSQL stopped for a few seconds mid-burst, then started again.
pub async fn db_loss(
    o: &ChaosOptions,
    dir: &std::path::Path,
    user: &str,
) -> anyhow::Result<Outcome> {
    let pg = c2s_enrich::db::embedded_pg::EmbeddedPostgres::start(
        &c2s_enrich::db::embedded_pg::EmbeddedOptions {
            data_dir: dir.to_path_buf(),
            allow_relocation: true,
            user: user.to_owned(),
            settings: vec![("fsync".into(), "off".into())],
        },
    )
    .context("starting a private PostgreSQL for the database-loss scenario")?;
    c2s_enrich::db::ensure_database(&pg.url("postgres"), "chaos").await?;
    let url: SecretString = pg.url("chaos");
    let pool = c2s_enrich::db::connect_pool(&url, 4).await?;
    c2s_enrich::db::migrate_up(&pool).await?;
    let sim = c2s_sim::start(sandbox(o, 5)).await?;
    let env = support::sim_env(&sim);
    let started = Instant::now();
    let child = Child::serve(&env, &url, &["--concurrency", "8"]).await?;
    let first_burst = burst(&sim, &child.base, None);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Watch readiness while the database is away.
    let watcher = tokio::spawn(count_not_ready(
        format!("{}/health/ready", child.base),
        Duration::from_secs(8),
    ));
    let downtime = Duration::from_secs(4);
    let bounced = tokio::task::spawn_blocking(move || pg.bounce(downtime).map(|()| pg)).await??;
    let not_ready = watcher.await?;
    let delivered = first_burst.await?;
    // What we refused while the database was away, C2S delivers again.
    burst(&sim, &child.base, None).await?;
    let back = ready_within(&child.base, Duration::from_secs(60)).await?;
    anyhow::ensure!(
        not_ready > 0,
        "the service never reported not-ready while the database was down"
    );
    anyhow::ensure!(back, "the service did not become ready again within 60 s");
    let done = wait_completed(&pool, o.leads, Duration::from_secs(300)).await?;
    child.stop().await;
    anyhow::ensure!(
        done,
        "leads did not all complete within 5 minutes after the restart"
    );
    let notes = verify(&pool, &sim, o.leads).await?;
    let mut out = outcome("db-loss", o, started, notes, provider_calls(&sim));
    out.details
        .insert("downtime_seconds", downtime.as_secs_f64());
    out.details
        .insert("not_ready_answers", f64::from(not_ready));
    let refused = delivered.errors
        + delivered
            .statuses
            .iter()
            .filter(|(s, _)| **s >= 500)
            .map(|(_, n)| n)
            .sum::<usize>();
    out.details.insert("first_burst_refused", refused as f64);
    pool.close().await;
    tokio::task::spawn_blocking(move || drop(bounced)).await?;
    Ok(out)
}

/// How many readiness checks answered 503 over `span` (one every 100 ms).
async fn count_not_ready(ready_url: String, span: Duration) -> u32 {
    let mut not_ready = 0u32;
    let deadline = Instant::now() + span;
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(&ready_url).await {
            if r.status().as_u16() == 503 {
                not_ready += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    not_ready
}

/// Whether the service at `base` reports ready within `limit`.
async fn ready_within(base: &str, limit: Duration) -> anyhow::Result<bool> {
    c2s_enrich::app::wait_until(limit, Duration::from_millis(200), || {
        let url = format!("{base}/health/ready");
        async move {
            Ok(reqwest::get(url)
                .await
                .is_ok_and(|r| r.status().is_success()))
        }
    })
    .await
}

/// Sessions of the scratch database idle inside a transaction for more than
/// a second (a transaction held across something slow), and all sessions.
async fn sessions(pool: &PgPool) -> anyhow::Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state LIKE 'idle in transaction%'
                                   AND state_change < clock_timestamp() - interval '1 second'),
                count(*)
           FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(pool)
    .await?)
}

/// Every provider answers after 12 s (under each one's timeout), 16 workers
/// on the default pool: webhooks keep answering 202 fast, readiness stays
/// 200, no session idles in a transaction, and killing every database
/// session of the service mid-call costs no second payment.
pub async fn slow_provider(server: &Server, o: &ChaosOptions) -> anyhow::Result<Outcome> {
    const LATENCY_MS: u64 = 12_000;
    let mut config = sandbox(o, LATENCY_MS);
    for f in config.faults.values_mut() {
        f.jitter_ms = 0;
    }
    let sim = c2s_sim::start(config).await?;
    let db = server.scratch("chaos_slow").await?;
    c2s_enrich::db::migrate_up(&db.pool).await?;
    let env = support::sim_env(&sim);
    let started = Instant::now();
    let child = Child::serve(&env, &db.url, &["--concurrency", "16"]).await?;
    let ids: Vec<String> = sim.state.leads().into_iter().map(|l| l.id).collect();
    let (early, late) = ids.split_at(ids.len() - (ids.len() / 4).max(1));
    burst(&sim, &child.base, Some(early.to_vec())).await?;
    // Watch readiness and the database's sessions the whole time.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(watch_health(
        format!("{}/health/ready", child.base),
        db.pool.clone(),
        stop_rx,
    ));
    // The first provider calls are in flight now.
    tokio::time::sleep(Duration::from_millis(LATENCY_MS / 3)).await;
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()) k",
    )
    .fetch_one(&db.pool)
    .await?;
    // Webhooks while every worker waits on a provider: each alone, timed.
    let (slowest, refused) = deliver_one_by_one(&sim, &child.base, late).await?;
    let limit = Duration::from_secs(60 + 90 * (o.leads as u64 / 16 + 1));
    let done = wait_completed(&db.pool, o.leads, limit).await?;
    let _ = stop_tx.send(true);
    let health = watcher.await?;
    child.stop().await;
    anyhow::ensure!(done, "leads did not all complete within {limit:?}");
    anyhow::ensure!(
        killed > 0,
        "no database session of the service to kill mid-call"
    );
    anyhow::ensure!(
        refused == 0,
        "{refused} webhooks during the slow calls were not answered 202"
    );
    anyhow::ensure!(
        slowest < Duration::from_millis(200),
        "a webhook during the slow calls took {slowest:?} (limit 200 ms)"
    );
    health.ensure_healthy()?;
    let notes = verify(&db.pool, &sim, o.leads).await?;
    let mut out = outcome("slow-provider", o, started, notes, provider_calls(&sim));
    out.details.insert("provider_latency_ms", LATENCY_MS as f64);
    out.details
        .insert("sessions_killed_mid_call", killed as f64);
    out.details
        .insert("slowest_webhook_ms", slowest.as_secs_f64() * 1000.0);
    out.details
        .insert("webhooks_during_slow_calls", late.len() as f64);
    out.details
        .insert("readiness_checks", f64::from(health.samples));
    out.details
        .insert("most_sessions", health.most_sessions as f64);
    server.done(db).await?;
    Ok(out)
}

/// What the watch of readiness and database sessions saw.
struct Health {
    samples: u32,
    not_ready: u32,
    /// The most sessions idle in a transaction for over a second at once.
    idle_in_tx: i64,
    most_sessions: i64,
}

impl Health {
    /// Readiness always 200, no session idle in a transaction.
    fn ensure_healthy(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.not_ready == 0,
            "readiness was not 200 in {} of {} checks",
            self.not_ready,
            self.samples
        );
        anyhow::ensure!(
            self.idle_in_tx == 0,
            "{} sessions sat idle in a transaction for over a second",
            self.idle_in_tx
        );
        Ok(())
    }
}

/// Samples readiness and the database's sessions every 250 ms until `stop`.
async fn watch_health(
    ready_url: String,
    pool: PgPool,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Health {
    let mut h = Health {
        samples: 0,
        not_ready: 0,
        idle_in_tx: 0,
        most_sessions: 0,
    };
    while !*stop.borrow() {
        h.samples += 1;
        let ok = reqwest::get(&ready_url)
            .await
            .is_ok_and(|r| r.status().is_success());
        if !ok {
            h.not_ready += 1;
        }
        if let Ok((idle, all)) = sessions(&pool).await {
            h.idle_in_tx = h.idle_in_tx.max(idle);
            h.most_sessions = h.most_sessions.max(all);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    h
}

/// Delivers each of `ids` alone: the slowest answer, and how many were not
/// answered 202.
async fn deliver_one_by_one(
    sim: &SimHandle,
    base: &str,
    ids: &[String],
) -> anyhow::Result<(Duration, usize)> {
    let mut slowest = Duration::ZERO;
    let mut refused = 0usize;
    for id in ids {
        let t = Instant::now();
        let r = burst(sim, base, Some(vec![id.clone()])).await?;
        slowest = slowest.max(t.elapsed());
        refused += r.requests - r.statuses.get(&202).copied().unwrap_or(0);
    }
    Ok((slowest, refused))
}
