//! What the agent is told beside the dossier (issue 17), through the
//! pipeline with the sandbox and a real PostgreSQL: the lead tier stored
//! with its reasons and shown by the API, the customer database's
//! properties (at the person's addresses and through an ownership table) at
//! no paid call, and an earlier open lead of another seller.

use std::sync::Arc;

use c2s_enrich::domain::lead::LeadId;
use c2s_enrich::http::AppState;
use c2s_lab::testing::sandbox::setup;
use c2s_sim::{LeadKind, SimHandle, SimLead};
use serde_json::Value;

fn owner(sim: &SimHandle) -> SimLead {
    sim.state
        .leads()
        .into_iter()
        .find(|l| l.kind == LeadKind::Owner)
        .expect("owner lead")
}

/// Runs one lead to its end.
async fn run(pipeline: &c2s_enrich::pipeline::Pipeline, lead_id: &str) {
    pipeline
        .process(&LeadId::parse(lead_id).expect("id"))
        .await
        .unwrap_or_else(|e| panic!("{lead_id}: {e}"));
}

/// Another C2S lead of the same customer, with `seller`.
fn second_lead(sim: &SimHandle, of: &SimLead, id: &str, seller: &str) -> LeadId {
    let mut lead = of.clone();
    lead.id = id.to_owned();
    lead.internal_id += 90_000;
    lead.seller_id = Some(seller.to_owned());
    // Created after the first one (now).
    lead.created_at = c2s_sim::next_stamp();
    lead.updated_at = lead.created_at.clone();
    sim.state.put_lead(lead);
    LeadId::parse(id).expect("id")
}

fn paid_calls(sim: &SimHandle) -> usize {
    let j = sim.state.journal();
    ["phone", "email", "cpf"]
        .iter()
        .map(|op| j.count("diretrix", op) + j.count("work_api", op))
        .sum()
}

/// The one note posted on `lead`.
fn note_of(sim: &SimHandle, lead: &str) -> String {
    let notes = sim
        .state
        .journal()
        .notes_for(lead)
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(notes.len(), 1, "one note on {lead}");
    notes[0].body.clone()
}

fn line_after<'a>(note: &'a str, prefix: &str) -> Option<&'a str> {
    note.lines().skip_while(|l| !l.starts_with(prefix)).nth(1)
}

