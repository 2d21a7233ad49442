//! The lab's commands (`demo`, `bench`, `chaos`, `synth`, `identity-weights`):
//! they come from the lab crate (which drives the provider sandbox), so they exist only with the `lab` feature
//! (on by default; the production image builds without it and never links
//! the sandbox — ADR 0001).

use std::path::PathBuf;

use anyhow::Context;

use c2s_enrich::config::{mask_database_url, Config};
use c2s_enrich::db::{self, Database};

#[derive(Debug, clap::Args)]
pub struct ChaosArgs {
    /// Scenarios to run (default: all, in this order).
    #[arg(value_enum)]
    pub scenarios: Vec<ChaosScenario>,
    /// Leads in each burst.
    #[arg(long, default_value_t = 500)]
    pub leads: usize,
    /// Length of the Work API outage in the `faults` scenario.
    #[arg(long, default_value_t = 60)]
    pub outage_secs: u64,
    /// Write the outcomes as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChaosScenario {
    Crash,
    TwoInstances,
    Faults,
    DbLoss,
    /// Every provider answers after 12 s; not in the default set (about 90 s
    /// per 16 leads): run it by name.
    SlowProvider,
    /// Unsigned, wrong-secret, oversized, 1,000-event and malformed webhook
    /// deliveries (`--leads / 10` of each).
    Forged,
    /// C2S silently drops 30 % of its webhook deliveries and the service is
    /// killed mid-burst with no re-delivery: the reconciliation sweep must
    /// bring every lead to one note within two sweep periods.
    MissedWebhooks,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Scale of the synthetic database for the hardening and lookup benchmarks.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Small sizes everywhere (a smoke run of every benchmark in about a minute).
    #[arg(long)]
    pub quick: bool,
    /// Only these benchmarks, e.g. `--only 1,6` (1 pipeline, 2 throughput and
    /// storage, 3 hardening, 4 lookup, 5 memory, 6 cost, 7 identity). With
    /// only 7, its section of the Markdown file is replaced and the rest kept.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u8).range(1..=7))]
    pub only: Vec<u8>,
    /// Where to write the Markdown tables.
    #[arg(long, default_value = "docs/benchmarks.md", value_name = "FILE")]
    pub markdown: PathBuf,
    /// Where to write the JSON results.
    #[arg(long, default_value = "docs/benchmarks.json", value_name = "FILE")]
    pub json: PathBuf,
    /// Keep the scratch databases (for inspection).
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, clap::Args)]
pub struct IdentityWeightsArgs {
    /// Seed of the labelled world (the identity benchmark uses another).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Labelled leads to learn from.
    #[arg(long, default_value_t = 5000)]
    pub leads: usize,
    /// Where to write the estimates (JSON).
    #[arg(
        long,
        default_value = "crates/enricher/src/domain/identity_weights.json",
        value_name = "FILE"
    )]
    pub write: PathBuf,
    /// Also print (stderr) the relatives the model must tell from the lead:
    /// counts by lead kind and agreement levels.
    #[arg(long)]
    pub explain: bool,
}

pub(super) async fn chaos(config: &Config, args: &ChaosArgs) -> anyhow::Result<()> {
    use ChaosScenario as S;
    anyhow::ensure!(
        (1..=5000).contains(&args.leads),
        "--leads must be 1 to 5000"
    );
    let scenarios = if args.scenarios.is_empty() {
        vec![
            S::Crash,
            S::TwoInstances,
            S::Faults,
            S::DbLoss,
            S::Forged,
            S::MissedWebhooks,
        ]
    } else {
        args.scenarios.clone()
    };
    let options = c2s_lab::chaos::ChaosOptions {
        leads: args.leads,
        outage: std::time::Duration::from_secs(args.outage_secs),
        seed: 42,
    };
    let database = Database::open(&config.database).await?;
    let server = c2s_lab::bench::support::Server {
        admin: database.sibling_url("postgres"),
        keep: false,
    };
    let mut outcomes = Vec::new();
    let mut failed = Vec::new();
    for s in scenarios {
        let name = format!("{s:?}");
        eprintln!("[chaos] {name}: {} leads", args.leads);
        let result = run_scenario(s, config, &server, &options).await;
        match result {
            Ok(o) => {
                println!(
                    "PASS {name}: {} leads, {} notes, {:.1} provider calls per lead, {:.1} s; {:?}",
                    o.leads, o.notes, o.calls_per_lead, o.seconds, o.details
                );
                outcomes.push(o);
            }
            Err(e) => {
                println!("FAIL {name}: {e:#}");
                failed.push(name);
            }
        }
    }
    if let Err(e) = server.cleanup().await {
        eprintln!("could not drop the scratch databases: {e:#}");
    }
    database.close().await?;
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&outcomes)?)?;
    }
    anyhow::ensure!(
        failed.is_empty(),
        "chaos scenarios failed: {}",
        failed.join(", ")
    );
    Ok(())
}

