//! `c2s-enrich chaos`: the reliability harness. Each scenario runs real
//! `c2s-enrich serve` processes against a scratch database and the sandbox
//! on loopback, breaks something, and then checks the outcome the product
//! promises: every lead completed, exactly one note per lead, its rows
//! stored, no dead job, no lookup paid twice. Every scenario is bounded in
//! time and says what it measured.
//!
//! - `crash`: a burst of webhooks; the service SIGKILLed at random moments
//!   three times and restarted (C2S then re-delivers everything).
//! - `two-instances`: two processes on one database under the same burst; the
//!   Work API spacing must hold across both.
//! - `faults`: 20 % errors and timeouts on every provider plus a Work API
//!   outage; every lead completes after recovery, without a retry storm.
//! - `db-loss`: PostgreSQL stopped and restarted mid-burst; the service
//!   reports not-ready, recovers by itself, loses nothing.
//! - `slow-provider`: every provider answers after 12 s, 16 workers on the
//!   default pool, every database session of the service killed mid-call;
//!   webhooks still answer 202 in < 200 ms, readiness stays 200, no session
//!   idles in a transaction, nothing is paid twice.
//! - `forged`: unsigned, wrong-secret, oversized, 1,000-event and malformed
//!   webhook deliveries: all refused, nothing stored, no provider called.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use c2s_sim::{Faults, SimConfig, SimHandle};
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use serde::Serialize;
use sqlx::PgPool;

use crate::bench::support::{self, Child, Server};

/// Scenario sizes.
#[derive(Debug, Clone)]
pub struct ChaosOptions {
    pub leads: usize,
    /// Length of the provider outage in `faults`.
    pub outage: Duration,
    pub seed: u64,
}

/// What a scenario saw.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub scenario: &'static str,
    pub leads: usize,
    pub seconds: f64,
    pub notes: usize,
    pub provider_calls: usize,
    pub calls_per_lead: f64,
    /// Scenario-specific figures (kills, spacing, outage calls, readiness…).
    pub details: HashMap<&'static str, f64>,
}

/// Checks every promise on the database and the sandbox's journal.
async fn verify(pool: &PgPool, sim: &SimHandle, leads: usize) -> anyhow::Result<usize> {
    let ids: Vec<String> = sim.state.leads().into_iter().map(|l| l.id).collect();
    let journal = sim.state.journal();
    let mut problems = Vec::new();
    for id in &ids {
        let notes = journal.notes_for(id).len();
        if notes != 1 {
            problems.push(format!("lead {id}: {notes} notes"));
        }
    }
    let (completed, failed): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 'completed' AND step = 'done' AND note_status = 'sent'),
                count(*) FILTER (WHERE state <> 'completed')
           FROM enrich.leads",
    )
    .fetch_one(pool)
    .await?;
    if usize::try_from(completed).unwrap_or(0) != leads {
        problems.push(format!(
            "{completed} of {leads} leads completed ({failed} not)"
        ));
    }
    let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.jobs WHERE state <> 'done'")
        .fetch_one(pool)
        .await?;
    if dead != 0 {
        problems.push(format!("{dead} jobs not done"));
    }
    let twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT provider, module, key_hash FROM enrich.provider_calls
                                WHERE outcome IN ('found', 'not_found') GROUP BY 1, 2, 3 HAVING count(*) > 1) d",
    )
    .fetch_one(pool)
    .await?;
    if twice != 0 {
        problems.push(format!("{twice} lookups paid more than once"));
    }
    // Enriched leads have their people stored and linked.
    let unlinked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM enrich.leads l WHERE l.outcome = 'enriched'
            AND NOT EXISTS (SELECT 1 FROM enrich.lead_entities le WHERE le.lead_id = l.lead_id)",
    )
    .fetch_one(pool)
    .await?;
    if unlinked != 0 {
        problems.push(format!("{unlinked} enriched leads without stored people"));
    }
    // The note posted is the note recorded.
    for id in ids.iter().take(50) {
        let text: Option<String> =
            sqlx::query_scalar("SELECT note_text FROM enrich.leads WHERE lead_id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
                .flatten();
        let posted = journal.notes_for(id).first().map(|n| n.body.clone());
        if text.is_none() || posted != text {
            problems.push(format!(
                "lead {id}: posted note differs from the recorded one"
            ));
        }
    }
    if !problems.is_empty() {
        problems.truncate(20);
        anyhow::bail!("promises broken:\n  {}", problems.join("\n  "));
    }
    Ok(journal.notes.len())
}

