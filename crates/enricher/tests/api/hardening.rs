//! Hardening a legacy database: the dirty data production has, brought to the
//! hardened state without losing valid rows, re-runnable, reversible.

use c2s_enrich::db::migrate::{self, MigrateOptions};
use c2s_lab::testing::{legacy, TestDb};
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

    let restored = c2s_enrich::ops::archive::restore(pool, None)
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

/// Legacy shapes the hardening meets in the field, each applied to the
/// legacy fixture after its rows are in (issue 13's shape matrix).
const SHAPES: &[(&str, &str)] = &[
    (
        "minimal columns, timestamps missing on some tables",
        "ALTER TABLE core.entity_phones DROP COLUMN updated_at, DROP COLUMN metadata, DROP COLUMN is_primary,
             DROP COLUMN is_verified, DROP COLUMN is_whatsapp, DROP COLUMN carrier, DROP COLUMN phone_type;
         ALTER TABLE core.entity_addresses DROP COLUMN created_at, DROP COLUMN updated_at, DROP COLUMN metadata,
             DROP COLUMN verified, DROP COLUMN is_current;
         ALTER TABLE core.properties DROP COLUMN created_at, DROP COLUMN updated_at, DROP COLUMN metadata;
         ALTER TABLE core.entity_profiles DROP COLUMN created_at, DROP COLUMN updated_at, DROP COLUMN metadata;
         ALTER TABLE core.entities DROP COLUMN is_active, DROP COLUMN data_source;
         ALTER TABLE core.entity_relationships DROP COLUMN metadata, DROP COLUMN valid_from, DROP COLUMN valid_until;",
    ),
    (
        "PostgreSQL enums for the enum-like columns",
        "CREATE TYPE core.phone_type_t AS ENUM ('mobile', 'landline');
         ALTER TABLE core.entity_phones ALTER COLUMN phone_type TYPE core.phone_type_t USING phone_type::core.phone_type_t;
         CREATE TYPE core.address_type_t AS ENUM ('residential', 'commercial', 'family_member');
         ALTER TABLE core.entity_addresses ALTER COLUMN address_type TYPE core.address_type_t USING address_type::core.address_type_t;
         DO $$ BEGIN
             EXECUTE (SELECT format('CREATE TYPE core.property_type_t AS ENUM (%s)', string_agg(DISTINCT quote_literal(property_type), ', '))
                        FROM core.properties WHERE property_type IS NOT NULL);
             EXECUTE (SELECT format('CREATE TYPE core.relationship_type_t AS ENUM (%s)', string_agg(DISTINCT quote_literal(relationship_type), ', '))
                        FROM core.entity_relationships WHERE relationship_type IS NOT NULL);
             EXECUTE (SELECT format('CREATE TYPE core.street_type_t AS ENUM (%s)', string_agg(DISTINCT quote_literal(street_type), ', '))
                        FROM core.addresses WHERE street_type IS NOT NULL);
         END $$;
         ALTER TABLE core.properties ALTER COLUMN property_type TYPE core.property_type_t USING property_type::core.property_type_t;
         ALTER TABLE core.properties ALTER COLUMN property_type SET DEFAULT 'APARTAMENTO';
         CREATE INDEX idx_legacy_property_type ON core.properties (property_type, address_id);
         ALTER TABLE core.entity_relationships ALTER COLUMN relationship_type TYPE core.relationship_type_t
             USING relationship_type::core.relationship_type_t;
         ALTER TABLE core.addresses ALTER COLUMN street_type TYPE core.street_type_t USING street_type::core.street_type_t;",
    ),
    (
        "varchar and char columns",
        "ALTER TABLE core.entity_phones ALTER COLUMN phone TYPE varchar(40), ALTER COLUMN phone_e164 TYPE varchar(20);
         ALTER TABLE core.entity_emails ALTER COLUMN email TYPE varchar(255);
         ALTER TABLE core.addresses ALTER COLUMN street_type TYPE varchar(30), ALTER COLUMN state TYPE varchar(40),
             ALTER COLUMN zip_code TYPE varchar(12), ALTER COLUMN street TYPE varchar(200);
         ALTER TABLE core.entities ALTER COLUMN national_id TYPE varchar(14), ALTER COLUMN name TYPE varchar(200);
         ALTER TABLE core.entity_relationships ALTER COLUMN relationship_type TYPE varchar(30);",
    ),
    (
        "NULL-heavy",
        "UPDATE core.entity_phones SET created_at = NULL WHERE id IN (SELECT id FROM core.entity_phones ORDER BY id LIMIT 40);
         INSERT INTO core.entity_phones (id, entity_id, phone) VALUES
             (md5('null-phone-1')::uuid, md5('e7')::uuid, NULL), (md5('null-phone-2')::uuid, NULL, '11955554444');
         INSERT INTO core.entity_emails (id, entity_id, email) VALUES
             (md5('null-mail-1')::uuid, md5('e7')::uuid, NULL), (md5('null-mail-2')::uuid, NULL, NULL);
         INSERT INTO core.addresses (id) VALUES (md5('null-address')::uuid);
         INSERT INTO core.entity_addresses (id, entity_id, address_id) VALUES (md5('null-link')::uuid, md5('e7')::uuid, NULL);
         INSERT INTO core.entities (entity_id) VALUES (md5('null-entity')::uuid);
         UPDATE core.entities SET name = NULL, canonical_name = NULL, metadata = NULL WHERE entity_id = md5('e8')::uuid;
         UPDATE core.addresses SET street_type = NULL, state = NULL, zip_code = NULL, city = NULL WHERE id = md5('a9')::uuid;",
    ),
    (
        "all text: booleans, numbers, dates, timestamps and JSON kept as text, some written by hand",
        "DO $$ DECLARE r record; BEGIN
             FOR r IN SELECT c.relname, a.attname FROM pg_attribute a
                        JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                        JOIN pg_type t ON t.oid = a.atttypid
                       WHERE n.nspname = 'core' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
                         AND t.typname IN ('bool', 'timestamptz', 'date', 'numeric', 'int4', 'jsonb')
             LOOP
                 EXECUTE format('ALTER TABLE core.%I ALTER COLUMN %I TYPE text USING %I::text', r.relname, r.attname, r.attname);
             END LOOP;
         END $$;
         -- Day first: read month first it would be the oldest of its group.
         UPDATE core.entity_phones SET created_at = '01/07/2024 00:00:00'
          WHERE entity_id = md5('e1')::uuid AND created_at LIKE '2024-07-01%';
         UPDATE core.entity_phones SET created_at = 'ontem' WHERE id = md5('p5')::uuid;
         UPDATE core.entity_phones SET is_whatsapp = 'sim' WHERE id = md5('p6')::uuid;
         UPDATE core.entity_phones SET is_whatsapp = 'talvez' WHERE id = md5('p7')::uuid;
         UPDATE core.entities SET metadata = 'cliente antigo' WHERE entity_id = md5('e9')::uuid;
         UPDATE core.entity_addresses SET confidence_score = '0,75' WHERE id = md5('l8')::uuid;
         UPDATE core.entity_profiles SET birth_date = '31/12/1980' WHERE entity_id = md5('e8')::uuid;
         -- The lowest key there is: the batches must not start above it.
         INSERT INTO core.entity_phones (id, entity_id, phone, is_whatsapp, created_at)
         VALUES ('00000000-0000-0000-0000-000000000000', md5('e9')::uuid, '11955551234', 'sim', '2024-05-01');",
    ),
    (
        "citext e-mails and names",
        "CREATE EXTENSION IF NOT EXISTS citext;
         ALTER TABLE core.entity_emails ALTER COLUMN email TYPE citext;
         ALTER TABLE core.entities ALTER COLUMN name TYPE citext;",
    ),
    (
        "unknown extra columns, tables and schemas",
        "ALTER TABLE core.entity_phones ADD COLUMN legacy_source text DEFAULT 'crm-2019';
         ALTER TABLE core.entities ADD COLUMN score_interno integer DEFAULT 7;
         CREATE TABLE core.legacy_notes (id integer PRIMARY KEY, body text);
         INSERT INTO core.legacy_notes VALUES (1, 'nota antiga');
         CREATE SCHEMA legacy_app;
         CREATE TABLE legacy_app.sessions (id text PRIMARY KEY);
         INSERT INTO legacy_app.sessions VALUES ('s1');",
    ),
];

