//! Migrates the database at `DATABASE_URL` to the current schema, with
//! nothing of the service compiled: `scripts/sqlx-prepare` builds the
//! schema the service's checked queries are compiled against this way.

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("error: set DATABASE_URL to the database to migrate");
        return ExitCode::from(2);
    };
    let url = secrecy::SecretString::from(url);
    let result = async {
        let pool = c2s_db::connect_pool(&url, 2).await?;
        c2s_db::migrate_up(&pool).await?;
        pool.close().await;
        Ok::<_, c2s_db::DbError>(())
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
