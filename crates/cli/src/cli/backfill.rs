//! `c2s-enrich backfill`: historical leads under a credit limit, with a
//! progress bar (`indicatif`: leads done of those listed, ETA, credits spent)
//! and Ctrl-C that stops after the lead in hand.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use c2s_enrich::config::Config;
use c2s_enrich::db::Database;
use c2s_enrich::pipeline::backfill::{self, BackfillOptions, BackfillReport, Notes, Progress};
use c2s_enrich::store::ledger::CreditCap;

use super::ops::parse_since;

/// `backfill`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Leads created from: a date (midnight in São Paulo) or an RFC 3339 time.
    #[arg(long)]
    since: String,
    /// Leads created before: a date or an RFC 3339 time (default: no end).
    #[arg(long)]
    until: Option<String>,
    /// Credits this run may spend at most (default: only the budgets limit it).
    #[arg(long)]
    max_credits: Option<u64>,
    /// Which leads get their note: `open` (not closed won/lost/archived), `none` or `all`.
    #[arg(long, default_value = "open")]
    notes: String,
    /// List the leads and print what it would spend; pay for nothing.
    #[arg(long)]
    dry_run: bool,
}

/// The progress bar: leads dealt with, ETA, and credits this run spent.
struct Bar {
    bar: indicatif::ProgressBar,
    cap: Option<Arc<CreditCap>>,
    /// stderr is a terminal (else the bar hides itself: a line every 100
    /// leads instead, for job runners' logs).
    tty: bool,
}

impl Bar {
    fn new(cap: Arc<CreditCap>) -> Self {
        let style = indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} leads  {elapsed_precise} (ETA {eta})  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        Self {
            bar: indicatif::ProgressBar::new(0).with_style(style),
            cap: Some(cap),
            tty: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        }
    }
}

impl Progress for Bar {
    fn total(&self, leads: u64) {
        self.bar.set_length(leads);
    }

    fn lead_done(&self, report: &BackfillReport) {
        self.bar.inc(1);
        let spent = self.cap.as_ref().map_or(0, |c| c.spent());
        let message = format!(
            "{} enriched, {} notes, {spent} credits",
            report.enriched, report.notes_posted
        );
        let done = self.bar.position();
        if !self.tty && done.is_multiple_of(100) {
            eprintln!("{done} leads dealt with: {message}");
        }
        self.bar.set_message(message);
    }
}

pub(super) async fn run(config: &Config, args: &Args) -> anyhow::Result<()> {
    let since = absolute("--since", &args.since)?;
    let until = args
        .until
        .as_deref()
        .map(|u| absolute("--until", u))
        .transpose()?;
    anyhow::ensure!(
        until.is_none_or(|u| u > since),
        "--until must be later than --since"
    );
    let notes: Notes = args
        .notes
        .parse()
        .map_err(|e| anyhow::anyhow!("--notes {e}"))?;
    let max = args
        .max_credits
        .map(|m| i64::try_from(m).map_err(|_| anyhow::anyhow!("--max-credits is too large")))
        .transpose()?;
    config.require_provider_credentials()?;
    let config = &one_attempt(config);
    let database = Database::open(&config.database).await?;
    let result = async {
        c2s_enrich::app::ensure_migrated(&database.pool).await?;
        // Without --max-credits the budgets alone limit it (an unlimited cap
        // still counts what it spends).
        let cap = Arc::new(CreditCap::new(max.unwrap_or(i64::MAX)));
        let pipeline =
            c2s_enrich::app::pipeline_capped(config, &database.pool, Some(cap.clone())).await?;
        let c2s = c2s_enrich::app::c2s_client(config)?;
        let options = BackfillOptions {
            since,
            until,
            notes,
            dry_run: args.dry_run,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let ctrl_c = on_ctrl_c(stop.clone());
        let progress = Bar::new(cap.clone());
        eprintln!(
            "{} leads created since {}{} …",
            if args.dry_run {
                "estimating"
            } else {
                "back-filling"
            },
            since.to_rfc3339(),
            until
                .map(|u| format!(" until {}", u.to_rfc3339()))
                .unwrap_or_default()
        );
        let report = backfill::run(&pipeline, &c2s, &options, &stop, &progress).await;
        progress.bar.finish_and_clear();
        ctrl_c.abort();
        print_report(&report?, &options, max, cap.spent());
        anyhow::Ok(())
    }
    .await;
    database.close().await?;
    result
}

/// One attempt per paid lookup: each is charged once to `--max-credits`,
/// and a failed attempt (which the provider may have billed) is not
/// repeated behind its back; the lead is tried again by the next run.
fn one_attempt(config: &Config) -> Config {
    let mut config = config.clone();
    config.diretrix.policy.max_retries = 0;
    config.work_api.policy.max_retries = 0;
    config
}

/// The first Ctrl-C raises `stop` (the back-fill ends after the lead in
/// hand); a second quits at once.
fn on_ctrl_c(stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nstopping after the lead in hand (run it again to continue; Ctrl-C again to quit now) …");
            stop.store(true, Ordering::SeqCst);
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    })
}

/// A date or a time — not a span back from now, which would move with the
/// clock and lose the checkpoint of the window between runs.
fn absolute(flag: &str, raw: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    let t = raw.trim();
    let span = t.len() > 1
        && t[..t.len() - 1].chars().all(|c| c.is_ascii_digit())
        && t.ends_with(['m', 'h', 'd']);
    anyhow::ensure!(
        !span,
        "{flag} must be a date (2025-01-01) or a time (RFC 3339), not a span back from now: the window must be the same when the back-fill is run again to continue"
    );
    parse_since(raw).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

fn print_report(r: &BackfillReport, o: &BackfillOptions, max: Option<i64>, spent: i64) {
    if let Some(at) = r.resumed_from {
        println!("continued from the checkpoint {}", at.to_rfc3339());
    }
    println!(
        "{} leads listed ({} pages, {} unreadable); {} completed before",
        r.listed, r.pages, r.unreadable, r.already_done
    );
    if o.dry_run {
        let credits = r.lookups_needed + r.dossiers_about;
        println!(
            "would spend about {credits} credits: at most {} paid lookups (each contact once per source, less what the ledger already answers) and about {} dossiers (one per distinct pair of contacts){}",
            r.lookups_needed,
            r.dossiers_about,
            max.map(|m| format!("; --max-credits {m} stops it there")).unwrap_or_default()
        );
        if let Some(why) = &r.stopped {
            println!("stopped early ({why}): the figures cover the leads listed so far");
        }
        return;
    }
    println!(
        "{} leads run: {} enriched, {} notes posted, {} failed (left for the next run); {spent} credits spent{}",
        r.processed,
        r.enriched,
        r.notes_posted,
        r.failed,
        max.map(|m| format!(" of {m}")).unwrap_or_default()
    );
    match &r.stopped {
        Some(why) => println!("stopped: {why}"),
        None => println!("done: the whole window is back-filled"),
    }
}
