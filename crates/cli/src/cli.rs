//! Command-line interface: one subcommand per job an operator runs.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use c2s_enrich::config::Config;
use c2s_enrich::db::Database;

#[cfg(feature = "lab")]
mod lab;
#[cfg(feature = "lab")]
use lab::{BenchArgs, ChaosArgs, IdentityWeightsArgs, SynthArgs};
mod backfill;
mod database;
mod ops;
mod subject;
mod user;
use database::{db_stop, db_url, migrate, DbUrlArgs, MigrateArgs};
use ops::{
    apikey_command, archive, audit_command, dq, erase_command, jobs_command, maintenance, prune,
    sync_command, webhooks,
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
    #[cfg(feature = "lab")]
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
        /// How long to wait for the run to start (another run of the lead may
        /// hold it); one that cannot start stays queued for the workers, one
        /// under way is waited for.
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        wait_secs: u64,
    },
    /// Subscribe (or unsubscribe) a URL to the three C2S webhook actions.
    Webhooks(WebhooksArgs),
    #[cfg(feature = "lab")]
    /// Fill an empty database with synthetic customers shaped like production
    /// (the seed report's counts at scale 1.0: 1.5 M people, …) using COPY.
    Synth(SynthArgs),
    #[cfg(feature = "lab")]
    /// Run the benchmarks (pipeline overhead, throughput, storage vs COPY,
    /// hardening at scale, lookup API, memory, cost) and write the tables.
    ///
    /// Build with --release for real figures. Each benchmark works in its own
    /// scratch databases on the configured server, dropped afterwards.
    Bench(BenchArgs),
    #[cfg(feature = "lab")]
    /// Estimate the identity model's m/u from the sandbox's labelled world
    /// and write them (the committed `identity_weights.json` came from this).
    IdentityWeights(IdentityWeightsArgs),
    #[cfg(feature = "lab")]
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
    /// The data subject's requests (LGPD): export what is held about a
    /// person, correct a field, block or unblock them, list the request
    /// register with its deadlines.
    #[command(subcommand)]
    Subject(subject::SubjectCommand),
    /// The operator console's logins: add, list, disable.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Write the record of processing operations (LGPD art. 37) as Markdown,
    /// from the configuration in use and the code's facts.
    Ropa {
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Erase a person (LGPD): their records, snapshots, lead links, cached
    /// provider answers; relatives and shared addresses stay.
    Erase {
        /// The person's CPF.
        cpf: String,
    },
    /// Reconcile with C2S now: list the leads updated since a time and
    /// enqueue every one the service never heard of (or whose contacts
    /// changed), as the scheduled sweep does — a lead already known is left
    /// alone, so running it twice enqueues nothing new.
    Sync {
        /// From when: a date (2026-11-01, midnight in São Paulo), RFC 3339, or a span back from now (90m, 24h, 7d).
        #[arg(long)]
        since: String,
    },
    /// Enrich historical C2S leads (created in a window) under a credit
    /// limit, in this process, one lead at a time, with a progress bar. Paid
    /// calls are charged to the back-fill's share of the budgets
    /// (`BUDGET_BACKFILL_SHARE`) and to `--max-credits`; a contact or person
    /// already paid for costs nothing again. Stopped (Ctrl-C, the limit), it
    /// continues where it stopped when run again with the same window.
    Backfill(backfill::Args),
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
            #[cfg(feature = "lab")]
            Command::Demo { .. }
            | Command::Bench(_)
            | Command::Chaos(_)
            | Command::IdentityWeights(_)
            | Command::Synth(_) => "warn,sqlx=error",
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

pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command {
        Command::Migrate(args) => migrate(&config, &args).await,
        Command::DbUrl(args) => db_url(&config, &args).await,
        Command::DbStop => db_stop(&config).await,
        #[cfg(feature = "lab")]
        Command::Demo { keep_running } => lab::demo(&config, keep_running).await,
        Command::Serve {
            no_worker,
            concurrency,
            lease_secs,
            allow_unsigned_webhooks,
        } => {
            c2s_enrich::app::check_webhook_signing(&config, allow_unsigned_webhooks)?;
            let database = Database::open(&config.database).await?;
            let result =
                c2s_enrich::app::serve(&config, &database.pool, no_worker, concurrency, lease_secs)
                    .await;
            database.close().await?;
            result
        }
        Command::Worker {
            concurrency,
            lease_secs,
        } => worker_command(&config, concurrency, lease_secs).await,
        Command::Enrich { lead_id, wait_secs } => {
            enrich_command(&config, &lead_id, wait_secs).await
        }
        Command::Archive(cmd) => archive(&config, &cmd).await,
        Command::Jobs(cmd) => jobs_command(&config, &cmd).await,
        Command::Apikey(cmd) => apikey_command(&config, &cmd).await,
        Command::Audit { since } => audit_command(&config, &since).await,
        Command::Sync { since } => sync_command(&config, &since).await,
        Command::Backfill(args) => backfill::run(&config, &args).await,
        Command::Erase { cpf } => erase_command(&config, &cpf).await,
        Command::Subject(cmd) => subject::run(&config, &cmd).await,
        Command::Ropa { out } => subject::ropa(&config, out.as_deref()),
        Command::User(cmd) => user::run(&config, &cmd).await,
        Command::Dq { json } => dq(&config, json).await,
        Command::Prune { dry_run, json } => prune(&config, dry_run, json).await,
        Command::Maintenance {
            vacuum,
            analyze,
            json,
        } => maintenance(&config, vacuum, analyze, json).await,
        #[cfg(feature = "lab")]
        Command::Synth(args) => lab::synth(&config, &args).await,
        #[cfg(feature = "lab")]
        Command::Bench(args) => lab::bench(&config, &args).await,
        #[cfg(feature = "lab")]
        Command::IdentityWeights(args) => lab::identity_weights(&args),
        #[cfg(feature = "lab")]
        Command::Chaos(args) => lab::chaos(&config, &args).await,
        Command::Webhooks(args) => webhooks(&config, &args.action).await,
    }
}

async fn worker_command(
    config: &Config,
    concurrency: usize,
    lease_secs: u64,
) -> anyhow::Result<()> {
    let database = Database::open(&config.database).await?;
    let result = c2s_enrich::app::work(config, &database.pool, concurrency, lease_secs).await;
    database.close().await?;
    result
}

async fn enrich_command(config: &Config, lead_id: &str, wait_secs: u64) -> anyhow::Result<()> {
    c2s_enrich::domain::lead::LeadId::parse(lead_id).context("the lead id")?;
    let database = Database::open(&config.database).await?;
    let wait = std::time::Duration::from_secs(wait_secs);
    let result = c2s_enrich::app::enrich_one(config, &database.pool, lead_id, wait).await;
    database.close().await?;
    result
}
