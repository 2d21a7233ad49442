//! Operator commands: webhooks, data quality, erasure, audit, API keys, jobs,
//! archive.

use anyhow::Context;
use secrecy::ExposeSecret;

use super::{ApikeyCommand, ArchiveCommand, JobsCommand, WebhooksAction};
use c2s_enrich::config::Config;
use c2s_enrich::db::Database;

pub(super) async fn webhooks(config: &Config, action: &WebhooksAction) -> anyhow::Result<()> {
    use c2s_enrich::domain::lead::HookAction;
    let client = c2s_enrich::app::c2s_client(config)?;
    let (url, subscribe) = match action {
        WebhooksAction::Subscribe { url } => (url, true),
        WebhooksAction::Unsubscribe { url } => (url, false),
    };
    let parsed = reqwest::Url::parse(url).context("--url must be an absolute http(s) URL")?;
    anyhow::ensure!(
        matches!(parsed.scheme(), "http" | "https"),
        "--url must be an http(s) URL"
    );
    for hook in HookAction::ALL {
        if subscribe {
            client.subscribe(url, hook).await?;
        } else {
            client.unsubscribe(url, hook).await?;
        }
        println!(
            "{} {}",
            if subscribe {
                "subscribed"
            } else {
                "unsubscribed"
            },
            hook.as_str()
        );
    }
    Ok(())
}

pub(super) async fn dq(config: &Config, json: bool) -> anyhow::Result<()> {
    let database = Database::open(&config.database).await?;
    let report = c2s_enrich::ops::dq::run(&database.pool).await;
    database.close().await?;
    let report = report.context("data-quality checks (has `c2s-enrich migrate` run?)")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    if !report.passed() {
        anyhow::bail!("data-quality: hard checks failed");
    }
    Ok(())
}

pub(super) async fn maintenance(
    config: &Config,
    vacuum: bool,
    analyze: bool,
    json: bool,
) -> anyhow::Result<()> {
    let database = Database::open(&config.database).await?;
    let tasks = c2s_enrich::ops::maintenance::Tasks { vacuum, analyze };
    let done = c2s_enrich::ops::maintenance::run(&database.pool, tasks, |i, n, table| {
        eprintln!("[{i}/{n}] {table}");
    })
    .await;
    database.close().await?;
    let done = done.context("maintenance")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&done)?);
        return Ok(());
    }
    println!(
        "{:<40} {:>12} {:>12} {:>12} {:>10}  done",
        "table", "live rows", "dead before", "dead after", "MB"
    );
    for t in &done {
        println!(
            "{:<40} {:>12} {:>12} {:>12} {:>10.1}  {} ({:.1} s)",
            t.table,
            t.live_rows,
            t.dead_rows_before,
            t.dead_rows_after,
            t.bytes as f64 / 1_048_576.0,
            t.done,
            t.secs
        );
    }
    if !vacuum && !analyze {
        println!("(report only: add --vacuum and/or --analyze; reclaiming space is in the runbook, section 12)");
    }
    Ok(())
}

pub(super) async fn prune(config: &Config, dry_run: bool, json: bool) -> anyhow::Result<()> {
    let database = Database::open(&config.database).await?;
    c2s_enrich::app::ensure_migrated(&database.pool).await?;
    let done =
        c2s_enrich::store::retention::prune(&database.pool, &config.retention, dry_run).await;
    database.close().await?;
    let done = done.context("applying the retention policy")?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"dry_run": dry_run, "rules": done}))?
        );
        return Ok(());
    }
    println!(
        "{} (retention policy; RETENTION_*_DAYS, 0 keeps for ever)",
        if dry_run { "would prune" } else { "pruned" }
    );
    for p in &done {
        let age = match (p.kept_for_ever, p.older_than_days) {
            (true, _) => "kept for ever".to_owned(),
            (false, Some(d)) => format!("older than {d} d"),
            (false, None) => "past its expiry".to_owned(),
        };
        println!("{:>9}  {:<30} {:<18} {}", p.rows, p.table, age, p.action);
    }
    println!(
        "{:>9}  rows in all",
        done.iter().map(|p| p.rows).sum::<u64>()
    );
    Ok(())
}

