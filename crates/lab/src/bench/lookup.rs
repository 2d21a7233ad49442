//! Benchmark 4 — the lookup API on the hardened scale database: requests per
//! second and latency of `GET /api/v1/customers?phone=` and `?cpf=` from a
//! closed-loop generator on loopback, against a `serve --no-worker` process.
//! Every answer is a real golden record and an audit row. The floor: the
//! same statement (`store::customers::read_audited`) run directly over as
//! many connections, in the same run — the API's figure is read against it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use c2s_enrich::store::customers::{read_audited, CustomerQuery, Reader};

use serde::Serialize;

use super::support::{self, Child, Scratch, Stats};

#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    pub query: &'static str,
    pub requests: usize,
    pub failed: usize,
    pub requests_per_second: f64,
    pub latency: Stats,
    /// The same lookups as direct SQL over as many connections.
    pub floor_per_second: f64,
    pub floor_latency: Stats,
    /// Time per lookup, API ÷ direct SQL (1.0 = no overhead).
    pub api_over_floor: f64,
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

/// The floor: `concurrency` closed-loop tasks running the lookup statement
/// directly (a pool of as many connections), for `duration`; each lookup's
/// time, and how many failed.
async fn direct_load(
    url: &secrecy::SecretString,
    lookups: Arc<Vec<CustomerQuery>>,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    anyhow::ensure!(!lookups.is_empty(), "nothing to look up directly");
    let pool = c2s_enrich::db::connect_pool(url, u32::try_from(concurrency)?).await?;
    let deadline = Instant::now() + duration;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (pool, lookups, next) = (pool.clone(), lookups.clone(), next.clone());
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
                match read_audited(&pool, &lookups[i], &reader).await {
                    Ok(_) => ok.push(started.elapsed()),
                    Err(_) => bad += 1,
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
        let urls: Arc<Vec<String>> = Arc::new(
            values
                .iter()
                .map(|v| {
                    format!(
                        "{}/api/v1/customers?{query}={}",
                        child.base,
                        v.replace('+', "%2B")
                    )
                })
                .collect(),
        );
        // Warm the connections and caches the same way for both.
        let _ = support::load(urls.clone(), &key, concurrency, Duration::from_millis(500)).await;
        let (ok, failed) = support::load(urls, &key, concurrency, duration).await;
        let rps = ok.len() as f64 / duration.as_secs_f64();
        let latency = Stats::of(&ok);
        eprintln!(
            "  ?{query}=: {rps:.0} requests/s, p50 {:.1} ms, p99 {:.1} ms, {failed} failed",
            latency.p50_ms, latency.p99_ms
        );
        let (floor_ok, _) =
            direct_load(&db.url, lookups_of(query, &values), concurrency, duration).await?;
        let floor_rps = floor_ok.len() as f64 / duration.as_secs_f64();
        eprintln!("  ?{query}= as direct SQL: {floor_rps:.0} lookups/s");
        endpoints.push(Endpoint {
            query,
            requests: ok.len(),
            failed,
            requests_per_second: rps,
            latency,
            floor_per_second: floor_rps,
            floor_latency: Stats::of(&floor_ok),
            api_over_floor: floor_rps / rps.max(1e-9),
        });
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
