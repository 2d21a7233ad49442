//! Benchmark 2 (storage): persons per second stored by `store_dossier` for the
//! fixture-sized dossier (made distinct per person), against the physical
//! limit measured in the same run: `COPY` of exactly the rows it wrote back
//! into the same tables (same constraints, same indexes).

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::support::{median, Server};
use c2s_enrich::domain::dossier::Dossier;
use c2s_enrich::providers::work_api::parse_dossier;
use c2s_enrich::store::dossier::{store_dossier, LeadContext, MatchKind, StoreOptions};

/// The tables `store_dossier` writes, parents first.
const TABLES: [&str; 10] = [
    "core.entities",
    "core.addresses",
    "core.entity_profiles",
    "core.entity_financials",
    "core.entity_phones",
    "core.entity_emails",
    "core.entity_addresses",
    "core.entity_relationships",
    "enrich.enrichment_snapshots",
    "enrich.lead_entities",
];

#[derive(Debug, Clone, Serialize)]
pub struct StorageResult {
    pub persons: usize,
    pub rounds: usize,
    pub rows_per_person: f64,
    pub store_persons_per_second: f64,
    pub copy_persons_per_second: f64,
    /// store time / COPY time for the same rows (median over rounds).
    pub store_over_copy: f64,
    /// Round trips per dossier stored: the statements sqlx reports
    /// (`COMMIT` among them) plus its `BEGIN`, which it sends unreported.
    pub statements_per_dossier: f64,
}

/// Dossiers stored, after the timed rounds, to count statements.
const COUNTED: usize = 20;

/// The fixture's dossier as a different person: new CPF, name, relatives,
/// companies, phones, e-mails and address numbers.
fn distinct(base: &Dossier, rng: &mut StdRng) -> Dossier {
    let mut d = base.clone();
    d.cpf = brazil::synth::cpf(rng);
    d.name = brazil::synth::person_name(rng);
    for r in &mut d.relatives {
        r.cpf = brazil::synth::cpf(rng);
    }
    for c in &mut d.companies {
        c.cnpj = brazil::synth::cnpj(rng);
    }
    for p in &mut d.phones {
        p.phone = brazil::synth::mobile(rng);
    }
    for e in &mut d.emails {
        e.email = brazil::synth::email_for(rng, &d.name);
    }
    for a in &mut d.addresses {
        a.number = Some(rng.gen_range(1..100_000).to_string());
    }
    d
}

/// Copies the stored rows out, empties the tables and copies them back in:
/// the rows, and the seconds the copy in took.
async fn copy_round_trip(pool: &sqlx::PgPool) -> anyhow::Result<(u64, f64)> {
    let mut conn = pool.acquire().await?;
    let mut dumps = Vec::new();
    let mut rows = 0u64;
    for t in TABLES {
        let mut out = Vec::new();
        let mut stream = conn.copy_out_raw(&format!("COPY {t} TO STDOUT")).await?;
        use futures_util::StreamExt as _;
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        drop(stream);
        rows += out.iter().filter(|b| **b == b'\n').count() as u64;
        dumps.push((t, out));
    }
    let list = TABLES.join(", ");
    sqlx::raw_sql(&format!("TRUNCATE {list} CASCADE"))
        .execute(&mut *conn)
        .await?;
    let started = Instant::now();
    for (t, data) in &dumps {
        let mut copy = conn.copy_in_raw(&format!("COPY {t} FROM STDIN")).await?;
        copy.send(data.as_slice()).await?;
        copy.finish().await?;
    }
    let copy_secs = started.elapsed().as_secs_f64();
    Ok((rows, copy_secs))
}

pub async fn run(server: &Server, persons: usize, rounds: usize) -> anyhow::Result<StorageResult> {
    let raw: serde_json::Value =
        serde_json::from_str(&crate::testing::fixture("work_api_cpf.json"))?;
    let base = parse_dossier(raw).map_err(|e| anyhow::anyhow!("fixture: {e}"))?;
    let mut store_rates = Vec::new();
    let mut copy_rates = Vec::new();
    let mut ratios = Vec::new();
    let mut rows_per_person = 0.0;
    let mut statements_per_dossier = 0.0;
    for round in 0..rounds {
        let db = server.scratch("storage").await?;
        c2s_enrich::db::migrate_up(&db.pool).await?;
        let mut rng = StdRng::seed_from_u64(300 + round as u64);
        let dossiers: Vec<Dossier> = (0..persons).map(|_| distinct(&base, &mut rng)).collect();
        let lead = LeadContext {
            lead_id: None,
            lead_name: None,
            match_kind: MatchKind::Phone,
            confidence: None,
            identity_reasons: None,
            contact_phone: None,
            contact_email: None,
        };
        let options = StoreOptions {
            income_factor: rust_decimal::Decimal::new(19, 1),
            fetched_at: chrono::Utc::now(),
        };
        let started = Instant::now();
        for d in &dossiers {
            store_dossier(&db.pool, d, &lead, &options).await?;
        }
        let store_secs = started.elapsed().as_secs_f64();

        // Exactly those rows, out and back in with COPY.
        let (rows, copy_secs) = copy_round_trip(&db.pool).await?;
        rows_per_person = rows as f64 / persons as f64;
        store_rates.push(persons as f64 / store_secs);
        copy_rates.push(persons as f64 / copy_secs);
        ratios.push(store_secs / copy_secs);
        eprintln!(
            "  round {}/{rounds}: store {:.0} persons/s, COPY {:.0} persons/s ({rows} rows)",
            round + 1,
            persons as f64 / store_secs,
            persons as f64 / copy_secs
        );
        if round + 1 == rounds {
            statements_per_dossier = count_statements(&db.pool, &base, &lead, &options).await?;
        }
        server.done(db).await?;
    }
    Ok(StorageResult {
        persons,
        rounds,
        rows_per_person,
        store_persons_per_second: median(store_rates),
        copy_persons_per_second: median(copy_rates),
        store_over_copy: median(ratios),
        statements_per_dossier,
    })
}

/// Statements per dossier over [`COUNTED`] more distinct dossiers.
async fn count_statements(
    pool: &sqlx::PgPool,
    base: &Dossier,
    lead: &LeadContext,
    options: &StoreOptions,
) -> anyhow::Result<f64> {
    let mut rng = StdRng::seed_from_u64(999);
    let dossiers: Vec<Dossier> = (0..COUNTED).map(|_| distinct(base, &mut rng)).collect();
    let (stored, n) = super::statements::counted(async {
        for d in &dossiers {
            store_dossier(pool, d, lead, options).await?;
        }
        anyhow::Ok(())
    })
    .await;
    stored?;
    // + 1: sqlx sends `BEGIN` as a simple query without a statement event.
    Ok(n as f64 / COUNTED as f64 + 1.0)
}