/// The SQL of the shape whose name starts with `name`.
fn shape_sql(name: &str) -> &'static str {
    SHAPES
        .iter()
        .find(|(n, _)| n.starts_with(name))
        .map(|(_, sql)| *sql)
        .unwrap_or_else(|| panic!("no shape {name}"))
}

/// Every row id of the customer tables.
async fn row_ids(pool: &PgPool) -> std::collections::BTreeSet<(String, String)> {
    let sql = "SELECT 'core.entities', entity_id::text FROM core.entities
               UNION ALL SELECT 'core.entity_phones', id::text FROM core.entity_phones
               UNION ALL SELECT 'core.entity_emails', id::text FROM core.entity_emails
               UNION ALL SELECT 'core.addresses', id::text FROM core.addresses
               UNION ALL SELECT 'core.entity_addresses', id::text FROM core.entity_addresses
               UNION ALL SELECT 'core.entity_profiles', entity_id::text FROM core.entity_profiles
               UNION ALL SELECT 'core.properties', property_id::text FROM core.properties
               UNION ALL SELECT 'core.entity_relationships', id::text FROM core.entity_relationships";
    sqlx::query_as::<_, (String, String)>(sql)
        .fetch_all(pool)
        .await
        .expect("ids")
        .into_iter()
        .collect()
}

