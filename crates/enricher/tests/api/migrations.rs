//! Migrations on an empty database: the hardened schema in one go, idempotent
//! re-runs, a full down/up round trip, and the runner's safety rails.

use c2s_enrich::db::migrate::{self, MigrateOptions};
use c2s_lab::testing::TestDb;

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

const CORE_TABLES: [&str; 9] = [
    "entities",
    "entity_profiles",
    "entity_financials",
    "entity_phones",
    "entity_emails",
    "addresses",
    "entity_addresses",
    "entity_relationships",
    "properties",
];

#[tokio::test]
async fn an_empty_database_gets_the_whole_hardened_schema_and_rerunning_is_a_no_op() {
    let test = TestDb::empty().await.expect("test database");
    let pool = &test.pool;
    let applied = migrate::up(pool, &MigrateOptions::default())
        .await
        .expect("first run");
    assert_eq!(applied.len(), migrate::MIGRATIONS.len());

    for t in CORE_TABLES {
        assert_eq!(count(pool, &format!("SELECT count(*) FROM pg_tables WHERE schemaname = 'core' AND tablename = '{t}'")).await, 1, "{t}");
    }
    assert!(count(pool, "SELECT count(*) FROM ref.street_type_catalog").await >= 21);
    assert!(count(pool, "SELECT count(*) FROM ref.property_types").await >= 10);
    assert!(count(pool, "SELECT count(*) FROM ref.relationship_types").await >= 14);
    assert_eq!(count(pool, "SELECT count(*) FROM pg_constraint WHERE connamespace = 'core'::regnamespace AND NOT convalidated").await, 0);
    assert!(count(pool, "SELECT count(*) FROM pg_constraint WHERE connamespace = 'core'::regnamespace AND contype = 'f'").await >= 11);

    let again = migrate::up(pool, &MigrateOptions::default())
        .await
        .expect("second run");
    assert!(again.is_empty(), "nothing left to apply: {again:?}");
    let status = migrate::status(pool).await.expect("status");
    assert!(status.iter().all(|m| m.applied), "{status:?}");
}

#[tokio::test]
async fn the_constraints_refuse_what_the_hardening_forbids() {
    let test = TestDb::migrated().await.expect("test database");
    let pool = &test.pool;
    let bad = [
        "INSERT INTO core.addresses (zip_code) VALUES ('1144')",
        "INSERT INTO core.addresses (state) VALUES ('sp')",
        "INSERT INTO core.addresses (state) VALUES ('XX')",
        "INSERT INTO core.addresses (street_type) VALUES ('AVENIDA')",
        "INSERT INTO core.entity_phones (entity_id, phone) VALUES (gen_random_uuid(), '11987654321')",
    ];
    for sql in bad {
        assert!(
            sqlx::query(sql).execute(pool).await.is_err(),
            "accepted: {sql}"
        );
    }
    sqlx::query("INSERT INTO core.entities (entity_id, national_id) VALUES ('00000000-0000-0000-0000-000000000001', '52998224725')")
        .execute(pool)
        .await
        .expect("person");
    let phone = "INSERT INTO core.entity_phones (entity_id, phone, phone_e164) VALUES ('00000000-0000-0000-0000-000000000001', '11987654321', '+5511987654321')";
    sqlx::query(phone).execute(pool).await.expect("first phone");
    assert!(
        sqlx::query(phone).execute(pool).await.is_err(),
        "duplicate phone accepted"
    );
    assert!(sqlx::query("INSERT INTO core.entity_phones (entity_id, phone, phone_e164) VALUES ('00000000-0000-0000-0000-000000000001', '1187654321', '5511987654321')")
        .execute(pool).await.is_err(), "non-E.164 accepted");
}

