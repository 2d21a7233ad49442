//! Benchmark 4 — the lookup API on the hardened scale database: requests per
//! second and latency of `GET /api/v1/customers?phone=` and `?cpf=` from a
//! closed-loop generator on loopback, against a `serve --no-worker` process.
//! Every answer is a real golden record and an audit row. The floor: the
//! golden-record statement (`store::customers::read_unaudited`) run directly over as
//! many connections, in the same run — the API's figure is read against it;
//! beside it, the same reads with their audit rows through the same
//! group-committing writer (`read_audited`), without HTTP and key checks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use c2s_enrich::store::customers::{read_audited, read_unaudited, CustomerQuery, Reader};
use c2s_enrich::store::pii_audit::AuditLog;

use serde::Serialize;

use super::cpu;
use super::support::{self, Child, Scratch, Stats};

#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    pub query: &'static str,
    pub requests: usize,
    pub failed: usize,
    pub requests_per_second: f64,
    pub latency: Stats,
    /// The same golden-record reads as direct SQL over as many connections.
    pub floor_per_second: f64,
    pub floor_latency: Stats,
    /// Time per lookup, API ÷ direct SQL (1.0 = no overhead).
    pub api_over_floor: f64,
    /// The same reads with their audit rows (group-committed), directly.
    pub audited_per_second: f64,
    pub audited_latency: Stats,
    /// CPU milliseconds per API request: `serve`, PostgreSQL, the load
    /// generator (this process).
    pub api_cpu_ms: CpuShare,
    /// CPU milliseconds per direct read: PostgreSQL, the client.
    pub floor_cpu_ms: CpuShare,
}

/// CPU milliseconds per request, by process (all on the same 2 cores).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CpuShare {
    pub service: f64,
    pub postgres: f64,
    pub client: f64,
}

/// CPU seconds so far of `serve` (when given), PostgreSQL and this process.
fn cpu_now(serve: Option<u32>) -> [f64; 3] {
    [
        serve.map_or(0.0, cpu::process_seconds),
        cpu::postgres_seconds(),
        cpu::process_seconds(std::process::id()),
    ]
}

/// The CPU spent since `before`, per request of `requests`.
fn cpu_per_request(before: [f64; 3], after: [f64; 3], requests: usize) -> CpuShare {
    let per = |i: usize| (after[i] - before[i]) * 1000.0 / requests.max(1) as f64;
    CpuShare {
        service: per(0),
        postgres: per(1),
        client: per(2),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LookupResult {
    pub entities: i64,
    pub concurrency: usize,
    pub seconds: f64,
    pub endpoints: Vec<Endpoint>,
    pub serve_rss_mib: f64,
}

/// `serve`'s settings for the benchmark: no rate limits, a pool for every
/// client, and provider settings it requires but a lookup never uses.
fn serve_env(concurrency: usize) -> std::collections::HashMap<String, String> {
    let mut env = std::collections::HashMap::new();
    env.insert("RATE_LIMIT_PER_KEY".to_owned(), "0".to_owned());
    env.insert("RATE_LIMIT_PER_IP".to_owned(), "0".to_owned());
    env.insert(
        "DB_MAX_CONNECTIONS".to_owned(),
        (concurrency + 4).to_string(),
    );
    // `serve` wants provider settings; a lookup never calls a provider.
    for (k, v) in [
        ("C2S_BASE_URL", "http://127.0.0.1:9"),
        ("DIRETRIX_BASE_URL", "http://127.0.0.1:9"),
        ("WORK_API_BASE_URL", "http://127.0.0.1:9"),
        ("C2S_TOKEN", "unused"),
        ("DIRETRIX_USER", "unused"),
        ("DIRETRIX_PASS", "unused"),
        ("WORK_API", "unused"),
        ("WEBHOOK_SECRET", super::support::WEBHOOK_SECRET),
    ] {
        env.insert(k.to_owned(), v.to_owned());
    }
    env
}

/// 2,000 random phones and CPFs of the database, to look up.
async fn sample_identifiers(pool: &sqlx::PgPool) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let phones: Vec<String> = sqlx::query_scalar(
        "SELECT phone_e164 FROM core.entity_phones WHERE phone_e164 IS NOT NULL ORDER BY random() LIMIT 2000",
    )
    .fetch_all(pool)
    .await?;
    let cpfs: Vec<String> = sqlx::query_scalar(
        "SELECT national_id FROM core.entities WHERE national_id IS NOT NULL ORDER BY random() LIMIT 2000",
    )
    .fetch_all(pool)
    .await?;
    anyhow::ensure!(!phones.is_empty() && !cpfs.is_empty(), "nothing to look up");
    Ok((phones, cpfs))
}

/// The lookups behind `values` of kind `query` (`phone` or `cpf`).
fn lookups_of(query: &str, values: &[String]) -> Arc<Vec<CustomerQuery>> {
    Arc::new(
        values
            .iter()
            .filter_map(|v| match query {
                "phone" => brazil::PhoneBr::parse(v).ok().map(CustomerQuery::Phone),
                _ => brazil::Cpf::parse(v).ok().map(CustomerQuery::Cpf),
            })
            .collect(),
    )
}

/// The floor: `concurrency` closed-loop tasks running the golden-record
/// statement directly (a pool of as many connections) for `duration` — with
/// its audit rows through an `AuditLog` of the same pool when `audited`;
/// each lookup's time, and how many failed.
async fn direct_load(
    url: &secrecy::SecretString,
    lookups: Arc<Vec<CustomerQuery>>,
    concurrency: usize,
    duration: Duration,
    audited: bool,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    anyhow::ensure!(!lookups.is_empty(), "nothing to look up directly");
    let pool = c2s_enrich::db::connect_pool(url, u32::try_from(concurrency)?).await?;
    let audit = AuditLog::new(pool.clone());
    let deadline = Instant::now() + duration;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (pool, audit, lookups, next) =
            (pool.clone(), audit.clone(), lookups.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let reader = Reader {
                key_name: "bench-floor",
                endpoint: "direct SQL",
                request_id: "bench",
            };
            let (mut ok, mut bad) = (Vec::new(), 0usize);
            while Instant::now() < deadline {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % lookups.len();
                let started = Instant::now();
                let q = &lookups[i];
                let done = if audited {
                    read_audited(&pool, &audit, Some(q), q.kind(), &reader)
                        .await
                        .is_ok()
                } else {
                    read_unaudited(&pool, q).await.is_ok()
                };
                match done {
                    true => ok.push(started.elapsed()),
                    false => bad += 1,
                }
            }
            (ok, bad)
        }));
    }
    let (mut all, mut bad) = (Vec::new(), 0);
    for t in tasks {
        let (ok, b) = t.await?;
        all.extend(ok);
        bad += b;
    }
    pool.close().await;
    Ok((all, bad))
}