/// After `migrate`: no rule violated, every row of `before` still there under
/// its id or in the archive (and restorable), every duplicate naming the
/// oldest row of its group as the one kept.
async fn hardened_without_loss(
    pool: &PgPool,
    before: &std::collections::BTreeSet<(String, String)>,
    shape: &str,
) {
    let dq = c2s_enrich::ops::dq::run(pool).await.expect("dq");
    for check in &dq.checks {
        assert!(check.passed, "{shape}: dq check failed: {check:?}");
    }
    for (rule, n) in violations(pool).await {
        assert_eq!(n, 0, "{shape}: rule violated after hardening: {rule}");
    }
    // Every row is still there under its id, or in the archive.
    let after = row_ids(pool).await;
    let archived: std::collections::BTreeSet<(String, String)> =
        sqlx::query_as("SELECT source_table, source_id FROM enrich.archived_rows")
            .fetch_all(pool)
            .await
            .expect("archive")
            .into_iter()
            .collect();
    let gone: Vec<_> = before
        .difference(&after)
        .filter(|k| !archived.contains(*k))
        .collect();
    assert!(gone.is_empty(), "{shape}: rows lost: {gone:?}");
    assert!(
        after.is_superset(&before.difference(&archived).cloned().collect()),
        "{shape}"
    );
    // Every archived row fits its table again (restorable), under its id.
    for table in ["entity_phones", "entity_emails", "entity_addresses"] {
        let misfits = count(
            pool,
            &format!(
                "SELECT count(*) FROM enrich.archived_rows a
                  WHERE a.source_table = 'core.{table}'
                    AND (jsonb_populate_record(NULL::core.{table}, a.row_data)).id::text IS DISTINCT FROM a.source_id"
            ),
        )
        .await;
        assert_eq!(misfits, 0, "{shape}: archived {table} rows that do not fit");
    }
    // Each duplicate names the row it duplicated, and that row is the
    // oldest of the group (created_at, rows without one last, ties by id).
    for table in ["entity_phones", "entity_emails", "entity_addresses"] {
        let wrong = count(
            pool,
            &format!(
                // The kept row may itself have gone later (a later rule
                // archived it: an orphan, or an older E.164 duplicate kept
                // instead): then its archived copy is compared.
                "WITH k AS (
                     SELECT id::text AS id, created_at FROM core.{table}
                     UNION ALL
                     SELECT source_id, (row_data->>'created_at')::timestamptz FROM enrich.archived_rows
                      WHERE source_table = 'core.{table}')
                 SELECT count(*) FROM enrich.archived_rows a
                   LEFT JOIN k ON k.id = a.duplicate_of
                  WHERE a.source_table = 'core.{table}' AND a.reason IN ('duplicate', 'duplicate_e164')
                    AND (k.id IS NULL
                         OR (k.created_at IS NULL AND (a.row_data->>'created_at') IS NOT NULL)
                         OR k.created_at > (a.row_data->>'created_at')::timestamptz
                         OR (k.created_at IS NOT DISTINCT FROM (a.row_data->>'created_at')::timestamptz
                             AND k.id > a.source_id))"
            ),
        )
        .await;
        assert_eq!(
            wrong, 0,
            "{shape}: {table} duplicates that did not keep the oldest row"
        );
    }
    assert_eq!(
        count(pool, "SELECT count(*) FROM enrich.archived_rows WHERE reason LIKE 'duplicate%' AND duplicate_of IS NULL").await,
        0,
        "{shape}"
    );
}