// Longer than 70 lines on purpose: one story, lead after lead, each step's
// note read against the database it was written from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier_properties_and_earlier_leads_reach_the_note_and_the_api_at_no_paid_call() {
    let (sim, test, pipeline) = setup().await;
    // The users' database keeps owners in a table of its own.
    sqlx::query("CREATE TABLE core.property_owners (id serial PRIMARY KEY, entity_id uuid NOT NULL, property_id uuid NOT NULL)")
        .execute(&test.pool)
        .await
        .expect("ownership table");
    let first = owner(&sim);
    let first_id = LeadId::parse(&first.id).expect("id");
    pipeline.process(&first_id).await.expect("first lead");
    let note = &note_of(&sim, &first.id);
    let profile = line_after(note, "🔐 Identidade").expect("a line after the identity line");
    assert!(profile.starts_with("🏷️ Perfil "), "{note}");
    assert!(
        !note.contains("🏘️") && !note.contains("Já é lead"),
        "{note}"
    );
    let (tier, rules): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT tier, tier_rules FROM enrich.leads WHERE lead_id = $1")
            .bind(&first.id)
            .fetch_one(&test.pool)
            .await
            .expect("tier");
    let tier = tier.expect("a tier is stored");
    assert!(
        profile.starts_with(&format!("🏷️ Perfil {tier} — ")),
        "{profile}"
    );
    assert_eq!(
        rules.as_deref(),
        Some(pipeline.settings.profile.rules.version.as_str())
    );

    // Properties: two at the person's current address, one through the
    // ownership table; one at nobody's address and one at a past address of
    // theirs (neither is theirs to count).
    let cpf = sim.state.population.people[first.person.expect("person")]
        .cpf
        .clone();
    sqlx::query(
        "WITH person AS (SELECT entity_id FROM core.entities WHERE national_id = $1),
              home AS (SELECT address_id FROM core.entity_addresses
                        WHERE entity_id = (SELECT entity_id FROM person) AND is_current LIMIT 1),
              past AS (SELECT address_id FROM core.entity_addresses
                        WHERE entity_id = (SELECT entity_id FROM person) AND NOT is_current LIMIT 1),
              added AS (INSERT INTO core.properties (property_type, address_id, area_m2, price) VALUES
                         ('COBERTURA', (SELECT address_id FROM home), 412.5, 9800000),
                         ('CASA', (SELECT address_id FROM home), 250, NULL),
                         ('TERRENO', NULL, 1000, 750000),
                         ('LOJA', NULL, 80, 99),
                         ('APARTAMENTO', (SELECT address_id FROM past), 95, 20000000)
                        RETURNING property_id, property_type)
         INSERT INTO core.property_owners (entity_id, property_id)
         SELECT (SELECT entity_id FROM person), property_id FROM added WHERE property_type = 'TERRENO'",
    )
    .bind(cpf.digits())
    .execute(&test.pool)
    .await
    .expect("properties");

    let paid = paid_calls(&sim);
    let second = second_lead(&sim, &first, "ab0000000000000000000000000000cd", "s-other");
    pipeline.process(&second).await.expect("second lead");
    assert_eq!(
        paid_calls(&sim),
        paid,
        "properties and the earlier lead cost nothing"
    );
    let note = &note_of(&sim, second.as_str());
    let since = chrono::DateTime::parse_from_rfc3339(&first.created_at)
        .expect("created")
        .format("%d/%m/%Y")
        .to_string();
    let seller = first.seller_id.clone().expect("seller");
    let lines: Vec<&str> = note.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("🏷️ Perfil "))
        .expect("profile");
    assert!(lines[at - 1].starts_with("🔐 Identidade"), "{note}");
    assert_eq!(
        lines[at + 1],
        format!("⚠️ Já é lead de Corretor {seller} desde {since}")
    );
    assert!(lines[at].contains("3 imóveis no cadastro"), "{note}");
    let block: Vec<&str> = note
        .split("\n\n")
        .find(|b| b.starts_with("🏘️"))
        .expect("properties section")
        .lines()
        .collect();
    assert_eq!(
        block,
        [
            "🏘️ IMÓVEIS (3)",
            "1. Cobertura - 412,5 m² - R$ 9.800.000,00",
            "2. Terreno - 1.000 m² - R$ 750.000,00",
            "3. Casa - 250 m²",
        ],
        "{note}"
    );
    assert!(
        note.find("🏠 ENDEREÇOS") < note.find("🏘️") && note.find("🏘️") < note.find("🏢"),
        "after the addresses, before the companies: {note}"
    );

    // The API explains the tier.
    let (_, key) = c2s_enrich::store::api_keys::create(&test.pool, "ops", &["enrich".to_owned()])
        .await
        .expect("key");
    let state = AppState {
        pipeline: Some(Arc::new(pipeline)),
        ..AppState::new(test.pool.clone())
    };
    let served = c2s_lab::testing::serve_app(state).await.expect("serve");
    let view: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/leads/{}", served.base, second.as_str()))
        .bearer_auth(&key)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let t = &view["tier"];
    assert!(
        t["tier"].is_string() && t["score"].as_i64().unwrap_or(0) > 0,
        "{view}"
    );
    let reasons = t["reasons"].as_array().expect("reasons");
    let owns = reasons
        .iter()
        .find(|r| r["rule"] == "owns_properties")
        .expect("the properties rule held");
    assert_eq!(owns["text"], "3 imóveis no cadastro");
    let total: i64 = reasons.iter().filter_map(|r| r["points"].as_i64()).sum();
    assert_eq!(
        t["score"].as_i64(),
        Some(total),
        "the score is its reasons' points"
    );
    assert!(profile_of(note).contains(owns["text"].as_str().unwrap_or("?")));
}

