//! A sandbox, a fresh database and a pipeline wired to both (the pipeline,
//! worker and command tests). Panics when one cannot be had: test support.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use super::TestDb;
use c2s_enrich::config::Config;
use c2s_enrich::pipeline::note::{NoteSettings, Sections};
use c2s_enrich::pipeline::{Pipeline, PipelineSettings};
use c2s_enrich::providers::Providers;
use c2s_enrich::store::ledger::Ledger;
use c2s_sim::{SimConfig, SimHandle};

/// The service's configuration for `sim`: no call spacing, one retry, 5 s
/// timeouts, and the `extra` variables.
pub fn sandbox_config(sim: &SimHandle, extra: &[(&str, &str)]) -> Config {
    let mut env = crate::bench::support::sim_env(sim);
    for p in ["C2S", "DIRETRIX", "WORK_API", "CNPJ"] {
        env.insert(format!("{p}_MAX_RETRIES"), "1".into());
        env.insert(format!("{p}_TIMEOUT_SECS"), "5".into());
    }
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    Config::load_with(None, &move |k| env.get(k).cloned()).expect("config")
}

/// The classic world (seed 11, 30 leads), a fresh database, a pipeline.
pub async fn setup() -> (SimHandle, TestDb, Pipeline) {
    setup_with(&[]).await
}

/// [`setup`] with extra configuration variables.
pub async fn setup_with(extra: &[(&str, &str)]) -> (SimHandle, TestDb, Pipeline) {
    setup_world(c2s_sim::World::Classic, 11, 30, extra).await
}

/// A sandbox of the given world, seed and size, a fresh database, a pipeline.
pub async fn setup_world(
    world: c2s_sim::World,
    seed: u64,
    leads: usize,
    extra: &[(&str, &str)],
) -> (SimHandle, TestDb, Pipeline) {
    let sim = c2s_sim::start(SimConfig {
        seed,
        leads,
        world,
        ..SimConfig::default()
    })
    .await
    .expect("sandbox");
    let test = TestDb::migrated().await.expect("db");
    let config = sandbox_config(&sim, extra);
    let providers = Arc::new(Providers::build(&config, &test.pool).expect("providers"));
    let ledger = Arc::new(
        Ledger::new(test.pool.clone(), None, config.cache.freshness.clone())
            .await
            .expect("ledger")
            .with_budgets(config.budgets.clone()),
    );
    let settings = PipelineSettings {
        note: NoteSettings {
            today: chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("date"),
            income_factor: rust_decimal::Decimal::from_str("1.9").expect("factor"),
            max_chars: 5000,
            sections: Sections::default(),
        },
        dossier_freshness: Duration::from_secs(30 * 24 * 3600),
        discovery: config.discovery.clone(),
        google_ads: c2s_enrich::pipeline::GoogleAdsSettings {
            seller_id: config.c2s_seller_id.clone(),
            description_max_chars: config.description_max_chars,
            products: config.google_ads_products.clone(),
        },
        identity_min_confidence: config.identity_min_confidence,
        identity_policy: Default::default(),
        discovery_mode: config.discovery_mode,
        retry: config.retry.clone(),
        profile: c2s_enrich::pipeline::ProfileSettings {
            rules: config.tier_rules.clone(),
            alerts: c2s_enrich::notify::Alerts::from_config(&config.alerts).expect("alerts"),
            data_age: config.note_data_age,
            blocked_note: config.blocked_note,
            ..Default::default()
        },
    };
    let pipeline = Pipeline {
        pool: test.pool.clone(),
        providers,
        ledger,
        settings,
    };
    (sim, test, pipeline)
}