/// The all-text shape after the hardening: the shape's types, values read
/// the Brazilian way, what could not be read kept in metadata.
async fn all_text_is_read_into_its_types(pool: &PgPool) {
    let type_of = |table: &'static str, column: &'static str| async move {
        sqlx::query_scalar::<_, String>(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2",
        )
        .bind(format!("core.{table}"))
        .bind(column)
        .fetch_one(pool)
        .await
        .expect("column")
    };
    for (table, column, wanted) in [
        ("entity_phones", "created_at", "timestamp with time zone"),
        ("entity_phones", "is_whatsapp", "boolean"),
        ("entities", "metadata", "jsonb"),
        ("entities", "enriched_at", "timestamp with time zone"),
        ("entity_addresses", "confidence_score", "numeric"),
        ("entity_profiles", "birth_date", "date"),
        ("entity_financials", "year", "integer"),
    ] {
        assert_eq!(type_of(table, column).await, wanted, "{table}.{column}");
    }
    let one = |sql: &'static str| async move {
        sqlx::query_scalar::<_, Option<String>>(sql)
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    assert_eq!(
        one("SELECT is_whatsapp::text FROM core.entity_phones WHERE id = md5('p6')::uuid")
            .await
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        one("SELECT coalesce(is_whatsapp::text, 'NULL') || ' ' || (metadata->'legacy'->>'is_whatsapp') FROM core.entity_phones WHERE id = md5('p7')::uuid").await.as_deref(),
        Some("NULL talvez")
    );
    assert_eq!(
        one("SELECT coalesce(created_at::text, 'NULL') || ' ' || (metadata->'legacy'->>'created_at') FROM core.entity_phones WHERE id = md5('p5')::uuid").await.as_deref(),
        Some("NULL ontem")
    );
    assert_eq!(
        one("SELECT metadata->>'legacy_text' FROM core.entities WHERE entity_id = md5('e9')::uuid")
            .await
            .as_deref(),
        Some("cliente antigo")
    );
    assert_eq!(
        one("SELECT confidence_score::text FROM core.entity_addresses WHERE id = md5('l8')::uuid")
            .await
            .as_deref(),
        Some("0.75")
    );
    assert_eq!(
        one("SELECT birth_date::text FROM core.entity_profiles WHERE entity_id = md5('e8')::uuid")
            .await
            .as_deref(),
        Some("1980-12-31")
    );
    // A date written day first is read day first: the July row is the
    // younger duplicate, archived; the February one (the bulk row) is kept.
    assert_eq!(
        one("SELECT string_agg((row_data->>'created_at')::timestamptz::date::text, ',' ORDER BY 1)
               FROM enrich.archived_rows WHERE source_table = 'core.entity_phones' AND reason = 'duplicate'
                AND row_data->>'entity_id' = md5('e1')::uuid::text").await.as_deref(),
        Some("2024-06-01,2024-07-01")
    );
    assert!(
        one("SELECT id::text FROM core.entity_phones WHERE id = md5('p1')::uuid")
            .await
            .is_some(),
        "the oldest row is kept"
    );
    assert_eq!(
        one("SELECT is_whatsapp::text FROM core.entity_phones WHERE id = '00000000-0000-0000-0000-000000000000'").await.as_deref(),
        Some("true"),
        "the nil key's row is converted too"
    );
    // The readers on what is ambiguous or half a value: not read (NULL,
    // the original kept) rather than read wrong.
    for (sql, want) in [
        ("SELECT enrich.c2s_read_numeric('1.500')::text", None),
        (
            "SELECT enrich.c2s_read_numeric('1.234.567')::text",
            Some("1234567"),
        ),
        (
            "SELECT enrich.c2s_read_numeric('R$ 1.234,56')::text",
            Some("1234.56"),
        ),
        (
            "SELECT enrich.c2s_read_numeric('0.750')::text",
            Some("0.750"),
        ),
        ("SELECT enrich.c2s_read_integer('1.000')::text", None),
        ("SELECT enrich.c2s_read_integer('12,0')::text", Some("12")),
        ("SELECT enrich.c2s_read_date('2019-01-15 lixo')::text", None),
        (
            "SELECT enrich.c2s_read_date('01/02/2019 25:00')::text",
            None,
        ),
        ("SELECT enrich.c2s_read_date('1980-12-31 BC')::text", None),
        (
            "SELECT enrich.c2s_read_timestamptz('2019-01-01 epoch')::text",
            None,
        ),
        ("SELECT enrich.c2s_read_timestamptz('now')::text", None),
        (
            "SELECT enrich.c2s_read_date('20190131')::text",
            Some("2019-01-31"),
        ),
        ("SELECT enrich.c2s_read_boolean('Não')::text", Some("false")),
    ] {
        assert_eq!(one(sql).await.as_deref(), want, "{sql}");
    }
    // The timestamps keep their default for new rows.
    assert_eq!(
        one("SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
              WHERE d.adrelid = 'core.entity_phones'::regclass AND a.attname = 'created_at'").await.as_deref(),
        Some("now()")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_legacy_shape_is_hardened_and_keeps_every_valid_row() {
    for (shape, sql) in SHAPES {
        let test = TestDb::empty().await.expect("db");
        let pool = &test.pool;
        legacy::create(pool, 300).await.expect("legacy fixture");
        sqlx::raw_sql(sql)
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{shape}: building the shape: {e}"));
        let before = row_ids(pool).await;
        // The plan writes nothing and finds nothing that stops the hardening.
        let untouched = fingerprint(pool).await;
        let plan = c2s_enrich::db::plan::plan(pool, None)
            .await
            .unwrap_or_else(|e| panic!("{shape}: the plan failed: {e}"));
        assert_eq!(
            fingerprint(pool).await,
            untouched,
            "{shape}: the plan wrote"
        );
        assert!(plan.blockers.is_empty(), "{shape}: {:?}", plan.blockers);

        migrate::up(pool, &MigrateOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{shape}: the hardening failed: {e}"));
        hardened_without_loss(pool, &before, shape).await;
        crate::store::a_dossier_lands_in(pool, shape).await;
        // The reference columns are no enums any more (the foreign keys
        // hold); a legacy index on one survives the conversion.
        assert_eq!(
            count(pool, "SELECT count(*) FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                          WHERE a.attrelid IN ('core.properties'::regclass, 'core.entity_relationships'::regclass, 'core.addresses'::regclass)
                            AND a.attname IN ('property_type', 'relationship_type', 'street_type') AND t.typtype <> 'e'").await,
            3,
            "{shape}"
        );
        if shape.starts_with("all text") {
            all_text_is_read_into_its_types(pool).await;
        }
        if shape.starts_with("PostgreSQL enums") {
            assert_eq!(
                count(pool, "SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_legacy_property_type' AND indexdef LIKE '%(property_type, address_id)%'").await,
                1,
                "the legacy index is rebuilt on the text column under its name"
            );
            assert_eq!(
                count(pool, "SELECT count(*) FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                              WHERE d.adrelid = 'core.properties'::regclass AND a.attname = 'property_type'
                                AND pg_get_expr(d.adbin, d.adrelid) LIKE '%APARTAMENTO%'").await,
                1,
                "the default is kept"
            );
            assert_eq!(
                count(
                    pool,
                    "SELECT count(*) FROM core.properties WHERE property_type = 'APARTAMENTO'"
                )
                .await,
                300,
                "values kept"
            );
        }
    }
    // What we do not know is left alone.
    let test = TestDb::empty().await.expect("db");
    let pool = &test.pool;
    legacy::create(pool, 50).await.expect("legacy fixture");
    sqlx::raw_sql(shape_sql("unknown extra columns"))
        .execute(pool)
        .await
        .expect("shape");
    migrate::up(pool, &MigrateOptions::default())
        .await
        .expect("hardening");
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM core.entity_phones WHERE legacy_source = 'crm-2019'"
        )
        .await,
        count(pool, "SELECT count(*) FROM core.entity_phones").await
    );
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM core.legacy_notes WHERE body = 'nota antiga'"
        )
        .await,
        1
    );
    assert_eq!(
        count(pool, "SELECT count(*) FROM legacy_app.sessions").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn financial_periods_under_other_names_are_mapped_by_a_setting() {
    let test = TestDb::empty().await.expect("db");
    let pool = &test.pool;
    legacy::create(pool, 50).await.expect("legacy fixture");
    sqlx::raw_sql(
        "ALTER TABLE core.entity_financials RENAME COLUMN year TO ano;
         ALTER TABLE core.entity_financials RENAME COLUMN month TO mes;
         ALTER TABLE core.entity_financials ALTER COLUMN ano TYPE text;
         INSERT INTO core.entity_financials (id, entity_id, ano, mes, source, reported_income, created_at) VALUES
             (md5('f1')::uuid, md5('e1')::uuid, '2024', 3, 'work_api', 1000, '2024-04-01'),
             (md5('f2')::uuid, md5('e1')::uuid, ' 2025 ', NULL, 'work_api', 2000, '2025-02-01'),
             (md5('f3')::uuid, md5('e2')::uuid, 'n/d', NULL, 'work_api', 3000, '2024-01-01'),
             (md5('f4')::uuid, md5('e2')::uuid, '2024', 3, 'work_api', 900, '2024-05-01'),
             (md5('f5')::uuid, md5('e1')::uuid, '2024', 3, 'work_api', 1100, '2024-06-01');",
    )
    .execute(pool)
    .await
    .expect("a legacy period");

    // A year that is not a plain number: stopped, with the count.
    let err = migrate::up(
        pool,
        &MigrateOptions {
            financial_period: Some(("ano".into(), Some("mes".into()))),
            ..MigrateOptions::default()
        },
    )
    .await
    .expect_err("an unparseable year")
    .to_string();
    assert!(
        err.contains(
            "1 rows of core.entity_financials have a year in ano that is not a plain number"
        ),
        "{err}"
    );
    sqlx::query("UPDATE core.entity_financials SET ano = NULL WHERE id = md5('f3')::uuid")
        .execute(pool)
        .await
        .expect("the DBA corrects it");

    // Without the setting: stopped before migration 3 changed anything,
    // saying what to set and which columns look like a period.
    let err = migrate::up(pool, &MigrateOptions::default())
        .await
        .expect_err("no mapping");
    let text = err.to_string();
    assert!(text.contains("migration 3 (core_tables)"), "{text}");
    assert!(text.contains("HARDENING_FINANCIAL_PERIOD"), "{text}");
    assert!(text.contains("ano, mes"), "{text}");
    assert_eq!(
        count(pool, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'core.entity_financials'::regclass AND attname IN ('year', 'metadata') AND NOT attisdropped").await,
        1,
        "migration 3 left nothing behind (the legacy table already had metadata)"
    );

    let options = MigrateOptions {
        financial_period: Some(("ano".into(), Some("mes".into()))),
        ..MigrateOptions::default()
    };
    migrate::up(pool, &options).await.expect("mapped");
    let rows: Vec<(String, Option<i32>, Option<i32>)> = sqlx::query_as(
        "SELECT v.k, f.year, f.month FROM core.entity_financials f
           JOIN (VALUES ('f1'), ('f2'), ('f3'), ('f4'), ('f5')) AS v(k) ON f.id = md5(v.k)::uuid
          ORDER BY f.created_at",
    )
    .fetch_all(pool)
    .await
    .expect("rows");
    let row = |k: &str, y: Option<i32>, m: Option<i32>| (k.to_owned(), y, m);
    assert_eq!(
        rows,
        vec![
            row("f3", None, None),
            row("f1", Some(2024), Some(3)),
            row("f4", Some(2024), Some(3)),
            row("f2", Some(2025), None),
        ],
        "periods copied over, garbage left NULL on our side, the younger duplicate archived"
    );
    assert_eq!(
        count(pool, "SELECT count(*) FROM enrich.archived_rows WHERE source_id = md5('f5')::uuid::text AND duplicate_of = md5('f1')::uuid::text").await,
        1
    );
    // Both sides stay equal: the service writes ours, their dashboards theirs.
    sqlx::raw_sql(
        "INSERT INTO core.entity_financials (entity_id, year, month, source) VALUES (md5('e3')::uuid, 2026, 1, 'work_api');
         INSERT INTO core.entity_financials (entity_id, ano, mes, source) VALUES (md5('e4')::uuid, '2023', 7, 'crm');",
    )
    .execute(pool)
    .await
    .expect("writes");
    assert_eq!(count(pool, "SELECT count(*) FROM core.entity_financials WHERE entity_id = md5('e3')::uuid AND ano = '2026' AND mes = 1").await, 1);
    assert_eq!(count(pool, "SELECT count(*) FROM core.entity_financials WHERE entity_id = md5('e4')::uuid AND year = 2023 AND month = 7").await, 1);
    // An update on either side moves the other.
    sqlx::raw_sql(
        "UPDATE core.entity_financials SET ano = '2022' WHERE entity_id = md5('e4')::uuid;
         UPDATE core.entity_financials SET month = 9 WHERE entity_id = md5('e3')::uuid;",
    )
    .execute(pool)
    .await
    .expect("updates");
    assert_eq!(count(pool, "SELECT count(*) FROM core.entity_financials WHERE entity_id = md5('e4')::uuid AND year = 2022").await, 1);
    assert_eq!(count(pool, "SELECT count(*) FROM core.entity_financials WHERE entity_id = md5('e3')::uuid AND mes = 9").await, 1);
    // A later run without the setting finishes nothing differently (the
    // mapping is kept with the trigger).
    migrate::up(pool, &MigrateOptions::default())
        .await
        .expect("re-run");
}

/// Text months that are no numbers would all read as NULL and collide under
/// the period key: the plan says so and migrate stops before any change,
/// with the count.
#[tokio::test(flavor = "multi_thread")]
async fn financial_periods_kept_as_unreadable_text_stop_the_hardening() {
    let test = TestDb::empty().await.expect("db");
    let pool = &test.pool;
    legacy::create(pool, 20).await.expect("legacy fixture");
    sqlx::raw_sql(
        "ALTER TABLE core.entity_financials ALTER COLUMN month TYPE text;
         INSERT INTO core.entity_financials (entity_id, year, month, source) VALUES
             (md5('e1')::uuid, 2024, 'jan', 'irpf'), (md5('e1')::uuid, 2024, 'fev', 'irpf'),
             (md5('e1')::uuid, 2024, '3', 'irpf');",
    )
    .execute(pool)
    .await
    .expect("shape");
    let plan = c2s_enrich::db::plan::plan(pool, None).await.expect("plan");
    assert!(
        plan.blockers
            .iter()
            .any(|b| b.contains("2 rows of core.entity_financials have a month")),
        "{:?}",
        plan.blockers
    );
    let err = migrate::up(pool, &MigrateOptions::default())
        .await
        .expect_err("stops")
        .to_string();
    assert!(
        err.contains("2 rows of core.entity_financials have a month that is not a plain number"),
        "{err}"
    );
    assert_eq!(
        count(pool, "SELECT count(*) FROM core.entity_financials").await,
        3,
        "nothing archived"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_enum_column_a_view_depends_on_is_named_not_broken() {
    let test = TestDb::empty().await.expect("db");
    let pool = &test.pool;
    legacy::create(pool, 20).await.expect("legacy fixture");
    sqlx::raw_sql(
        "DO $$ BEGIN
             EXECUTE (SELECT format('CREATE TYPE core.relationship_type_t AS ENUM (%s)', string_agg(DISTINCT quote_literal(relationship_type), ', '))
                        FROM core.entity_relationships WHERE relationship_type IS NOT NULL);
         END $$;
         ALTER TABLE core.entity_relationships ALTER COLUMN relationship_type TYPE core.relationship_type_t
             USING relationship_type::core.relationship_type_t;
         CREATE VIEW core.family AS SELECT source_entity_id, relationship_type FROM core.entity_relationships;",
    )
    .execute(pool)
    .await
    .expect("shape");
    let err = migrate::up(pool, &MigrateOptions::default())
        .await
        .expect_err("the view stands in the way")
        .to_string();
    assert!(
        err.contains("columns to the types the hardening needs")
            && err.contains(
                "core.entity_relationships.relationship_type is core.relationship_type_t (the hardening needs text) and a view uses it"
            ),
        "{err}"
    );
    assert_eq!(
        count(pool, "SELECT count(*) FROM core.family").await,
        count(pool, "SELECT count(*) FROM core.entity_relationships").await
    );
}

/// A fingerprint of every schema's catalog and every table's rows.
async fn fingerprint(pool: &PgPool) -> (String, String) {
    let schema: String = sqlx::query_scalar(
        "SELECT md5(string_agg(x, E'\\n' ORDER BY x)) FROM (
             SELECT format('%s.%s %s %s %s', n.nspname, c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod)) AS x
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
             UNION ALL SELECT format('con %s %s', conname, pg_get_constraintdef(oid)) FROM pg_constraint
             UNION ALL SELECT format('trg %s', tgname) FROM pg_trigger
             UNION ALL SELECT format('type %s', typname) FROM pg_type WHERE typnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)) s",
    )
    .fetch_one(pool)
    .await
    .expect("schema fingerprint");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
          WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    let mut data = String::new();
    for t in tables {
        let h: Option<String> = sqlx::query_scalar(&format!(
            "SELECT md5(string_agg(r::text, E'\\n' ORDER BY r::text)) FROM {t} r"
        ))
        .fetch_one(pool)
        .await
        .expect("rows");
        data.push_str(&format!("{t}={}\n", h.unwrap_or_default()));
    }
    (schema, data)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plan_changes_nothing_and_says_what_migrate_will_do() {
    let test = TestDb::empty().await.expect("db");
    let pool = &test.pool;
    legacy::create(pool, 100).await.expect("legacy fixture");
    sqlx::raw_sql(&format!(
        "{}\n{}\nALTER TABLE core.entity_financials RENAME COLUMN year TO ano;",
        shape_sql("minimal columns"),
        shape_sql("unknown extra columns")
    ))
    .execute(pool)
    .await
    .expect("shape");
    let before = fingerprint(pool).await;
    let plan = c2s_enrich::db::plan::plan(pool, None).await.expect("plan");
    assert_eq!(fingerprint(pool).await, before, "the plan wrote nothing");
    assert_eq!(plan.state, "legacy");
    assert_eq!(plan.pending_migrations.len(), migrate::MIGRATIONS.len());
    let table = |name: &str| {
        plan.tables
            .iter()
            .find(|t| t.table == name)
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    let phones = table("core.entity_phones");
    assert!(phones.add_columns.iter().any(|c| c.column == "updated_at"));
    assert!(phones.add_columns.iter().any(|c| c.column == "is_primary"));
    assert_eq!(phones.unknown_columns, vec!["legacy_source".to_owned()]);
    let rule = |t: &c2s_enrich::db::plan::TablePlan, starts: &str| {
        t.rules
            .iter()
            .find(|r| r.rule.starts_with(starts))
            .map_or(0, |r| r.rows)
    };
    assert_eq!(rule(&phones, "archive duplicate (entity_id, phone)"), 3);
    assert!(rule(&phones, "fill phone_e164") > 100);
    assert_eq!(rule(&table("core.entity_emails"), "archive duplicate"), 2);
    assert!(rule(&table("core.addresses"), "normalise the CEP") > 0);
    assert!(phones
        .constraints_to_add
        .contains(&"uq_entity_phones_e164".to_owned()));
    assert!(phones
        .indexes_to_build
        .contains(&"idx_entity_phones_e164".to_owned()));
    assert_eq!(
        table("core.entities").unknown_columns,
        vec!["score_interno".to_owned()]
    );
    // The renamed period: a blocker naming the setting and the candidate.
    assert!(
        plan.blockers
            .iter()
            .any(|b| b.contains("no column year") && b.contains("ano")),
        "{:?}",
        plan.blockers
    );
    assert!(plan
        .settings
        .iter()
        .any(|s| s.starts_with("HARDENING_FINANCIAL_PERIOD=ano")));
    let text = plan.render();
    assert!(
        text.contains("BLOCKER: core.entity_financials has no column year"),
        "{text}"
    );
    assert!(text.contains("left alone: legacy_source"), "{text}");

    // With the setting: nothing stops it, and migrate does what was said.
    let period = ("ano".to_owned(), None);
    let plan = c2s_enrich::db::plan::plan(pool, Some(&period))
        .await
        .expect("plan");
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    assert_eq!(fingerprint(pool).await, before);
    migrate::up(
        pool,
        &MigrateOptions {
            financial_period: Some(period.clone()),
            ..MigrateOptions::default()
        },
    )
    .await
    .expect("migrate");
    assert_eq!(count(pool, "SELECT count(*) FROM enrich.archived_rows WHERE source_table = 'core.entity_phones' AND reason = 'duplicate'").await, 3);
    let after = c2s_enrich::db::plan::plan(pool, Some(&period))
        .await
        .expect("plan");
    assert_eq!(after.state, "hardened");
    for t in &after.tables {
        assert!(
            t.add_columns.is_empty()
                && t.constraints_to_add.is_empty()
                && t.indexes_to_build.is_empty(),
            "{t:?}"
        );
        assert!(t.rules.is_empty(), "{t:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn maintenance_vacuums_and_analyses_online_or_only_reports() {
    let test = TestDb::migrated().await.expect("db");
    let pool = &test.pool;
    let report = c2s_enrich::ops::maintenance::run(pool, Default::default(), |_, _, _| {})
        .await
        .expect("report");
    assert!(report.iter().any(|t| t.table == "core.entity_phones"));
    assert!(report.iter().all(|t| t.done == "report"));
    let vacuumed: i64 = count(
        pool,
        "SELECT count(*) FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL",
    )
    .await;
    assert_eq!(vacuumed, 0, "a report changes nothing");

    let seen = std::sync::Mutex::new(Vec::new());
    let done = c2s_enrich::ops::maintenance::run(
        pool,
        c2s_enrich::ops::maintenance::Tasks {
            vacuum: true,
            analyze: true,
        },
        |i, n, table| seen.lock().expect("lock").push(format!("{i}/{n} {table}")),
    )
    .await
    .expect("maintenance");
    assert_eq!(
        seen.lock().expect("lock").len(),
        done.len(),
        "progress for every table"
    );
    assert!(done.iter().all(|t| t.done == "vacuum, analyze"));
    let tables = i64::try_from(done.len()).expect("n");
    assert_eq!(
        count(pool, "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname IN ('core', 'ref', 'enrich') AND last_vacuum IS NOT NULL AND last_analyze IS NOT NULL").await,
        tables
    );
}

/// Randomised dirt (issue 13): the same numbers and addresses written in every
/// notation, NULLs, whitespace, unicode and garbage, duplicates with and
/// without dates — whatever the rows, `migrate` succeeds, `dq` passes, and
/// every row is kept or archived, the oldest of each group kept.
mod dirt {
    use super::*;
    use proptest::prelude::*;

    /// A phone: one of a few numbers, in one of many notations.
    fn phone() -> impl Strategy<Value = Option<String>> {
        let numbers = ["11987654321", "2134567890", "11912345678"];
        prop_oneof![
            1 => Just(None),
            1 => "[ \t]{0,2}[0-9]{0,14}[ \t]{0,2}".prop_map(Some),
            1 => "\\PC{0,10}".prop_map(|s| Some(s.replace('\0', ""))),
            6 => (0..numbers.len(), 0..7usize).prop_map(move |(n, notation)| {
                let d = numbers[n];
                let (ddd, rest) = d.split_at(2);
                let (a, b) = rest.split_at(rest.len() - 4);
                Some(match notation {
                    0 => d.to_owned(),
                    1 => format!("({ddd}) {a}-{b}"),
                    2 => format!("+55 {ddd} {a}-{b}"),
                    3 => format!("55{d}"),
                    4 => format!(" {d} "),
                    5 => format!("0{ddd}{rest}"),
                    // Full-width digits.
                    _ => d.chars().map(|c| char::from_u32(0xFF10 + (c as u32 - '0' as u32)).unwrap_or(c)).collect(),
                })
            }),
        ]
    }

    fn email() -> impl Strategy<Value = Option<String>> {
        let locals = ["ana.souza", "JOSE", "maria+crm"];
        prop_oneof![
            1 => Just(None),
            1 => "\\PC{0,16}".prop_map(|s| Some(s.replace('\0', ""))),
            5 => (0..locals.len(), 0..4usize).prop_map(move |(l, notation)| {
                let e = format!("{}@exemplo.com.br", locals[l]);
                Some(match notation {
                    0 => e,
                    1 => e.to_uppercase(),
                    2 => format!("  {e}\t"),
                    _ => e.replace("exemplo", "EXEMPLO"),
                })
            }),
        ]
    }

    fn text(values: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            1 => Just(None),
            1 => "\\PC{0,12}".prop_map(|s| Some(s.replace('\0', ""))),
            4 => proptest::sample::select(values).prop_map(|v| Some(v.to_owned())),
        ]
    }

    fn created_at() -> impl Strategy<Value = Option<i32>> {
        prop_oneof![1 => Just(None), 4 => (0..400i32).prop_map(Some)]
    }

    /// CEP, UF, street type, city.
    type DirtyAddress = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );

    #[derive(Debug, Clone)]
    struct Dirt {
        phones: Vec<(usize, Option<String>, Option<i32>)>,
        emails: Vec<(usize, Option<String>, Option<i32>)>,
        addresses: Vec<DirtyAddress>,
        links: Vec<(usize, usize, Option<i32>)>,
    }

    fn dirt() -> impl Strategy<Value = Dirt> {
        (
            proptest::collection::vec((0..4usize, phone(), created_at()), 0..24),
            proptest::collection::vec((0..4usize, email(), created_at()), 0..16),
            proptest::collection::vec(
                (
                    text(&[
                        "01310-100",
                        "1310100",
                        " 01310100 ",
                        "ABC",
                        "22021-001",
                        "0",
                    ]),
                    text(&[
                        "sp",
                        "SP",
                        "São Paulo",
                        "S.P.",
                        "rio de janeiro",
                        "XX",
                        "Rj ",
                    ]),
                    text(&[
                        "AVENIDA",
                        "Av.",
                        "R",
                        "RUA",
                        "{R}",
                        "INVALIDO",
                        "VIA ACESSO",
                    ]),
                    text(&["SAO PAULO", "São Paulo", "rio"]),
                ),
                1..8,
            ),
            proptest::collection::vec((0..4usize, 0..8usize, created_at()), 0..12),
        )
            .prop_map(|(phones, emails, addresses, links)| Dirt {
                phones,
                emails,
                addresses,
                links,
            })
    }

    async fn insert(pool: &PgPool, d: &Dirt) {
        let at = |days: &Option<i32>| {
            days.map(|n| chrono::Utc::now() - chrono::Duration::days(i64::from(n)))
        };
        let person = |i: usize| format!("e{}", i + 1);
        for (p, value, days) in &d.phones {
            sqlx::query("INSERT INTO core.entity_phones (entity_id, phone, created_at) VALUES (md5($1)::uuid, $2, $3)")
                .bind(person(*p))
                .bind(value)
                .bind(at(days))
                .execute(pool)
                .await
                .expect("phone");
        }
        for (p, value, days) in &d.emails {
            sqlx::query("INSERT INTO core.entity_emails (entity_id, email, created_at) VALUES (md5($1)::uuid, $2, $3)")
                .bind(person(*p))
                .bind(value)
                .bind(at(days))
                .execute(pool)
                .await
                .expect("email");
        }
        for (i, (zip, state, street_type, city)) in d.addresses.iter().enumerate() {
            sqlx::query("INSERT INTO core.addresses (id, zip_code, state, street_type, city, street, created_at) VALUES (md5($1)::uuid, $2, $3, $4, $5, 'X', now())")
                .bind(format!("dirt-a{i}"))
                .bind(zip)
                .bind(state)
                .bind(street_type)
                .bind(city)
                .execute(pool)
                .await
                .expect("address");
        }
        for (p, a, days) in &d.links {
            // Addresses past those generated are missing: orphan links.
            sqlx::query("INSERT INTO core.entity_addresses (entity_id, address_id, created_at) VALUES (md5($1)::uuid, md5($2)::uuid, $3)")
                .bind(person(*p))
                .bind(format!("dirt-a{a}"))
                .bind(at(days))
                .execute(pool)
                .await
                .expect("link");
        }
    }

    proptest! {
        // Each case builds and hardens a database (about a second): 12 by
        // default, PROPTEST_CASES=N for a longer hunt.
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(12),
            ..ProptestConfig::default()
        })]
        #[test]
        fn any_dirt_is_hardened_without_loss(d in dirt()) {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            rt.block_on(async {
                let test = TestDb::empty().await.expect("db");
                let pool = &test.pool;
                legacy::create(pool, 10).await.expect("legacy fixture");
                insert(pool, &d).await;
                let before = row_ids(pool).await;
                migrate::up(pool, &MigrateOptions::default())
                    .await
                    .unwrap_or_else(|e| panic!("the hardening failed on {d:?}: {e}"));
                hardened_without_loss(pool, &before, "random dirt").await;
            });
        }
    }
}
