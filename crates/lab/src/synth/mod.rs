//! `c2s-enrich synth`: fills an empty database with synthetic customers shaped
//! like production (the seed report's counts at scale 1.0), with `COPY`,
//! deterministically for a seed. `--legacy` builds the pre-hardening shape
//! (no constraints) with the dirty values production has, for the hardening
//! benchmark; otherwise the hardened schema (migrations applied) with clean
//! values.
//!
//! Every row is a pure function of (seed, table, row number): the same seed
//! gives the same database, whatever the batch sizes.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use brazil::{Cpf, PhoneBr, Uf};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use uuid::Uuid;

mod copy;
mod rows;
use copy::*;
use rows::*;

/// Production's counts (seed report), i.e. scale 1.0.
pub const PRODUCTION: Plan = Plan {
    entities: 1_536_771,
    phones: 1_726_374,
    duplicate_phone_pairs: 1_522,
    emails: 872_939,
    addresses: 1_416_411,
    links: 11_529,
    profiles: 1_375_986,
    properties: 1_447_983,
};

/// Share of entities that are enriched.
const ENRICHED_SHARE: f64 = 0.45;

/// Rows per table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    pub entities: u64,
    /// Phone rows, duplicates included.
    pub phones: u64,
    /// Of `phones`: a second row with a person's same number (legacy only; the
    /// hardened shape cannot hold them and gets none).
    pub duplicate_phone_pairs: u64,
    pub emails: u64,
    pub addresses: u64,
    /// Entity–address links.
    pub links: u64,
    pub profiles: u64,
    pub properties: u64,
}

impl Plan {
    /// Production's counts times `scale` (at least one row per table).
    pub fn at(scale: f64) -> Self {
        let s = |n: u64| ((n as f64 * scale).round() as u64).max(1);
        let p = PRODUCTION;
        Self {
            entities: s(p.entities),
            phones: s(p.phones),
            duplicate_phone_pairs: ((p.duplicate_phone_pairs as f64 * scale).round() as u64),
            emails: s(p.emails),
            addresses: s(p.addresses),
            links: s(p.links),
            profiles: s(p.profiles).min(s(p.entities)),
            properties: s(p.properties),
        }
    }

    pub fn total(&self) -> u64 {
        self.entities
            + self.phones
            + self.emails
            + self.addresses
            + self.links
            + self.profiles
            + self.properties
    }
}

/// What to build.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub scale: f64,
    pub legacy: bool,
    pub seed: u64,
    /// Progress on stderr.
    pub progress: bool,
}

/// What was built.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SynthReport {
    pub plan: Plan,
    pub legacy: bool,
    pub seed: u64,
    pub rows: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("--scale must be a number in (0, 10], got {0}")]
    BadScale(f64),
    #[error("the database already holds customer tables with rows ({0} entities); synth fills an empty database only")]
    NotEmpty(i64),
    #[error("the database already has the {0} shape; synth needs an empty database")]
    WrongShape(&'static str),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] c2s_enrich::db::DbError),
}

/// Creates the shape to fill (legacy or hardened) in an empty database;
/// refuses one that already has customer tables.
async fn create_schema(pool: &PgPool, legacy: bool) -> Result<(), SynthError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('core.entities') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if exists {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM core.entities")
            .fetch_one(pool)
            .await?;
        if n > 0 {
            return Err(SynthError::NotEmpty(n));
        }
        return Err(SynthError::WrongShape(if legacy {
            "hardened"
        } else {
            "customer"
        }));
    }
    if legacy {
        sqlx::raw_sql(crate::testing::legacy::SCHEMA)
            .execute(pool)
            .await?;
    } else {
        c2s_enrich::db::migrate_up(pool).await?;
    }
    Ok(())
}

