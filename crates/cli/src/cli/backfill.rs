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
    /// Leads created from: a date (midnight in São Paulo), RFC 3339, or a span back (30d).
    #[arg(long)]
    since: String,
    /// Leads created before (default: now).
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
        self.bar.set_message(format!(
            "{} enriched, {} notes, {spent} credits",
            report.enriched, report.notes_posted
        ));
    }
}

pub(super) async fn run(config: &Config, args: &Args) -> anyhow::Result<()> {
    let since = parse_since(&args.since)?;
    let until = args.until.as_deref().map(parse_since).transpose()?;
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
        let flag = stop.clone();
        let ctrl_c = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\nstopping after the lead in hand (run it again to continue) …");
                flag.store(true, Ordering::SeqCst);
            }
        });
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

fn print_report(r: &BackfillReport, o: &BackfillOptions, max: Option<i64>, spent: i64) {
    println!(
        "{} leads listed ({} pages); {} completed before",
        r.listed, r.pages, r.already_done
    );
    if o.dry_run {
        let credits = r.lookups_needed + r.dossiers_about;
        println!(
            "would spend about {credits} credits: at most {} paid lookups (each contact once per source, less what the ledger already answers) and about {} dossiers (one per distinct pair of contacts){}",
            r.lookups_needed,
            r.dossiers_about,
            max.map(|m| format!("; --max-credits {m} stops it there")).unwrap_or_default()
        );
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