pub async fn run(
    db: &Scratch,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<LookupResult> {
    let entities: i64 = sqlx::query_scalar("SELECT count(*) FROM core.entities")
        .fetch_one(&db.pool)
        .await?;
    let (_, key) =
        c2s_enrich::store::api_keys::create(&db.pool, "bench-lookup", &["read:pii".to_owned()])
            .await?;
    let env = serve_env(concurrency);
    let child = Child::serve(&env, &db.url, &["--no-worker"]).await?;
    let (phones, cpfs) = sample_identifiers(&db.pool).await?;
    let mut endpoints = Vec::new();
    for (query, values) in [("phone", phones), ("cpf", cpfs)] {
        let load = Load {
            child: &child,
            key: &key,
            url: &db.url,
            concurrency,
            duration,
        };
        endpoints.push(measure(&load, query, &values).await?);
    }
    let (rss, _) = child.memory_mib();
    child.stop().await;
    Ok(LookupResult {
        entities,
        concurrency,
        seconds: duration.as_secs_f64(),
        endpoints,
        serve_rss_mib: rss,
    })
}

/// Where and how hard one query kind is measured.
struct Load<'a> {
    child: &'a Child,
    key: &'a str,
    url: &'a secrecy::SecretString,
    concurrency: usize,
    duration: Duration,
}

/// One query kind: through the API, then directly (bare reads, then reads
/// with their audit rows), each with the CPU it cost.
async fn measure(l: &Load<'_>, query: &'static str, values: &[String]) -> anyhow::Result<Endpoint> {
    let urls: Arc<Vec<String>> = Arc::new(
        values
            .iter()
            .map(|v| {
                format!(
                    "{}/api/v1/customers?{query}={}",
                    l.child.base,
                    v.replace('+', "%2B")
                )
            })
            .collect(),
    );
    let (concurrency, duration) = (l.concurrency, l.duration);
    // Warm the connections and caches the same way for both.
    let _ = support::load(urls.clone(), l.key, concurrency, Duration::from_millis(500)).await;
    let before = cpu_now(Some(l.child.pid));
    let (ok, failed) = support::load(urls, l.key, concurrency, duration).await;
    let api_cpu_ms = cpu_per_request(before, cpu_now(Some(l.child.pid)), ok.len());
    let rps = ok.len() as f64 / duration.as_secs_f64();
    let latency = Stats::of(&ok);
    eprintln!(
        "  ?{query}=: {rps:.0} requests/s, p50 {:.1} ms, p99 {:.1} ms, {failed} failed",
        latency.p50_ms, latency.p99_ms
    );
    let lookups = lookups_of(query, values);
    let before = cpu_now(None);
    let (floor_ok, _) = direct_load(l.url, lookups.clone(), concurrency, duration, false).await?;
    let floor_cpu_ms = cpu_per_request(before, cpu_now(None), floor_ok.len());
    let floor_rps = floor_ok.len() as f64 / duration.as_secs_f64();
    let (audited_ok, _) = direct_load(l.url, lookups, concurrency, duration, true).await?;
    let audited_rps = audited_ok.len() as f64 / duration.as_secs_f64();
    eprintln!(
        "  ?{query}= as direct SQL: {floor_rps:.0} reads/s; with the audit: {audited_rps:.0}/s"
    );
    Ok(Endpoint {
        query,
        requests: ok.len(),
        failed,
        requests_per_second: rps,
        latency,
        floor_per_second: floor_rps,
        floor_latency: Stats::of(&floor_ok),
        api_over_floor: floor_rps / rps.max(1e-9),
        audited_per_second: audited_rps,
        audited_latency: Stats::of(&audited_ok),
        api_cpu_ms,
        floor_cpu_ms,
    })
}
