//! Storing a Work API dossier: exactly the expected rows, idempotent, safe
//! under concurrency, nothing written on bad input.

use std::str::FromStr;

use c2s_enrich::db::migrate::{self, MigrateOptions};
use c2s_enrich::domain::dossier::Dossier;
use c2s_enrich::domain::lead::LeadId;
use c2s_enrich::providers::work_api::parse_dossier;
use c2s_enrich::store::dossier::{store_dossier, LeadContext, MatchKind, StoreOptions};
use c2s_lab::testing::{legacy, TestDb};
use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;

fn fixture_json() -> serde_json::Value {
    serde_json::from_str(include_str!("../../../../fixtures/work_api_cpf.json")).expect("fixture")
}

fn helena() -> Dossier {
    parse_dossier(fixture_json()).expect("dossier")
}

/// Another person (valid CPF 11144477735) at Helena's addresses, with her landline.
fn housemate() -> Dossier {
    let mut raw = fixture_json();
    raw["DadosBasicos"]["cpf"] = "11144477735".into();
    raw["DadosBasicos"]["nome"] = "ROBERTO MARQUES DA COSTA".into();
    raw["parentes"] = serde_json::json!([{"nomeParente": "HELENA MARQUES DA COSTA", "cpfParente": "52998224725", "grauParentesco": "CONJUGE"}]);
    parse_dossier(raw).expect("dossier")
}

fn lead() -> LeadContext {
    LeadContext {
        lead_id: Some(LeadId::parse("9f3c2a7b5d1e4f60a8b9c0d1e2f3a4b5").expect("lead id")),
        lead_name: Some("Helena Costa".into()),
        match_kind: MatchKind::PhoneAndEmail,
        ..LeadContext::default()
    }
}

fn options() -> StoreOptions {
    StoreOptions {
        income_factor: Decimal::from_str("1.9").expect("factor"),
        fetched_at: Utc
            .with_ymd_and_hms(2026, 11, 24, 12, 0, 0)
            .single()
            .expect("time"),
    }
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn all_counts(pool: &PgPool) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "core.entities",
        "core.entity_profiles",
        "core.entity_financials",
        "core.entity_phones",
        "core.entity_emails",
        "core.addresses",
        "core.entity_addresses",
        "core.entity_relationships",
        "enrich.enrichment_snapshots",
        "enrich.lead_entities",
    ] {
        out.push(count(pool, &format!("SELECT count(*) FROM {t}")).await);
    }
    out
}

async fn person_id(pool: &PgPool, cpf: &str) -> uuid::Uuid {
    sqlx::query_scalar("SELECT entity_id FROM core.entities WHERE national_id = $1")
        .bind(cpf)
        .fetch_one(pool)
        .await
        .expect("entity")
}

