//! `c2s-enrich demo`: the whole product on one machine with no configuration —
//! embedded PostgreSQL, the provider sandbox in-process, the HTTP API, the
//! workers, and ~20 leads delivered the way C2S delivers them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use c2s_sim::{Faults, SimConfig};

use c2s_enrich::app;
use c2s_enrich::config::Config;
use c2s_enrich::domain::lead::HookAction;
use c2s_enrich::http::Application;
use c2s_enrich::pipeline::worker::{self, WorkerOptions};
use c2s_enrich::store::jobs::Backoff;

const LEADS: usize = 20;
const SECRET: &str = "demo-webhook-secret";

/// Runs the demo on `database`; `keep_running` leaves the API up until Ctrl-C.
pub async fn run(pool: &sqlx::PgPool, masked_url: &str, keep_running: bool) -> anyhow::Result<()> {
    println!("c2s-enrich demo — database {masked_url} (recreated for the demo)");
    c2s_enrich::db::migrate_up(pool).await?;
    println!("migrations applied");

    let (sim, config) = sandbox().await?;
    let pipeline = app::pipeline(&config, pool).await?;
    let app = Application::build(
        app::app_state(&config, pool, Some(pipeline.clone())),
        "127.0.0.1",
        0,
    )
    .await?;
    let addr = app.local_addr()?;
    let hook_url = format!("http://{addr}/api/v1/webhooks/c2s");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = server_stop.changed().await;
    }));
    let options = WorkerOptions {
        concurrency: 4,
        backoff: Backoff {
            base: Duration::from_millis(300),
            max: Duration::from_secs(2),
        },
        pause_cooldown: Duration::from_secs(2),
        ..WorkerOptions::default()
    };
    let workers = tokio::spawn(worker::run(pipeline.clone(), options, stop_rx.clone()));
    println!("API on http://{addr} with 4 workers");

    // Our own notes make C2S fire on_update_lead: subscribe, so the demo shows
    // those updates recorded without a single lookup.
    pipeline
        .providers
        .c2s
        .subscribe(&hook_url, HookAction::OnUpdateLead)
        .await?;
    // A provider outage at the start: the first Diretrix calls fail and are retried.
    sim.state.set_faults(
        "diretrix",
        Faults {
            fail_next: 2,
            latency_ms: 20,
            ..Faults::default()
        },
    );

    let started = Instant::now();
    deliver(&sim, &hook_url).await;
    let finished = wait_done(pool, started).await?;
    wait_updates(pool).await?;
    let report = report(pool, &sim).await;
    if keep_running {
        println!("\nAPI still up at http://{addr} — Ctrl-C to stop");
        app::shutdown_signal().await;
    }
    let _ = stop_tx.send(true);
    server.await??;
    workers.await?;
    sim.stop().await;
    anyhow::ensure!(
        finished,
        "not every lead reached a final state within 180 s"
    );
    report
}

/// The provider sandbox (20 leads, seed 42, 20 ms per call) and the
/// service's configuration pointing at it.
async fn sandbox() -> anyhow::Result<(c2s_sim::SimHandle, Config)> {
    let sim_config = SimConfig {
        seed: 42,
        leads: LEADS,
        hook_header: Some(("x-webhook-token".into(), SECRET.into())),
        ..SimConfig::default()
    };
    let sim = c2s_sim::start(sim_config.with_latency_ms(20)).await?;
    println!(
        "provider sandbox on {} ({LEADS} leads, seed 42, 20 ms per call)",
        sim.base_url()
    );
    let mut env: HashMap<String, String> = sim
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    env.insert("WEBHOOK_SECRET".into(), SECRET.into());
    // Alerts for tiers B and better go to the sandbox's Slack-like hook.
    env.insert(
        "SLACK_WEBHOOK_URL".into(),
        format!("{}/hooks/slack/demo", sim.base_url()),
    );
    env.insert("ALERT_MIN_TIER".into(), "B".into());
    for p in ["C2S", "DIRETRIX", "WORK_API", "CNPJ"] {
        env.insert(format!("{p}_MIN_INTERVAL_MS"), "0".into());
    }
    let config = Config::load_with(None, &move |k| env.get(k).cloned())?;
    Ok((sim, config))
}

/// C2S's deliveries: every lead's creation, then three of them again.
async fn deliver(sim: &c2s_sim::SimHandle, hook_url: &str) {
    let header = Some(("x-webhook-token", SECRET));
    let delivered = c2s_sim::deliver_for_tests(
        sim,
        hook_url,
        HookAction::OnCreateLead.as_str(),
        None,
        1,
        header,
    )
    .await;
    let first: Vec<String> = sim
        .state
        .leads()
        .iter()
        .take(3)
        .map(|l| l.id.clone())
        .collect();
    let repeated = c2s_sim::deliver_for_tests(
        sim,
        hook_url,
        HookAction::OnCreateLead.as_str(),
        Some(first),
        1,
        header,
    )
    .await;
    let status =
        |r: &c2s_sim::DeliveryReport, code: u16| r.statuses.get(&code).copied().unwrap_or(0);
    println!(
        "C2S delivered {} create webhooks ({} accepted), then {} duplicates ({} answered as duplicates); processing…",
        delivered.requests,
        status(&delivered, 202),
        repeated.requests,
        status(&repeated, 200)
    );
}

