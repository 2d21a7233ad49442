//! Benchmark 1 — pipeline overhead: the end-to-end latency of
//! `POST /api/v1/c2s/enrich/{id}` against the critical path's lower bound,
//! 4·L (C2S get, one parallel discovery round, one parallel dossier round,
//! the note) with every sandbox call taking L.

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
    c2s_enrich::db::migrate_up(&db.pool).await?;
    let config = support::config(&support::sim_env(&sim))?;
    let pipeline = c2s_enrich::app::pipeline(&config, &db.pool).await?;
    let served = crate::testing::serve_app(c2s_enrich::app::app_state(
        &config,
        &db.pool,
        Some(pipeline),
    ))
    .await?;
    let (_, key) =
        c2s_enrich::store::api_keys::create(&db.pool, "bench", &["enrich".to_owned()]).await?;
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
    for round in 0..rounds {
        for (ids, all, (r50, r99)) in [
            (&owners, &mut one_all, (0, 1)),
            (&splits, &mut two_all, (2, 3)),
        ] {
            let round_ids = ids
                .iter()
                .skip(round * leads_per_round)
                .take(leads_per_round);
            let samples = timed_requests(&http, &served.base, &key, round_ids).await?;
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
    })
}
