//! The data subject's access export, correction, the blocked person's
//! configurable note, the erasure's list of C2S notes and the record of
//! processing (issue 18).

use std::collections::HashSet;

use brazil::PhoneBr;
use c2s_enrich::domain::lead::LeadId;
use c2s_enrich::ops::subject_export::{self, html, Export, ExportSettings};
use c2s_enrich::pipeline::Pipeline;
use c2s_enrich::store::subjects::corrections::{self, CorrectError, Field};
use c2s_enrich::store::subjects::{self, Identifier};
use c2s_lab::testing::sandbox::{setup, setup_with};
use c2s_lab::testing::{occurrences, TestDb};
use c2s_sim::{LeadKind, Person, SimHandle, SimLead};

/// The sandbox's first owner lead, and a second lead of the same person
/// (same contacts, another C2S lead), both run.
async fn two_leads(sim: &SimHandle, pipeline: &Pipeline) -> (SimLead, SimLead, Person) {
    let lead = sim.state.first_lead(LeadKind::Owner).expect("owner");
    let person = sim.state.population.people[lead.person.expect("person")].clone();
    let mut second = lead.clone();
    second.id = "ce0000000000000000000000000000ef".into();
    second.internal_id += 80_000;
    sim.state.put_lead(second.clone());
    for l in [&lead, &second] {
        let outcome = pipeline
            .process(&LeadId::parse(&l.id).expect("id"))
            .await
            .expect("processed");
        assert_eq!(outcome.outcome, "enriched");
    }
    (lead, second, person)
}

async fn export_of(test: &TestDb, pipeline: &Pipeline, id: Identifier) -> Export {
    subject_export::export(
        &test.pool,
        &pipeline.ledger,
        &ExportSettings::default(),
        &id,
        "dpo",
    )
    .await
    .expect("export")
}