#[tokio::test]
async fn the_fixture_dossier_becomes_exactly_the_expected_rows() {
    let test = TestDb::migrated().await.expect("db");
    let pool = &test.pool;
    let stored = store_dossier(pool, &helena(), &lead(), &options())
        .await
        .expect("store");
    assert_eq!((stored.relatives, stored.companies), (2, 3));

    // 1 person + 2 relatives + 2 companies.
    assert_eq!(count(pool, "SELECT count(*) FROM core.entities").await, 5);
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM core.entities WHERE entity_type::text = 'company'"
        )
        .await,
        2
    );
    assert_eq!(
        count(pool, "SELECT count(*) FROM core.entities WHERE is_enriched").await,
        1,
        "relatives are not enriched"
    );
    let (name, canonical, lead_meta): (String, String, Option<String>) = sqlx::query_as(
        "SELECT name, canonical_name, metadata->>'c2s_lead_id' FROM core.entities WHERE national_id = '52998224725'",
    )
    .fetch_one(pool)
    .await
    .expect("person");
    assert_eq!(
        (name.as_str(), canonical.as_str()),
        ("HELENA MARQUES DA COSTA", "HELENA MARQUES DA COSTA")
    );
    assert_eq!(
        lead_meta.as_deref(),
        Some("9f3c2a7b5d1e4f60a8b9c0d1e2f3a4b5")
    );
    let id = stored.entity_id;
    assert_eq!(id, person_id(pool, "52998224725").await);

    let (sex, birth): (Option<String>, Option<chrono::NaiveDate>) =
        sqlx::query_as("SELECT sex, birth_date FROM core.entity_profiles WHERE entity_id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .expect("profile");
    assert_eq!(sex.as_deref(), Some("F"));
    assert_eq!(birth, chrono::NaiveDate::from_ymd_opt(1979, 9, 3));

    let (income, score, risk, raw): (Decimal, i32, Decimal, String) = sqlx::query_as(
        "SELECT reported_income, credit_score, risk_score, metadata->>'raw_income' FROM core.entity_financials WHERE entity_id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .expect("financials");
    assert_eq!(income, Decimal::from_str("23618.43").expect("dec"));
    assert_eq!(
        (score, risk, raw.as_str()),
        (941, Decimal::from_str("0.1").expect("dec"), "12430,75")
    );

    let phones: Vec<(String, String, String, bool)> = sqlx::query_as(
        "SELECT phone, phone_e164, phone_type, is_whatsapp FROM core.entity_phones WHERE entity_id = $1 ORDER BY phone",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .expect("phones");
    assert_eq!(phones.len(), 4, "duplicates collapse: {phones:?}");
    assert!(phones.contains(&(
        "11987654321".into(),
        "+5511987654321".into(),
        "mobile".into(),
        true
    )));
    assert!(phones.contains(&(
        "5133224455".into(),
        "+555133224455".into(),
        "landline".into(),
        false
    )));

    let emails: Vec<(String, bool)> = sqlx::query_as(
        "SELECT email, is_verified FROM core.entity_emails WHERE entity_id = $1 ORDER BY email",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .expect("emails");
    assert_eq!(
        emails,
        vec![
            ("helena.costa@exemplo-advocacia.com.br".to_owned(), true),
            ("helena.mcosta@gmail.com".to_owned(), true),
            ("hmc1979@hotmail.com".to_owned(), false),
        ]
    );

    assert_eq!(count(pool, "SELECT count(*) FROM core.addresses").await, 4);
    let (zip, original, state): (Option<String>, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT zip_code, metadata->'original'->>'zip_code', state FROM core.addresses WHERE city = 'GUARUJA'",
    )
    .fetch_one(pool)
    .await
    .expect("guarujá");
    assert_eq!(
        (zip, original.as_deref(), state.as_deref()),
        (None, Some("1144"), Some("SP"))
    );
    let (santos_zip, santos_uf, via): (String, String, String) = sqlx::query_as(
        "SELECT zip_code, state, (SELECT street_type FROM core.addresses WHERE city = 'GUARUJA') FROM core.addresses WHERE city = 'SANTOS'",
    )
    .fetch_one(pool)
    .await
    .expect("santos");
    assert_eq!(
        (santos_zip.as_str(), santos_uf.as_str(), via.as_str()),
        ("11060002", "SP", "VIA")
    );
    let confidences: Vec<Decimal> = sqlx::query_scalar(
        "SELECT ea.confidence_score FROM core.entity_addresses ea JOIN core.addresses a ON a.id = ea.address_id
          WHERE ea.entity_id = $1 ORDER BY ea.confidence_score DESC",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .expect("links");
    let expected: Vec<Decimal> = ["0.90", "0.75", "0.75", "0.75"]
        .iter()
        .map(|s| Decimal::from_str(s).expect("dec"))
        .collect();
    assert_eq!(confidences, expected);
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM core.entity_addresses WHERE verified"
        )
        .await,
        1
    );

    let rels: Vec<String> = sqlx::query_scalar(
        "SELECT relationship_type FROM core.entity_relationships WHERE source_entity_id = $1 ORDER BY 1",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .expect("relationships");
    assert_eq!(
        rels,
        [
            "child",
            "company_legal_representative",
            "company_partner",
            "company_partner",
            "mother"
        ]
    );

    assert_eq!(count(pool, "SELECT count(*) FROM enrich.enrichment_snapshots WHERE payload->'DadosBasicos'->>'cpf' = '52998224725'").await, 1);
    let (kind, score): (String, Decimal) =
        sqlx::query_as("SELECT match_kind, name_score FROM enrich.lead_entities")
            .fetch_one(pool)
            .await
            .expect("link");
    assert_eq!((kind.as_str(), score), ("phone_and_email", Decimal::ONE));
}

#[tokio::test]
async fn storing_the_same_dossier_twice_leaves_the_same_rows() {
    let test = TestDb::migrated().await.expect("db");
    let pool = &test.pool;
    let first = store_dossier(pool, &helena(), &lead(), &options())
        .await
        .expect("first");
    let counts = all_counts(pool).await;
    let again = store_dossier(pool, &helena(), &lead(), &options())
        .await
        .expect("again");
    assert_eq!(first, again);
    assert_eq!(all_counts(pool).await, counts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_stores_of_one_person_or_of_people_sharing_addresses_both_succeed() {
    let test = TestDb::migrated().await.expect("db");
    let pool = &test.pool;
    let (h, r, l, o) = (helena(), housemate(), lead(), options());
    let (a, b) = tokio::join!(
        store_dossier(pool, &h, &l, &o),
        store_dossier(pool, &h, &l, &o)
    );
    assert_eq!(a.expect("first").entity_id, b.expect("second").entity_id);

    let later = StoreOptions {
        fetched_at: o.fetched_at + chrono::Duration::hours(1),
        ..options()
    };
    let no_lead = LeadContext {
        lead_id: None,
        lead_name: None,
        match_kind: MatchKind::Manual,
        ..LeadContext::default()
    };
    for _ in 0..5 {
        let (a, b) = tokio::join!(
            store_dossier(pool, &h, &l, &later),
            store_dossier(pool, &r, &no_lead, &later)
        );
        a.expect("helena");
        b.expect("housemate");
    }
    // Shared addresses are stored once; each person links to all four.
    assert_eq!(count(pool, "SELECT count(*) FROM core.addresses").await, 4);
    assert_eq!(
        count(pool, "SELECT count(*) FROM core.entity_addresses").await,
        8
    );
    assert_eq!(
        count(pool, "SELECT count(*) FROM core.entities WHERE is_enriched").await,
        2
    );
    // Two fetch times for Helena → two snapshots (history kept); one for the housemate.
    assert_eq!(
        count(pool, "SELECT count(*) FROM enrich.enrichment_snapshots").await,
        3
    );
}

#[tokio::test]
async fn a_dossier_with_an_invalid_cpf_writes_nothing() {
    let test = TestDb::migrated().await.expect("db");
    let mut raw = fixture_json();
    raw["DadosBasicos"]["cpf"] = "52998224726".into();
    let err = parse_dossier(raw).expect_err("invalid CPF");
    assert!(err.to_string().contains("check digits"), "{err}");
    assert_eq!(all_counts(&test.pool).await.iter().sum::<i64>(), 0);
}

#[tokio::test]
async fn a_hardened_legacy_database_accepts_dossiers_and_passes_the_seed_reports_queries() {
    let test = TestDb::empty().await.expect("db");
    let pool = &test.pool;
    legacy::create(pool, 50).await.expect("legacy");
    migrate::up(pool, &MigrateOptions::default())
        .await
        .expect("harden");
    store_dossier(pool, &helena(), &lead(), &options())
        .await
        .expect("store on legacy enum-typed entities");
    store_dossier(pool, &housemate(), &lead(), &options())
        .await
        .expect("second person");

    // The seed report's "Database Validation Queries", verbatim.
    let (total_enriched, with_lead_id, last): (i64, i64, Option<chrono::DateTime<Utc>>) =
        sqlx::query_as(
            "SELECT 
  COUNT(*) as total_enriched,
  COUNT(*) FILTER (WHERE metadata->>'c2s_lead_id' IS NOT NULL) as with_lead_id,
  MAX(enriched_at) as last_enrichment
FROM core.entities
WHERE is_enriched = true;",
        )
        .fetch_one(pool)
        .await
        .expect("query 1");
    // Fixture: 25 of 50 bulk people enriched (every 4th with a lead id: 12), plus our 2 with the lead.
    assert_eq!((total_enriched, with_lead_id), (27, 14));
    assert_eq!(last, Some(options().fetched_at));
    let duplicate_phones: Vec<(uuid::Uuid, String, i64)> = sqlx::query_as(
        "SELECT 
  entity_id, 
  phone, 
  COUNT(*) as cnt
FROM core.entity_phones
WHERE phone IS NOT NULL
GROUP BY entity_id, phone
HAVING COUNT(*) > 1;",
    )
    .fetch_all(pool)
    .await
    .expect("query 2");
    assert!(duplicate_phones.is_empty());
    let (total, with_score, avg, min, max): (
        i64,
        i64,
        Option<Decimal>,
        Option<Decimal>,
        Option<Decimal>,
    ) = sqlx::query_as(
        "SELECT 
  COUNT(*) as total_addresses,
  COUNT(*) FILTER (WHERE confidence_score IS NOT NULL) as with_score,
  AVG(confidence_score) as avg_score,
  MIN(confidence_score) as min_score,
  MAX(confidence_score) as max_score
FROM core.entity_addresses;",
    )
    .fetch_one(pool)
    .await
    .expect("query 3");
    // 50 bulk links (i % 3: 0 → 0.90, 1 → 0.75, 2 → none: 16 + 17 scored), 1 unscored
    // legacy link, and 8 scored links from the two dossiers.
    assert_eq!((total, with_score), (50 + 1 + 8, 16 + 17 + 8));
    assert_eq!(
        (min, max),
        (
            Some(Decimal::from_str("0.75").expect("d")),
            Some(Decimal::from_str("0.90").expect("d"))
        )
    );
    assert!(avg.is_some());
    let invalid_cep: i64 = count(
        pool,
        "SELECT COUNT(*) as invalid_cep
FROM core.addresses
WHERE zip_code IS NOT NULL 
  AND zip_code !~ '^[0-9]{8}$';",
    )
    .await;
    let invalid_uf: i64 = count(
        pool,
        "SELECT COUNT(*) as invalid_uf
FROM core.addresses
WHERE state IS NOT NULL 
  AND state !~ '^[A-Z]{2}$';",
    )
    .await;
    assert_eq!((invalid_cep, invalid_uf), (0, 0));
}

/// The fixture dossier stored twice into a hardened database of whatever
/// legacy shape: it lands whole (legacy enums, varchar, citext and dropped
/// columns included), and the second time changes no count.
pub(crate) async fn a_dossier_lands_in(pool: &PgPool, shape: &str) {
    let person = "(SELECT entity_id FROM core.entities WHERE national_id = '52998224725')";
    let mut seen = Vec::new();
    for round in 0..2 {
        store_dossier(pool, &helena(), &lead(), &options())
            .await
            .unwrap_or_else(|e| panic!("{shape}: storing a dossier (round {round}): {e}"));
        let mut counts = Vec::new();
        for (table, key, want) in [
            ("core.entity_phones", "entity_id", 4),
            ("core.entity_emails", "entity_id", 3),
            ("core.entity_addresses", "entity_id", 4),
            ("core.entity_relationships", "source_entity_id", 5),
            ("core.entity_profiles", "entity_id", 1),
            ("core.entity_financials", "entity_id", 1),
            ("enrich.enrichment_snapshots", "entity_id", 1),
            ("enrich.lead_entities", "entity_id", 1),
        ] {
            let n = count(
                pool,
                &format!("SELECT count(*) FROM {table} WHERE {key} = {person}"),
            )
            .await;
            assert_eq!(n, want, "{shape}: {table} after round {round}");
            counts.push(n);
        }
        counts.push(all_counts(pool).await.iter().sum());
        seen.push(counts);
    }
    assert_eq!(
        seen[0], seen[1],
        "{shape}: storing again changed the counts"
    );
}