/// Fills the database. Refuses a database that already holds customers.
pub async fn run(pool: &PgPool, o: &SynthOptions) -> Result<SynthReport, SynthError> {
    if !(o.scale > 0.0 && o.scale <= 10.0) {
        return Err(SynthError::BadScale(o.scale));
    }
    create_schema(pool, o.legacy).await?;
    let plan = Plan::at(o.scale);
    let started = Instant::now();
    let (seed, legacy) = (o.seed, o.legacy);
    if o.progress {
        eprintln!(
            "synth: scale {} ({} rows), {} shape, seed {seed}",
            o.scale,
            plan.total(),
            if legacy { "legacy" } else { "hardened" }
        );
    }
    let g = Gen { seed, legacy, plan };
    let phones = {
        let (singles, duplicates) = g.phone_rows();
        singles + duplicates
    };
    // One COPY per table, in the order their references need.
    let tables: [(&'static str, &str, u64, Row); 7] = [
        ("core.entities", "entity_id, national_id, entity_type, name, canonical_name, is_enriched, enriched_at, data_source, confidence, metadata, is_active, created_at, updated_at", g.plan.entities, Gen::entity),
        ("core.entity_profiles", "entity_id, sex, birth_date, nationality, marital_status, metadata, created_at, updated_at", g.plan.profiles, Gen::profile),
        ("core.entity_phones", "id, entity_id, phone, phone_e164, phone_type, is_primary, is_verified, is_whatsapp, metadata, created_at, updated_at", phones, Gen::phone),
        ("core.entity_emails", "id, entity_id, email, email_type, is_primary, is_verified, metadata, created_at, updated_at", g.plan.emails, Gen::email),
        ("core.addresses", "id, street_type, street, number, complement, neighborhood, city, state, zip_code, address_hash, is_valid, primary_address, created_at, updated_at", g.plan.addresses, Gen::address),
        ("core.entity_addresses", "id, entity_id, address_id, address_type, is_primary, is_current, confidence_score, verified, metadata, created_at, updated_at", g.plan.links, Gen::link),
        ("core.properties", "property_id, property_type, address_id, title, area_m2, price, metadata, created_at, updated_at", g.plan.properties, Gen::property),
    ];
    let mut rows = 0;
    for (table, columns, n, row) in tables {
        rows += copy(pool, table, columns, n, o.progress, |i, buf| {
            row(&g, i, buf)
        })
        .await?;
    }
    if o.progress {
        eprintln!("  analyzing…");
    }
    sqlx::raw_sql("ANALYZE core.entities, core.entity_profiles, core.entity_phones, core.entity_emails, core.addresses, core.entity_addresses, core.properties")
        .execute(pool)
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(SynthReport {
        plan,
        legacy,
        seed,
        rows,
        seconds,
        rows_per_second: rows as f64 / seconds.max(1e-9),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_one_is_the_seed_reports_counts_and_small_scales_round() {
        assert_eq!(Plan::at(1.0), PRODUCTION);
        let p = Plan::at(0.01);
        assert_eq!(p.entities, 15_368);
        assert_eq!(p.links, 115);
        assert_eq!(p.duplicate_phone_pairs, 15);
        assert_eq!(Plan::at(0.000_001).links, 1);
    }

    #[test]
    fn cpfs_are_unique_and_valid_per_index() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..50_000 {
            if let Some(c) = cpf_of(7, i) {
                assert!(Cpf::parse(c.digits()).is_ok());
                assert!(seen.insert(c.digits().to_owned()), "repeated at {i}");
            }
        }
        assert!(seen.len() > 49_990);
    }

    #[test]
    fn rows_are_pure_functions_of_seed_table_and_index() {
        assert_eq!(entity_id(1, 5), entity_id(1, 5));
        assert_ne!(entity_id(1, 5), entity_id(2, 5));
        assert_ne!(entity_id(1, 5), address_id(1, 5));
        let mut a = String::new();
        line(&mut a).text("x\ty").opt(None).text("z").end();
        assert_eq!(a, "x\\ty\t\\N\tz\n");
    }
}
