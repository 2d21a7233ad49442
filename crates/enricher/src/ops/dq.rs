//! Data-quality checks of the customer database (DATABASE.md, "Data-quality
//! checks"): hard rules that must report zero on a hardened database, and the
//! informational figures analysts watch.

use std::fmt::{self, Write as _};

use serde::Serialize;
use sqlx::PgPool;

/// One hard rule and how many rows (or groups) break it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Check {
    pub name: &'static str,
    pub violations: i64,
    pub passed: bool,
}

/// Enrichment figures.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Enrichment {
    pub entities: i64,
    pub enriched: i64,
    pub enriched_share: f64,
    pub enriched_with_lead_id: i64,
    pub last_enriched_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Address confidence distribution over `core.entity_addresses`.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct AddressConfidence {
    pub links: i64,
    pub with_score: i64,
    pub reliable: i64,
    pub avg: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// Size and bloat of one table.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct TableSize {
    pub table: String,
    pub rows_estimate: i64,
    pub table_bytes: i64,
    pub index_bytes: i64,
    pub dead_tuple_ratio: f64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Report {
    pub checks: Vec<Check>,
    pub enrichment: Enrichment,
    pub address_confidence: AddressConfidence,
    pub orphans: i64,
    pub tables: Vec<TableSize>,
}

impl Report {
    /// Whether every hard rule holds.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
}

const CHECKS: [(&str, &str); 6] = [
    (
        "duplicate (entity_id, phone)",
        "SELECT count(*) FROM (SELECT 1 FROM core.entity_phones GROUP BY entity_id, phone HAVING count(*) > 1) d",
    ),
    (
        "duplicate (entity_id, phone_e164)",
        "SELECT count(*) FROM (SELECT 1 FROM core.entity_phones WHERE phone_e164 IS NOT NULL
           GROUP BY entity_id, phone_e164 HAVING count(*) > 1) d",
    ),
    (
        "duplicate (entity_id, email)",
        "SELECT count(*) FROM (SELECT 1 FROM core.entity_emails GROUP BY entity_id, lower(email) HAVING count(*) > 1) d",
    ),
    (
        "CEP not matching ^[0-9]{8}$",
        "SELECT count(*) FROM core.addresses WHERE zip_code IS NOT NULL AND zip_code !~ '^[0-9]{8}$'",
    ),
    (
        "UF not one of the 27",
        "SELECT count(*) FROM core.addresses WHERE state IS NOT NULL AND (state !~ '^[A-Z]{2}$' OR state NOT IN
           ('AC','AL','AM','AP','BA','CE','DF','ES','GO','MA','MG','MS','MT','PA','PB','PE','PI','PR','RJ','RN',
            'RO','RR','RS','SC','SE','SP','TO'))",
    ),
    (
        "phones without phone_e164",
        "SELECT count(*) FROM core.entity_phones WHERE phone_e164 IS NULL",
    ),
];

