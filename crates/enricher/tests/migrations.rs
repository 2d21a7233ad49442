//! Migrations against a real PostgreSQL: up, idempotent re-run, down, up again.

use c2s_enrich::db;
use c2s_enrich::testing::TestDb;

async fn schemas(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname IN ('core','ref','enrich') ORDER BY 1")
        .fetch_all(pool)
        .await
        .expect("query schemas")
}

#[tokio::test]
async fn migrating_an_empty_database_creates_the_schemas_and_rerunning_is_a_no_op() {
    let test = TestDb::empty().await.expect("test database");
    db::migrate_up(&test.pool).await.expect("first run");
    assert_eq!(schemas(&test.pool).await, ["core", "enrich", "ref"]);
    let status = db::migration_status(&test.pool).await.expect("status");
    assert!(status.iter().all(|m| m.applied), "{status:?}");

    db::migrate_up(&test.pool)
        .await
        .expect("second run is a no-op");
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&test.pool)
        .await
        .expect("count");
    assert_eq!(applied as usize, status.len());
}

#[tokio::test]
async fn migrating_down_removes_only_the_service_schema_and_up_restores_it() {
    let test = TestDb::migrated().await.expect("test database");
    sqlx::query("CREATE TABLE core.users_own (id int)")
        .execute(&test.pool)
        .await
        .expect("user table");

    db::migrate_down(&test.pool, 0).await.expect("down to 0");
    assert_eq!(
        schemas(&test.pool).await,
        ["core", "ref"],
        "users' schemas are never dropped"
    );
    let status = db::migration_status(&test.pool).await.expect("status");
    assert!(status.iter().all(|m| !m.applied), "{status:?}");

    db::migrate_up(&test.pool).await.expect("up again");
    assert_eq!(schemas(&test.pool).await, ["core", "enrich", "ref"]);
}
