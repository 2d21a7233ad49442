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
//! - `missed-webhooks`: C2S silently drops 30 % of its deliveries and the
//!   service is killed mid-burst with no re-delivery; the reconciliation
//!   sweep finds every lead: one note each within two sweep periods.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use c2s_sim::{Faults, SimConfig, SimHandle};
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use serde::Serialize;
use sqlx::PgPool;

use crate::bench::support::{self, Child, Server};

mod forged;
mod missed;
mod outages;
mod restarts;
pub use forged::*;
pub use missed::*;
pub use outages::*;
pub use restarts::*;

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
