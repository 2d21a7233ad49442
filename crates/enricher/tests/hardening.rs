//! Hardening a legacy database: the dirty data production has, brought to the
//! hardened state without losing valid rows, re-runnable, reversible.

use c2s_enrich::migrate::{self, MigrateOptions};
use c2s_enrich::testing::{legacy, TestDb};
use sqlx::PgPool;

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn table_counts(pool: &PgPool) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in [
        "entities",
        "entity_phones",
        "entity_emails",
        "addresses",
        "entity_addresses",
        "entity_relationships",
        "entity_profiles",
        "properties",
    ] {
        out.push((
            t.to_owned(),
            count(pool, &format!("SELECT count(*) FROM core.{t}")).await,
        ));
    }
    out
}

fn of(counts: &[(String, i64)], table: &str) -> i64 {
    counts
        .iter()
        .find(|(t, _)| t == table)
        .map_or(-1, |(_, n)| *n)
}

/// The hard data-quality rules of DATABASE.md, each as a violation count.
async fn violations(pool: &PgPool) -> Vec<(&'static str, i64)> {
    let has_catalog = count(
        pool,
        "SELECT count(*) FROM pg_class WHERE oid = to_regclass('ref.street_type_catalog')",
    )
    .await
        > 0;
    let checks = [
        ("duplicate (entity_id, phone)", "SELECT count(*) FROM (SELECT 1 FROM core.entity_phones GROUP BY entity_id, phone HAVING count(*) > 1) d"),
        ("duplicate (entity_id, phone_e164)", "SELECT count(*) FROM (SELECT 1 FROM core.entity_phones WHERE phone_e164 IS NOT NULL GROUP BY entity_id, phone_e164 HAVING count(*) > 1) d"),
        ("duplicate (entity_id, email)", "SELECT count(*) FROM (SELECT 1 FROM core.entity_emails GROUP BY entity_id, lower(email) HAVING count(*) > 1) d"),
        ("bad CEP", "SELECT count(*) FROM core.addresses WHERE zip_code IS NOT NULL AND zip_code !~ '^[0-9]{8}$'"),
        ("bad UF", "SELECT count(*) FROM core.addresses WHERE state IS NOT NULL AND state !~ '^[A-Z]{2}$'"),
        ("phone without e164", "SELECT count(*) FROM core.entity_phones WHERE phone_e164 IS NULL"),
        ("upper-case e-mail", "SELECT count(*) FROM core.entity_emails WHERE email <> lower(email)"),
        ("unknown street type", "SELECT count(*) FROM core.addresses a WHERE street_type IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ref.street_type_catalog c WHERE c.code = a.street_type)"),
        ("duplicate link", "SELECT count(*) FROM (SELECT 1 FROM core.entity_addresses GROUP BY entity_id, address_id HAVING count(*) > 1) d"),
    ];
    let mut out = Vec::new();
    for (name, sql) in checks {
        if sql.contains("street_type_catalog") && !has_catalog {
            continue;
        }
        out.push((name, count(pool, sql).await));
    }
    out
}

