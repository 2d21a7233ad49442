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

/// A well-mixed 64-bit value from (seed, stream, index): rows are pure functions.
fn mix(seed: u64, stream: u64, i: u64) -> u64 {
    let mut z =
        seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn row_rng(seed: u64, stream: u64, i: u64) -> StdRng {
    StdRng::seed_from_u64(mix(seed, stream, i))
}

fn uuid_of(seed: u64, stream: u64, i: u64) -> Uuid {
    let hi = mix(seed, stream, 2 * i);
    let lo = mix(seed, stream, 2 * i + 1);
    uuid::Builder::from_random_bytes(((u128::from(hi) << 64) | u128::from(lo)).to_be_bytes())
        .into_uuid()
}

const ENTITY: u64 = 1;
const PHONE: u64 = 2;
const EMAIL: u64 = 3;
const ADDRESS: u64 = 4;
const LINK: u64 = 5;
const PROFILE: u64 = 6;
const PROPERTY: u64 = 7;

fn entity_id(seed: u64, i: u64) -> Uuid {
    uuid_of(seed, ENTITY, i)
}

fn address_id(seed: u64, i: u64) -> Uuid {
    uuid_of(seed, ADDRESS, i)
}

/// A unique valid CPF per entity: a bijection of the index onto 9-digit bases
/// (3^18 is coprime with 10^9), then the check digits.
fn cpf_of(seed: u64, i: u64) -> Option<Cpf> {
    let base = (i
        .wrapping_mul(387_420_489)
        .wrapping_add(seed % 1_000_000_000))
        % 1_000_000_000;
    let mut digits = [0u8; 9];
    let mut n = base;
    for d in digits.iter_mut().rev() {
        *d = (n % 10) as u8;
        n /= 10;
    }
    Cpf::from_base(digits).ok()
}

fn ts(rng: &mut StdRng, from_days: i64, span_days: i64) -> String {
    let base =
        chrono::DateTime::<chrono::Utc>::from_timestamp(1_577_836_800, 0).unwrap_or_default(); // 2020-01-01
    let t = base
        + chrono::Duration::days(from_days + rng.gen_range(0..span_days.max(1)))
        + chrono::Duration::seconds(rng.gen_range(0..86_400));
    t.format("%Y-%m-%d %H:%M:%S+00").to_string()
}

/// Text COPY format: tab-separated, `\N` for NULL. Values never contain tabs,
/// newlines or backslashes (they are generated), but are escaped anyway.
struct Line<'a>(&'a mut String, bool);

impl Line<'_> {
    fn text(&mut self, v: &str) -> &mut Self {
        if self.1 {
            self.0.push('\t');
        }
        self.1 = true;
        for c in v.chars() {
            match c {
                '\\' => self.0.push_str("\\\\"),
                '\t' => self.0.push_str("\\t"),
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                c => self.0.push(c),
            }
        }
        self
    }
    fn opt(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.text(v),
            None => {
                if self.1 {
                    self.0.push('\t');
                }
                self.1 = true;
                self.0.push_str("\\N");
                self
            }
        }
    }
    fn end(&mut self) {
        self.0.push('\n');
    }
    /// The common tail of the customer tables: empty metadata, created and
    /// updated at `created`; ends the row.
    fn stamps(&mut self, created: &str) {
        self.text("{}").text(created).text(created).end();
    }
}

fn line(buf: &mut String) -> Line<'_> {
    Line(buf, false)
}

/// Progress on stderr: a live line on a terminal, a line per quarter otherwise.
struct Progress {
    on: bool,
    tty: bool,
    table: &'static str,
    total: u64,
    started: Instant,
    last: Instant,
    quarter: u64,
}

impl Progress {
    fn new(on: bool, table: &'static str, total: u64) -> Self {
        Self {
            on,
            tty: std::io::stderr().is_terminal(),
            table,
            total,
            started: Instant::now(),
            last: Instant::now(),
            quarter: 0,
        }
    }

    fn line(&self, done: u64) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-6);
        format!(
            "  {:<22} {:>10} / {:<10} {:>3}%  {:>8.0} rows/s",
            self.table,
            done,
            self.total,
            done * 100 / self.total.max(1),
            done as f64 / secs
        )
    }

    fn tick(&mut self, done: u64) {
        if !self.on {
            return;
        }
        if self.tty {
            if self.last.elapsed() > Duration::from_millis(250) {
                eprint!("\r{}", self.line(done));
                self.last = Instant::now();
            }
        } else {
            let q = done * 4 / self.total.max(1);
            if q > self.quarter && q < 4 {
                self.quarter = q;
                eprintln!("{}", self.line(done));
            }
        }
    }

    fn done(&self) {
        if self.on {
            if self.tty {
                eprint!("\r");
            }
            eprintln!("{}", self.line(self.total));
        }
    }
}

