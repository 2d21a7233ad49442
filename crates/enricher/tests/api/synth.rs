//! `synth`: production-shaped data with COPY — the planned counts, valid for
//! the hardened schema, dirty in the legacy one until `migrate` hardens it,
//! the same for the same seed, and never poured into a database with data.

use c2s_lab::synth::{run, Plan, SynthError, SynthOptions};
use c2s_lab::testing::TestDb;

const SCALE: f64 = 0.002;

fn options(legacy: bool, seed: u64) -> SynthOptions {
    SynthOptions {
        scale: SCALE,
        legacy,
        seed,
        progress: false,
    }
}

async fn count(db: &TestDb, table: &str) -> u64 {
    let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&db.pool)
        .await
        .expect(table);
    u64::try_from(n).expect("count")
}

async fn fingerprint(db: &TestDb) -> String {
    sqlx::query_scalar(
        "SELECT md5(string_agg(entity_id::text || coalesce(national_id, '') || name, ',' ORDER BY entity_id))
              || md5((SELECT string_agg(phone || entity_id::text, ',' ORDER BY id) FROM core.entity_phones))
              || md5((SELECT string_agg(coalesce(zip_code, '-') || coalesce(state, '-'), ',' ORDER BY id) FROM core.addresses))
           FROM core.entities",
    )
    .fetch_one(&db.pool)
    .await
    .expect("fingerprint")
}

#[tokio::test]
async fn the_hardened_shape_has_the_planned_rows_and_passes_every_check() {
    let db = TestDb::empty().await.expect("db");
    let report = run(&db.pool, &options(false, 42)).await.expect("synth");
    let plan = Plan::at(SCALE);
    assert_eq!(report.plan, plan);
    assert_eq!(report.rows, plan.total());
    assert_eq!(count(&db, "core.entities").await, plan.entities);
    assert_eq!(count(&db, "core.entity_phones").await, plan.phones);
    assert_eq!(count(&db, "core.entity_emails").await, plan.emails);
    assert_eq!(count(&db, "core.addresses").await, plan.addresses);
    assert_eq!(count(&db, "core.entity_addresses").await, plan.links);
    assert_eq!(count(&db, "core.entity_profiles").await, plan.profiles);
    assert_eq!(count(&db, "core.properties").await, plan.properties);
    let share: f64 = sqlx::query_scalar("SELECT avg(is_enriched::int)::float8 FROM core.entities")
        .fetch_one(&db.pool)
        .await
        .expect("share");
    assert!((share - 0.45).abs() < 0.03, "{share}");
    let dq = c2s_enrich::ops::dq::run(&db.pool).await.expect("dq");
    assert!(dq.passed(), "{:?}", dq.checks);
    assert_eq!(dq.orphans, 0);

    // A second run never pours into a database that has customers.
    let again = run(&db.pool, &options(false, 42)).await;
    assert!(matches!(again, Err(SynthError::NotEmpty(_))), "{again:?}");
}

#[tokio::test]
async fn the_legacy_shape_is_dirty_until_migrate_hardens_it() {
    let db = TestDb::empty().await.expect("db");
    run(&db.pool, &options(true, 42)).await.expect("synth");
    let dq = c2s_enrich::ops::dq::run(&db.pool).await.expect("dq");
    let failed: Vec<&str> = dq
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name)
        .collect();
    assert!(failed.len() >= 3, "legacy data should be dirty: {failed:?}");
    let duplicates: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT entity_id, phone FROM core.entity_phones GROUP BY 1, 2 HAVING count(*) > 1) d",
    )
    .fetch_one(&db.pool)
    .await
    .expect("dups");
    assert_eq!(
        duplicates,
        i64::try_from(Plan::at(SCALE).duplicate_phone_pairs).expect("n")
    );
    c2s_enrich::db::migrate_up(&db.pool).await.expect("harden");
    let dq = c2s_enrich::ops::dq::run(&db.pool).await.expect("dq");
    assert!(dq.passed(), "{:?}", dq.checks);
}

#[tokio::test]
async fn the_same_seed_gives_the_same_data_and_another_seed_does_not() {
    let (a, b, c) = (
        TestDb::empty().await.expect("db"),
        TestDb::empty().await.expect("db"),
        TestDb::empty().await.expect("db"),
    );
    run(&a.pool, &options(true, 7)).await.expect("a");
    run(&b.pool, &options(true, 7)).await.expect("b");
    run(&c.pool, &options(true, 8)).await.expect("c");
    assert_eq!(fingerprint(&a).await, fingerprint(&b).await);
    assert_ne!(fingerprint(&a).await, fingerprint(&c).await);
}

#[tokio::test]
async fn a_bad_scale_is_refused_before_touching_the_database() {
    let db = TestDb::empty().await.expect("db");
    for bad in [0.0, -1.0, 11.0, f64::NAN] {
        let r = run(
            &db.pool,
            &SynthOptions {
                scale: bad,
                ..options(false, 1)
            },
        )
        .await;
        assert!(matches!(r, Err(SynthError::BadScale(_))), "{bad}: {r:?}");
    }
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('core.entities') IS NOT NULL")
        .fetch_one(&db.pool)
        .await
        .expect("q");
    assert!(!exists);
}
