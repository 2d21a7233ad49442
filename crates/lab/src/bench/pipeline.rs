//! Benchmark 1 — pipeline overhead: the end-to-end latency of
//! `POST /api/v1/c2s/enrich/{id}` against the critical path's lower bound,
//! 4·L (C2S get, one parallel discovery round, one parallel dossier round,
//! the note) with every sandbox call taking L.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use c2s_sim::{LeadKind, SimConfig};
use serde::Serialize;

use super::support::{self, median, Server, Stats};

#[derive(Debug, Clone, Serialize)]
pub struct PipelineResult {
    pub latency_ms: u64,
    pub lower_bound_ms: u64,
    pub rounds: usize,
    pub one_person: Stats,
    pub two_persons: Stats,
    /// Medians over rounds of p50 / 4·L and p99 / 4·L.
    pub one_person_p50_ratio: f64,
    pub one_person_p99_ratio: f64,
    pub two_persons_p50_ratio: f64,
    pub two_persons_p99_ratio: f64,
    /// Mean milliseconds per lead spent in each pipeline step (from the
    /// service's step histograms), by lead kind.
    pub one_person_steps: BTreeMap<String, f64>,
    pub two_persons_steps: BTreeMap<String, f64>,
}

/// The pipeline's steps in order, and the provider rounds (each one L) on
/// the critical path inside each.
const STEPS: [(&str, u64); 5] = [
    ("lead", 1),
    ("discover", 2),
    ("dossier", 0),
    ("store", 0),
    ("note", 1),
];

/// Seconds spent so far in each step (every outcome), from this process's
/// `c2s_enrich_step_duration_seconds` histograms.
async fn step_seconds(pool: &sqlx::PgPool) -> anyhow::Result<BTreeMap<String, f64>> {
    let text = c2s_enrich::metrics::render(pool).await?;
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("c2s_enrich_step_duration_seconds_sum{") else {
            continue;
        };
        let Some((labels, value)) = rest.split_once("} ") else {
            continue;
        };
        let step = labels
            .split(',')
            .find_map(|l| l.strip_prefix("step=\""))
            .map(|v| v.trim_end_matches('"').to_owned());
        if let Some(step) = step {
            *out.entry(step).or_insert(0.0) += value.trim().parse::<f64>()?;
        }
    }
    Ok(out)
}

/// Adds `after - before` (seconds) to `into` (milliseconds).
fn add_delta(
    into: &mut BTreeMap<String, f64>,
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
) {
    for (step, secs) in after {
        let delta = secs - before.get(step).copied().unwrap_or(0.0);
        *into.entry(step.clone()).or_insert(0.0) += delta * 1e3;
    }
}

/// The ids of the sandbox's leads of `kind` (owners: one person behind phone
/// and e-mail; splits: two persons).
fn ids_of(leads: &[c2s_sim::SimLead], kind: LeadKind) -> Vec<String> {
    leads
        .iter()
        .filter(|l| l.kind == kind)
        .map(|l| l.id.clone())
        .collect()
}

/// `POST /api/v1/c2s/enrich/{id}` for each lead in turn: each end-to-end time.
async fn timed_requests(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    ids: impl Iterator<Item = &String>,
) -> anyhow::Result<Vec<Duration>> {
    let mut samples = Vec::new();
    for id in ids {
        let started = Instant::now();
        let r = http
            .post(format!("{base}/api/v1/c2s/enrich/{id}"))
            .bearer_auth(key)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "enrich answered {}", r.status());
        let _ = r.bytes().await?;
        samples.push(started.elapsed());
    }
    Ok(samples)
}

/// The service in this process on `pool` (migrated), and an `enrich` key.
async fn serve(
    sim: &c2s_sim::SimHandle,
    pool: &sqlx::PgPool,
) -> anyhow::Result<(crate::testing::ServedApp, String)> {
    c2s_enrich::db::migrate_up(pool).await?;
    let config = support::config(&support::sim_env(sim))?;
    let pipeline = c2s_enrich::app::pipeline(&config, pool).await?;
    let served =
        crate::testing::serve_app(c2s_enrich::app::app_state(&config, pool, Some(pipeline)))
            .await?;
    let (_, key) =
        c2s_enrich::store::api_keys::create(pool, "bench", &["enrich".to_owned()]).await?;
    Ok((served, key))
}