/// `90m`, `24h`, `7d` back from now, a date (midnight in São Paulo), or an
/// RFC 3339 time; anything else is a clear error, never a panic.
pub(super) fn parse_since(raw: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    let raw = raw.trim();
    // A span back from now; never negative, never past what a time holds.
    let span = |n: &str, unit: i64| -> Option<chrono::DateTime<chrono::Utc>> {
        let n: i64 = n.parse().ok().filter(|n: &i64| *n >= 0)?;
        let back = chrono::TimeDelta::try_seconds(n.checked_mul(unit)?)?;
        chrono::Utc::now().checked_sub_signed(back)
    };
    let relative = match raw.char_indices().last() {
        Some((i, 'm')) => span(&raw[..i], 60),
        Some((i, 'h')) => span(&raw[..i], 3600),
        Some((i, 'd')) => span(&raw[..i], 86_400),
        _ => None,
    };
    // A bare date is midnight in São Paulo (C2S's and the operators' day).
    let day = || {
        chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?
            .and_local_timezone(chrono::FixedOffset::west_opt(3 * 3600)?)
            .single()
            .map(|t| t.with_timezone(&chrono::Utc))
    };
    match relative.or_else(day) {
        Some(t) => Ok(t),
        None => chrono::DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|_| {
                anyhow::anyhow!(
                    "--since must be like 90m, 24h, 7d, a date (2026-11-01) or an RFC 3339 time"
                )
            }),
    }
}

pub(super) async fn sync_command(config: &Config, since: &str) -> anyhow::Result<()> {
    let since = parse_since(since)?;
    let database = Database::open(&config.database).await?;
    let result = async {
        use c2s_enrich::pipeline::reconcile::{sweep, SweepLimits, SweepLock};
        let c2s = c2s_enrich::app::c2s_client(config)?;
        let Some(lock) = SweepLock::try_take(&database.pool).await? else {
            anyhow::bail!("a reconciliation sweep is running in another process; run this again when it ends");
        };
        eprintln!("listing C2S leads updated since {} …", since.to_rfc3339());
        let report = sweep(&database.pool, &c2s, since, None, SweepLimits::default()).await;
        lock.release().await;
        let report = report?;
        println!(
            "{} leads listed ({} pages, {} unreadable): {} never heard of, {} with new contacts; {} enqueued",
            report.listed, report.pages, report.unreadable, report.unseen, report.changed, report.enqueued
        );
        anyhow::Ok(())
    }
    .await;
    database.close().await?;
    result
}

pub(super) async fn erase_command(config: &Config, cpf: &str) -> anyhow::Result<()> {
    let cpf = brazil::Cpf::parse(cpf).context("the CPF")?;
    let database = Database::open(&config.database).await?;
    let result = async {
        let ledger = open_ledger(config, &database.pool).await?;
        match c2s_enrich::store::erasure::erase(&database.pool, &ledger, &cpf, "cli", None).await? {
            Some(e) => {
                println!(
                    "erased {}: {} rows and {} cached provider answers removed (erasure record {}, request {})",
                    cpf.masked(),
                    e.rows_removed,
                    e.ledger_rows_removed,
                    e.erasure_id,
                    e.request_id
                );
                if e.to_remove_by_hand.is_empty() {
                    println!("nothing of theirs was sent out");
                } else {
                    // C2S has no API to delete a note, nor Slack or e-mail to
                    // recall an alert: someone removes these by hand (the
                    // list is kept in the request's record).
                    println!("remove by hand in C2S / Slack / mailboxes (kept in request {}):", e.request_id);
                    for s in &e.to_remove_by_hand {
                        let at = s.at.map_or_else(|| "-".to_owned(), |t| t.format("%Y-%m-%d %H:%M").to_string());
                        println!("  lead {}  {:<11} posted {at}", s.lead_id, s.what);
                    }
                }
            }
            None => anyhow::bail!("nobody with CPF {} is stored", cpf.masked()),
        }
        anyhow::Ok(())
    }
    .await;
    database.close().await?;
    result
}

pub(super) async fn audit_command(config: &Config, since: &str) -> anyhow::Result<()> {
    let since = parse_since(since)?;
    let database = Database::open(&config.database).await?;
    let rows = c2s_enrich::store::customers::audit_since(&database.pool, since).await;
    database.close().await?;
    let rows = rows?;
    if rows.is_empty() {
        println!("no personal-data access since {}", since.to_rfc3339());
    }
    for r in rows {
        println!(
            "{}  {:<20} {:<24} by {:<6} entity {}  request {}",
            r.accessed_at.to_rfc3339(),
            r.key_name,
            r.endpoint,
            r.query_kind,
            r.entity_id
                .map_or_else(|| "(none found)".to_owned(), |e| e.to_string()),
            r.request_id
        );
    }
    Ok(())
}

