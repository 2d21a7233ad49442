//! What every benchmark needs: latency statistics, the machine's description,
//! scratch databases, a configuration pointed at the sandbox, a `serve` child
//! process (for memory figures), and a small closed-loop HTTP load generator.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sqlx::Connection as _;
use sqlx::PgPool;

use c2s_enrich::config::Config;

/// Latency statistics in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Stats {
    pub n: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// Nearest-rank percentile of sorted `v` (`q` in 0..=1).
fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

impl Stats {
    pub fn of(samples: &[Duration]) -> Self {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        Self {
            n: ms.len(),
            p50_ms: pct(&ms, 0.5),
            p99_ms: pct(&ms, 0.99),
            max_ms: ms.last().copied().unwrap_or(0.0),
            mean_ms: if ms.is_empty() {
                0.0
            } else {
                ms.iter().sum::<f64>() / ms.len() as f64
            },
        }
    }
}

/// The median of some figures (0 for none).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// What the figures were measured on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub postgres: String,
    pub os: String,
    pub build: &'static str,
    pub version: &'static str,
}

impl Machine {
    pub async fn describe(pool: &PgPool) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map_or_else(|| "unknown".into(), |s| s.trim().to_owned());
        let memory_gib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            })
            .map_or(0.0, |kb| (kb / 1024.0 / 1024.0 * 10.0).round() / 10.0);
        let postgres: String = sqlx::query_scalar("SELECT split_part(version(), ' on ', 1)")
            .fetch_one(pool)
            .await
            .unwrap_or_default();
        let os = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|o| {
                o.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|s| s.trim_matches('"').to_owned())
            })
            .unwrap_or_else(|| std::env::consts::OS.into());
        Self {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib,
            postgres,
            os,
            build: if cfg!(debug_assertions) {
                "debug (run with --release for real figures)"
            } else {
                "release"
            },
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// Scratch databases on the benchmark's server, dropped when done.
#[derive(Debug, Clone)]
pub struct Server {
    /// URL of the server's `postgres` database (for CREATE/DROP DATABASE).
    pub admin: SecretString,
    pub keep: bool,
}

/// A scratch database.
#[derive(Debug)]
pub struct Scratch {
    pub name: String,
    pub url: SecretString,
    pub pool: PgPool,
}

impl Server {
    /// A new empty database `c2s_bench_<what>_<pid>` (replacing a leftover).
    pub async fn scratch(&self, what: &str) -> anyhow::Result<Scratch> {
        let name = format!("c2s_bench_{what}_{}", std::process::id());
        c2s_enrich::db::recreate_database(&self.admin, &name).await?;
        let url = c2s_enrich::db::replace_database(&self.admin, &name);
        let pool = c2s_enrich::db::connect_pool(&url, 20).await?;
        Ok(Scratch { name, url, pool })
    }

    /// Drops every scratch database this process created (after a failure
    /// too), unless `--keep` was given.
    pub async fn cleanup(&self) -> anyhow::Result<()> {
        if self.keep {
            return Ok(());
        }
        let mut conn = sqlx::PgConnection::connect(self.admin.expose_secret()).await?;
        let pattern = format!("c2s\\_bench\\_%\\_{}", std::process::id());
        let names: Vec<String> =
            sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE $1")
                .bind(&pattern)
                .fetch_all(&mut conn)
                .await?;
        for name in names {
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn)
                .await?;
        }
        Ok(())
    }

    /// Drops the scratch database unless `--keep` was given.
    pub async fn done(&self, s: Scratch) -> anyhow::Result<()> {
        s.pool.close().await;
        if self.keep {
            eprintln!("  kept database {}", s.name);
            return Ok(());
        }
        let mut conn = sqlx::PgConnection::connect(self.admin.expose_secret()).await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            s.name
        ))
        .execute(&mut conn)
        .await?;
        Ok(())
    }
}

/// The service's variables for `sim`, with pacing and rate limits off (the
/// figures measure our overhead, not the providers' advised spacing).
pub fn sim_env(sim: &c2s_sim::SimHandle) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = sim
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    for p in ["C2S", "DIRETRIX", "WORK_API", "CNPJ"] {
        env.insert(format!("{p}_MIN_INTERVAL_MS"), "0".into());
        env.insert(format!("{p}_MAX_RETRIES"), "2".into());
    }
    env.insert("RATE_LIMIT_PER_KEY".into(), "0".into());
    env.insert("RATE_LIMIT_PER_IP".into(), "0".into());
    // Signed webhooks, as production runs them (`serve` refuses unsigned).
    env.insert("WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into());
    env
}