fn profile_of(note: &str) -> &str {
    note.lines()
        .find(|l| l.starts_with("🏷️ Perfil "))
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_earlier_lead_or_one_of_the_same_seller_is_not_mentioned() {
    let (sim, test, pipeline) = setup().await;
    let first = owner(&sim);
    run(&pipeline, &first.id).await;
    let seller = first.seller_id.clone().expect("seller");
    // Same seller: nothing to say.
    let same = second_lead(&sim, &first, "ab0000000000000000000000000000ce", &seller);
    pipeline.process(&same).await.expect("same seller");
    let note = &note_of(&sim, same.as_str());
    assert!(!note.contains("Já é lead"), "{note}");
    // The earlier leads closed in C2S: nothing to say either.
    sqlx::query("UPDATE enrich.leads SET c2s_status = 'won'")
        .execute(&test.pool)
        .await
        .expect("close");
    let other = second_lead(&sim, &first, "ab0000000000000000000000000000cf", "s-other");
    pipeline.process(&other).await.expect("other seller");
    let note = &note_of(&sim, other.as_str());
    assert!(!note.contains("Já é lead"), "{note}");
    // Reopened: now it is said.
    sqlx::query("UPDATE enrich.leads SET c2s_status = 'new' WHERE lead_id = $1")
        .bind(&first.id)
        .execute(&test.pool)
        .await
        .expect("reopen");
    let fourth = second_lead(&sim, &first, "ab0000000000000000000000000000d0", "s-other");
    pipeline.process(&fourth).await.expect("fourth");
    let note = &note_of(&sim, fourth.as_str());
    assert!(
        note.contains(&format!("⚠️ Já é lead de Corretor {seller} desde ")),
        "{note}"
    );
}

/// An owner lead whose person has companies, and those CNPJs (distinct, in
/// the dossier's order).
fn owner_with_companies(sim: &SimHandle) -> (SimLead, Vec<brazil::Cnpj>) {
    for lead in sim.state.leads() {
        let Some(p) = lead.person.filter(|_| lead.kind == LeadKind::Owner) else {
            continue;
        };
        let mut cnpjs: Vec<brazil::Cnpj> = Vec::new();
        for (c, _, _) in &sim.state.population.people[p].companies {
            if !cnpjs.contains(c) {
                cnpjs.push(c.clone());
            }
        }
        if !cnpjs.is_empty() {
            return (lead, cnpjs);
        }
    }
    panic!("no owner with companies in the sandbox");
}

/// The note's line for a company, from what the public source answers for it.
async fn expected_line(sim: &SimHandle, cnpj: &brazil::Cnpj) -> String {
    let r = reqwest::get(format!(
        "{}/brasilapi/cnpj/v1/{}",
        sim.base_url(),
        cnpj.digits()
    ))
    .await
    .expect("source");
    if r.status() == 404 {
        return format!("CNPJ {cnpj} - SOCIO");
    }
    let v: Value = r.json().await.expect("json");
    let name = v["nome_fantasia"]
        .as_str()
        .filter(|n| !n.is_empty())
        .or(v["razao_social"].as_str())
        .expect("a name");
    format!(
        "{name} ({}) - SOCIO - CNPJ {cnpj}",
        v["descricao_situacao_cadastral"].as_str().unwrap_or("?")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn companies_are_named_from_the_public_source_once_and_at_no_cost() {
    let (sim, test, pipeline) = setup().await;
    let (first, cnpjs) = owner_with_companies(&sim);
    run(&pipeline, &first.id).await;
    let note = note_of(&sim, &first.id);
    let asked = sim.state.journal().count("brasilapi", "cnpj");
    assert_eq!(asked, cnpjs.len().min(3), "one question per company listed");
    for (i, cnpj) in cnpjs.iter().take(3).enumerate() {
        let line = format!("{}. {}", i + 1, expected_line(&sim, cnpj).await);
        assert!(note.lines().any(|l| l == line), "{line:?} not in\n{note}");
    }
    let credits: Vec<i32> = sqlx::query_scalar(
        "SELECT credits FROM enrich.provider_calls WHERE provider = 'brasilapi'",
    )
    .fetch_all(&test.pool)
    .await
    .expect("ledger");
    assert_eq!(credits.len(), asked, "every answer is in the ledger");
    assert!(credits.iter().all(|c| *c == 0), "free: {credits:?}");
    // Another lead of the same person: the names come from the ledger.
    let before = sim.state.journal().count("brasilapi", "cnpj");
    let second = second_lead(&sim, &first, "ab0000000000000000000000000000e1", "s-other");
    pipeline.process(&second).await.expect("second");
    assert_eq!(
        sim.state.journal().count("brasilapi", "cnpj"),
        before,
        "cached"
    );
    let again = note_of(&sim, second.as_str());
    let line = format!("1. {}", expected_line(&sim, &cnpjs[0]).await);
    assert!(again.lines().any(|l| l == line), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_public_source_the_companies_keep_their_cnpj_and_the_note_goes_out() {
    for (extra, fault) in [(Some(("CNPJ_LOOKUP", "off")), false), (None, true)] {
        let extras: Vec<(&str, &str)> = extra.into_iter().collect();
        let (sim, _test, pipeline) = c2s_lab::testing::sandbox::setup_with(&extras).await;
        if fault {
            sim.state.set_faults(
                "brasilapi",
                c2s_sim::Faults {
                    error_rate: 1.0,
                    ..Default::default()
                },
            );
        }
        let (lead, cnpjs) = owner_with_companies(&sim);
        pipeline
            .process(&LeadId::parse(&lead.id).expect("id"))
            .await
            .expect("the note goes out");
        let note = note_of(&sim, &lead.id);
        assert!(
            note.lines()
                .any(|l| l == format!("1. CNPJ {} - SOCIO", cnpjs[0])),
            "fault {fault}: {note}"
        );
        let asked = sim.state.journal().count("brasilapi", "cnpj");
        assert_eq!(asked > 0, fault, "off asks nothing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dossier_kept_longer_than_the_note_age_says_its_date() {
    let (sim, test, pipeline) = c2s_lab::testing::sandbox::setup_with(&[
        ("CACHE_DOSSIER_DAYS", "365"),
        ("NOTE_DATA_AGE_DAYS", "30"),
    ])
    .await;
    let first = owner(&sim);
    run(&pipeline, &first.id).await;
    assert!(
        !note_of(&sim, &first.id).contains("(dados de"),
        "fresh: no date"
    );
    // Sixty days later (the ledger's answer and the stored snapshot aged).
    for sql in [
        "UPDATE enrich.provider_calls SET created_at = created_at - interval '60 days' WHERE provider = 'work_api' AND module = 'cpf'",
        "UPDATE enrich.enrichment_snapshots SET fetched_at = fetched_at - interval '60 days'",
    ] {
        sqlx::query(sql).execute(&test.pool).await.expect(sql);
    }
    let paid = paid_calls(&sim);
    let second = second_lead(&sim, &first, "ab0000000000000000000000000000f1", "s-other");
    pipeline.process(&second).await.expect("second");
    assert_eq!(
        paid_calls(&sim),
        paid,
        "the kept dossier is used, not bought again"
    );
    let note = note_of(&sim, second.as_str());
    let when = (chrono::Utc::now() - chrono::Duration::days(60))
        .with_timezone(&chrono::FixedOffset::west_opt(3 * 3600).expect("offset"))
        .format("%m/%Y")
        .to_string();
    assert!(
        note.contains(&format!("✅ DADOS PESSOAIS (dados de {when})")),
        "{note}"
    );
    assert!(
        note.contains(&format!("📱 TELEFONES (dados de {when})")),
        "{note}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_closed_in_c2s_after_its_run_is_no_longer_mentioned() {
    let (sim, test, pipeline) = setup().await;
    let first = owner(&sim);
    run(&pipeline, &first.id).await;
    // C2S tells us the first lead was closed.
    let event = c2s_enrich::providers::c2s::parse_webhook(&serde_json::json!({
        "hook_action": "on_close_lead",
        "data": {"id": first.id, "type": "lead", "attributes": {"updated_at": "2026-12-01T10:00:00-03:00"}}
    }))
    .expect("webhook");
    c2s_enrich::store::events::record_delivery(&test.pool, &event)
        .await
        .expect("recorded");
    let status: Option<String> =
        sqlx::query_scalar("SELECT c2s_status FROM enrich.leads WHERE lead_id = $1")
            .bind(&first.id)
            .fetch_one(&test.pool)
            .await
            .expect("status");
    assert_eq!(status.as_deref(), Some("closed"));
    let second = second_lead(&sim, &first, "ab0000000000000000000000000000f2", "s-other");
    pipeline.process(&second).await.expect("second");
    assert!(!note_of(&sim, second.as_str()).contains("Já é lead"));
}
