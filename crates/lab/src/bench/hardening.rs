//! Benchmark 3 — hardening at scale: `migrate` on a `synth --legacy` database
//! while a probe reads and writes `core.entity_phones` and `core.addresses`
//! every 10 ms; the probe's latency during the migration against its latency
//! before it (same run, same rows).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::support::{Scratch, Server, Stats};

#[derive(Debug, Clone, Serialize)]
pub struct HardeningResult {
    pub scale: f64,
    pub rows: u64,
    pub synth_seconds: f64,
    pub migrate_seconds: f64,
    pub probe_before: Stats,
    pub probe_during: Stats,
    pub probe_errors_during: usize,
    /// During / before, for p99 and max.
    pub p99_ratio: f64,
    pub max_ratio: f64,
    pub archived_rows: i64,
    /// The slowest probes during the migration, each with what the
    /// database was doing meanwhile.
    pub slowest: Vec<Stall>,
}

/// One slow probe and what was active while it waited: the migration's
/// statement(s) and the probe's wait events (`pg_stat_activity`, sampled).
#[derive(Debug, Clone, Serialize)]
pub struct Stall {
    pub ms: f64,
    pub migration_statements: Vec<String>,
    pub probe_waits: Vec<String>,
    pub others: Vec<String>,
}

/// A `pg_stat_activity` sample: when, and (who, wait event, statement head)
/// of each active backend but the sampler's.
type Sample = (Instant, Vec<(String, String, String)>);

/// Samples the active backends of the database every 20 ms until `stop`.
async fn sample_activity(pool: PgPool, stop: Arc<AtomicBool>) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let at = Instant::now();
        if let Ok(rows) = sqlx::query_as::<_, (String, String, String)>(
            "SELECT coalesce(nullif(application_name, ''), backend_type, '?'),
                    coalesce(wait_event_type || ':' || wait_event, ''),
                    left(regexp_replace(coalesce(query, ''), '\\s+', ' ', 'g'), 110)
               FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'",
        )
        .fetch_all(&pool)
        .await
        {
            out.push((at, rows));
        }
    }
    out
}

/// The `n` slowest probes and what the samples saw during each.
fn slowest(probes: &[(Instant, Duration)], samples: &[Sample], n: usize) -> Vec<Stall> {
    let mut by_time: Vec<&(Instant, Duration)> = probes.iter().collect();
    by_time.sort_by_key(|p| std::cmp::Reverse(p.1));
    by_time
        .into_iter()
        .take(n)
        .map(|(start, took)| {
            let end = *start + *took;
            let (mut migration, mut waits, mut others) = (Vec::new(), Vec::new(), Vec::new());
            for (_, rows) in samples.iter().filter(|(at, _)| at >= start && *at <= end) {
                for (who, wait, query) in rows {
                    let (list, item) = if who == c2s_enrich::db::migrate::APPLICATION_NAME {
                        (&mut migration, format!("{query} [{wait}]"))
                    } else if query.contains("WHERE id = $1") {
                        (&mut waits, format!("{wait} ({query})"))
                    } else {
                        (&mut others, format!("{who}: {query} [{wait}]"))
                    };
                    if !list.contains(&item) {
                        list.push(item);
                    }
                }
            }
            Stall {
                ms: took.as_secs_f64() * 1e3,
                migration_statements: migration,
                probe_waits: waits,
                others,
            }
        })
        .collect()
}

const PROBE_EVERY: Duration = Duration::from_millis(10);

/// One probe round: a read and a write on each table.
async fn probe_once(pool: &PgPool, phone: Uuid, address: Uuid) -> Result<(), sqlx::Error> {
    // Reads by primary key: indexed in the legacy shape too, so the baseline
    // measures the database, not a sequential scan the hardening later fixes.
    let _: Option<(Uuid,)> =
        sqlx::query_as("SELECT entity_id FROM core.entity_phones WHERE id = $1")
            .bind(phone)
            .fetch_optional(pool)
            .await?;
    sqlx::query("UPDATE core.entity_phones SET updated_at = now() WHERE id = $1")
        .bind(phone)
        .execute(pool)
        .await?;
    let _: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM core.addresses WHERE id = $1")
        .bind(address)
        .fetch_optional(pool)
        .await?;
    sqlx::query("UPDATE core.addresses SET updated_at = now() WHERE id = $1")
        .bind(address)
        .execute(pool)
        .await?;
    Ok(())
}

/// Probes every 10 ms until `stop`; returns (start and latency of each
/// probe, failures).
async fn probe(
    pool: PgPool,
    targets: Arc<Vec<(Uuid, Uuid, Uuid)>>,
    stop: Arc<AtomicBool>,
) -> (Vec<(Instant, Duration)>, usize) {
    let mut lat = Vec::new();
    let mut errors = 0;
    let mut i = 0usize;
    let mut tick = tokio::time::interval(PROBE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let (p, _, a) = targets[i % targets.len()];
        i += 1;
        let started = Instant::now();
        match probe_once(&pool, p, a).await {
            Ok(()) => lat.push((started, started.elapsed())),
            Err(_) => errors += 1,
        }
    }
    (lat, errors)
}