async fn wait_completed(pool: &PgPool, leads: usize, limit: Duration) -> anyhow::Result<bool> {
    let target = i64::try_from(leads)?;
    c2s_enrich::app::wait_until(limit, Duration::from_millis(100), || {
        let pool = pool.clone();
        async move {
            // Every lead done, and every job too (re-deliveries enqueue jobs
            // for leads already done; they must finish without a second note).
            let (n, open): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM enrich.leads WHERE state = 'completed' AND note_status = 'sent'),
                        (SELECT count(*) FROM enrich.jobs WHERE state IN ('queued', 'running'))",
            )
            .fetch_one(&pool)
            .await
            .unwrap_or((0, 1));
            Ok(n >= target && open == 0)
        }
    })
    .await
}

fn sandbox(o: &ChaosOptions, latency_ms: u64) -> SimConfig {
    let mut c = SimConfig {
        seed: o.seed,
        leads: o.leads,
        ..SimConfig::default()
    }
    .with_latency_ms(latency_ms);
    for f in c.faults.values_mut() {
        f.jitter_ms = latency_ms;
    }
    c
}

/// Ledger rows of calls whose holder died mid-call (perhaps paid twice).
async fn unknown_outcomes(pool: &PgPool) -> anyhow::Result<f64> {
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM enrich.provider_calls WHERE outcome = 'unknown'")
            .fetch_one(pool)
            .await?;
    Ok(n as f64)
}

fn provider_calls(sim: &SimHandle) -> usize {
    sim.state.journal().calls.len()
}

