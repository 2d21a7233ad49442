//! Wiring: the pipeline and the HTTP API from the configuration, and the
//! long-running commands (`serve`, `worker`, `enrich`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::PgPool;

use crate::config::Config;
use crate::domain::lead::LeadId;
use crate::http::{AppState, Application};
use crate::pipeline::note::{NoteSettings, Sections};
use crate::pipeline::sync::{RunEnd, SyncState};
use crate::pipeline::worker::{self, JobOutcome, WorkerOptions};
use crate::pipeline::{Pipeline, PipelineSettings};
use crate::providers::Providers;
use crate::store::ledger::Ledger;

pub use crate::providers::build::{c2s_client, BuildError};

/// Builds the pipeline; fails naming any missing provider credential.
pub async fn pipeline(config: &Config, pool: &PgPool) -> anyhow::Result<Arc<Pipeline>> {
    pipeline_capped(config, pool, None).await
}

/// [`pipeline`], its paid calls also limited by this process's own `cap`
/// (a back-fill's `--max-credits`).
pub async fn pipeline_capped(
    config: &Config,
    pool: &PgPool,
    cap: Option<Arc<crate::store::ledger::CreditCap>>,
) -> anyhow::Result<Arc<Pipeline>> {
    let providers = Arc::new(Providers::build(config, pool)?);
    let key = config
        .cache
        .hash_key
        .as_ref()
        .map(|k| k.expose_secret().as_bytes().to_vec());
    let mut ledger = Ledger::new(pool.clone(), key, config.cache.freshness.clone())
        .await?
        .with_budgets(config.budgets.clone());
    if let Some(cap) = cap {
        ledger = ledger.with_cap(cap);
    }
    let ledger = Arc::new(ledger);
    let settings = PipelineSettings {
        note: NoteSettings {
            today: chrono::Local::now().date_naive(),
            income_factor: config.income_factor,
            max_chars: config.message_max_chars,
            sections: Sections::default(),
        },
        dossier_freshness: config.cache.freshness.dossier,
        discovery: config.discovery.clone(),
        google_ads: crate::pipeline::GoogleAdsSettings {
            seller_id: config.c2s_seller_id.clone(),
            description_max_chars: config.description_max_chars,
            products: config.google_ads_products.clone(),
        },
        identity_min_confidence: config.identity_min_confidence,
        identity_policy: crate::pipeline::IdentityPolicy::Evidence,
        discovery_mode: config.discovery_mode,
        retry: config.retry.clone(),
        profile: crate::pipeline::ProfileSettings {
            rules: config.tier_rules.clone(),
            alerts: crate::notify::Alerts::from_config(&config.alerts)?,
            data_age: config.note_data_age,
            blocked_note: config.blocked_note,
            ..Default::default()
        },
    };
    Ok(Arc::new(Pipeline {
        pool: pool.clone(),
        providers,
        ledger,
        settings,
    }))
}

/// Refuses to run on a database with pending migrations.
pub async fn ensure_migrated(pool: &PgPool) -> anyhow::Result<()> {
    let pending: Vec<_> = crate::db::migrate::status(pool)
        .await?
        .into_iter()
        .filter(|m| !m.applied)
        .collect();
    anyhow::ensure!(
        pending.is_empty(),
        "{} migration(s) pending (first: {} {}); run `c2s-enrich migrate` first",
        pending.len(),
        pending[0].version,
        pending[0].name
    );
    Ok(())
}

/// The HTTP API's state from the configuration.
pub fn app_state(config: &Config, pool: &PgPool, pipeline: Option<Arc<Pipeline>>) -> AppState {
    AppState {
        pool: pool.clone(),
        intake: crate::db::sibling_pool(pool, config.database.intake_connections),
        webhook_secret: config.webhook_secret.clone().map(Arc::new),
        pipeline,
        limits: crate::http::Limits::new(config.rate_limit_per_key, config.rate_limit_per_ip),
        google_ads_key: config.google_ads_webhook_key.clone().map(Arc::new),
        cors_origins: Arc::new(config.cors_allowed_origins.clone()),
        worker: None,
        dq_cache: Arc::default(),
        client_ip: Arc::new(crate::http::ClientIpPolicy::new(
            config.trusted_proxies.clone(),
            &config.client_ip_header,
        )),
        status_cache: Arc::default(),
        metrics_cache: Arc::default(),
        audit: crate::store::pii_audit::AuditLog::new(pool.clone()),
        keys: Arc::new(crate::store::api_keys::KeyCache::new(config.api_key_cache)),
        console: Arc::default(),
        subjects: Arc::new(crate::ops::subject_export::ExportSettings {
            privacy: config.privacy.clone(),
            retention: config.retention.clone(),
        }),
        sync: Arc::new(crate::http::SyncRuns {
            wait: config.sync_wait,
            worker: worker_options(config, 4, DEFAULT_LEASE_SECS),
        }),
    }
}

