use std::collections::HashMap;

use clap::Parser;

use c2s_sim::{Faults, SimConfig, PROVIDERS};

/// c2s-sim — a local sandbox of C2S, Diretrix and the Work API.
///
/// Serves the three providers' contracts on one local port (C2S under
/// /integration, Diretrix under /Consultas, the Work API at /api) backed by a
/// deterministic synthetic population (same --seed, same people and leads),
/// with the providers' real shapes and quirks: Work API errors as HTTP 200
/// with a status in the body, Diretrix 400 for unknown numbers, C2S 404 "Lead
/// not found", 422 for a bad hook_action.
///
/// Admin API (JSON):
///   GET  /__admin/journal            every call, every note posted, leads created, subscriptions
///   POST /__admin/reset              forget the journal
///   GET  /__admin/faults             faults of each provider
///   PUT  /__admin/faults/{provider}  set faults of c2s | diretrix | work_api:
///        {"latency_ms", "jitter_ms", "error_rate", "timeout_rate", "timeout_ms",
///         "rate_limit_rate", "retry_after_secs", "malformed_rate", "quota_after",
///         "token_invalid", "fail_next", "rate_limit_next", "lose_answer_next",
///         "webhook_drop_rate" (c2s: share of webhook events never delivered),
///         "knows_nobody" (every lookup answers not found)}
///   GET  /__admin/leads              the leads with their kind and the CPF behind them
///   POST /__admin/deliver            deliver C2S webhooks for the leads:
///        {"url", "action", "lead_ids", "duplicates", "concurrency",
///         "header_name", "header_value", "batch"}
///
/// After posting a note, leads subscribed with on_update_lead receive an update
/// webhook, as C2S does.
#[derive(Debug, Parser)]
#[command(name = "c2s-sim", version)]
struct Args {
    /// Seed of the synthetic population.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of C2S leads (the population has about twice as many people).
    #[arg(long, default_value_t = 100)]
    leads: usize,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Latency added to every provider answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Random extra latency, 0..=N milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Share of calls (0..1) answered 503, for every provider.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// The Work API reports exhausted credits after N calls.
    #[arg(long)]
    work_quota: Option<u64>,
    /// Header sent with the webhooks the sandbox fires by itself, as NAME:VALUE
    /// (the shared secret of the C2S dashboard), e.g. x-webhook-token:s3cret.
    #[arg(long, value_name = "NAME:VALUE")]
    hook_header: Option<String>,
    /// Synthetic world: `classic`, or `labelled` (families and leads with
    /// production's confounders — household phones, shared and recycled
    /// numbers, nicknames, married names, typos — the truth in /__admin/leads).
    #[arg(long, value_enum, default_value_t = c2s_sim::World::Classic)]
    world: c2s_sim::World,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut faults: HashMap<String, Faults> = HashMap::new();
    for p in PROVIDERS {
        faults.insert(
            p.to_owned(),
            Faults {
                latency_ms: args.latency_ms,
                jitter_ms: args.jitter_ms,
                error_rate: args.error_rate,
                quota_after: if p == "work_api" {
                    args.work_quota
                } else {
                    None
                },
                ..Faults::default()
            },
        );
    }
    let config = SimConfig {
        seed: args.seed,
        leads: args.leads,
        port: args.port,
        faults,
        world: args.world,
        ..SimConfig::default()
    };
    let sim = c2s_sim::start(config).await?;
    println!(
        "c2s-sim listening on {} ({} leads, seed {})",
        sim.base_url(),
        args.leads,
        args.seed
    );
    println!("# configuration for c2s-enrich:");
    for (k, v) in sim.env() {
        println!("{k}={v}");
    }
    println!("# admin: {}/__admin/journal, /__admin/leads, /__admin/faults/{{provider}}, /__admin/deliver", sim.base_url());
    tokio::signal::ctrl_c().await?;
    sim.stop().await;
    Ok(())
}