/// The whole burst of `ids` (all leads when `None`) to `base`, in the background.
fn burst(
    sim: &SimHandle,
    base: &str,
    ids: Option<Vec<String>>,
) -> tokio::task::JoinHandle<c2s_sim::DeliveryReport> {
    let (state, url) = (sim.state.clone(), format!("{base}/api/v1/webhooks/c2s"));
    tokio::spawn(async move {
        let req = c2s_sim::DeliveryRequest {
            url,
            action: Some("on_create_lead".into()),
            lead_ids: ids,
            duplicates: 1,
            concurrency: 4,
            header_name: support::SIGNED.map(|(k, _)| k.to_owned()),
            header_value: support::SIGNED.map(|(_, v)| v.to_owned()),
            batch: 0,
        };
        c2s_sim::deliver(&state, &req).await
    })
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn outcome(
    scenario: &'static str,
    o: &ChaosOptions,
    started: Instant,
    notes: usize,
    calls: usize,
) -> Outcome {
    Outcome {
        scenario,
        leads: o.leads,
        seconds: started.elapsed().as_secs_f64(),
        notes,
        provider_calls: calls,
        calls_per_lead: calls as f64 / o.leads as f64,
        details: HashMap::new(),
    }
}

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
    let journal = sim.state.journal();
    let during: usize = journal
        .calls
        .iter()
        .filter(|c| c.provider == "work_api" && c.at_ms >= outage_from && c.at_ms < outage_to)
        .count();
    let outage_secs = (outage_to - outage_from) as f64 / 1000.0;
    let per_second = during as f64 / outage_secs.max(0.001);
    let answered = journal.calls.iter().filter(|c| c.status < 500).count();
    let calls = journal.calls.len();
    // No storm: the breaker and backoff keep the dead provider's load tiny, and
    // the total stays within twice the calls that were answered.
    anyhow::ensure!(
        per_second <= 5.0,
        "{per_second:.1} Work API calls/s during the outage"
    );
    anyhow::ensure!(
        calls <= answered * 2,
        "{calls} provider calls for {answered} answered: a retry storm"
    );
    let mut out = outcome("faults", o, started, notes, calls);
    out.details.insert("outage_seconds", outage_secs);
    out.details
        .insert("work_api_calls_during_outage", during as f64);
    out.details
        .insert("work_api_calls_per_second_during_outage", per_second);
    out.details.insert("answered_calls", answered as f64);
    server.done(db).await?;
    Ok(out)
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
    let ready_url = format!("{}/health/ready", child.base);
    let watcher = tokio::spawn(async move {
        let mut not_ready = 0u32;
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(&ready_url).await {
                if r.status().as_u16() == 503 {
                    not_ready += 1;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        not_ready
    });
    let downtime = Duration::from_secs(4);
    let bounced = tokio::task::spawn_blocking(move || pg.bounce(downtime).map(|()| pg)).await??;
    let not_ready = watcher.await?;
    let delivered = first_burst.await?;
    // What we refused while the database was away, C2S delivers again.
    burst(&sim, &child.base, None).await?;
    let back =
        c2s_enrich::app::wait_until(Duration::from_secs(60), Duration::from_millis(200), || {
            let url = format!("{}/health/ready", child.base);
            async move {
                Ok(reqwest::get(url)
                    .await
                    .is_ok_and(|r| r.status().is_success()))
            }
        })
        .await?;
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
    out.details.insert(
        "first_burst_refused",
        (delivered.errors
            + delivered
                .statuses
                .iter()
                .filter(|(s, _)| **s >= 500)
                .map(|(_, n)| n)
                .sum::<usize>()) as f64,
    );
    pool.close().await;
    tokio::task::spawn_blocking(move || drop(bounced)).await?;
    Ok(out)
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
    let ready_url = format!("{}/health/ready", child.base);
    let watch_pool = db.pool.clone();
    let watcher = tokio::spawn(async move {
        let (mut samples, mut not_ready, mut idle_in_tx, mut most_sessions) =
            (0u32, 0u32, 0i64, 0i64);
        while !*stop_rx.borrow() {
            samples += 1;
            let ok = reqwest::get(&ready_url)
                .await
                .is_ok_and(|r| r.status().is_success());
            if !ok {
                not_ready += 1;
            }
            if let Ok((idle, all)) = sessions(&watch_pool).await {
                idle_in_tx = idle_in_tx.max(idle);
                most_sessions = most_sessions.max(all);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        (samples, not_ready, idle_in_tx, most_sessions)
    });
    // The first provider calls are in flight now.
    tokio::time::sleep(Duration::from_millis(LATENCY_MS / 3)).await;
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()) k",
    )
    .fetch_one(&db.pool)
    .await?;
    // Webhooks while every worker waits on a provider: each alone, timed.
    let mut slowest = Duration::ZERO;
    let mut refused = 0usize;
    for id in late {
        let t = Instant::now();
        let r = burst(&sim, &child.base, Some(vec![id.clone()])).await?;
        slowest = slowest.max(t.elapsed());
        refused += r.requests - r.statuses.get(&202).copied().unwrap_or(0);
    }
    let limit = Duration::from_secs(60 + 90 * (o.leads as u64 / 16 + 1));
    let done = wait_completed(&db.pool, o.leads, limit).await?;
    let _ = stop_tx.send(true);
    let (samples, not_ready, idle_in_tx, most_sessions) = watcher.await?;
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
    anyhow::ensure!(
        not_ready == 0,
        "readiness was not 200 in {not_ready} of {samples} checks"
    );
    anyhow::ensure!(
        idle_in_tx == 0,
        "{idle_in_tx} sessions sat idle in a transaction for over a second"
    );
    let notes = verify(&db.pool, &sim, o.leads).await?;
    let mut out = outcome("slow-provider", o, started, notes, provider_calls(&sim));
    out.details.insert("provider_latency_ms", LATENCY_MS as f64);
    out.details
        .insert("sessions_killed_mid_call", killed as f64);
    out.details
        .insert("slowest_webhook_ms", slowest.as_secs_f64() * 1000.0);
    out.details
        .insert("webhooks_during_slow_calls", late.len() as f64);
    out.details.insert("readiness_checks", f64::from(samples));
    out.details.insert("most_sessions", most_sessions as f64);
    server.done(db).await?;
    Ok(out)
}

/// One forged or abusive delivery, and the status it must get.
struct Forgery {
    kind: &'static str,
    body: Vec<u8>,
    secret: Option<&'static str>,
    expected: u16,
}

fn forgeries(sim: &SimHandle) -> anyhow::Result<Vec<Forgery>> {
    let leads = sim.state.leads();
    let event = |i: usize| {
        let mut e = c2s_sim::render::c2s_lead(&leads[i % leads.len()]);
        e["hook_action"] = serde_json::json!("on_create_lead");
        e
    };
    let many = |n: usize| {
        let batch: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                let mut e = event(i);
                e["id"] = serde_json::json!(format!("{:032x}", i + 1));
                e
            })
            .collect();
        serde_json::to_vec(&batch)
    };
    let one = serde_json::to_vec(&event(0))?;
    let mut long_key = event(0);
    long_key["attributes"]["updated_at"] = serde_json::json!("2".repeat(4096));
    let mut huge = event(0);
    huge["attributes"]["description"] = serde_json::json!("x".repeat(600 * 1024));
    let signed = Some(support::WEBHOOK_SECRET);
    Ok(vec![
        Forgery {
            kind: "unsigned",
            body: one.clone(),
            secret: None,
            expected: 401,
        },
        Forgery {
            kind: "wrong-secret",
            body: one.clone(),
            secret: Some("guess"),
            expected: 401,
        },
        Forgery {
            kind: "oversized-body",
            body: serde_json::to_vec(&huge)?,
            secret: signed,
            expected: 413,
        },
        Forgery {
            kind: "1000-events",
            body: many(1000)?,
            secret: signed,
            expected: 413,
        },
        Forgery {
            kind: "101-events",
            body: many(101)?,
            secret: signed,
            expected: 413,
        },
        Forgery {
            kind: "oversized-key",
            body: serde_json::to_vec(&long_key)?,
            secret: signed,
            expected: 400,
        },
        Forgery {
            kind: "not-json",
            body: b"{\"hook_action\": \"on_create_lead\", ".to_vec(),
            secret: signed,
            expected: 400,
        },
        Forgery {
            kind: "bad-lead-id",
            body: br#"{"hook_action":"on_create_lead","id":"../../etc/passwd","attributes":{}}"#
                .to_vec(),
            secret: signed,
            expected: 400,
        },
        Forgery {
            kind: "unknown-action",
            body: serde_json::to_vec(&{
                let mut e = event(0);
                e["hook_action"] = serde_json::json!("on_delete_everything");
                e
            })?,
            secret: signed,
            expected: 400,
        },
        Forgery {
            kind: "empty-batch",
            body: b"[]".to_vec(),
            secret: signed,
            expected: 400,
        },
    ])
}

