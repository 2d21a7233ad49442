//! Command-line interface: one subcommand per job an operator runs.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;

use crate::config::{mask_database_url, Config};
use crate::db::{self, Database};
use crate::embedded_pg::EmbeddedPostgres;

mod ops;
use ops::{
    apikey_command, archive, audit_command, dq, erase_command, jobs_command, maintenance, prune,
    webhooks,
};

/// c2s-enrich — turns Contact2Sale leads into known people.
///
/// Without DATABASE_URL (or DB_URL) every command uses a private PostgreSQL
/// cluster under ./.c2s-enrich/pg, started on demand with the PostgreSQL
/// binaries installed on this machine.
#[derive(Debug, Parser)]
#[command(name = "c2s-enrich", version, propagate_version = true)]
pub struct Cli {
    /// Optional TOML configuration file (environment variables override it).
    #[arg(long, global = true, env = "C2S_ENRICH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the database migrations (or revert some with --down).
    Migrate(MigrateArgs),
    /// Print the database URL (password masked) so you can `psql` into it.
    ///
    /// For the embedded cluster the server is started if needed and left
    /// running; stop it with `c2s-enrich db-stop`.
    DbUrl(DbUrlArgs),
    /// Stop the embedded PostgreSQL cluster if it is running.
    DbStop,
    /// The main job, with no configuration: embedded PostgreSQL, the provider
    /// sandbox in-process, the API and workers, ~20 leads delivered by webhook,
    /// a per-lead report. Exits 0 when every lead reached its final state.
    Demo {
        /// Keep the API running after the report (Ctrl-C to stop).
        #[arg(long)]
        keep_running: bool,
    },
    /// Run the HTTP API and the workers until SIGTERM/Ctrl-C.
    Serve {
        /// Only the API (workers run elsewhere).
        #[arg(long)]
        no_worker: bool,
        /// Jobs processed at the same time.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Job lease in seconds: a killed process's jobs are taken over after it.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(2..=3600))]
        lease_secs: u64,
        /// Accept C2S webhooks without `WEBHOOK_SECRET` (anyone who reaches
        /// the port could then forge deliveries): a warning at every start and
        /// on the status page. Without it, `serve` refuses to start unsigned.
        #[arg(long)]
        allow_unsigned_webhooks: bool,
    },
    /// Run only the workers until SIGTERM/Ctrl-C.
    Worker {
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Job lease in seconds: a killed worker's job is taken over after it.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(2..=3600))]
        lease_secs: u64,
    },
    /// Enrich one lead now and print the outcome and the note.
    Enrich {
        /// The C2S lead id (32 hex characters).
        lead_id: String,
    },
    /// Subscribe (or unsubscribe) a URL to the three C2S webhook actions.
    Webhooks(WebhooksArgs),
    /// Fill an empty database with synthetic customers shaped like production
    /// (the seed report's counts at scale 1.0: 1.5 M people, …) using COPY.
    Synth(SynthArgs),
    /// Run the benchmarks (pipeline overhead, throughput, storage vs COPY,
    /// hardening at scale, lookup API, memory, cost) and write the tables.
    ///
    /// Build with --release for real figures. Each benchmark works in its own
    /// scratch databases on the configured server, dropped afterwards.
    Bench(BenchArgs),
    /// Estimate the identity model's m/u from the sandbox's labelled world
    /// and write them (the committed `identity_weights.json` came from this).
    IdentityWeights(IdentityWeightsArgs),
    /// The reliability harness: crash, two instances, provider faults,
    /// database loss — each checks every lead ends with exactly one note.
    Chaos(ChaosArgs),
    /// Routine maintenance, online: VACUUM (never FULL) and ANALYZE of every
    /// table, biggest first, skipping a table autovacuum is working on.
    /// Without --vacuum or --analyze it only reports live and dead rows.
    /// Reclaiming a bloated table's space is in the runbook.
    Maintenance {
        /// VACUUM each table (dead rows become reusable space; no lock on
        /// reads or writes).
        #[arg(long)]
        vacuum: bool,
        /// ANALYZE each table (fresh planner statistics).
        #[arg(long)]
        analyze: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Apply the retention policy now (`RETENTION_*_DAYS`): old jobs,
    /// webhook payloads, provider answers past their cache life, snapshots,
    /// audit rows, Google Ads answers, finished leads' note texts. The workers
    /// also do it every `PRUNE_INTERVAL_SECS`.
    Prune {
        /// Count what would go; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Data-quality report; exits non-zero when a hard check fails.
    Dq {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Erase a person (LGPD): their records, snapshots, lead links, cached
    /// provider answers; relatives and shared addresses stay.
    Erase {
        /// The person's CPF.
        cpf: String,
    },
    /// Who read personal data through the API, and when.
    Audit {
        /// From when: RFC 3339 (2026-11-24T00:00:00Z) or a span back from now (90m, 24h, 7d).
        #[arg(long, default_value = "24h")]
        since: String,
    },
    /// API keys for the HTTP API: create (shown once), list, revoke.
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// The durable job queue: list jobs, re-queue dead ones.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Rows the hardening archived (duplicates, orphans, invalid phones).
    #[command(subcommand)]
    Archive(ArchiveCommand),
}

impl Command {
    /// The log filter when `RUST_LOG` is not set. The lab commands a person
    /// watches (`demo`, `bench`, `chaos`, `synth`, `identity-weights`) print
    /// their own progress and results: their log shows only warnings and
    /// errors. The service and the operator commands log at `info`.
    pub fn default_log_filter(&self) -> &'static str {
        match self {
            Command::Demo { .. }
            | Command::Bench(_)
            | Command::Chaos(_)
            | Command::Synth(_)
            | Command::IdentityWeights(_) => "warn,sqlx=error",
            _ => "info,sqlx=warn",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct WebhooksArgs {
    #[command(subcommand)]
    pub action: WebhooksAction,
}

#[derive(Debug, Subcommand)]
pub enum WebhooksAction {
    /// `POST /integration/leads/subscribe` once per action (create, update, close).
    Subscribe {
        /// The public URL of this service's `POST /api/v1/webhooks/c2s`.
        #[arg(long)]
        url: String,
    },
    /// `POST /integration/leads/unsubscribe` once per action.
    Unsubscribe {
        #[arg(long)]
        url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApikeyCommand {
    /// Create a key and print it once (only its hash is stored).
    Create {
        /// Who uses it (e.g. make-com, operations).
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: enrich, read:pii, admin.
        #[arg(long, value_delimiter = ',', required = true)]
        scope: Vec<String>,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke the active key with this name.
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first.
    List {
        /// Only jobs in this state: queued, running, done, dead.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Re-queue one dead (or done) job with fresh attempts.
    Retry { id: i64 },
    /// Re-queue every dead job.
    RequeueDead,
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Count archived rows per table and reason.
    List,
    /// Put archived rows back (needs the unique keys reverted: `migrate --down 4`).
    Restore {
        /// Only rows archived for this reason (duplicate, duplicate_e164, orphan, invalid_phone).
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// Revert every migration newer than VERSION (0 reverts all that can be reverted).
    #[arg(long, value_name = "VERSION")]
    pub down: Option<i64>,
    /// Only list the migrations and whether each is applied.
    #[arg(long, conflicts_with = "down")]
    pub status: bool,
    /// Change nothing: say what the hardening would do to this database
    /// (columns to add, type differences, rows per rule, constraints and
    /// indexes to build, a time estimate). Exits non-zero only when the
    /// database cannot be hardened as it is, saying why.
    #[arg(long, conflicts_with_all = ["down", "status"])]
    pub plan: bool,
    /// With --plan: print the plan as JSON.
    #[arg(long, requires = "plan")]
    pub json: bool,
    /// How long one statement may wait for a table lock before giving way to
    /// traffic and retrying (milliseconds).
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub lock_timeout_ms: u64,
}

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

#[derive(Debug, clap::Args)]
pub struct DbUrlArgs {
    /// Print the password in clear (for scripts feeding psql).
    #[arg(long)]
    pub show_password: bool,
}

/// Runs the parsed command line.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command {
        Command::Migrate(args) => migrate(&config, &args).await,
        Command::DbUrl(args) => db_url(&config, &args).await,
        Command::DbStop => db_stop(&config).await,
        Command::Demo { keep_running } => demo(&config, keep_running).await,
        Command::Serve {
            no_worker,
            concurrency,
            lease_secs,
            allow_unsigned_webhooks,
        } => {
            crate::app::check_webhook_signing(&config, allow_unsigned_webhooks)?;
            let database = Database::open(&config.database).await?;
            let result =
                crate::app::serve(&config, &database.pool, no_worker, concurrency, lease_secs)
                    .await;
            database.close().await?;
            result
        }
        Command::Worker {
            concurrency,
            lease_secs,
        } => {
            let database = Database::open(&config.database).await?;
            let result = crate::app::work(&config, &database.pool, concurrency, lease_secs).await;
            database.close().await?;
            result
        }
        Command::Enrich { lead_id } => {
            crate::domain::lead::LeadId::parse(&lead_id).context("the lead id")?;
            let database = Database::open(&config.database).await?;
            let result = crate::app::enrich_one(&config, &database.pool, &lead_id).await;
            database.close().await?;
            result
        }
        Command::Archive(cmd) => archive(&config, &cmd).await,
        Command::Jobs(cmd) => jobs_command(&config, &cmd).await,
        Command::Apikey(cmd) => apikey_command(&config, &cmd).await,
        Command::Audit { since } => audit_command(&config, &since).await,
        Command::Erase { cpf } => erase_command(&config, &cpf).await,
        Command::Dq { json } => dq(&config, json).await,
        Command::Prune { dry_run, json } => prune(&config, dry_run, json).await,
        Command::Maintenance {
            vacuum,
            analyze,
            json,
        } => maintenance(&config, vacuum, analyze, json).await,
        Command::Synth(args) => synth(&config, &args).await,
        Command::Bench(args) => bench(&config, &args).await,
        Command::IdentityWeights(args) => identity_weights(&args),
        Command::Chaos(args) => chaos(&config, &args).await,
        Command::Webhooks(args) => webhooks(&config, &args.action).await,
    }
}

async fn chaos(config: &Config, args: &ChaosArgs) -> anyhow::Result<()> {
    use ChaosScenario as S;
    anyhow::ensure!(
        (1..=5000).contains(&args.leads),
        "--leads must be 1 to 5000"
    );
    let scenarios = if args.scenarios.is_empty() {
        vec![S::Crash, S::TwoInstances, S::Faults, S::DbLoss, S::Forged]
    } else {
        args.scenarios.clone()
    };
    let options = crate::chaos::ChaosOptions {
        leads: args.leads,
        outage: std::time::Duration::from_secs(args.outage_secs),
        seed: 42,
    };
    let database = Database::open(&config.database).await?;
    let server = crate::bench::support::Server {
        admin: database.sibling_url("postgres"),
        keep: false,
    };
    let mut outcomes = Vec::new();
    let mut failed = Vec::new();
    for s in scenarios {
        let name = format!("{s:?}");
        eprintln!("[chaos] {name}: {} leads", args.leads);
        let result = match s {
            S::Crash => crate::chaos::crash(&server, &options).await,
            S::TwoInstances => crate::chaos::two_instances(&server, &options).await,
            S::SlowProvider => crate::chaos::slow_provider(&server, &options).await,
            S::Forged => crate::chaos::forged(&server, &options).await,
            S::Faults => crate::chaos::faults(&server, &options).await,
            S::DbLoss => {
                let dir = std::env::temp_dir().join(format!("c2s-chaos-pg-{}", std::process::id()));
                let r = crate::chaos::db_loss(&options, &dir, &config.database.embedded_user).await;
                let _ = std::fs::remove_dir_all(&dir);
                r
            }
        };
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

async fn bench(config: &Config, args: &BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.scale > 0.0 && args.scale <= 10.0,
        "--scale must be in (0, 10]"
    );
    let database = Database::open(&config.database).await?;
    let server = crate::bench::support::Server {
        admin: database.sibling_url("postgres"),
        keep: args.keep,
    };
    let options = crate::bench::BenchOptions {
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
    let result = crate::bench::run(&server, &database.pool, &options).await;
    if let Err(e) = server.cleanup().await {
        eprintln!("could not drop the scratch databases: {e:#}");
    }
    database.close().await?;
    let report = result?;
    println!("{}", crate::bench::markdown(&report));
    println!(
        "written: {} and {}",
        args.markdown.display(),
        args.json.display()
    );
    Ok(())
}

fn identity_weights(args: &IdentityWeightsArgs) -> anyhow::Result<()> {
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
        crate::bench::identity::estimate_explained(args.seed, args.leads, &command, args.explain);
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

async fn synth(config: &Config, args: &SynthArgs) -> anyhow::Result<()> {
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
                let exists: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
                )
                .bind(name)
                .fetch_one(&database.pool)
                .await?;
                anyhow::ensure!(!exists, "database {name} already exists; choose a new name");
                crate::db::ensure_database(&database.sibling_url("postgres"), name).await?;
                Some(crate::db::connect_pool(&database.sibling_url(name), 4).await?)
            }
            None => None,
        };
        let pool = target.as_ref().unwrap_or(&database.pool);
        let options = crate::synth::SynthOptions {
            scale: args.scale,
            legacy: args.legacy,
            seed: args.seed,
            progress: !args.json,
        };
        let report = crate::synth::run(pool, &options).await?;
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

async fn migrate(config: &Config, args: &MigrateArgs) -> anyhow::Result<()> {
    let database = Database::open(&config.database).await?;
    let result = migrate_with(&database, args, config.financial_period.clone()).await;
    database.close().await?;
    result
}

async fn migrate_with(
    database: &Database,
    args: &MigrateArgs,
    financial_period: Option<(String, Option<String>)>,
) -> anyhow::Result<()> {
    let pool = &database.pool;
    if args.status {
        return print_status(pool).await;
    }
    if args.plan {
        let plan = crate::plan::plan(pool, financial_period.as_ref()).await?;
        let mut out = std::io::stdout().lock();
        if args.json {
            serde_json::to_writer_pretty(&mut out, &plan)?;
            writeln!(out)?;
        } else {
            write!(out, "{}", plan.render())?;
        }
        if !plan.blockers.is_empty() {
            anyhow::bail!(
                "the database cannot be hardened as it is: {}",
                plan.blockers.join("; ")
            );
        }
        return Ok(());
    }
    let options = crate::migrate::MigrateOptions {
        lock_timeout: std::time::Duration::from_millis(args.lock_timeout_ms.max(1)),
        financial_period,
        ..Default::default()
    };
    match args.down {
        Some(target) => {
            tracing::info!(target, database = %database.masked_url(), "reverting migrations");
            crate::migrate::down(pool, target, &options).await?;
        }
        None => {
            tracing::info!(database = %database.masked_url(), "applying migrations");
            crate::migrate::up(pool, &options).await?;
        }
    }
    print_status(pool).await
}

async fn print_status(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for m in db::migration_status(pool).await? {
        let state = if m.applied { "applied" } else { "pending" };
        writeln!(out, "{:>4}  {:<8} {}", m.version, state, m.name)?;
    }
    Ok(())
}

async fn db_url(config: &Config, args: &DbUrlArgs) -> anyhow::Result<()> {
    let url = match &config.database.url {
        Some(url) => url.clone(),
        None => {
            let pg = db::start_embedded(&config.database).await?;
            db::ensure_database(&pg.url("postgres"), db::EMBEDDED_DATABASE).await?;
            let url = pg.url(db::EMBEDDED_DATABASE);
            eprintln!(
                "embedded PostgreSQL is running (data: {}); stop it with `c2s-enrich db-stop`",
                pg.data_dir().display()
            );
            pg.detach();
            url
        }
    };
    let shown = if args.show_password {
        url.expose_secret().to_owned()
    } else {
        mask_database_url(&url)
    };
    println!("{shown}");
    Ok(())
}

async fn db_stop(config: &Config) -> anyhow::Result<()> {
    if config.database.url.is_some() {
        anyhow::bail!("DATABASE_URL is set: there is no embedded PostgreSQL to stop");
    }
    let options = db::embedded_options(&config.database);
    let stopped = tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
        match EmbeddedPostgres::attach(&options)? {
            Some(pg) => {
                pg.stop()?;
                Ok(true)
            }
            None => Ok(false),
        }
    })
    .await
    .context("db-stop task")??;
    eprintln!(
        "{}",
        if stopped {
            "embedded PostgreSQL stopped"
        } else {
            "embedded PostgreSQL was not running"
        }
    );
    Ok(())
}

async fn demo(config: &Config, keep_running: bool) -> anyhow::Result<()> {
    let database = Database::open(&config.database).await?;
    // The demo never touches real data: its own database on the same server,
    // recreated on every run so the demo can be run again and again.
    let demo_url = database.sibling_url(DEMO_DATABASE);
    let result = async {
        db::recreate_database(&database.sibling_url("postgres"), DEMO_DATABASE)
            .await
            .context("creating the demo database (needs CREATEDB on the server)")?;
        let pool = db::connect_pool(&demo_url, 10).await?;
        let result = crate::demo::run(&pool, &mask_database_url(&demo_url), keep_running).await;
        pool.close().await;
        result
    }
    .await;
    database.close().await?;
    result
}

/// The database the demo creates and uses on the configured server.
const DEMO_DATABASE: &str = "c2s_enrich_demo";
