//! A legacy (pre-hardening) customer database with the dirty data production has.
//! Used by the hardening tests; `synth --legacy` builds the large version.

use sqlx::PgPool;

/// What the legacy fixture contains, for assertions after hardening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyCounts {
    /// Bulk people (each with one phone, e-mail, address, link, profile, property).
    pub people: i64,
    /// Duplicate (entity, phone) rows to archive.
    pub duplicate_phones: i64,
    /// Duplicate (entity, lower(email)) rows to archive.
    pub duplicate_emails: i64,
    /// Duplicate (entity, address) links to archive.
    pub duplicate_links: i64,
    /// Phones that are not Brazilian numbers (no DDD).
    pub invalid_phones: i64,
    /// Phones equal in E.164 to an older phone of the same person.
    pub duplicate_e164: i64,
    /// Orphan rows (phone of a missing person, link to a missing address).
    pub orphans: i64,
}

/// The legacy tables, empty: production's shape before hardening.
pub const SCHEMA: &str = include_str!("legacy_schema.sql");

/// Creates the legacy shape with `people` bulk people plus the dirty rows.
pub async fn create(pool: &PgPool, people: i64) -> Result<LegacyCounts, sqlx::Error> {
    sqlx::raw_sql(SCHEMA).execute(pool).await?;
    let sql = include_str!("legacy.sql").replace(":n", &people.max(10).to_string());
    sqlx::raw_sql(&sql).execute(pool).await?;
    Ok(LegacyCounts {
        people: people.max(10),
        duplicate_phones: 3,
        duplicate_emails: 2,
        duplicate_links: 2,
        invalid_phones: 1,
        duplicate_e164: 1,
        orphans: 2,
    })
}