pub(super) async fn apikey_command(config: &Config, cmd: &ApikeyCommand) -> anyhow::Result<()> {
    use c2s_enrich::store::api_keys;
    let database = Database::open(&config.database).await?;
    let pool = &database.pool;
    let result = async {
        match cmd {
            ApikeyCommand::Create { name, scope } => {
                let (info, key) = api_keys::create(pool, name, scope).await?;
                eprintln!("created key {:?} (prefix {}) with scopes {}; store it now, it is not shown again:", info.name, info.prefix, info.scopes.join(","));
                println!("{key}");
            }
            ApikeyCommand::List => {
                for k in api_keys::list(pool).await? {
                    let state = if k.revoked_at.is_some() { "revoked" } else { "active" };
                    let used = k.last_used_at.map_or_else(|| "never used".to_owned(), |t| format!("last used {}", t.to_rfc3339()));
                    println!("{:<20} {:<9} {:<8} {:<24} {used}", k.name, k.prefix, state, k.scopes.join(","));
                }
            }
            ApikeyCommand::Revoke { name } => {
                anyhow::ensure!(api_keys::revoke(pool, name).await?, "no active key named {name:?}");
                println!("revoked {name} (running servers stop accepting it within API_KEY_CACHE_SECS, default 5 s)");
            }
        }
        anyhow::Ok(())
    }
    .await;
    database.close().await?;
    result
}

pub(super) async fn jobs_command(config: &Config, cmd: &JobsCommand) -> anyhow::Result<()> {
    use c2s_enrich::store::jobs;
    if let JobsCommand::List { state: Some(s), .. } = cmd {
        anyhow::ensure!(
            ["queued", "running", "done", "dead"].contains(&s.as_str()),
            "--state must be one of queued, running, done, dead"
        );
    }
    let database = Database::open(&config.database).await?;
    let pool = &database.pool;
    let result = async {
        match cmd {
            JobsCommand::List { state, limit } => {
                let list = jobs::list(pool, state.as_deref(), (*limit).clamp(1, 10_000)).await?;
                if list.is_empty() {
                    println!("no jobs");
                }
                for j in list {
                    println!(
                        "{:>8}  {:<8} {:<12} attempts {}/{}  lead {}  {}",
                        j.id,
                        j.state,
                        j.kind,
                        j.attempts,
                        j.max_attempts,
                        j.lead_id.as_deref().unwrap_or("-"),
                        j.last_error.as_deref().unwrap_or("")
                    );
                }
            }
            JobsCommand::Retry { id } => {
                anyhow::ensure!(
                    jobs::retry(pool, *id).await?,
                    "job {id} is not dead or done (or does not exist)"
                );
                println!("job {id} re-queued");
            }
            JobsCommand::RequeueDead => {
                println!("{} dead jobs re-queued", jobs::requeue_dead(pool).await?)
            }
        }
        anyhow::Ok(())
    }
    .await;
    database.close().await?;
    result
}

pub(super) async fn archive(config: &Config, cmd: &ArchiveCommand) -> anyhow::Result<()> {
    let database = Database::open(&config.database).await?;
    let result = async {
        match cmd {
            ArchiveCommand::List => {
                let rows = c2s_enrich::ops::archive::summary(&database.pool).await?;
                if rows.is_empty() {
                    println!("the archive is empty");
                }
                for r in rows {
                    println!("{:<28} {:<15} {:>8}", r.source_table, r.reason, r.rows);
                }
            }
            ArchiveCommand::Restore { reason } => {
                let report =
                    c2s_enrich::ops::archive::restore(&database.pool, reason.as_deref()).await?;
                println!("restored {} rows", report.restored);
            }
        }
        anyhow::Ok(())
    }
    .await;
    database.close().await?;
    result
}

/// The ledger with the configured key (its keyed hashes name people in the
/// tombstones, blocks and the request register).
pub(super) async fn open_ledger(
    config: &Config,
    pool: &sqlx::PgPool,
) -> anyhow::Result<c2s_enrich::store::ledger::Ledger> {
    let key = config
        .cache
        .hash_key
        .as_ref()
        .map(|k| k.expose_secret().as_bytes().to_vec());
    Ok(
        c2s_enrich::store::ledger::Ledger::new(pool.clone(), key, config.cache.freshness.clone())
            .await?,
    )
}

#[cfg(test)]
mod since_tests {
    use super::parse_since;

    #[test]
    fn spans_dates_and_times_are_read_and_nonsense_is_refused_without_panicking() {
        let now = chrono::Utc::now();
        let day = parse_since("1d").expect("a span");
        assert!((now - day - chrono::TimeDelta::days(1)).num_seconds().abs() < 5);
        let date = parse_since("2026-11-01").expect("a date");
        assert_eq!(date.to_rfc3339(), "2026-11-01T03:00:00+00:00");
        assert!(parse_since("2026-11-01T00:00:00Z").is_ok());
        for bad in [
            "-5d",
            "99999999999999999d",
            "9223372036854775807m",
            "soon",
            "",
            "2026-13-01",
        ] {
            assert!(parse_since(bad).is_err(), "{bad:?}");
        }
    }
}
