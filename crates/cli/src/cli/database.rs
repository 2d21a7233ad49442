//! The database commands: `migrate` (with `--status`, `--plan`, `--down`),
//! `db-url`, `db-stop`.

use std::io::Write;

use anyhow::Context;
use secrecy::ExposeSecret;

use c2s_enrich::config::{mask_database_url, Config};
use c2s_enrich::db::embedded_pg::EmbeddedPostgres;
use c2s_enrich::db::{self, Database};

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
pub struct DbUrlArgs {
    /// Print the password in clear (for scripts feeding psql).
    #[arg(long)]
    pub show_password: bool,
}

/// Runs the parsed command line.
pub(super) async fn migrate(config: &Config, args: &MigrateArgs) -> anyhow::Result<()> {
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
        let plan = c2s_enrich::db::plan::plan(pool, financial_period.as_ref()).await?;
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
    let options = c2s_enrich::db::migrate::MigrateOptions {
        lock_timeout: std::time::Duration::from_millis(args.lock_timeout_ms.max(1)),
        financial_period,
        ..Default::default()
    };
    match args.down {
        Some(target) => {
            tracing::info!(target, database = %database.masked_url(), "reverting migrations");
            c2s_enrich::db::migrate::down(pool, target, &options).await?;
        }
        None => {
            tracing::info!(database = %database.masked_url(), "applying migrations");
            c2s_enrich::db::migrate::up(pool, &options).await?;
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

pub(super) async fn db_url(config: &Config, args: &DbUrlArgs) -> anyhow::Result<()> {
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

pub(super) async fn db_stop(config: &Config) -> anyhow::Result<()> {
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