/// Waits (up to 180 s, printing progress) until every lead is done and no
/// job is open; whether that happened.
async fn wait_done(pool: &sqlx::PgPool, started: Instant) -> anyhow::Result<bool> {
    app::wait_until(
        Duration::from_secs(180),
        Duration::from_millis(500),
        || async {
            let (done, open): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM enrich.leads WHERE state IN ('completed', 'failed')),
                    (SELECT count(*) FROM enrich.jobs WHERE state IN ('queued', 'running'))",
            )
            .fetch_one(pool)
            .await?;
            println!(
                "  {done:>2}/{LEADS} leads done, {open} jobs open ({:.1}s)",
                started.elapsed().as_secs_f64()
            );
            Ok(done as usize >= LEADS && open == 0)
        },
    )
    .await
}

/// Lets the update webhooks our notes triggered arrive (one per note, up
/// to 10 s).
async fn wait_updates(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let arrived = app::wait_until(
        Duration::from_secs(10),
        Duration::from_millis(200),
        || async {
            let updates: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM enrich.webhook_events WHERE hook_action = 'on_update_lead'",
            )
            .fetch_one(pool)
            .await?;
            Ok(updates as usize >= LEADS)
        },
    )
    .await?;
    if !arrived {
        tracing::warn!("not every update webhook triggered by our notes arrived within 10 s");
    }
    Ok(())
}

/// One line of the demo's table.
#[derive(Debug, sqlx::FromRow)]
struct LeadRow {
    lead_id: String,
    state: String,
    outcome: Option<String>,
    persons: i64,
    /// The presented people's confidence (`confirmed`, `probable`), or
    /// `unconfirmed` when contacts led only to people not shown.
    confidence: Option<String>,
    tier: Option<String>,
    note_status: String,
    seconds: Option<f64>,
}

async fn report(pool: &sqlx::PgPool, sim: &c2s_sim::SimHandle) -> anyhow::Result<()> {
    let rows = lead_table(pool, sim).await?;
    let paid = totals(pool, sim, &rows).await?;
    ensure_promises(pool, sim, paid).await
}

/// Prints one line per lead: its kind in the sandbox's truth, outcome,
/// persons, confidence, note, seconds from delivery to done.
async fn lead_table(pool: &sqlx::PgPool, sim: &c2s_sim::SimHandle) -> anyhow::Result<Vec<LeadRow>> {
    let truth: HashMap<String, c2s_sim::LeadKind> = sim
        .state
        .leads()
        .into_iter()
        .map(|l| (l.id, l.kind))
        .collect();
    let rows: Vec<LeadRow> = sqlx::query_as(
        "SELECT l.lead_id, l.state, l.outcome,
                coalesce(jsonb_array_length(l.context->'discovery'->'persons'), 0)::bigint AS persons,
                coalesce((SELECT string_agg(i->>'confidence', '+') FROM jsonb_array_elements(coalesce(l.context->'discovery'->'identities', '[]'::jsonb)) i),
                         CASE WHEN jsonb_array_length(coalesce(l.context->'discovery'->'unshown', '[]'::jsonb)) > 0 THEN 'unconfirmed' END) AS confidence,
                l.tier, l.note_status,
                extract(epoch FROM (l.completed_at - (SELECT min(received_at) FROM enrich.webhook_events e WHERE e.lead_id = l.lead_id)))::float8 AS seconds
           FROM enrich.leads l ORDER BY l.created_at",
    )
    .fetch_all(pool)
    .await?;
    println!(
        "\n{:<10} {:<15} {:<13} {:>7}  {:<19} {:<4} {:<5} {:>7}",
        "lead", "kind", "outcome", "persons", "confidence", "tier", "note", "seconds"
    );
    for r in &rows {
        let (id, secs) = (&r.lead_id, r.seconds);
        let kind = truth
            .get(id)
            .map_or_else(|| "-".to_owned(), |k| format!("{k:?}"));
        println!(
            "{:<10} {:<15} {:<13} {:>7}  {:<19} {:<4} {:<5} {:>7}",
            &id[..8],
            kind,
            r.outcome.as_deref().unwrap_or(&r.state),
            r.persons,
            r.confidence.as_deref().unwrap_or("-"),
            r.tier.as_deref().unwrap_or("-"),
            if r.note_status == "sent" { "yes" } else { "no" },
            secs.map_or_else(|| "-".into(), |s| format!("{s:.2}"))
        );
    }
    Ok(rows)
}

