//! Benchmark 2 (throughput) and 5 (memory): a `c2s-enrich serve` process,
//! providers answering at once (L = 0), a burst of C2S webhooks, and the time
//! until every lead is completed — at growing worker concurrency until the
//! gain stops. The process's RSS is read idle and at its peak.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use c2s_sim::SimConfig;
use serde::Serialize;

use super::cpu;
use super::support::{self, Child, Server};

#[derive(Debug, Clone, Serialize)]
pub struct Level {
    pub concurrency: usize,
    pub leads: usize,
    pub seconds: f64,
    pub leads_per_second: f64,
    pub idle_rss_mib: f64,
    pub peak_rss_mib: f64,
    /// SQL statements per lead by phase (the service's
    /// `c2s_enrich_sql_statements_total`, read before and after the burst).
    pub statements_per_lead: BTreeMap<String, f64>,
    /// CPU cores busy on average during the burst: the service, and every
    /// PostgreSQL process (the machine has `cores`).
    pub service_cores: f64,
    pub postgres_cores: f64,
    /// This process: the sandbox answering as C2S and the providers.
    pub sandbox_cores: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThroughputResult {
    pub levels: Vec<Level>,
    /// The concurrency after which throughput grew by less than 10 %.
    pub saturation_concurrency: usize,
    pub best_leads_per_second: f64,
    pub idle_rss_mib: f64,
    pub peak_rss_mib: f64,
}

/// Whether every one of the `leads` leads is completed within `limit`.
async fn all_completed_within(
    pool: &sqlx::PgPool,
    leads: usize,
    limit: Duration,
) -> anyhow::Result<bool> {
    let target = i64::try_from(leads)?;
    c2s_enrich::app::wait_until(limit, Duration::from_millis(20), || async move {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM enrich.leads WHERE state = 'completed'")
                .fetch_one(pool)
                .await?;
        Ok(n >= target)
    })
    .await
}

/// The service's statement counters by phase, from its `/metrics`.
async fn statements(base: &str) -> anyhow::Result<BTreeMap<String, f64>> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await?
        .error_for_status()?
        .text()
        .await?;
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("c2s_enrich_sql_statements_total{phase=\"") else {
            continue;
        };
        if let Some((phase, value)) = rest.split_once("\"} ") {
            out.insert(phase.to_owned(), value.trim().parse::<f64>()?);
        }
    }
    Ok(out)
}

/// `after - before`, per lead.
fn per_lead(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
    leads: usize,
) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(phase, n)| {
            let sent = n - before.get(phase).copied().unwrap_or(0.0);
            (phase.clone(), sent / leads as f64)
        })
        .filter(|(_, n)| *n > 0.0)
        .collect()
}

/// The concurrency after which more workers gain under 10 %.
fn saturation(levels: &[Level]) -> usize {
    let mut saturation = levels.first().map_or(1, |l| l.concurrency);
    for w in levels.windows(2) {
        if w[1].leads_per_second > w[0].leads_per_second * 1.10 {
            saturation = w[1].concurrency;
        } else {
            break;
        }
    }
    saturation
}

/// One level: a fresh sandbox, database and service with `concurrency`
/// workers; a burst of `leads` webhooks; the time until all are completed.
async fn level(
    server: &Server,
    leads: usize,
    seed: u64,
    concurrency: usize,
) -> anyhow::Result<Level> {
    // A fresh world per level: no cache carried from one level to the next.
    let sim = c2s_sim::start(SimConfig {
        seed,
        leads,
        ..SimConfig::default()
    })
    .await?;
    let db = server.scratch("throughput").await?;
    c2s_enrich::db::migrate_up(&db.pool).await?;
    let env = support::sim_env(&sim);
    let child = Child::serve(&env, &db.url, &["--concurrency", &concurrency.to_string()]).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (idle, _) = child.memory_mib();
    let hook = format!("{}/api/v1/webhooks/c2s", child.base);
    let counted_before = statements(&child.metrics).await?;
    let me = std::process::id();
    let cpu_before = (
        cpu::process_seconds(child.pid),
        cpu::postgres_seconds(),
        cpu::process_seconds(me),
    );
    let started = Instant::now();
    let report =
        c2s_sim::deliver_for_tests(&sim, &hook, "on_create_lead", None, 1, support::SIGNED).await;
    anyhow::ensure!(
        report.statuses.get(&202).copied().unwrap_or(0) == leads,
        "not every webhook was accepted: {report:?}"
    );
    let done = all_completed_within(&db.pool, leads, Duration::from_secs(600)).await?;
    let seconds = started.elapsed().as_secs_f64();
    let service_cores = (cpu::process_seconds(child.pid) - cpu_before.0) / seconds;
    let postgres_cores = (cpu::postgres_seconds() - cpu_before.1) / seconds;
    let sandbox_cores = (cpu::process_seconds(me) - cpu_before.2) / seconds;
    anyhow::ensure!(done, "the leads did not complete within 10 minutes");
    let (_, peak) = child.memory_mib();
    let statements_per_lead = per_lead(&counted_before, &statements(&child.metrics).await?, leads);
    child.stop().await;
    eprintln!(
        "  concurrency {concurrency:>2}: {leads} leads in {seconds:.2} s = {:.1} leads/s (RSS idle {idle:.0} MiB, peak {peak:.0} MiB)",
        leads as f64 / seconds
    );
    let level = Level {
        concurrency,
        leads,
        seconds,
        leads_per_second: leads as f64 / seconds,
        idle_rss_mib: idle,
        peak_rss_mib: peak,
        statements_per_lead,
        service_cores,
        postgres_cores,
        sandbox_cores,
    };
    server.done(db).await?;
    sim.stop().await;
    Ok(level)
}