const BATCH_BYTES: usize = 4 << 20;

/// Streams `rows` rows made by `row` into `COPY table (columns)`.
async fn copy(
    pool: &PgPool,
    table: &'static str,
    columns: &str,
    rows: u64,
    progress: bool,
    mut row: impl FnMut(u64, &mut String),
) -> Result<u64, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut copy = conn
        .copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN"))
        .await?;
    let mut buf = String::with_capacity(BATCH_BYTES + 4096);
    let mut p = Progress::new(progress, table, rows);
    for i in 0..rows {
        row(i, &mut buf);
        if buf.len() >= BATCH_BYTES {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
            p.tick(i + 1);
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_bytes()).await?;
    }
    let n = copy.finish().await?;
    p.done();
    Ok(n)
}

const STREET_CODES: [&str; 8] = ["R", "R", "R", "AV", "AV", "AL", "TV", "PC"];
const DIRTY_STREET_TYPES: [&str; 8] = [
    "AVENIDA",
    "RUA",
    "VIA ACESSO",
    "{R}",
    "Av.",
    "ALAMEDA",
    "INVALIDO",
    "TRAV",
];
const STREETS: [&str; 10] = [
    "DAS PALMEIRAS",
    "AUGUSTA",
    "OSCAR FREIRE",
    "GABRIEL MONTEIRO DA SILVA",
    "EUROPA",
    "BRIGADEIRO FARIA LIMA",
    "HADDOCK LOBO",
    "DOS BANDEIRANTES",
    "SANTOS",
    "BELA CINTRA",
];
const CITIES: [(&str, &str); 6] = [
    ("SAO PAULO", "SP"),
    ("SAO PAULO", "SP"),
    ("GUARUJA", "SP"),
    ("CAMPINAS", "SP"),
    ("RIO DE JANEIRO", "RJ"),
    ("BELO HORIZONTE", "MG"),
];
const NEIGHBORHOODS: [&str; 6] = [
    "JARDIM EUROPA",
    "JARDIM AMERICA",
    "ITAIM BIBI",
    "PINHEIROS",
    "MOEMA",
    "CENTRO",
];
const PROPERTY_TYPES: [&str; 6] = [
    "APARTAMENTO",
    "APARTAMENTO",
    "CASA",
    "COBERTURA",
    "CASA_CONDOMINIO",
    "TERRENO",
];

fn phone_text(phone: &PhoneBr, rng: &mut StdRng, legacy: bool) -> (String, bool) {
    let national = phone.national().to_owned();
    if !legacy {
        return (national, true);
    }
    let ddd = &national[..2];
    let rest = &national[2..];
    match rng.gen_range(0..100) {
        0..=59 => (national.clone(), true),
        60..=74 => (
            format!(
                "({ddd}) {}-{}",
                &rest[..rest.len() - 4],
                &rest[rest.len() - 4..]
            ),
            true,
        ),
        75..=84 => (format!("+55 {ddd} {rest}"), true),
        85..=98 => (format!("55{national}"), true),
        // No DDD: not a usable Brazilian number (the hardening archives it).
        _ => (rest.to_owned(), false),
    }
}

fn cep_text(rng: &mut StdRng, legacy: bool) -> Option<String> {
    let cep = brazil::synth::cep(rng);
    let d = cep.digits().to_owned();
    if !legacy {
        return Some(d);
    }
    Some(match rng.gen_range(0..100) {
        0..=92 => d,
        93..=95 => format!("{}-{}", &d[..5], &d[5..]),
        96 => d.trim_start_matches('0').chars().take(7).collect(),
        97 => d[..4].to_owned(),
        98 => "ABCDEFGH".to_owned(),
        _ => return None,
    })
}

fn uf_text(uf: Uf, rng: &mut StdRng, legacy: bool) -> Option<String> {
    let code = uf.code().to_owned();
    if !legacy {
        return Some(code);
    }
    match rng.gen_range(0..100) {
        0..=94 => Some(code),
        95 | 96 => Some(code.to_lowercase()),
        97 => Some(uf.name().to_owned()),
        98 => Some(code[..1].to_owned()),
        _ => None,
    }
}