/// Runs every check. Read-only.
// Longer than 70 lines on purpose: The list of data-quality checks, one per rule of DATABASE.md.
pub async fn run(pool: &PgPool) -> Result<Report, sqlx::Error> {
    let mut checks = Vec::with_capacity(CHECKS.len());
    for (name, sql) in CHECKS {
        let violations: i64 = sqlx::query_scalar(sql).fetch_one(pool).await?;
        checks.push(Check {
            name,
            violations,
            passed: violations == 0,
        });
    }
    let (entities, enriched, enriched_with_lead_id, last_enriched_at): (
        i64,
        i64,
        i64,
        Option<chrono::DateTime<chrono::Utc>>,
    ) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE is_enriched),
                    count(*) FILTER (WHERE is_enriched AND metadata->>'c2s_lead_id' IS NOT NULL),
                    max(enriched_at)
               FROM core.entities",
    )
    .fetch_one(pool)
    .await?;
    let (links, with_score, reliable, avg, min, max): (i64, i64, i64, Option<f64>, Option<f64>, Option<f64>) = sqlx::query_as(
        "SELECT count(*), count(confidence_score), count(*) FILTER (WHERE confidence_score >= 0.75),
                avg(confidence_score)::float8, min(confidence_score)::float8, max(confidence_score)::float8
           FROM core.entity_addresses",
    )
    .fetch_one(pool)
    .await?;
    let orphans: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM core.entity_phones x WHERE NOT EXISTS (SELECT 1 FROM core.entities e WHERE e.entity_id = x.entity_id))
              + (SELECT count(*) FROM core.entity_emails x WHERE NOT EXISTS (SELECT 1 FROM core.entities e WHERE e.entity_id = x.entity_id))
              + (SELECT count(*) FROM core.entity_addresses x WHERE NOT EXISTS (SELECT 1 FROM core.entities e WHERE e.entity_id = x.entity_id)
                                                                 OR NOT EXISTS (SELECT 1 FROM core.addresses a WHERE a.id = x.address_id))",
    )
    .fetch_one(pool)
    .await?;
    let tables = sqlx::query_as::<_, (String, i64, i64, i64, f64)>(
        "SELECT s.relname::text, greatest(c.reltuples, 0)::bigint, pg_table_size(s.relid), pg_indexes_size(s.relid),
                CASE WHEN s.n_live_tup + s.n_dead_tup = 0 THEN 0
                     ELSE s.n_dead_tup::float8 / (s.n_live_tup + s.n_dead_tup) END
           FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
          WHERE s.schemaname = 'core' ORDER BY pg_total_relation_size(s.relid) DESC",
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|(table, rows_estimate, table_bytes, index_bytes, dead_tuple_ratio)| TableSize {
        table,
        rows_estimate,
        table_bytes,
        index_bytes,
        dead_tuple_ratio,
    })
    .collect();
    Ok(Report {
        checks,
        enrichment: Enrichment {
            entities,
            enriched,
            enriched_share: if entities == 0 {
                0.0
            } else {
                enriched as f64 / entities as f64
            },
            enriched_with_lead_id,
            last_enriched_at,
        },
        address_confidence: AddressConfidence {
            links,
            with_score,
            reliable,
            avg,
            min,
            max,
        },
        orphans,
        tables,
    })
}

fn bytes(n: i64) -> String {
    const UNITS: [&str; 4] = ["B", "kB", "MB", "GB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |x| format!("{x:.2}"))
}

impl fmt::Display for Report {
    // Longer than 70 lines on purpose: The report's text, section by section.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        writeln!(s, "Hard checks")?;
        for c in &self.checks {
            writeln!(
                s,
                "  {:<4} {:<36} {:>10}",
                if c.passed { "PASS" } else { "FAIL" },
                c.name,
                c.violations
            )?;
        }
        let e = &self.enrichment;
        writeln!(s, "\nEnrichment")?;
        writeln!(
            s,
            "  entities {:>12}   enriched {:>12} ({:.1} %)",
            e.entities,
            e.enriched,
            e.enriched_share * 100.0
        )?;
        writeln!(
            s,
            "  enriched with a C2S lead id {:>12}",
            e.enriched_with_lead_id
        )?;
        writeln!(
            s,
            "  last enrichment {}",
            e.last_enriched_at
                .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339())
        )?;
        let a = &self.address_confidence;
        writeln!(s, "\nAddress confidence")?;
        writeln!(
            s,
            "  links {:>10}   with score {:>10}   reliable (>= 0.75) {:>10}",
            a.links, a.with_score, a.reliable
        )?;
        writeln!(
            s,
            "  avg {}   min {}   max {}",
            opt(a.avg),
            opt(a.min),
            opt(a.max)
        )?;
        writeln!(s, "\nOrphan rows {:>10}", self.orphans)?;
        writeln!(s, "\nTables (core)")?;
        writeln!(
            s,
            "  {:<24} {:>12} {:>10} {:>10} {:>6}",
            "table", "rows (est.)", "table", "indexes", "dead"
        )?;
        for t in &self.tables {
            writeln!(
                s,
                "  {:<24} {:>12} {:>10} {:>10} {:>5.1}%",
                t.table,
                t.rows_estimate,
                bytes(t.table_bytes),
                bytes(t.index_bytes),
                t.dead_tuple_ratio * 100.0
            )?;
        }
        let failed = self.checks.iter().filter(|c| !c.passed).count();
        if failed == 0 {
            writeln!(s, "\nAll {} hard checks passed.", self.checks.len())?;
        } else {
            writeln!(s, "\n{failed} of {} hard checks FAILED.", self.checks.len())?;
        }
        f.write_str(&s)
    }
}