/// One drill.
async fn run_scenario(
    s: ChaosScenario,
    config: &Config,
    server: &c2s_lab::bench::support::Server,
    options: &c2s_lab::chaos::ChaosOptions,
) -> anyhow::Result<c2s_lab::chaos::Outcome> {
    use ChaosScenario as S;
    match s {
        S::Crash => c2s_lab::chaos::crash(server, options).await,
        S::TwoInstances => c2s_lab::chaos::two_instances(server, options).await,
        S::SlowProvider => c2s_lab::chaos::slow_provider(server, options).await,
        S::Forged => c2s_lab::chaos::forged(server, options).await,
        S::MissedWebhooks => c2s_lab::chaos::missed_webhooks(server, options).await,
        S::Faults => c2s_lab::chaos::faults(server, options).await,
        S::DbLoss => {
            let dir = std::env::temp_dir().join(format!("c2s-chaos-pg-{}", std::process::id()));
            let r = c2s_lab::chaos::db_loss(options, &dir, &config.database.embedded_user).await;
            let _ = std::fs::remove_dir_all(&dir);
            r
        }
    }
}

pub(super) async fn bench(config: &Config, args: &BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.scale > 0.0 && args.scale <= 10.0,
        "--scale must be in (0, 10]"
    );
    let database = Database::open(&config.database).await?;
    let server = c2s_lab::bench::support::Server {
        admin: database.sibling_url("postgres"),
        keep: args.keep,
    };
    let options = c2s_lab::bench::BenchOptions {
        scale: args.scale,
        quick: args.quick,
        only: args.only.clone(),
        markdown: Some(args.markdown.clone()),
        json: Some(args.json.clone()),
        keep: args.keep,
        command: std::iter::once("c2s-enrich".to_owned())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
    };
    let result = c2s_lab::bench::run(&server, &database.pool, &options).await;
    if let Err(e) = server.cleanup().await {
        eprintln!("could not drop the scratch databases: {e:#}");
    }
    database.close().await?;
    let report = result?;
    println!("{}", c2s_lab::bench::markdown(&report));
    println!(
        "written: {} and {}",
        args.markdown.display(),
        args.json.display()
    );
    Ok(())
}

pub(super) fn identity_weights(args: &IdentityWeightsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (100..=100_000).contains(&args.leads),
        "--leads must be 100 to 100000"
    );
    let command = format!(
        "c2s-enrich identity-weights --seed {} --leads {}",
        args.seed, args.leads
    );
    eprintln!(
        "estimating m/u from {} labelled leads (seed {})…",
        args.leads, args.seed
    );
    let w =
        c2s_lab::bench::identity::estimate_explained(args.seed, args.leads, &command, args.explain);
    let json = serde_json::to_string_pretty(&w)? + "\n";
    std::fs::write(&args.write, json)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.write.display()))?;
    println!(
        "{} direct and {} relative candidates; priors {:.3} / {:.3}; written to {}",
        w.direct.pairs,
        w.relative.pairs,
        w.direct.prior,
        w.relative.prior,
        args.write.display()
    );
    Ok(())
}

pub(super) async fn demo(config: &Config, keep_running: bool) -> anyhow::Result<()> {
    let database = Database::open(&config.database).await?;
    // The demo never touches real data: its own database on the same server,
    // recreated on every run so the demo can be run again and again.
    let demo_url = database.sibling_url(DEMO_DATABASE);
    let result = async {
        db::recreate_database(&database.sibling_url("postgres"), DEMO_DATABASE)
            .await
            .context("creating the demo database (needs CREATEDB on the server)")?;
        let pool = db::connect_pool(&demo_url, 10).await?;
        let result = c2s_lab::demo::run(&pool, &mask_database_url(&demo_url), keep_running).await;
        pool.close().await;
        result
    }
    .await;
    database.close().await?;
    result
}

/// The database the demo creates and uses on the configured server.
const DEMO_DATABASE: &str = "c2s_enrich_demo";

#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Fraction of production's size (1.0 = 1,536,771 people; 0.01 takes seconds).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// The pre-hardening shape (no constraints, dirty values) for `migrate` to harden.
    #[arg(long)]
    pub legacy: bool,
    /// Same seed, same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Create this new database on the configured server and fill it, instead
    /// of filling the configured (empty) database.
    #[arg(long, value_name = "NAME")]
    pub database: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn synth(config: &Config, args: &SynthArgs) -> anyhow::Result<()> {
    let database = Database::open(&config.database).await?;
    let result = async {
        let target = match &args.database {
            Some(name) => {
                anyhow::ensure!(
                    !name.is_empty()
                        && name.len() <= 63
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "--database must be 1 to 63 letters, digits or underscores"
                );
                let exists = c2s_enrich::db::database_exists(&database.pool, name).await?;
                anyhow::ensure!(!exists, "database {name} already exists; choose a new name");
                c2s_enrich::db::ensure_database(&database.sibling_url("postgres"), name).await?;
                Some(c2s_enrich::db::connect_pool(&database.sibling_url(name), 4).await?)
            }
            None => None,
        };
        let pool = target.as_ref().unwrap_or(&database.pool);
        let options = c2s_lab::synth::SynthOptions {
            scale: args.scale,
            legacy: args.legacy,
            seed: args.seed,
            progress: !args.json,
        };
        let report = c2s_lab::synth::run(pool, &options).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            println!(
                "synth: {} rows in {:.1} s ({:.0} rows/s), {} shape, seed {}{}",
                report.rows,
                report.seconds,
                report.rows_per_second,
                if report.legacy { "legacy" } else { "hardened" },
                report.seed,
                args.database
                    .as_ref()
                    .map(|n| format!(", database {n}"))
                    .unwrap_or_default()
            );
            if report.legacy {
                println!("next: `c2s-enrich migrate` hardens it");
            }
        }
        if let Some(p) = target {
            p.close().await;
        }
        Ok(())
    }
    .await;
    database.close().await?;
    result
}