/// Fills the database. Refuses a database that already holds customers.
pub async fn run(pool: &PgPool, o: &SynthOptions) -> Result<SynthReport, SynthError> {
    if !(o.scale > 0.0 && o.scale <= 10.0) {
        return Err(SynthError::BadScale(o.scale));
    }
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
        return Err(SynthError::WrongShape(if o.legacy {
            "hardened"
        } else {
            "customer"
        }));
    }
    if o.legacy {
        sqlx::raw_sql(crate::testing::legacy::SCHEMA)
            .execute(pool)
            .await?;
    } else {
        c2s_enrich::db::migrate_up(pool).await?;
    }
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
    let mut rows = 0;
    rows += copy(
        pool,
        "core.entities",
        "entity_id, national_id, entity_type, name, canonical_name, is_enriched, enriched_at, data_source, confidence, metadata, is_active, created_at, updated_at",
        plan.entities,
        o.progress,
        |i, buf| {
            let mut rng = row_rng(seed, ENTITY, i);
            let name = brazil::synth::person_name(&mut rng);
            let enriched = rng.gen_bool(ENRICHED_SHARE);
            let created = ts(&mut rng, 0, 1800);
            let enriched_at = enriched.then(|| ts(&mut rng, 1800, 300));
            let cpf = cpf_of(seed, i);
            line(buf)
                .text(&entity_id(seed, i).to_string())
                .opt(cpf.as_ref().map(Cpf::digits))
                .text("person")
                .text(&name)
                .text(&brazil::normalize_name(&name))
                .text(if enriched { "t" } else { "f" })
                .opt(enriched_at.as_deref())
                .opt(enriched.then_some("work_api"))
                .opt(enriched.then_some("0.900"))
                .text("{}")
                .text("t")
                .text(&created)
                .text(&created)
                .end();
        },
    )
    .await?;
    rows += copy(
        pool,
        "core.entity_profiles",
        "entity_id, sex, birth_date, nationality, marital_status, metadata, created_at, updated_at",
        plan.profiles,
        o.progress,
        |i, buf| {
            let mut rng = row_rng(seed, PROFILE, i);
            let birth = format!(
                "{}-{:02}-{:02}",
                rng.gen_range(1940..2005),
                rng.gen_range(1..=12),
                rng.gen_range(1..=28)
            );
            let created = ts(&mut rng, 0, 1800);
            line(buf)
                .text(&entity_id(seed, i).to_string())
                .text(if rng.gen_bool(0.5) { "F" } else { "M" })
                .text(&birth)
                .text("BRASILEIRA")
                .opt(rng.gen_bool(0.6).then_some("CASADO(A)"))
                .stamps(&created);
        },
    )
    .await?;
    // Phones: one per entity first, then second numbers, then (legacy) exact
    // duplicates of a person's number.
    let duplicates = if legacy {
        plan.duplicate_phone_pairs
    } else {
        0
    };
    let singles = plan.phones.saturating_sub(duplicates);
    rows += copy(
        pool,
        "core.entity_phones",
        "id, entity_id, phone, phone_e164, phone_type, is_primary, is_verified, is_whatsapp, metadata, created_at, updated_at",
        singles + duplicates,
        o.progress,
        |i, buf| {
            // Row i < singles: entity (i mod entities), its k-th number; else a
            // duplicate of the first number of entity (i - singles).
            let (owner, k) = if i < singles {
                (i % plan.entities, i / plan.entities)
            } else {
                (i - singles, 0)
            };
            let mut rng = row_rng(seed, PHONE, owner * 8 + k);
            let mobile = rng.gen_bool(0.8);
            let phone = if mobile {
                brazil::synth::mobile(&mut rng)
            } else {
                brazil::synth::landline(&mut rng)
            };
            let (text, usable) = phone_text(&phone, &mut rng, legacy);
            let e164 = (!legacy && usable).then(|| phone.e164());
            let created = ts(&mut rng, 0, 1800);
            line(buf)
                .text(&uuid_of(seed, PHONE, i).to_string())
                .text(&entity_id(seed, owner).to_string())
                .text(&text)
                .opt(e164.as_deref())
                .text(if mobile { "mobile" } else { "landline" })
                .text(if k == 0 { "t" } else { "f" })
                .text("f")
                .text(if mobile && rng.gen_bool(0.5) { "t" } else { "f" })
                .stamps(&created);
        },
    )
    .await?;
    rows += copy(
        pool,
        "core.entity_emails",
        "id, entity_id, email, email_type, is_primary, is_verified, metadata, created_at, updated_at",
        plan.emails,
        o.progress,
        |i, buf| {
            let owner = i % plan.entities;
            let mut rng = row_rng(seed, EMAIL, i);
            let name = brazil::synth::person_name(&mut row_rng(seed, ENTITY, owner));
            let email = brazil::synth::email_for(&mut rng, &name);
            let text = if legacy && rng.gen_bool(0.05) {
                email.as_str().to_uppercase()
            } else {
                email.as_str().to_owned()
            };
            let created = ts(&mut rng, 0, 1800);
            line(buf)
                .text(&uuid_of(seed, EMAIL, i).to_string())
                .text(&entity_id(seed, owner).to_string())
                .text(&text)
                .text("personal")
                .text(if i < plan.entities { "t" } else { "f" })
                .text("f")
                .stamps(&created);
        },
    )
    .await?;
    rows += copy(
        pool,
        "core.addresses",
        "id, street_type, street, number, complement, neighborhood, city, state, zip_code, address_hash, is_valid, primary_address, created_at, updated_at",
        plan.addresses,
        o.progress,
        |i, buf| {
            let mut rng = row_rng(seed, ADDRESS, i);
            let street_type = if legacy && rng.gen_bool(0.25) {
                DIRTY_STREET_TYPES[rng.gen_range(0..DIRTY_STREET_TYPES.len())]
            } else {
                STREET_CODES[rng.gen_range(0..STREET_CODES.len())]
            };
            let street = STREETS[rng.gen_range(0..STREETS.len())];
            let number = rng.gen_range(1..4000).to_string();
            let complement = rng.gen_bool(0.4).then(|| format!("AP {}", rng.gen_range(1..300)));
            let (city, state) = CITIES[rng.gen_range(0..CITIES.len())];
            let uf = Uf::parse(state).unwrap_or(Uf::SP);
            let zip = cep_text(&mut rng, legacy);
            // Unique per row; legacy repeats a few (the hardening clears them).
            let hash_of = if legacy && i > 0 && rng.gen_bool(0.0005) { i - 1 } else { i };
            let hash = format!("{:016x}{:016x}", mix(seed, 40, hash_of), mix(seed, 41, hash_of));
            let created = ts(&mut rng, 0, 1800);
            line(buf)
                .text(&address_id(seed, i).to_string())
                .text(street_type)
                .text(street)
                .text(&number)
                .opt(complement.as_deref())
                .text(NEIGHBORHOODS[rng.gen_range(0..NEIGHBORHOODS.len())])
                .text(city)
                .opt(uf_text(uf, &mut rng, legacy).as_deref())
                .opt(zip.as_deref())
                .text(&hash)
                .text("t")
                .text("f")
                .text(&created)
                .text(&created)
                .end();
        },
    )
    .await?;
    rows += copy(
        pool,
        "core.entity_addresses",
        "id, entity_id, address_id, address_type, is_primary, is_current, confidence_score, verified, metadata, created_at, updated_at",
        plan.links,
        o.progress,
        |i, buf| {
            let mut rng = row_rng(seed, LINK, i);
            // Distinct (entity, address) pairs: entity i, address i (both exist: links ≪ both).
            let created = ts(&mut rng, 0, 1800);
            let confidence = ["0.90", "0.75", "0.50"][rng.gen_range(0..3)];
            line(buf)
                .text(&uuid_of(seed, LINK, i).to_string())
                .text(&entity_id(seed, i % plan.entities).to_string())
                .text(&address_id(seed, i % plan.addresses).to_string())
                .text("residential")
                .text("t")
                .text("t")
                .text(confidence)
                .text("f")
                .stamps(&created);
        },
    )
    .await?;
    rows += copy(
        pool,
        "core.properties",
        "property_id, property_type, address_id, title, area_m2, price, metadata, created_at, updated_at",
        plan.properties,
        o.progress,
        |i, buf| {
            let mut rng = row_rng(seed, PROPERTY, i);
            let kind = PROPERTY_TYPES[rng.gen_range(0..PROPERTY_TYPES.len())];
            let area = rng.gen_range(40..1200);
            let price = area * rng.gen_range(9_000..35_000);
            let created = ts(&mut rng, 0, 1800);
            let mut title = String::new();
            let _ = write!(title, "{kind} {area} M2");
            line(buf)
                .text(&uuid_of(seed, PROPERTY, i).to_string())
                .text(kind)
                .text(&address_id(seed, rng.gen_range(0..plan.addresses)).to_string())
                .text(&title)
                .text(&format!("{area}.00"))
                .text(&format!("{price}.00"))
                .stamps(&created);
        },
    )
    .await?;
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