#[tokio::test]
async fn a_full_down_and_up_round_trip_keeps_the_users_tables() {
    let test = TestDb::migrated().await.expect("test database");
    let pool = &test.pool;
    let opts = MigrateOptions::default();
    sqlx::query("INSERT INTO core.entities (national_id, name) VALUES ('52998224725', 'HELENA')")
        .execute(pool)
        .await
        .expect("a person");
    let reverted = migrate::down(pool, 0, &opts).await.expect("down to 0");
    assert_eq!(reverted.len(), migrate::MIGRATIONS.len());
    assert_eq!(
        count(pool, "SELECT count(*) FROM core.entities").await,
        1,
        "users' data survives"
    );
    assert_eq!(count(pool, "SELECT count(*) FROM pg_constraint WHERE connamespace = 'core'::regnamespace AND conname ~ '^(fk|chk|uq)_'").await, 0);
    assert!(migrate::status(pool)
        .await
        .expect("status")
        .iter()
        .all(|m| !m.applied));
    migrate::up(pool, &opts).await.expect("up again");
    assert!(migrate::status(pool)
        .await
        .expect("status")
        .iter()
        .all(|m| m.applied));
}

#[tokio::test]
async fn an_edited_migration_or_an_unknown_one_stops_the_runner() {
    let test = TestDb::migrated().await.expect("test database");
    let pool = &test.pool;
    sqlx::query("UPDATE enrich.schema_migrations SET checksum = 42 WHERE version = 3")
        .execute(pool)
        .await
        .expect("tamper");
    let err = migrate::up(pool, &MigrateOptions::default())
        .await
        .expect_err("edited");
    assert!(
        err.to_string()
            .contains("migration 3 (core_tables) was edited"),
        "{err}"
    );
    // A database migrated by the release before migration 3 learned to add
    // every missing column (its text then) is not refused.
    sqlx::query(
        "UPDATE enrich.schema_migrations SET checksum = -375155693794890280 WHERE version = 3",
    )
    .execute(pool)
    .await
    .expect("the earlier text");
    migrate::up(pool, &MigrateOptions::default())
        .await
        .expect("an earlier text of an adapting migration is accepted");
    // …and run again in its current text, which is then recorded.
    let recorded: i64 =
        sqlx::query_scalar("SELECT checksum FROM enrich.schema_migrations WHERE version = 3")
            .fetch_one(pool)
            .await
            .expect("checksum");
    assert_ne!(
        recorded, -375155693794890280,
        "the current text is recorded"
    );
    sqlx::query("DELETE FROM enrich.schema_migrations WHERE version = 3")
        .execute(pool)
        .await
        .expect("untamper");
    sqlx::query("INSERT INTO enrich.schema_migrations (version, name, checksum, duration_ms) VALUES (9999, 'future', 0, 0)")
        .execute(pool).await.expect("future");
    let err = migrate::up(pool, &MigrateOptions::default())
        .await
        .expect_err("unknown");
    assert!(err.to_string().contains("migration 9999"), "{err}");
}

#[tokio::test]
async fn an_interrupted_concurrent_index_build_is_dropped_and_rebuilt() {
    let test = TestDb::migrated().await.expect("test database");
    let pool = &test.pool;
    // Simulate a build killed half-way: the index exists but is marked invalid.
    sqlx::query("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'core.idx_entity_phones_e164'::regclass")
        .execute(pool).await.expect("mark invalid");
    sqlx::query("DELETE FROM enrich.schema_migrations WHERE version >= 11")
        .execute(pool)
        .await
        .expect("forget");
    migrate::up(pool, &MigrateOptions::default())
        .await
        .expect("re-run");
    assert_eq!(count(pool, "SELECT count(*) FROM pg_index WHERE indexrelid = 'core.idx_entity_phones_e164'::regclass AND indisvalid").await, 1);
}