/// Unsigned, wrong-secret, oversized, 1,000-event and malformed deliveries,
/// each many times over: all refused with the right status, nothing stored,
/// no provider called — and a genuine delivery afterwards still accepted.
pub async fn forged(server: &Server, o: &ChaosOptions) -> anyhow::Result<Outcome> {
    let sim = c2s_sim::start(sandbox(o, 5)).await?;
    let db = server.scratch("chaos_forged").await?;
    c2s_enrich::db::migrate_up(&db.pool).await?;
    let env = support::sim_env(&sim);
    let started = Instant::now();
    let child = Child::serve(&env, &db.url, &["--concurrency", "4"]).await?;
    let url = format!("{}/api/v1/webhooks/c2s", child.base);
    let http = reqwest::Client::new();
    let rounds = (o.leads / 10).max(1);
    let mut sent = 0usize;
    let mut wrong = Vec::new();
    for f in forgeries(&sim)? {
        let mut tasks = Vec::new();
        for _ in 0..rounds {
            let mut rb = http
                .post(&url)
                .header("content-type", "application/json")
                .body(f.body.clone());
            if let Some(s) = f.secret {
                rb = rb.header("x-webhook-token", s);
            }
            tasks.push(tokio::spawn(async move {
                rb.send().await.map(|r| r.status().as_u16())
            }));
        }
        for t in tasks {
            sent += 1;
            // An oversized body may be cut off mid-upload: a refused
            // connection is a refusal too.
            match t.await? {
                Ok(s) if s == f.expected => {}
                Ok(s) => wrong.push(format!("{}: {s} (expected {})", f.kind, f.expected)),
                Err(e) if f.expected == 413 && (e.is_request() || e.is_body()) => {}
                Err(e) => wrong.push(format!("{}: {e}", f.kind)),
            }
        }
    }
    wrong.dedup();
    let stored: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM enrich.webhook_events), (SELECT count(*) FROM enrich.jobs),
                (SELECT count(*) FROM enrich.leads)",
    )
    .fetch_one(&db.pool)
    .await?;
    let calls = provider_calls(&sim);
    let ready = reqwest::get(format!("{}/health/ready", child.base))
        .await
        .is_ok_and(|r| r.status().is_success());
    // A genuine, signed delivery is still accepted.
    let genuine = burst(
        &sim,
        &child.base,
        Some(vec![sim.state.leads()[0].id.clone()]),
    )
    .await?;
    child.stop().await;
    anyhow::ensure!(
        wrong.is_empty(),
        "deliveries not refused as they should be:\n  {}",
        wrong.join("\n  ")
    );
    anyhow::ensure!(
        stored == (0, 0, 0),
        "forged deliveries left rows behind: {} events, {} jobs, {} leads",
        stored.0,
        stored.1,
        stored.2
    );
    anyhow::ensure!(
        calls == 0,
        "forged deliveries caused {calls} provider calls"
    );
    anyhow::ensure!(
        ready,
        "the service was not ready after the forged deliveries"
    );
    anyhow::ensure!(
        genuine.statuses.get(&202) == Some(&1),
        "a genuine delivery afterwards was not accepted: {genuine:?}"
    );
    let mut out = outcome("forged", o, started, 0, calls);
    out.details.insert("forged_deliveries", sent as f64);
    out.details.insert("kinds", 10.0);
    server.done(db).await?;
    Ok(out)
}