pub async fn run(
    server: &Server,
    latency_ms: u64,
    leads_per_round: usize,
    rounds: usize,
) -> anyhow::Result<PipelineResult> {
    let sim = c2s_sim::start(
        SimConfig {
            seed: 101,
            leads: leads_per_round * rounds * 8,
            ..SimConfig::default()
        }
        .with_latency_ms(latency_ms),
    )
    .await?;
    let db = server.scratch("pipeline").await?;
    let (served, key) = serve(&sim, &db.pool).await?;
    let http = reqwest::Client::new();
    let leads = sim.state.leads();
    let (owners, splits) = (
        ids_of(&leads, LeadKind::Owner),
        ids_of(&leads, LeadKind::Split),
    );
    let bound = Duration::from_millis(4 * latency_ms);
    let mut one_all = Vec::new();
    let mut two_all = Vec::new();
    let mut ratios: [Vec<f64>; 4] = Default::default();
    let (mut one_steps, mut two_steps) = (BTreeMap::new(), BTreeMap::new());
    for round in 0..rounds {
        for (ids, all, (r50, r99), steps) in [
            (&owners, &mut one_all, (0, 1), &mut one_steps),
            (&splits, &mut two_all, (2, 3), &mut two_steps),
        ] {
            let round_ids = ids
                .iter()
                .skip(round * leads_per_round)
                .take(leads_per_round);
            let before = step_seconds(&db.pool).await?;
            let samples = timed_requests(&http, &served.base, &key, round_ids).await?;
            add_delta(steps, &before, &step_seconds(&db.pool).await?);
            let s = Stats::of(&samples);
            let b = bound.as_secs_f64() * 1e3;
            ratios[r50].push(s.p50_ms / b);
            ratios[r99].push(s.p99_ms / b);
            all.extend(samples);
        }
        eprintln!("  round {}/{rounds} done", round + 1);
    }
    drop(served);
    server.done(db).await?;
    let [a, b, c, d] = ratios;
    Ok(PipelineResult {
        latency_ms,
        lower_bound_ms: 4 * latency_ms,
        rounds,
        one_person: Stats::of(&one_all),
        two_persons: Stats::of(&two_all),
        one_person_p50_ratio: median(a),
        one_person_p99_ratio: median(b),
        two_persons_p50_ratio: median(c),
        two_persons_p99_ratio: median(d),
        one_person_steps: per_lead(one_steps, one_all.len()),
        two_persons_steps: per_lead(two_steps, two_all.len()),
    })
}

fn per_lead(total_ms: BTreeMap<String, f64>, leads: usize) -> BTreeMap<String, f64> {
    total_ms
        .into_iter()
        .map(|(step, ms)| (step, ms / leads.max(1) as f64))
        .collect()
}

/// Where the time of a lead goes: each step's mean, the provider rounds in
/// it, and what is left over them; the rest is outside the steps (HTTP, the
/// job, the run's state between steps).
pub fn breakdown(s: &mut String, p: &PipelineResult) {
    let l = p.latency_ms as f64;
    let _ = writeln!(
        s,
        "Where the time goes (means per lead; each step's time less its provider rounds at L = {} ms is its overhead):\n\n| step | provider rounds | one person | overhead | two persons | overhead |\n|---|---|---|---|---|---|",
        p.latency_ms
    );
    let mut sums = (0.0, 0.0);
    for (step, rounds) in STEPS {
        let one = p.one_person_steps.get(step).copied().unwrap_or(0.0);
        let two = p.two_persons_steps.get(step).copied().unwrap_or(0.0);
        let floor = rounds as f64 * l;
        sums = (sums.0 + one, sums.1 + two);
        let _ = writeln!(
            s,
            "| {step} | {rounds} | {one:.1} ms | {:.1} ms | {two:.1} ms | {:.1} ms |",
            one - floor,
            two - floor
        );
    }
    let outside = (
        p.one_person.mean_ms - sums.0,
        p.two_persons.mean_ms - sums.1,
    );
    let _ = writeln!(
        s,
        "| outside the steps (HTTP, job, run state) | 0 | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |\n| **end to end** | 4 | {:.1} ms | **{:.1} ms** | {:.1} ms | **{:.1} ms** |\n",
        outside.0, outside.0, outside.1, outside.1,
        p.one_person.mean_ms, p.one_person.mean_ms - 4.0 * l,
        p.two_persons.mean_ms, p.two_persons.mean_ms - 4.0 * l
    );
}