/// A failed constraint names the rows in its way by key, never by value; a
/// data exception's quoted value is withheld (issue 13, item 4).
#[tokio::test]
async fn a_failed_constraint_names_the_rows_in_its_way_never_their_values() {
    let test = TestDb::empty().await.expect("test database");
    let mut conn = test.pool.acquire().await.expect("connection");
    sqlx::raw_sql(
        "CREATE SCHEMA core;
         CREATE TABLE core.parents (id uuid PRIMARY KEY);
         INSERT INTO core.parents VALUES (md5('p1')::uuid);
         CREATE TABLE core.rows (id uuid PRIMARY KEY, cep text, parent uuid, email text);
         INSERT INTO core.rows VALUES
             (md5('good')::uuid, '01310100', md5('p1')::uuid, 'ana@correio.com.br'),
             (md5('bad')::uuid, '0131-SEGREDO', md5('ghost')::uuid, 'ana@correio.com.br'),
             (md5('empty')::uuid, NULL, NULL, NULL);",
    )
    .execute(&mut *conn)
    .await
    .expect("table");
    let (good, bad, empty): (String, String, String) = sqlx::query_as(
        "SELECT md5('good')::uuid::text, md5('bad')::uuid::text, md5('empty')::uuid::text",
    )
    .fetch_one(&mut *conn)
    .await
    .expect("ids");
    for (setup, failing, in_the_way, not_in_the_way) in [
        (
            "ALTER TABLE core.rows ADD CONSTRAINT chk_cep CHECK (cep ~ '^[0-9]{8}$') NOT VALID",
            "ALTER TABLE core.rows VALIDATE CONSTRAINT chk_cep",
            vec![&bad],
            vec![&good, &empty],
        ),
        (
            "ALTER TABLE core.rows ADD CONSTRAINT fk_parent FOREIGN KEY (parent) REFERENCES core.parents (id) NOT VALID",
            "ALTER TABLE core.rows VALIDATE CONSTRAINT fk_parent",
            vec![&bad],
            vec![&good, &empty],
        ),
        (
            "SELECT 1",
            "CREATE UNIQUE INDEX CONCURRENTLY uq_rows_email ON core.rows (email)",
            vec![&good, &bad],
            vec![&empty],
        ),
        (
            "SELECT 1",
            "ALTER TABLE core.rows ALTER COLUMN cep SET NOT NULL",
            vec![&empty],
            vec![&good, &bad],
        ),
    ] {
        sqlx::raw_sql(setup)
            .execute(&mut *conn)
            .await
            .expect("setup");
        let err = sqlx::raw_sql(failing)
            .execute(&mut *conn)
            .await
            .expect_err(failing);
        let rows = migrate::offending_rows(&mut conn, &err)
            .await
            .unwrap_or_else(|| panic!("{failing}: no rows named for {err}"));
        assert!(rows.contains("core.rows"), "{rows}");
        for key in in_the_way {
            assert!(rows.contains(key.as_str()), "{failing}: {rows}");
        }
        for key in not_in_the_way {
            assert!(!rows.contains(key.as_str()), "{failing}: {rows}");
        }
        assert!(!rows.contains("SEGREDO") && !rows.contains("correio"), "{rows}");
    }
    // An error that no row stands in the way of names none.
    let err = sqlx::raw_sql("SELECT 1/0")
        .execute(&mut *conn)
        .await
        .expect_err("division");
    assert_eq!(migrate::offending_rows(&mut conn, &err).await, None);
    // A data exception quotes the value: withheld in the migration's error.
    let source = sqlx::raw_sql("SELECT '11 98765-4321'::integer")
        .execute(&mut *conn)
        .await
        .expect_err("not a number");
    let text = migrate::MigrateError::Step {
        version: 7,
        name: "phone_e164",
        step: "step 1 \"x\"".into(),
        source,
        rows: None,
    }
    .to_string();
    assert!(!text.contains("98765"), "{text}");
    assert!(
        text.contains("invalid input syntax for type integer") && text.contains("22P02"),
        "{text}"
    );
    // The database's own function raising with a value in its message.
    let source = sqlx::raw_sql(
        "CREATE FUNCTION core.check_cpf() RETURNS void LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'CPF 52998224725 invalido'; END $$;
         SELECT core.check_cpf();",
    )
    .execute(&mut *conn)
    .await
    .expect_err("raises");
    let text = migrate::MigrateError::Step {
        version: 8,
        name: "prepare_keys",
        step: "step 1 \"x\"".into(),
        source,
        rows: None,
    }
    .to_string();
    assert!(!text.contains("52998224725"), "{text}");
    assert!(text.contains("check_cpf"), "names the function: {text}");
}
