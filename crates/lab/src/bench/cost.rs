//! Benchmark 6 — cost: a replay of leads where 57 % of the contacts repeat
//! (the share the earlier service measured in production). Paid provider
//! calls per lead with our policy (ledger + database first), against the
//! floor (distinct lookups) and against a naive policy (no cache) replaying
//! the same leads in the same run.

use std::collections::HashSet;
use std::sync::Arc;

use c2s_sim::SimConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::support::{self, Server};
use c2s_enrich::domain::lead::LeadId;
use c2s_enrich::pipeline::{Pipeline, PipelineSettings};
use c2s_enrich::store::ledger::{Freshness, Ledger};

/// Share of leads whose contacts were seen before.
pub const REPEAT_SHARE: f64 = 0.57;

#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub paid_calls: usize,
    pub paid_calls_per_lead: f64,
    pub credits: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CostResult {
    pub leads: usize,
    pub distinct_people: usize,
    pub repeat_share: f64,
    /// Distinct (provider, operation, query) lookups the leads need.
    pub floor_calls: usize,
    pub ours: Policy,
    pub naive: Policy,
    /// ours / floor and naive / ours.
    pub ours_over_floor: f64,
    pub naive_over_ours: f64,
    /// `DISCOVERY_MODE` parallel against waterfall, on leads of distinct
    /// people with every sandbox call taking `mode_latency_ms`.
    pub modes: Vec<ModeResult>,
    pub mode_latency_ms: u64,
}

/// One discovery mode over the same leads.
#[derive(Debug, Clone, Serialize)]
pub struct ModeResult {
    pub mode: &'static str,
    pub leads: usize,
    pub paid_calls_per_lead: f64,
    /// Leads whose note presents someone.
    pub presented: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Each sandbox call's latency in the mode comparison.
const MODE_LATENCY_MS: u64 = 20;

/// Parallel against waterfall: `leads` leads of distinct people (nothing
/// cached), a fresh database per mode, the leads one after the other.
async fn modes(server: &Server, leads: usize) -> anyhow::Result<Vec<ModeResult>> {
    let sim = c2s_sim::start(
        SimConfig {
            seed: 600,
            leads: leads.max(10),
            ..SimConfig::default()
        }
        .with_latency_ms(MODE_LATENCY_MS),
    )
    .await?;
    let people: Vec<usize> = (0..sim.state.population.people.len())
        .filter(|&i| {
            let p = &sim.state.population.people[i];
            !p.phones.is_empty() && !p.emails.is_empty()
        })
        .take(leads)
        .collect();
    let ids = create_leads(&sim, &people).await?;
    let mut out = Vec::new();
    for (name, mode) in [
        ("parallel", c2s_enrich::pipeline::DiscoveryMode::Parallel),
        ("waterfall", c2s_enrich::pipeline::DiscoveryMode::Waterfall),
    ] {
        let db = server.scratch(&format!("cost_{name}")).await?;
        c2s_enrich::db::migrate_up(&db.pool).await?;
        let mut config = support::config(&support::sim_env(&sim))?;
        config.discovery_mode = mode;
        let pipeline = c2s_enrich::app::pipeline(&config, &db.pool).await?;
        sim.state.reset_journal();
        let (mut times, mut presented) = (Vec::with_capacity(ids.len()), 0);
        for id in &ids {
            let started = std::time::Instant::now();
            let outcome = pipeline
                .process(id)
                .await
                .map_err(|e| anyhow::anyhow!("lead failed: {e}"))?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            presented += usize::from(outcome.persons > 0);
        }
        let calls = paid(&sim.state.journal()).len();
        server.done(db).await?;
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        eprintln!(
            "  {name}: {:.2} paid calls per lead, p50 {:.0} ms",
            calls as f64 / ids.len() as f64,
            at(0.5)
        );
        out.push(ModeResult {
            mode: name,
            leads: ids.len(),
            paid_calls_per_lead: calls as f64 / ids.len() as f64,
            presented,
            p50_ms: at(0.5),
            p99_ms: at(0.99),
        });
    }
    Ok(out)
}

fn paid(journal: &c2s_sim::Journal) -> Vec<&c2s_sim::CallRecord> {
    journal
        .calls
        .iter()
        .filter(|c| c.paid() && c.status < 500)
        .collect()
}

async fn replay(pipeline: &Pipeline, leads: &[LeadId]) -> anyhow::Result<()> {
    for id in leads {
        pipeline
            .process(id)
            .await
            .map_err(|e| anyhow::anyhow!("lead failed: {e}"))?;
    }
    Ok(())
}

/// The order of the leads' people: first each new person once, then
/// repeats of people already seen, interleaved (deterministic).
fn lead_order(people: &[usize], leads: usize, distinct: usize) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(601);
    let mut order: Vec<usize> = Vec::with_capacity(leads);
    let mut seen: Vec<usize> = Vec::new();
    let mut fresh = people.iter().take(distinct).copied();
    for i in 0..leads {
        let remaining_new = distinct - seen.len();
        let must_new =
            remaining_new > 0 && (seen.is_empty() || rng.gen_range(0..leads - i) < remaining_new);
        let person = if must_new {
            let p = fresh.next().unwrap_or(people[0]);
            seen.push(p);
            p
        } else {
            seen[rng.gen_range(0..seen.len())]
        };
        order.push(person);
    }
    order
}