/// The person's values as the store keeps them (normalised forms).
fn values_of(person: &Person) -> Vec<String> {
    let mut v = vec![person.cpf.digits().to_owned(), person.name.clone()];
    let b: Vec<&str> = person.birth.split('/').collect();
    v.push(format!("{}-{}-{}", b[2], b[1], b[0]));
    for p in &person.phones {
        v.push(p.phone.e164());
        v.push(p.phone.national().to_owned());
    }
    v.extend(person.emails.iter().map(|e| e.as_str().to_owned()));
    for a in &person.addresses {
        v.push(a.street.clone());
        v.push(a.neighborhood.clone());
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_lists_every_value_held_with_its_origin_date_purpose_and_sharing() {
    let (sim, test, pipeline) = setup().await;
    let (first, second, person) = two_leads(&sim, &pipeline).await;
    let e = export_of(&test, &pipeline, Identifier::Cpf(person.cpf.clone())).await;
    assert!(e.found);
    // Every value of theirs the full-table scan finds is in the export.
    let mut held = 0;
    for value in values_of(&person) {
        if occurrences(&test.pool, &value).await.is_empty() {
            continue;
        }
        held += 1;
        assert!(
            e.items.iter().any(|i| i.value.to_string().contains(&value)),
            "a held value is missing from the export's items"
        );
    }
    assert!(held >= 6, "the scan found the person's values ({held})");
    // Each item says where it came from, when, why, and until when.
    for i in &e.items {
        assert!(!i.origin.is_empty(), "{}", i.field);
        assert!(i.obtained_at.is_some(), "{} has no date", i.field);
        assert!(!i.why.legal_basis.is_empty() && !i.why.purpose_description.is_empty());
        assert!(!i.kept_until.is_empty());
    }
    // Every table the scan finds their CPF or contacts in is accounted for.
    let mut covered: HashSet<&str> = e.items.iter().map(|i| i.stored_in).collect();
    covered.extend(e.records.iter().map(|r| r.stored_in));
    covered.extend([
        "enrich.leads",
        "enrich.lead_entities",
        "enrich.provider_calls",
    ]);
    let phone = PhoneBr::parse(first.phone.as_deref().expect("phone")).expect("phone");
    let email = first.email.clone().expect("email").to_lowercase();
    for needle in [person.cpf.digits(), &phone.e164(), email.as_str()] {
        for found in occurrences(&test.pool, needle).await {
            let table = found.split(' ').next().unwrap_or_default();
            assert!(
                covered.contains(table),
                "{table} holds them and the export does not say so"
            );
        }
    }
    // Both leads, with the notes as posted (other people's names as
    // initials).
    assert_eq!(e.leads.len(), 2);
    let others: Vec<String> = person
        .relatives
        .iter()
        .map(|(idx, _)| sim.state.population.people[*idx].name.clone())
        .chain([person.mother.clone()])
        .collect();
    for l in [&first, &second] {
        let mut posted = sim.state.journal().notes_for(&l.id)[0].body.clone();
        let mut names = others.clone();
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        for n in &names {
            posted = posted.replace(n.as_str(), &brazil::initials(n));
        }
        let entry = e.leads.iter().find(|x| x.lead_id == l.id).expect("lead");
        assert_eq!(entry.note.as_ref().expect("note").text, posted);
        assert!(entry.linked_by.is_some());
    }
    // Shared: a note on each lead in C2S; the providers asked with the CPF
    // and the phone.
    let c2s_notes = e
        .shared_with
        .iter()
        .filter(|s| s.recipient.contains("C2S") && s.what.starts_with("Nota"))
        .count();
    assert_eq!(c2s_notes, 2);
    assert!(e
        .shared_with
        .iter()
        .any(|s| s.recipient == "Work API" && s.what.contains("CPF")));
    assert!(e.shared_with.iter().any(|s| s.what.contains("telefone")));
    // Relatives only as masked links: no relative's CPF or full name
    // anywhere in the export, notes included.
    let whole = serde_json::to_string(&e).expect("json");
    assert!(!e.links.is_empty());
    for (idx, _) in &person.relatives {
        let r = &sim.state.population.people[*idx];
        assert!(!whole.contains(r.cpf.digits()), "a relative's CPF in clear");
        assert!(!whole.contains(&r.name), "a relative's name in full");
    }
    assert!(!whole.contains(&person.mother), "the mother's name in full");
    // The register has this access, answered.
    let mine = e
        .requests
        .iter()
        .find(|r| r.id == e.request_id)
        .expect("registered");
    assert_eq!(
        (mine.kind.as_str(), mine.status.as_str()),
        ("access", "done")
    );
    // The readable page: Portuguese, every item, escaped.
    let page = html::render(&e);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("Seus dados pessoais na MBRAS"));
    assert!(page.contains(&person.name));
    assert!(page.contains("Com quem compartilhamos seus dados"));
    assert!(page.matches("<tr>").count() >= e.items.len());
    // By the lead's phone, the same person.
    let by_phone = export_of(&test, &pipeline, Identifier::Phone(phone.clone())).await;
    assert_eq!(by_phone.entity_id, e.entity_id);
    assert_eq!(by_phone.identifier_kind, "phone");
    // A number their dossier merely lists (no lead came with it) hands over
    // nobody's record.
    let mut exports = 2;
    if let Some(other) = person
        .phones
        .iter()
        .find(|p| p.phone.e164() != phone.e164())
    {
        exports += 1;
        let listed = export_of(&test, &pipeline, Identifier::Phone(other.phone.clone())).await;
        assert_eq!(listed.entity_id, None);
        assert!(listed.items.is_empty() && listed.links.is_empty());
        assert!(!serde_json::to_string(&listed)
            .expect("json")
            .contains(person.cpf.digits()));
    }
    // The register: every export answered.
    let open: i64 =
        sqlx::query_scalar("SELECT count(*) FROM enrich.subject_requests WHERE status = 'open'")
            .fetch_one(&test.pool)
            .await
            .expect("open");
    assert_eq!(
        open, exports,
        "not delivered yet: export_of does not deliver"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_endpoint_is_for_admins_audited_and_speaks_json_and_html() {
    let (sim, test, pipeline) = setup().await;
    let (_, _, person) = two_leads(&sim, &pipeline).await;
    let pool = &test.pool;
    let (_, admin) = c2s_enrich::store::api_keys::create(pool, "dpo", &["admin".to_owned()])
        .await
        .expect("key");
    let (_, reader) =
        c2s_enrich::store::api_keys::create(pool, "analyst", &["read:pii".to_owned()])
            .await
            .expect("key");
    let served = c2s_lab::testing::serve_app(c2s_enrich::http::AppState::new(pool.clone()))
        .await
        .expect("serve");
    let url = format!("{}/api/v1/subjects/export", served.base);
    let http = reqwest::Client::new();
    let post =
        |key: &str, body: serde_json::Value| http.post(&url).bearer_auth(key).json(&body).send();
    let cpf = person.cpf.digits();
    assert_eq!(
        post(&reader, serde_json::json!({"cpf": cpf}))
            .await
            .expect("post")
            .status(),
        403
    );
    let r = post(&admin, serde_json::json!({"cpf": cpf}))
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["format"], "c2s-enrich/subject-export/1");
    assert_eq!(body["found"], true);
    assert!(body.get("entity_id").is_none(), "internal ids stay out");
    let r = post(&admin, serde_json::json!({"cpf": cpf, "format": "html"}))
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .expect("type")
        .starts_with("text/html"));
    assert!(r.text().await.expect("text").contains(&person.name));
    for (body, status) in [
        (serde_json::json!({"cpf": cpf, "format": "pdf"}), 400),
        (serde_json::json!({"cpf": cpf, "email": "a@b.com"}), 400),
        (serde_json::json!({"cpf": "529.982.247-24"}), 404),
        (serde_json::json!({"cpf": 52998224725u64}), 400),
    ] {
        assert_eq!(post(&admin, body).await.expect("post").status(), status);
    }
    let nobody = post(
        &admin,
        serde_json::json!({"email": "ninguem.aqui@gmail.com"}),
    )
    .await
    .expect("post");
    assert_eq!(nobody.status(), 200);
    assert_eq!(
        nobody.json::<serde_json::Value>().await.expect("json")["found"],
        false
    );
    // A phone confirmed for two people is refused, and registered so.
    sqlx::query(
        "INSERT INTO enrich.lead_entities (lead_id, entity_id, match_kind, confidence, contact_phone)
         SELECT lpad(to_hex(row_number() OVER ()), 32, 'a'), entity_id, 'phone', 'confirmed', '+5511900000001'
           FROM (SELECT entity_id FROM core.entities WHERE entity_type = 'person' LIMIT 2) e",
    )
    .execute(pool)
    .await
    .expect("links");
    let r = post(&admin, serde_json::json!({"phone": "(11) 90000-0001"}))
        .await
        .expect("post");
    assert_eq!(r.status(), 409);
    let refused: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM enrich.subject_requests WHERE kind = 'access' AND status = 'refused' AND identifier_kind = 'phone'",
    )
    .fetch_one(pool)
    .await
    .expect("refused");
    assert_eq!(refused, 1);
    // Audited: who read whose record through the export.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM enrich.pii_access_audit WHERE endpoint = 'POST /api/v1/subjects/export' AND entity_id IS NOT NULL AND key_name = 'dpo'",
    )
    .fetch_one(pool)
    .await
    .expect("audit");
    assert_eq!(audited, 2);
    let registered: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM enrich.subject_requests WHERE kind = 'access' AND acted_by = 'dpo' AND status = 'done'",
    )
    .fetch_one(pool)
    .await
    .expect("register");
    assert_eq!(registered, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrected_field_survives_re_enrichment_and_the_note_shows_it() {
    let (sim, test, pipeline) = setup().await;
    let lead = sim.state.first_lead(LeadKind::Owner).expect("owner");
    let person = sim.state.population.people[lead.person.expect("person")].clone();
    pipeline
        .process(&LeadId::parse(&lead.id).expect("id"))
        .await
        .expect("processed");
    let pool = &test.pool;
    let ledger = &pipeline.ledger;
    let name = Field::Name
        .normalise("Maria Corrigida da Silva")
        .expect("name");
    corrections::correct(
        pool,
        ledger,
        &person.cpf,
        (Field::Name, &name),
        "RG apresentado",
        "dpo",
    )
    .await
    .expect("correct");
    let job = Field::Occupation.normalise("Arquiteta").expect("job");
    corrections::correct(
        pool,
        ledger,
        &person.cpf,
        (Field::Occupation, &job),
        "declaração do titular",
        "dpo",
    )
    .await
    .expect("correct");
    let nobody = brazil::Cpf::parse("52998224725").expect("cpf");
    assert!(matches!(
        corrections::correct(pool, ledger, &nobody, (Field::Name, "X"), "x", "dpo").await,
        Err(CorrectError::Nobody)
    ));
    let before: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT updated_at FROM core.entities WHERE national_id = $1")
            .bind(person.cpf.digits())
            .fetch_one(pool)
            .await
            .expect("at");
    // A later enrichment of the same person (another lead).
    let mut next = lead.clone();
    next.id = "cf0000000000000000000000000000aa".into();
    next.internal_id += 90_000;
    sim.state.put_lead(next.clone());
    pipeline
        .process(&LeadId::parse(&next.id).expect("id"))
        .await
        .expect("processed");
    let (stored, updated, occupation): (String, chrono::DateTime<chrono::Utc>, Option<String>) = sqlx::query_as(
        "SELECT e.name, e.updated_at, p.occupation FROM core.entities e JOIN core.entity_profiles p USING (entity_id)
          WHERE e.national_id = $1",
    )
    .bind(person.cpf.digits())
    .fetch_one(pool)
    .await
    .expect("row");
    assert!(updated > before, "the person was stored again");
    assert_eq!(stored, "MARIA CORRIGIDA DA SILVA");
    assert_eq!(occupation.as_deref(), Some("Arquiteta"));
    let note = sim.state.journal().notes_for(&next.id)[0].body.clone();
    assert!(note.contains("MARIA CORRIGIDA DA SILVA"), "{note}");
    assert!(
        !note.contains(&person.name),
        "the provider's old name is not shown"
    );
    // The export says where the corrected values came from.
    let e = export_of(&test, &pipeline, Identifier::Cpf(person.cpf.clone())).await;
    let item = e.items.iter().find(|i| i.field == "name").expect("name");
    assert_eq!(item.value, "MARIA CORRIGIDA DA SILVA");
    assert!(item.origin.contains("RG apresentado"), "{}", item.origin);
    let kinds: Vec<String> = subjects::requests(pool, false)
        .await
        .expect("register")
        .into_iter()
        .map(|r| r.kind)
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "correction").count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_person_s_lead_gets_no_note_when_so_configured() {
    let (sim, test, pipeline) = setup_with(&[("BLOCKED_LEAD_NOTE", "none")]).await;
    let lead = sim.state.first_lead(LeadKind::Owner).expect("owner");
    let email = brazil::Email::parse(lead.email.as_deref().expect("email")).expect("email");
    subjects::block(
        &test.pool,
        &pipeline.ledger,
        &Identifier::Email(email),
        "dpo",
    )
    .await
    .expect("block");
    let outcome = pipeline
        .process(&LeadId::parse(&lead.id).expect("id"))
        .await
        .expect("processed");
    assert!(!outcome.note_sent);
    assert!(
        sim.state.journal().notes_for(&lead.id).is_empty(),
        "no note"
    );
    assert_eq!(
        sim.state
            .journal()
            .calls
            .iter()
            .filter(|c| c.paid())
            .count(),
        0
    );
    let state: String = sqlx::query_scalar("SELECT state FROM enrich.leads WHERE lead_id = $1")
        .bind(&lead.id)
        .fetch_one(&test.pool)
        .await
        .expect("lead");
    assert_eq!(state, "completed");
    // A wrong setting is refused, naming it.
    let e = c2s_enrich::config::Config::load_with(None, &|k| {
        (k == "BLOCKED_LEAD_NOTE").then(|| "maybe".to_owned())
    })
    .expect_err("refused");
    assert!(e.to_string().contains("BLOCKED_LEAD_NOTE"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_lists_and_keeps_the_c2s_notes_to_remove_by_hand() {
    let (sim, test, pipeline) = setup().await;
    let (first, second, person) = two_leads(&sim, &pipeline).await;
    let erased =
        c2s_enrich::store::erasure::erase(&test.pool, &pipeline.ledger, &person.cpf, "dpo", None)
            .await
            .expect("erase")
            .expect("erased");
    let mut listed: Vec<(&str, &str)> = erased
        .to_remove_by_hand
        .iter()
        .filter(|s| s.what == "note")
        .map(|s| (s.lead_id.as_str(), s.what.as_str()))
        .collect();
    listed.sort_unstable();
    let mut expected = vec![(first.id.as_str(), "note"), (second.id.as_str(), "note")];
    expected.sort_unstable();
    assert_eq!(listed, expected);
    assert!(erased.to_remove_by_hand.iter().all(|s| s.at.is_some()));
    // The tier's tags put on their leads are listed too.
    let tagged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM enrich.lead_deliveries WHERE channel = 'tag' AND status = 'sent' AND lead_id = ANY($1)",
    )
    .bind(vec![first.id.clone(), second.id.clone()])
    .fetch_one(&test.pool)
    .await
    .expect("tags");
    assert_eq!(
        erased
            .to_remove_by_hand
            .iter()
            .filter(|s| s.what == "tag")
            .count() as i64,
        tagged
    );
    let details: serde_json::Value =
        sqlx::query_scalar("SELECT details FROM enrich.subject_requests WHERE id = $1")
            .bind(erased.request_id)
            .fetch_one(&test.pool)
            .await
            .expect("details");
    assert_eq!(
        details["to_remove_by_hand"].as_array().map(Vec::len),
        Some(erased.to_remove_by_hand.len())
    );
    assert!(!details.to_string().contains(person.cpf.digits()));
    // After the erasure the export finds nothing of theirs but the register.
    let e = export_of(&test, &pipeline, Identifier::Cpf(person.cpf.clone())).await;
    assert!(!e.found);
    assert!(e.items.is_empty() && e.leads.is_empty());
    assert!(e.requests.iter().any(|r| r.kind == "erasure"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_of_processing_has_its_golden_form_and_describes_every_table() {
    let config = c2s_enrich::config::Config::load_with(None, &|_| None).expect("config");
    let md = c2s_enrich::ops::ropa::render(&config);
    let golden_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/ropa.default.md");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(golden_path, &md).expect("write golden");
    }
    let golden = std::fs::read_to_string(golden_path).expect("docs/ropa.default.md");
    assert_eq!(
        md, golden,
        "the record changed: review it and run with UPDATE_GOLDEN=1"
    );
    // Configuration shows: Slack and a retention change appear.
    let changed = c2s_enrich::config::Config::load_with(None, &|k| match k {
        "SLACK_WEBHOOK_URL" => Some("https://hooks.slack.com/services/T/B/x".into()),
        "RETENTION_SNAPSHOTS_DAYS" => Some("90".into()),
        _ => None,
    })
    .expect("config");
    let md = c2s_enrich::ops::ropa::render(&changed);
    assert!(md.contains("| Slack"));
    assert!(md.contains(
        "| `enrich.enrichment_snapshots` | delete raw dossier snapshots | após 90 dias |"
    ));
    // Every table of the migrated schema is described, once.
    let test = TestDb::migrated().await.expect("db");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables
          WHERE table_schema IN ('core', 'enrich', 'ref') AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(&test.pool)
    .await
    .expect("tables");
    let mut described: Vec<String> = c2s_enrich::ops::ropa::PERSONAL_DATA
        .iter()
        .map(|t| t.table.to_owned())
        .chain(
            c2s_enrich::ops::ropa::NO_PERSONAL_DATA
                .iter()
                .map(|t| (*t).to_owned()),
        )
        .collect();
    described.sort();
    assert_eq!(described, tables);
}