/// Prints the totals (outcomes, paid lookups, cache hits, credits, webhook
/// decisions) and one note as posted; the paid lookups by the ledger's
/// count and by the sandbox's.
async fn totals(
    pool: &sqlx::PgPool,
    sim: &c2s_sim::SimHandle,
    rows: &[LeadRow],
) -> anyhow::Result<(i64, i64)> {
    let journal = sim.state.journal();
    // The paid providers' lookups; the free company-name source apart.
    let paid = |c: &&c2s_sim::CallRecord| c.paid();
    let paid_sandbox = journal
        .calls
        .iter()
        .filter(paid)
        .filter(|c| c.status < 500)
        .count() as i64;
    let failed_sandbox = journal
        .calls
        .iter()
        .filter(paid)
        .filter(|c| c.status >= 500)
        .count();
    let companies = journal.count("brasilapi", "cnpj");
    let (paid_ledger, hits, credits): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE outcome IN ('found', 'not_found')), count(*) FILTER (WHERE outcome = 'hit'),
                coalesce(sum(credits), 0) FROM enrich.provider_calls WHERE provider <> 'brasilapi'",
    )
    .fetch_one(pool)
    .await?;
    let events: Vec<(String, i64)> = sqlx::query_as(
        "SELECT decision, count(*) FROM enrich.webhook_events GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    let enriched = rows
        .iter()
        .filter(|r| r.outcome.as_deref() == Some("enriched"))
        .count();
    let nobody = rows
        .iter()
        .filter(|r| r.outcome.as_deref() == Some("nobody_found"))
        .count();
    println!(
        "\ntotals: {} leads — {enriched} enriched, {nobody} without CPF; notes posted: {}",
        rows.len(),
        journal.notes.len()
    );
    println!(
        "paid lookups: {paid_ledger} in the ledger, {paid_sandbox} answered by the sandbox ({failed_sandbox} failed attempts retried); \
         {hits} answered from the cache; {credits} credits; company names: {companies} looked up (free)"
    );
    print_deliveries(pool, rows, journal.slack_messages.len()).await?;
    println!(
        "webhook events: {}",
        events
            .iter()
            .map(|(d, n)| format!("{d} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(note) = journal.notes.iter().find(|n| n.body.starts_with("📞📧")) {
        println!(
            "\nnote posted on lead {}:\n\n{}",
            &note.lead_id[..8],
            note.body
        );
    }
    Ok((paid_ledger, paid_sandbox))
}

/// The product's promises: one note per lead, every lead noted, the ledger
/// agreeing with the sandbox on paid calls, no work but the leads'.
async fn ensure_promises(
    pool: &sqlx::PgPool,
    sim: &c2s_sim::SimHandle,
    (paid_ledger, paid_sandbox): (i64, i64),
) -> anyhow::Result<()> {
    let journal = sim.state.journal();
    let mut per_lead: HashMap<&str, usize> = HashMap::new();
    for n in &journal.notes {
        *per_lead.entry(n.lead_id.as_str()).or_default() += 1;
    }
    anyhow::ensure!(
        per_lead.values().all(|n| *n == 1),
        "a lead received more than one note"
    );
    anyhow::ensure!(
        per_lead.len() == LEADS,
        "{} of {LEADS} leads got their note",
        per_lead.len()
    );
    anyhow::ensure!(
        paid_ledger == paid_sandbox,
        "the ledger ({paid_ledger}) and the sandbox ({paid_sandbox}) disagree on paid calls"
    );
    anyhow::ensure!(
        sim.state
            .leads()
            .iter()
            .all(|l| sim.state.lead_tags(&l.id).len() <= 1),
        "a lead was tagged twice"
    );
    let alerted: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM enrich.lead_deliveries WHERE channel = 'slack' AND status = 'sent'",
    )
    .fetch_one(pool)
    .await?;
    anyhow::ensure!(
        alerted as usize == journal.slack_messages.len(),
        "{alerted} alerts recorded as sent, {} received",
        journal.slack_messages.len()
    );
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.jobs")
        .fetch_one(pool)
        .await?;
    anyhow::ensure!(
        jobs as usize == LEADS,
        "{jobs} jobs for {LEADS} leads: duplicates or our own updates caused work"
    );
    Ok(())
}

/// The tiers, the C2S tags and the alerts sent.
async fn print_deliveries(
    pool: &sqlx::PgPool,
    rows: &[LeadRow],
    received: usize,
) -> anyhow::Result<()> {
    let (tagged, alerted): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE channel = 'tag' AND status = 'sent'),
                count(*) FILTER (WHERE channel IN ('slack', 'email') AND status = 'sent')
           FROM enrich.lead_deliveries",
    )
    .fetch_one(pool)
    .await?;
    println!(
        "tiers: {}; C2S tags: {tagged}; alerts sent: {alerted} (tier B or better, to the sandbox's Slack hook: {received} received)",
        tier_mix(rows),
    );
    Ok(())
}

/// `A 3, B 5, C 4, D 4, - 4`: how many leads have each tier.
fn tier_mix(rows: &[LeadRow]) -> String {
    let mut mix: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for r in rows {
        *mix.entry(r.tier.as_deref().unwrap_or("-")).or_default() += 1;
    }
    mix.iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