/// Creates one sandbox lead per entry of `order` (that person's first phone
/// and e-mail), through C2S's API.
async fn create_leads(sim: &c2s_sim::SimHandle, order: &[usize]) -> anyhow::Result<Vec<LeadId>> {
    let leads = order.len();
    let http = reqwest::Client::new();
    let mut ids = Vec::with_capacity(leads);
    for &p in order {
        let person = &sim.state.population.people[p];
        let body = serde_json::json!({"data": {"type": "lead", "attributes": {
            "name": person.name, "phone": person.phones[0].phone.national(),
            "email": person.emails[0].as_str(), "description": "bench", "source": "bench"}}});
        let r: serde_json::Value = http
            .post(format!("{}/integration/leads", sim.base_url()))
            .bearer_auth(&sim.state.config.c2s_token)
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        let id = r["data"]["id"].as_str().unwrap_or_default();
        ids.push(LeadId::parse(id).map_err(|e| anyhow::anyhow!("sandbox lead id: {e}"))?);
    }
    Ok(ids)
}

/// The same pipeline with every cache off: the ledger keeps nothing fresh
/// and no stored dossier counts as recent (the naive policy).
async fn without_cache(base: &Arc<Pipeline>, pool: &sqlx::PgPool) -> anyhow::Result<Arc<Pipeline>> {
    let zero = std::time::Duration::ZERO;
    Ok(Arc::new(Pipeline {
        pool: pool.clone(),
        providers: base.providers.clone(),
        ledger: Arc::new(
            Ledger::new(
                pool.clone(),
                None,
                Freshness {
                    discovery: zero,
                    dossier: zero,
                    not_found: zero,
                },
            )
            .await?,
        ),
        settings: PipelineSettings {
            dossier_freshness: zero,
            ..base.settings.clone()
        },
    }))
}

/// Replays the leads on a fresh database with our policy (or the naive
/// one): what it paid, and the distinct lookups among those calls.
async fn replay_policy(
    server: &Server,
    config: &c2s_enrich::config::Config,
    sim: &c2s_sim::SimHandle,
    ids: &[LeadId],
    naive: bool,
) -> anyhow::Result<(Policy, usize)> {
    let leads = ids.len();
    let db = server
        .scratch(if naive { "cost_naive" } else { "cost" })
        .await?;
    c2s_enrich::db::migrate_up(&db.pool).await?;
    let base = c2s_enrich::app::pipeline(config, &db.pool).await?;
    let pipeline = if naive {
        without_cache(&base, &db.pool).await?
    } else {
        base
    };
    sim.state.reset_journal();
    replay(&pipeline, ids).await?;
    let journal = sim.state.journal();
    let calls = paid(&journal);
    let credits: i64 =
        sqlx::query_scalar("SELECT coalesce(sum(credits), 0)::int8 FROM enrich.provider_calls")
            .fetch_one(&db.pool)
            .await?;
    let floor: HashSet<(&str, &str, &str)> = calls
        .iter()
        .map(|c| (c.provider, c.operation, c.query.as_str()))
        .collect();
    let policy = Policy {
        paid_calls: calls.len(),
        paid_calls_per_lead: calls.len() as f64 / leads as f64,
        credits,
    };
    eprintln!(
        "  {}: {} paid calls for {leads} leads ({:.2} per lead)",
        if naive { "naive (no cache)" } else { "ours" },
        calls.len(),
        calls.len() as f64 / leads as f64
    );
    let floor = floor.len();
    server.done(db).await?;
    Ok((policy, floor))
}

pub async fn run(server: &Server, leads: usize) -> anyhow::Result<CostResult> {
    let sim = c2s_sim::start(SimConfig {
        seed: 600,
        // The population grows with the sandbox's own leads (unused here).
        leads: leads.max(10),
        ..SimConfig::default()
    })
    .await?;
    // The people with a phone and an e-mail; the leads: first each new person
    // once, then repeats of people already seen, interleaved.
    let people: Vec<usize> = sim
        .state
        .population
        .people
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.phones.is_empty() && !p.emails.is_empty())
        .map(|(i, _)| i)
        .collect();
    let distinct = ((leads as f64) * (1.0 - REPEAT_SHARE)).round() as usize;
    anyhow::ensure!(
        people.len() >= distinct,
        "the sandbox has only {} people",
        people.len()
    );
    let order = lead_order(&people, leads, distinct);
    let ids = create_leads(&sim, &order).await?;
    let config = support::config(&support::sim_env(&sim))?;

    let mut results = Vec::new();
    for naive in [false, true] {
        results.push(replay_policy(server, &config, &sim, &ids, naive).await?);
    }
    let (ours, _) = results[0].clone();
    let (naive, floor) = results[1].clone();
    let modes = modes(server, (leads / 5).clamp(20, 200)).await?;
    Ok(CostResult {
        modes,
        mode_latency_ms: MODE_LATENCY_MS,
        leads,
        distinct_people: distinct,
        repeat_share: REPEAT_SHARE,
        floor_calls: floor,
        ours_over_floor: ours.paid_calls as f64 / floor.max(1) as f64,
        naive_over_ours: naive.paid_calls as f64 / ours.paid_calls.max(1) as f64,
        ours,
        naive,
    })
}