/// The webhook secret of benchmark and drill services.
pub const WEBHOOK_SECRET: &str = "drill-webhook-secret";

/// The header a signed delivery carries, for the sandbox's deliveries.
pub const SIGNED: Option<(&str, &str)> = Some(("x-webhook-token", WEBHOOK_SECRET));

pub fn config(env: &HashMap<String, String>) -> anyhow::Result<Config> {
    let env = env.clone();
    Ok(Config::load_with(None, &move |k| env.get(k).cloned())?)
}

/// A `c2s-enrich serve` child process (this very binary).
#[derive(Debug)]
pub struct Child {
    child: tokio::process::Child,
    pub base: String,
    pub pid: u32,
    /// The metrics listener (`METRICS_ADDR`).
    pub metrics: String,
}

impl Child {
    /// Starts `serve` with `env` plus `DATABASE_URL`; waits for readiness.
    pub async fn serve(
        env: &HashMap<String, String>,
        database: &SecretString,
        args: &[&str],
    ) -> anyhow::Result<Self> {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            l.local_addr()?.port()
        };
        Self::serve_on(port, env, database, args).await
    }

    /// [`Child::serve`] on a given port (a restarted service keeps its address).
    pub async fn serve_on(
        port: u16,
        env: &HashMap<String, String>,
        database: &SecretString,
        args: &[&str],
    ) -> anyhow::Result<Self> {
        // `C2S_ENRICH_BIN` lets a test harness (whose own executable is not
        // c2s-enrich) name the binary.
        let exe = match std::env::var_os("C2S_ENRICH_BIN") {
            Some(p) => std::path::PathBuf::from(p),
            None => std::env::current_exe().context("locating the c2s-enrich binary")?,
        };
        // Several of these run side by side: each its own metrics port.
        let metrics_port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            l.local_addr()?.port()
        };
        let mut cmd = tokio::process::Command::new(exe);
        cmd.arg("serve")
            .args(args)
            .envs(env)
            .env("DATABASE_URL", database.expose_secret())
            .env("PORT", port.to_string())
            .env("METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
            .env("RUST_LOG", "warn")
            .env("LOG_FORMAT", "json")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        let child = cmd.spawn().context("starting c2s-enrich serve")?;
        let pid = child.id().context("child pid")?;
        let base = format!("http://127.0.0.1:{port}");
        let ready = c2s_enrich::app::wait_until(
            Duration::from_secs(30),
            Duration::from_millis(100),
            || {
                let url = format!("{base}/health/ready");
                async move {
                    Ok(reqwest::get(url)
                        .await
                        .is_ok_and(|r| r.status().is_success()))
                }
            },
        )
        .await?;
        anyhow::ensure!(ready, "serve did not become ready within 30 s");
        Ok(Self {
            child,
            base,
            pid,
            metrics: format!("http://127.0.0.1:{metrics_port}"),
        })
    }

    /// (current RSS, peak RSS) in MiB, from /proc.
    pub fn memory_mib(&self) -> (f64, f64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// SIGKILL: the process dies mid-work, as in a crash or an OOM kill.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGTERM and wait (graceful), SIGKILL after 20 s.
    pub async fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status();
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// Closed-loop load: `concurrency` clients GET `urls` (round robin) for
/// `duration`. Returns (latencies of 2xx answers, non-2xx or failed count).
pub async fn load(
    urls: Arc<Vec<String>>,
    key: &str,
    concurrency: usize,
    duration: Duration,
) -> (Vec<Duration>, usize) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap_or_default();
    let deadline = Instant::now() + duration;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, urls, next, key) = (http.clone(), urls.clone(), next.clone(), key.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut ok = Vec::new();
            let mut bad = 0usize;
            while Instant::now() < deadline {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % urls.len().max(1);
                let started = Instant::now();
                match http.get(&urls[i]).header("x-api-key", &key).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        ok.push(started.elapsed());
                    }
                    _ => bad += 1,
                }
            }
            (ok, bad)
        }));
    }
    let mut all = Vec::new();
    let mut bad = 0;
    for t in tasks {
        if let Ok((ok, b)) = t.await {
            all.extend(ok);
            bad += b;
        }
    }
    (all, bad)
}