/// 500 random (phone, its entity, an address) rows for the probe to touch.
async fn probe_targets(pool: &sqlx::PgPool) -> anyhow::Result<Vec<(Uuid, Uuid, Uuid)>> {
    let targets: Vec<(Uuid, Uuid, Uuid)> = sqlx::query_as(
        "SELECT p.id, p.entity_id, a.id FROM
           (SELECT id, entity_id, row_number() OVER () AS n FROM (SELECT id, entity_id FROM core.entity_phones ORDER BY random() LIMIT 500) x) p
           JOIN (SELECT id, row_number() OVER () AS n FROM (SELECT id FROM core.addresses ORDER BY random() LIMIT 500) y) a USING (n)",
    )
    .fetch_all(pool)
    .await?;
    anyhow::ensure!(!targets.is_empty(), "no rows to probe");
    Ok(targets)
}

/// The hardened database passes the data-quality checks; the rows the
/// hardening archived.
async fn verify_hardened(pool: &sqlx::PgPool) -> anyhow::Result<i64> {
    let dq = c2s_enrich::ops::dq::run(pool).await?;
    anyhow::ensure!(
        dq.passed(),
        "the hardened database fails data-quality checks"
    );
    let archived: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.archived_rows")
        .fetch_one(pool)
        .await?;
    Ok(archived)
}

/// Prints the slowest probes and what ran meanwhile.
fn print_slowest(slowest: &[Stall]) {
    for s in slowest {
        eprintln!(
            "  a {:.0} ms probe: migration {:?}; probe waited on {:?}; others {:?}",
            s.ms, s.migration_statements, s.probe_waits, s.others
        );
    }
}

/// Runs the benchmark; leaves the hardened database for the lookup benchmark.
pub async fn run(
    server: &Server,
    scale: f64,
    baseline: Duration,
) -> anyhow::Result<(HardeningResult, Scratch)> {
    let db = server.scratch("scale").await?;
    let report = crate::synth::run(
        &db.pool,
        &crate::synth::SynthOptions {
            scale,
            legacy: true,
            seed: 42,
            progress: true,
        },
    )
    .await?;
    let targets = Arc::new(probe_targets(&db.pool).await?);
    let probe_pool = c2s_enrich::db::connect_pool(&db.url, 2).await?;

    eprintln!("  probing {} s before the migration…", baseline.as_secs());
    let stop = Arc::new(AtomicBool::new(false));
    let before = tokio::spawn(probe(probe_pool.clone(), targets.clone(), stop.clone()));
    tokio::time::sleep(baseline).await;
    stop.store(true, Ordering::Relaxed);
    let (before, _) = before.await?;

    eprintln!("  migrating with the probe running…");
    let stop = Arc::new(AtomicBool::new(false));
    let during = tokio::spawn(probe(probe_pool.clone(), targets.clone(), stop.clone()));
    let sampler_pool = c2s_enrich::db::connect_pool(&db.url, 1).await?;
    let sampler = tokio::spawn(sample_activity(sampler_pool.clone(), stop.clone()));
    let started = Instant::now();
    c2s_enrich::db::migrate::up(
        &db.pool,
        &c2s_enrich::db::migrate::MigrateOptions::default(),
    )
    .await?;
    let migrate_seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let (during, errors) = during.await?;
    let samples = sampler.await?;
    sampler_pool.close().await;
    probe_pool.close().await;
    let slowest = slowest(&during, &samples, 3);
    print_slowest(&slowest);
    let before: Vec<Duration> = before.into_iter().map(|(_, d)| d).collect();
    let during: Vec<Duration> = during.into_iter().map(|(_, d)| d).collect();
    let archived = verify_hardened(&db.pool).await?;
    let (b, d) = (Stats::of(&before), Stats::of(&during));
    eprintln!(
        "  migrate {migrate_seconds:.1} s; probe p99 {:.1} → {:.1} ms, max {:.1} → {:.1} ms, {errors} errors",
        b.p99_ms, d.p99_ms, b.max_ms, d.max_ms
    );
    Ok((
        HardeningResult {
            scale,
            rows: report.rows,
            synth_seconds: report.seconds,
            migrate_seconds,
            probe_before: b,
            probe_during: d,
            probe_errors_during: errors,
            p99_ratio: d.p99_ms / b.p99_ms.max(1e-3),
            max_ratio: d.max_ms / b.max_ms.max(1e-3),
            archived_rows: archived,
            slowest,
        },
        db,
    ))
}