/// The default job lease (`--lease-secs`).
pub const DEFAULT_LEASE_SECS: u64 = 30;

/// The workers' settings from the configuration.
pub fn worker_options(config: &Config, concurrency: usize, lease_secs: u64) -> WorkerOptions {
    let lease = Duration::from_secs(lease_secs);
    WorkerOptions {
        lease,
        heartbeat: lease / 3,
        concurrency,
        pause_cooldown: config.provider_pause,
        not_found_retries: config.lead_not_found_retries,
        not_found_delay: config.lead_not_found_delay,
        ..WorkerOptions::default()
    }
}

/// Resolves when SIGTERM or Ctrl-C arrives.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown requested: finishing in-flight work");
}

/// `serve` takes signed webhooks only, unless the operator knowingly allows
/// unsigned ones (then a warning at every start; the status page shows it).
pub fn check_webhook_signing(config: &Config, allow_unsigned: bool) -> anyhow::Result<()> {
    match (&config.webhook_secret, allow_unsigned) {
        (Some(_), _) => Ok(()),
        (None, true) => {
            tracing::warn!(
                "WEBHOOK_SECRET is not set and --allow-unsigned-webhooks was given: \
                 anyone who can reach this port can post C2S deliveries"
            );
            Ok(())
        }
        (None, false) => anyhow::bail!(
            "WEBHOOK_SECRET is not set: anyone who can reach this port could forge C2S \
             deliveries. Set WEBHOOK_SECRET (and send the same value in C2S's webhook header \
             X-Webhook-Token), or start with --allow-unsigned-webhooks to accept unsigned \
             deliveries knowingly"
        ),
    }
}

/// `serve`: the API and (unless `no_worker`) the workers, until a signal.
pub async fn serve(
    config: &Config,
    pool: &PgPool,
    no_worker: bool,
    concurrency: usize,
    lease_secs: u64,
) -> anyhow::Result<()> {
    ensure_migrated(pool).await?;
    let pipeline = pipeline(config, pool).await?;
    let health = Arc::new(worker::WorkerHealth::default());
    let state = AppState {
        worker: (!no_worker).then(|| health.clone()),
        ..app_state(config, pool, Some(pipeline.clone()))
    };
    let metrics = match &config.metrics_addr {
        Some(addr) => {
            let m = Application::build_metrics(state.clone(), addr)
                .await
                .with_context(|| format!("binding the metrics listener METRICS_ADDR={addr}"))?;
            tracing::info!(addr = %m.local_addr()?, "metrics listening (/metrics)");
            Some(m)
        }
        None => None,
    };
    let app = Application::build(state, "0.0.0.0", config.port)
        .await
        .context("binding the HTTP port")?
        .with_limits(config.http_limits);
    tracing::info!(addr = %app.local_addr()?, "listening");
    let (tx, rx) = tokio::sync::watch::channel(false);
    let background = (!no_worker).then(|| {
        let opts = WorkerOptions {
            health: health.clone(),
            ..worker_options(config, concurrency, lease_secs)
        };
        spawn_background(config, &pipeline, opts, &rx)
    });
    let mut stop_rx = rx.clone();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stop_rx.changed().await;
    }));
    let metrics_server = metrics.map(|m| {
        let mut stop_rx = rx.clone();
        tokio::spawn(m.run_until_stopped(async move {
            let _ = stop_rx.changed().await;
        }))
    });
    shutdown_signal().await;
    let _ = tx.send(true);
    server.await??;
    if let Some(m) = metrics_server {
        m.await??;
    }
    for task in background.into_iter().flatten() {
        task.await?;
    }
    Ok(())
}

/// What a worker process runs beside any API, until `stop`: the workers,
/// the retention pruner, the reconciliation and retry sweeps and the
/// discovery sources' health check (the last four take turns across
/// processes).
fn spawn_background(
    config: &Config,
    pipeline: &Arc<Pipeline>,
    opts: WorkerOptions,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let pool = pipeline.pool.clone();
    vec![
        tokio::spawn(worker::run(pipeline.clone(), opts, stop.clone())),
        tokio::spawn(crate::store::retention::scheduled(
            pool.clone(),
            config.retention.clone(),
            config.prune_interval,
            stop.clone(),
        )),
        tokio::spawn(crate::pipeline::reconcile::scheduled(
            pool.clone(),
            pipeline.providers.clone(),
            config.reconcile,
            stop.clone(),
        )),
        tokio::spawn(crate::pipeline::retry::scheduled(
            pool.clone(),
            config.retry_sweep,
            stop.clone(),
        )),
        tokio::spawn(crate::pipeline::source_health::scheduled(
            pool,
            pipeline.settings.profile.alerts.clone(),
            config.discovery.clone(),
            config.alerts.source_window,
            config.alerts.source_every,
            stop.clone(),
        )),
    ]
}