pub async fn run(
    server: &Server,
    leads: usize,
    levels: &[usize],
) -> anyhow::Result<ThroughputResult> {
    let mut out = Vec::new();
    for (n, &concurrency) in levels.iter().enumerate() {
        out.push(level(server, leads, 200 + n as u64, concurrency).await?);
    }
    let saturation = saturation(&out);
    Ok(ThroughputResult {
        saturation_concurrency: saturation,
        best_leads_per_second: out.iter().map(|l| l.leads_per_second).fold(0.0, f64::max),
        idle_rss_mib: out.iter().map(|l| l.idle_rss_mib).fold(0.0, f64::max),
        peak_rss_mib: out.iter().map(|l| l.peak_rss_mib).fold(0.0, f64::max),
        levels: out,
    })
}

/// Section 2: throughput by worker concurrency, and where it saturates.
pub fn markdown(s: &mut String, t: &ThroughputResult) {
    let _ = writeln!(
        s,
        "## 2. Throughput\n\nL = 0; a `c2s-enrich serve` process; every lead delivered by webhook at once; time until every lead is completed (note posted). A fresh database and sandbox per level. CPU: cores busy on average during the burst (user + system time from /proc ÷ wall time), of the service, of every PostgreSQL process, and of the sandbox (C2S and the providers, in the benchmark's own process).\n\n| worker concurrency | leads | seconds | leads/s | vs concurrency 1 | service CPU | PostgreSQL CPU | sandbox CPU |\n|---|---|---|---|---|---|---|---|"
    );
    let base = t.levels.first().map_or(1.0, |l| l.leads_per_second);
    for l in &t.levels {
        let _ = writeln!(
            s,
            "| {} | {} | {:.2} | {:.1} | {:.2}× | {:.2} | {:.2} | {:.2} |",
            l.concurrency,
            l.leads,
            l.seconds,
            l.leads_per_second,
            l.leads_per_second / base,
            l.service_cores,
            l.postgres_cores,
            l.sandbox_cores
        );
    }
    let _ = writeln!(
        s,
        "\nSaturation: gains under 10 % after concurrency **{}** (best {:.1} leads/s).\n",
        t.saturation_concurrency, t.best_leads_per_second
    );
    statements_table(s, t);
}

/// SQL statements per lead by phase, at each concurrency (the service's own
/// count: `c2s_enrich_sql_statements_total`).
fn statements_table(s: &mut String, t: &ThroughputResult) {
    let phases: std::collections::BTreeSet<&String> = t
        .levels
        .iter()
        .flat_map(|l| l.statements_per_lead.keys())
        .collect();
    if phases.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "SQL statements per lead, by phase (the service's `c2s_enrich_sql_statements_total`, read before and after the burst; `request` is the webhook intake, `run` a lead's state between steps, `job` the queue's bookkeeping, `other` the workers' polling and the rest):\n"
    );
    let mut head = String::from("| worker concurrency |");
    let mut rule = String::from("|---|");
    for p in &phases {
        head.push_str(&format!(" {p} |"));
        rule.push_str("---|");
    }
    let _ = writeln!(s, "{head} **total** |\n{rule}---|");
    for l in &t.levels {
        let mut row = format!("| {} |", l.concurrency);
        for p in &phases {
            let n = l.statements_per_lead.get(*p).copied().unwrap_or(0.0);
            row.push_str(&format!(" {n:.1} |"));
        }
        let total: f64 = l.statements_per_lead.values().sum();
        let _ = writeln!(s, "{row} **{total:.1}** |");
    }
    let _ = writeln!(s);
}
