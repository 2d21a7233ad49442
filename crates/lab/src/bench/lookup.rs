//! Benchmark 4 — the lookup API on the hardened scale database: requests per
//! second and latency of `GET /api/v1/customers?phone=` and `?cpf=` from a
//! closed-loop generator on loopback, against a `serve --no-worker` process.
//! Every answer is a real golden record and an audit row.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::support::{self, Child, Scratch, Stats};

#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    pub query: &'static str,
    pub requests: usize,
    pub failed: usize,
    pub requests_per_second: f64,
    pub latency: Stats,
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
    let phones: Vec<String> = sqlx::query_scalar(
        "SELECT phone_e164 FROM core.entity_phones WHERE phone_e164 IS NOT NULL ORDER BY random() LIMIT 2000",
    )
    .fetch_all(&db.pool)
    .await?;
    let cpfs: Vec<String> = sqlx::query_scalar(
        "SELECT national_id FROM core.entities WHERE national_id IS NOT NULL ORDER BY random() LIMIT 2000",
    )
    .fetch_all(&db.pool)
    .await?;
    anyhow::ensure!(!phones.is_empty() && !cpfs.is_empty(), "nothing to look up");
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
        endpoints.push(Endpoint {
            query,
            requests: ok.len(),
            failed,
            requests_per_second: rps,
            latency,
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