/// `worker`: only the workers, until a signal.
pub async fn work(
    config: &Config,
    pool: &PgPool,
    concurrency: usize,
    lease_secs: u64,
) -> anyhow::Result<()> {
    ensure_migrated(pool).await?;
    let pipeline = pipeline(config, pool).await?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let opts = worker_options(config, concurrency, lease_secs);
    let background = spawn_background(config, &pipeline, opts, &rx);
    shutdown_signal().await;
    let _ = tx.send(true);
    for task in background {
        task.await?;
    }
    Ok(())
}

/// `enrich <lead_id>`: one lead now, run as the API's synchronous triggers
/// run it (a job, so it has a worker's guarantees: the lead's lease, one
/// note, retries); prints the outcome and the note. A run that cannot start
/// within `wait` (another run of the lead holds it), or ends to be retried,
/// is left queued for the workers and the command says so (exit status 1); a
/// run under way when `wait` passes is waited for, never cut short.
pub async fn enrich_one(
    config: &Config,
    pool: &PgPool,
    lead: &str,
    wait: Duration,
) -> anyhow::Result<()> {
    let lead_id = LeadId::parse(lead).context("the lead id")?;
    ensure_migrated(pool).await?;
    let pipeline = pipeline(config, pool).await?;
    let started = std::time::Instant::now();
    let mut worker = worker_options(config, 1, DEFAULT_LEASE_SECS);
    worker.id = "cli".into();
    let run = crate::pipeline::sync::run_now(&pipeline, &lead_id, &worker, wait).await?;
    let job = run.job_id;
    let leave = "it stays queued; `c2s-enrich worker` (or `serve`) runs it, `c2s-enrich jobs list` shows it";
    let end = match run.state {
        SyncState::Ended(end) => end,
        SyncState::Pending(pending) => {
            // Under way (or still waiting for another run of the lead):
            // leaving now would cut a run short; its own time limits bound it.
            eprintln!(
                "lead {}: still running after {}s; waiting for the run to end (Ctrl-C leaves it to the workers)",
                lead_id.as_str(),
                wait.as_secs()
            );
            pending.finish().await
        }
    };
    let (outcome, error) = match end {
        RunEnd::Ran(outcome, error) => (outcome, error),
        RunEnd::Unclaimed => anyhow::bail!(
            "lead {}: another run of it held it for {}s (job {job}); {leave}",
            lead_id.as_str(),
            wait.as_secs()
        ),
        RunEnd::RecordFailed(e) => anyhow::bail!(
            "recording the run's outcome failed: {e} (job {job}); a worker runs it again once its lease expires"
        ),
    };
    let error = error.unwrap_or_default();
    match outcome {
        JobOutcome::Completed => {}
        JobOutcome::LeadNotFound => anyhow::bail!(
            "C2S does not know lead {} (job {job}); it is asked again a few times over the next minutes: {leave}",
            lead_id.as_str()
        ),
        JobOutcome::Retrying | JobOutcome::Paused | JobOutcome::Deferred => {
            anyhow::bail!("{error} (job {job}); {leave}")
        }
        JobOutcome::Dead => {
            anyhow::bail!("the run failed: {error} (job {job} is dead; `c2s-enrich jobs retry {job}` runs it again)")
        }
        JobOutcome::LeadBusy | JobOutcome::LeaseLost => anyhow::bail!(
            "another run of lead {} holds it (job {job}); {leave}",
            lead_id.as_str()
        ),
    }
    print_recorded(pool, &lead_id, job, started).await
}

/// Prints a finished run as recorded: outcome, note state, job, time, and
/// the note as posted.
async fn print_recorded(
    pool: &PgPool,
    lead_id: &LeadId,
    job: i64,
    started: std::time::Instant,
) -> anyhow::Result<()> {
    let recorded = crate::store::leads::recorded_state(pool, lead_id)
        .await?
        .context("the lead's record is gone after its run")?;
    let note = crate::store::leads::note_text(pool, lead_id).await?;
    println!(
        "lead {}: {} (note {}, job {job}) in {:.1}s",
        lead_id.as_str(),
        recorded.outcome.as_deref().unwrap_or(&recorded.state),
        recorded.note_status,
        started.elapsed().as_secs_f64()
    );
    if let Some(n) = note {
        println!("\n{n}");
    }
    Ok(())
}

/// Polls `check` every `every` until it returns true or `limit` passes.
pub async fn wait_until<F, Fut>(
    limit: Duration,
    every: Duration,
    mut check: F,
) -> anyhow::Result<bool>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if check().await? {
            return Ok(true);
        }
        tokio::time::sleep(every).await;
    }
    Ok(false)
}