async fn address(
    pool: &PgPool,
    key: &str,
) -> (
    Option<String>,
    Option<String>,
    Option<String>,
    serde_json::Value,
) {
    sqlx::query_as("SELECT zip_code, state, street_type, metadata FROM core.addresses WHERE id = md5($1)::uuid")
        .bind(key)
        .fetch_one(pool)
        .await
        .expect("address")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_legacy_database_is_hardened_without_losing_valid_rows() {
    let test = TestDb::empty().await.expect("db");
    let pool = &test.pool;
    let fixture = legacy::create(pool, 2000).await.expect("legacy fixture");
    let before = table_counts(pool).await;
    let dirty: Vec<(&str, i64)> = violations(pool).await.into_iter().take(6).collect();
    assert!(
        dirty.iter().all(|(_, n)| *n > 0),
        "the fixture must break every rule: {dirty:?}"
    );

    let applied = migrate::up(pool, &MigrateOptions::default())
        .await
        .expect("hardening");
    assert_eq!(applied.len(), migrate::MIGRATIONS.len());

    for (rule, n) in violations(pool).await {
        assert_eq!(n, 0, "rule violated after hardening: {rule}");
    }
    let after = table_counts(pool).await;
    let removed_phones =
        fixture.duplicate_phones + fixture.invalid_phones + fixture.duplicate_e164 + 1;
    assert_eq!(
        of(&after, "entity_phones"),
        of(&before, "entity_phones") - removed_phones
    );
    assert_eq!(
        of(&after, "entity_emails"),
        of(&before, "entity_emails") - fixture.duplicate_emails
    );
    assert_eq!(
        of(&after, "entity_addresses"),
        of(&before, "entity_addresses") - fixture.duplicate_links - 1
    );
    for table in [
        "entities",
        "addresses",
        "entity_relationships",
        "entity_profiles",
        "properties",
    ] {
        assert_eq!(
            of(&after, table),
            of(&before, table),
            "{table} must lose nothing"
        );
    }

    // Every bulk (non-duplicate) row is still there, under its original id.
    let n = fixture.people;
    for (table, prefix) in [
        ("entity_phones", "p"),
        ("entity_emails", "m"),
        ("addresses", "a"),
        ("entity_addresses", "l"),
    ] {
        let present = count(pool, &format!(
            "SELECT count(*) FROM core.{table} WHERE id IN (SELECT md5('{prefix}' || i)::uuid FROM generate_series(1, {n}) i)"
        )).await;
        assert_eq!(present, n, "{table}: original rows kept");
    }

    // What was removed is in the archive, by reason.
    let archived = |reason: &'static str| {
        let sql = format!("SELECT count(*) FROM enrich.archived_rows WHERE reason = '{reason}'");
        async move { count(pool, &sql).await }
    };
    assert_eq!(
        archived("duplicate").await,
        fixture.duplicate_phones + fixture.duplicate_emails + fixture.duplicate_links
    );
    assert_eq!(archived("invalid_phone").await, fixture.invalid_phones);
    assert_eq!(archived("duplicate_e164").await, fixture.duplicate_e164);
    assert_eq!(archived("orphan").await, fixture.orphans);
    // The oldest duplicate is the one kept.
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM core.entity_phones WHERE id = md5('px6')::uuid"
        )
        .await,
        1
    );

    // Normalised values, originals kept.
    let (zip, uf, st, meta) = address(pool, "ad1").await;
    assert_eq!(
        (zip.as_deref(), uf.as_deref(), st.as_deref()),
        (None, Some("SP"), Some("AV"))
    );
    assert_eq!(meta["legacy"]["zip_code"], "1144");
    assert_eq!(meta["legacy"]["state"], "sp");
    let (zip, uf, st, _) = address(pool, "ad2").await;
    assert_eq!(
        (zip.as_deref(), uf.as_deref(), st.as_deref()),
        (Some("11060002"), Some("SP"), Some("VIA"))
    );
    let (zip, uf, st, meta) = address(pool, "ad3").await;
    assert_eq!((zip, uf, st), (None, None, None));
    assert_eq!(meta["legacy"]["street_type"], "INVALIDO");
    assert_eq!(meta["legacy"]["state"], "S");
    let (zip, _, st, _) = address(pool, "ad4").await;
    assert_eq!(
        (zip.as_deref(), st.as_deref()),
        (Some("01442000"), Some("R"))
    );
    let (zip, uf, st, _) = address(pool, "ad5").await;
    assert_eq!(
        (zip.as_deref(), uf.as_deref(), st.as_deref()),
        (Some("22021001"), Some("RJ"), Some("AV"))
    );
    let (_, _, _, meta) = address(pool, "ad7").await;
    assert_eq!(
        meta["legacy"]["address_hash"], "same-hash",
        "younger duplicate hash cleared, kept in metadata"
    );

    let e164 = |key: &'static str| async move {
        sqlx::query_scalar::<_, String>(
            "SELECT phone_e164 FROM core.entity_phones WHERE id = md5($1)::uuid",
        )
        .bind(key)
        .fetch_one(pool)
        .await
        .expect("phone")
    };
    assert_eq!(e164("px1").await, "+5521987654321");
    assert_eq!(e164("px2").await, "+5551987654321");
    assert_eq!(
        e164("px5").await,
        "+5555987654321",
        "DDD 55 is not a country code"
    );
    assert_eq!(e164("px3").await, "+551130451122");

    assert_eq!(count(pool, "SELECT count(*) FROM ref.relationship_types WHERE type IN ('PAI','SOGRO') AND NOT is_active").await, 2);
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM ref.property_types WHERE code = 'APTO DUPLEX' AND NOT is_active"
        )
        .await,
        1
    );

    // Every constraint validated, every index valid, the named ones present.
    assert_eq!(count(pool, "SELECT count(*) FROM pg_constraint WHERE connamespace IN ('core'::regnamespace, 'ref'::regnamespace) AND NOT convalidated").await, 0);
    assert_eq!(count(pool, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace IN ('core'::regnamespace, 'ref'::regnamespace, 'enrich'::regnamespace) AND NOT i.indisvalid").await, 0);
    for name in [
        "fk_relationship_type",
        "fk_property_type_ref",
        "fk_street_type_catalog",
        "chk_addresses_zip_code",
        "chk_addresses_state_uf",
        "chk_entity_phones_e164",
        "uq_entity_phones_per_entity",
        "uq_entity_phones_e164",
        "uq_entity_emails",
        "uq_entity_addresses",
        "uq_addresses_hash",
    ] {
        assert_eq!(
            count(
                pool,
                &format!("SELECT count(*) FROM pg_constraint WHERE conname = '{name}'")
            )
            .await,
            1,
            "{name}"
        );
    }
    for name in [
        "idx_entities_metadata_c2s_lead_id",
        "idx_addresses_neighborhood_lower",
        "idx_entity_addresses_confidence_high",
        "idx_entities_enriched_at",
        "idx_entity_phones_e164",
    ] {
        assert_eq!(
            count(
                pool,
                &format!(
                    "SELECT count(*) FROM pg_class WHERE relname = '{name}' AND relkind = 'i'"
                )
            )
            .await,
            1,
            "{name}"
        );
    }

    // Running migrate again is a no-op.
    let again = migrate::up(pool, &MigrateOptions::default())
        .await
        .expect("re-run");
    assert!(again.is_empty());
    assert_eq!(table_counts(pool).await, after);
}

#[tokio::test(flavor = "multi_thread")]
async fn hardening_goes_down_and_up_again_and_the_archive_can_be_restored() {
    let test = TestDb::empty().await.expect("db");
    let pool = &test.pool;
    let fixture = legacy::create(pool, 200).await.expect("legacy fixture");
    let before = table_counts(pool).await;
    let opts = MigrateOptions::default();
    migrate::up(pool, &opts).await.expect("up");

    let reverted = migrate::down(pool, 4, &opts).await.expect("down to 4");
    let expected: Vec<i64> = migrate::MIGRATIONS
        .iter()
        .rev()
        .map(|m| m.version)
        .filter(|v| *v > 4)
        .collect();
    assert_eq!(reverted, expected);
    assert_eq!(count(pool, "SELECT count(*) FROM pg_constraint WHERE connamespace = 'core'::regnamespace AND (conname LIKE 'uq\\_%' OR conname LIKE 'chk\\_%' OR conname LIKE 'fk\\_%')").await, 0);
    let (zip, uf, st, _) = address(pool, "ad1").await;
    assert_eq!(
        (zip.as_deref(), uf.as_deref(), st.as_deref()),
        (Some("1144"), Some("sp"), Some("AVENIDA")),
        "originals restored"
    );

    let restored = c2s_enrich::archive::restore(pool, None)
        .await
        .expect("restore");
    assert_eq!(
        restored.restored as i64,
        fixture.duplicate_phones
            + fixture.duplicate_emails
            + fixture.duplicate_links
            + fixture.invalid_phones
            + fixture.duplicate_e164
            + fixture.orphans
    );
    assert_eq!(
        table_counts(pool).await,
        before,
        "after down + restore the legacy rows are all back"
    );

    migrate::up(pool, &opts).await.expect("up again");
    for (rule, n) in violations(pool).await {
        assert_eq!(n, 0, "rule violated after re-hardening: {rule}");
    }
    // Archived again, once: restored rows are marked, not archived twice.
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM enrich.archived_rows WHERE restored_at IS NULL"
        )
        .await,
        fixture.duplicate_phones
            + fixture.duplicate_emails
            + fixture.duplicate_links
            + fixture.invalid_phones
            + fixture.duplicate_e164
            + fixture.orphans
    );

    migrate::down(pool, 0, &opts)
        .await
        .expect("all the way down");
    migrate::up(pool, &opts).await.expect("and up");
}
