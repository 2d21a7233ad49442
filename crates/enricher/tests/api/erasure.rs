//! Erasing a person leaves nothing about them in any table; relatives, other
//! people and shared addresses survive; a record without personal data remains.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use c2s_enrich::domain::lead::LeadId;
use c2s_enrich::domain::Candidate;
use c2s_enrich::http::AppState;
use c2s_enrich::pipeline::RunError;
use c2s_enrich::providers::work_api::parse_dossier;
use c2s_enrich::store::dossier::{
    store_dossier, store_dossier_guarded, CpfGuard, LeadContext, MatchKind, StoreError,
    StoreOptions,
};
use c2s_enrich::store::ledger::{CallKind, Freshness, Ledger};
use c2s_enrich::store::{api_keys, erasure};
use c2s_lab::testing::{fixture, serve_app, TestDb};
use c2s_sim::Faults;

fn raw() -> serde_json::Value {
    serde_json::from_str(&fixture("work_api_cpf.json")).expect("json")
}

use c2s_lab::testing::occurrences;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_person_leaves_no_trace_while_relatives_and_shared_addresses_stay() {
    let test = TestDb::migrated().await.expect("db");
    let pool = &test.pool;
    let options = StoreOptions {
        income_factor: rust_decimal::Decimal::from_str("1.9").expect("f"),
        fetched_at: chrono::Utc::now(),
    };
    let lead_id = "9f3c2a7b5d1e4f60a8b9c0d1e2f3a4b5";
    let lead = LeadContext {
        lead_id: Some(LeadId::parse(lead_id).expect("id")),
        lead_name: Some("Helena Costa".into()),
        match_kind: MatchKind::PhoneAndEmail,
        ..LeadContext::default()
    };
    store_dossier(
        pool,
        &parse_dossier(raw()).expect("helena"),
        &lead,
        &options,
    )
    .await
    .expect("store");
    // A housemate at the same first address.
    // (A dossier of his own: a copy of Helena's would carry her CPF in other sections.)
    let other = serde_json::json!({
        "DadosBasicos": {"nome": "ROBERTO ALVES", "cpf": "11144477735"},
        "enderecos": [raw()["enderecos"][0].clone()]
    });
    let no_lead = LeadContext {
        lead_id: None,
        lead_name: None,
        match_kind: MatchKind::Manual,
        ..LeadContext::default()
    };
    store_dossier(
        pool,
        &parse_dossier(other).expect("roberto"),
        &no_lead,
        &options,
    )
    .await
    .expect("store");
    // The pipeline's own records about the lead, and cached provider answers.
    sqlx::query("INSERT INTO enrich.leads (lead_id, step, state, context, note_status, note_text) VALUES ($1, 'done', 'completed', $2, 'sent', $3)")
        .bind(lead_id)
        .bind(serde_json::json!({"lead": {"phone": "+5511987654321", "email": "helena.mcosta@gmail.com", "name": "Helena Costa"}, "discovery": {"persons": [["52998224725", "phone_and_email"]]}}))
        .bind("Nome: HELENA MARQUES DA COSTA\nCPF: 529.982.247-25\n")
        .execute(pool)
        .await
        .expect("lead state");
    sqlx::query("INSERT INTO enrich.webhook_events (lead_id, hook_action, decision, payload) VALUES ($1, 'on_create_lead', 'enrich', $2)")
        .bind(lead_id)
        .bind(serde_json::from_str::<serde_json::Value>(&fixture("c2s_webhook_create.json")).expect("json"))
        .execute(pool)
        .await
        .expect("event");
    let ledger = Ledger::new(pool.clone(), None, Freshness::default())
        .await
        .expect("ledger");
    let helena = Candidate {
        cpf: brazil::Cpf::parse("52998224725").expect("cpf"),
        name: Some("HELENA MARQUES DA COSTA".into()),
    };
    for (provider, module, query) in [
        ("diretrix", "phone", "11987654321"),
        ("work_api", "phone", "11987654321"),
        ("diretrix", "email", "helena.mcosta@gmail.com"),
    ] {
        let kind = CallKind {
            provider,
            module,
            credits: 1,
            dossier: false,
        };
        let h = helena.clone();
        ledger
            .lookup(kind, query, || async move { Ok(Some(vec![h])) })
            .await
            .expect("cache");
    }

    let (_, admin) = api_keys::create(pool, "dpo", &["admin".to_owned()])
        .await
        .expect("key");
    let (_, reader) = api_keys::create(pool, "analyst", &["read:pii".to_owned()])
        .await
        .expect("key");
    let served = serve_app(AppState::new(pool.clone())).await.expect("serve");
    let base = format!("{}/api/v1/customers", served.base);
    let http = reqwest::Client::new();
    assert_eq!(
        http.delete(format!("{base}/52998224725"))
            .bearer_auth(&reader)
            .send()
            .await
            .expect("delete")
            .status(),
        403
    );
    // The body form (no CPF in the URL); the DELETE form is checked below.
    assert_eq!(
        http.post(format!("{base}/erase"))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"cpf": 52998224725u64}))
            .send()
            .await
            .expect("post")
            .status(),
        400,
        "the CPF must be a string"
    );
    let r = http
        .post(format!("{base}/erase"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"cpf": "529.982.247-25"}))
        .send()
        .await
        .expect("erase");
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["erasure"]["ledger_rows_removed"], 3);

    for needle in [
        "52998224725",
        "529.982.247-25",
        "HELENA",
        "11987654321",
        "5511987654321",
        "1130451122",
        "helena.mcosta",
        "hmc1979",
        "exemplo-advocacia",
    ] {
        assert_eq!(
            occurrences(pool, needle).await,
            Vec::<String>::new(),
            "{needle:?} is still stored"
        );
    }
    let survivors: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM core.entities WHERE national_id IN ('31847920560', '74215630835')),
                (SELECT count(*) FROM core.entities WHERE national_id = '11144477735'),
                (SELECT count(*) FROM core.addresses WHERE zip_code = '01442000')",
    )
    .fetch_one(pool)
    .await
    .expect("survivors");
    assert_eq!(
        survivors,
        (2, 1, 1),
        "relatives, the housemate and the shared address stay"
    );
    let only_hers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM core.addresses WHERE zip_code = '04534002'")
            .fetch_one(pool)
            .await
            .expect("count");
    assert_eq!(only_hers, 0, "an address only she used is gone");
    let record: (String, i64) = sqlx::query_as("SELECT actor, rows_removed FROM enrich.erasures")
        .fetch_one(pool)
        .await
        .expect("record");
    assert_eq!(record.0, "dpo");
    assert!(record.1 > 10);

    assert_eq!(
        erasure::erase(
            pool,
            &ledger,
            &brazil::Cpf::parse("52998224725").expect("cpf"),
            "cli",
            None
        )
        .await
        .expect("again"),
        None
    );
    assert_eq!(
        http.delete(format!("{base}/52998224725"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("delete")
            .status(),
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_holds_when_the_same_contacts_come_back_in_an_update() {
    let (sim, test, pipeline) = c2s_lab::testing::sandbox::setup().await;
    let pipeline = Arc::new(pipeline);
    let pool = &test.pool;
    let people = &sim.state.population.people;
    let lead = sim
        .state
        .leads()
        .into_iter()
        .find(|l| l.kind == c2s_sim::LeadKind::Owner && l.email.is_some())
        .expect("a lead with its own phone and e-mail");
    let person = &people[lead.person.expect("person")];
    let id = LeadId::parse(&lead.id).expect("id");
    pipeline.process(&id).await.expect("enriched");
    assert!(sim.state.journal().notes_for(&lead.id)[0]
        .body
        .contains(&person.cpf.to_string()));
    // A failed lead of the same person (never linked, its record holds them).
    sqlx::query("INSERT INTO enrich.leads (lead_id, state, context, last_error) VALUES ($1, 'failed', $2, 'boom')")
        .bind("ffffffffffffffffffffffffffffffff")
        .bind(serde_json::json!({"discovery": {"persons": [{"cpf": person.cpf.digits()}]}}))
        .execute(pool)
        .await
        .expect("failed lead");
    // An archived row of theirs, from the hardening.
    sqlx::query("INSERT INTO enrich.archived_rows (source_table, source_id, reason, row_data) VALUES ('core.entity_phones', 'x', 'duplicate', $1)")
        .bind(serde_json::json!({"phone": person.phones[0].phone.e164()}))
        .execute(pool)
        .await
        .expect("archived");

    // Someone else whose contacts merely contain the person's as text: a
    // longer e-mail, a longer number. They must not be touched.
    let email = lead.email.clone().expect("email");
    let national = person.phones[0].phone.national().to_owned();
    let bystander = serde_json::json!({"lead": {"email": format!("jo{email}"), "other": format!("{email}.br"), "phone": format!("4{national}")}});
    sqlx::query("INSERT INTO enrich.leads (lead_id, state, context) VALUES ($1, 'completed', $2)")
        .bind("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")
        .bind(&bystander)
        .execute(pool)
        .await
        .expect("bystander");
    let erased = erasure::erase(pool, &pipeline.ledger, &person.cpf, "dpo", None)
        .await
        .expect("erase")
        .expect("someone erased");
    assert!(erased.rows_removed > 0);

    // C2S sends an update with the same contacts.
    let served = serve_app(AppState {
        pipeline: Some(pipeline.clone()),
        ..AppState::new(pool.clone())
    })
    .await
    .expect("serve");
    let calls_before = sim
        .state
        .journal()
        .calls
        .iter()
        .filter(|c| c.provider != "c2s")
        .count();
    let report = c2s_sim::deliver_for_tests(
        &sim,
        &format!("{}/api/v1/webhooks/c2s", served.base),
        "on_update_lead",
        Some(vec![lead.id.clone()]),
        1,
        None,
    )
    .await;
    assert_eq!(report.statuses.get(&202), Some(&1), "{report:?}");
    // The erasure took the lead's lease (a run under way stops at its next
    // write); a run right now is refused, one after the lease lapses goes on.
    assert!(matches!(
        pipeline.process(&id).await,
        Err(c2s_enrich::pipeline::RunError::LeadBusy)
    ));
    sqlx::query("UPDATE enrich.leads SET lease_until = now() - interval '1 second' WHERE lease_by = 'erasure'")
        .execute(pool)
        .await
        .expect("the erasure's lease lapses");
    pipeline.process(&id).await.expect("processed again");

    let kept: serde_json::Value =
        sqlx::query_scalar("SELECT context FROM enrich.leads WHERE lead_id = $1")
            .bind("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")
            .fetch_one(pool)
            .await
            .expect("bystander");
    assert_eq!(
        kept, bystander,
        "a bystander whose text contains the person's is left alone"
    );
    sqlx::query("DELETE FROM enrich.leads WHERE lead_id = $1")
        .bind("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")
        .execute(pool)
        .await
        .expect("cleanup");
    let journal = sim.state.journal();
    assert_eq!(
        journal.calls.iter().filter(|c| c.provider != "c2s").count(),
        calls_before,
        "no provider was asked about the erased person"
    );
    assert_eq!(journal.notes_for(&lead.id).len(), 1, "no second note");
    for needle in [
        person.cpf.digits().to_owned(),
        person.cpf.to_string(),
        person.name.clone(),
        email,
        person.phones[0].phone.national().to_owned(),
        person.phones[0].phone.e164().to_owned(),
    ] {
        assert_eq!(
            occurrences(pool, &needle).await,
            Vec::<String>::new(),
            "nothing mentions the erased person"
        );
    }
    let tombstones: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.erasure_tombstones")
        .fetch_one(pool)
        .await
        .expect("tombstones");
    assert!(
        tombstones >= 2,
        "CPF, phones and e-mails kept as keyed hashes"
    );
}

#[tokio::test]
async fn a_ledger_key_other_than_the_datas_is_refused() {
    let test = TestDb::migrated().await.expect("db");
    Ledger::new(
        test.pool.clone(),
        Some(b"the-original-key".to_vec()),
        Freshness::default(),
    )
    .await
    .expect("first use records the key's fingerprint");
    let err = Ledger::new(
        test.pool.clone(),
        Some(b"another-key".to_vec()),
        Freshness::default(),
    )
    .await
    .expect_err("a different key is refused");
    let text = err.to_string();
    assert!(text.contains("LEDGER_HASH_KEY does not match"), "{text}");
    assert!(!text.contains("another-key") && !text.contains("the-original-key"));
    Ledger::new(
        test.pool.clone(),
        Some(b"the-original-key".to_vec()),
        Freshness::default(),
    )
    .await
    .expect("the original key still works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_during_a_run_stops_it_and_keeps_nothing_it_was_fetching() {
    let (sim, test, pipeline) = c2s_lab::testing::sandbox::setup().await;
    let pipeline = Arc::new(pipeline);
    let pool = &test.pool;
    let first = sim
        .state
        .leads()
        .into_iter()
        .find(|l| l.kind == c2s_sim::LeadKind::Owner && l.email.is_some())
        .expect("a lead with its own phone and e-mail");
    let person = sim.state.population.people[first.person.expect("person")].clone();
    pipeline
        .process(&LeadId::parse(&first.id).expect("id"))
        .await
        .expect("enriched");
    // The same person comes back as a new lead, after their cached dossier
    // expired: its run buys the dossier again, slowly.
    let second = c2s_sim::SimLead {
        id: "abcdefabcdefabcdefabcdefabcdef01".into(),
        ..first.clone()
    };
    sim.state.put_lead(second.clone());
    for expire in [
        "DELETE FROM enrich.provider_calls WHERE provider = 'work_api' AND module = 'cpf'",
        "UPDATE enrich.enrichment_snapshots SET fetched_at = fetched_at - interval '400 days'",
    ] {
        sqlx::query(expire)
            .execute(pool)
            .await
            .expect("the cached dossier expires");
    }
    sim.state.set_faults(
        "work_api",
        Faults {
            latency_ms: 3000,
            ..Faults::default()
        },
    );
    sim.state.reset_journal();
    let id = LeadId::parse(&second.id).expect("id");
    let run = {
        let (pipeline, id) = (pipeline.clone(), id.clone());
        tokio::spawn(async move { pipeline.process(&id).await })
    };
    // Erased while the dossier call is in flight: the run is in discovery
    // (the identity check buys the dossier there) and the call takes 3 s.
    let mut step = String::new();
    for _ in 0..250 {
        step = sqlx::query_scalar("SELECT step FROM enrich.leads WHERE lead_id = $1")
            .bind(&second.id)
            .fetch_optional(pool)
            .await
            .expect("step")
            .unwrap_or_default();
        if step == "discover" || run.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(step, "discover", "the run reached discovery");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(!run.is_finished(), "the dossier call is in flight");
    erasure::erase(pool, &pipeline.ledger, &person.cpf, "dpo", None)
        .await
        .expect("erase")
        .expect("someone erased");
    let ended = run.await.expect("join");

    assert!(
        matches!(ended, Err(RunError::LeaseLost)),
        "the run stops at its next write: {ended:?}"
    );
    let journal = sim.state.journal();
    assert_eq!(journal.count("work_api", "cpf"), 1, "the call in flight");
    assert!(journal.notes_for(&second.id).is_empty(), "no note");
    let needles = [
        person.cpf.digits().to_owned(),
        person.cpf.to_string(),
        person.name.clone(),
        first.email.clone().expect("email"),
        person.phones[0].phone.national().to_owned(),
    ];
    for needle in &needles {
        assert_eq!(
            occurrences(pool, needle).await,
            Vec::<String>::new(),
            "the answer that arrived after the erasure is not kept"
        );
    }
    let kept: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM enrich.provider_calls WHERE provider = 'work_api' AND module = 'cpf' AND outcome = 'found'",
    )
    .fetch_one(pool)
    .await
    .expect("ledger");
    assert_eq!(kept, 1, "the call is on the record as paid");

    // When the erasure's lease lapses the lead is run again: the tombstones
    // hold — nothing asked about the person, nothing about them in the note.
    sim.state.set_faults("work_api", Faults::default());
    sqlx::query("UPDATE enrich.leads SET lease_until = now() - interval '1 second' WHERE lease_by = 'erasure'")
        .execute(pool)
        .await
        .expect("the erasure's lease lapses");
    sim.state.reset_journal();
    pipeline.process(&id).await.expect("run again");
    let journal = sim.state.journal();
    assert_eq!(
        journal.calls.iter().filter(|c| c.provider != "c2s").count(),
        0,
        "no provider was asked about the erased person"
    );
    for note in journal.notes_for(&second.id) {
        assert!(
            !note.body.contains(person.cpf.digits())
                && !note.body.contains(&person.cpf.to_string())
        );
    }
    for needle in &needles {
        assert_eq!(occurrences(pool, needle).await, Vec::<String>::new());
    }
}

#[tokio::test]
async fn a_dossier_stored_after_its_persons_erasure_is_refused_and_erased_relatives_are_not_linked()
{
    let test = TestDb::migrated().await.expect("db");
    let pool = &test.pool;
    let options = StoreOptions {
        income_factor: rust_decimal::Decimal::from_str("1.9").expect("f"),
        fetched_at: chrono::Utc::now(),
    };
    let ledger = Ledger::new(pool.clone(), None, Freshness::default())
        .await
        .expect("ledger");
    let helena = parse_dossier(raw()).expect("helena");
    store_dossier(pool, &helena, &LeadContext::default(), &options)
        .await
        .expect("store");
    erasure::erase(pool, &ledger, &helena.cpf, "dpo", None)
        .await
        .expect("erase")
        .expect("erased");
    // A run that checked the tombstones just before the erasure committed
    // stores its dossier now: refused inside the store's transaction.
    let guard = CpfGuard::for_dossier(&ledger, &helena);
    let refused =
        store_dossier_guarded(pool, &helena, &LeadContext::default(), &options, &guard).await;
    assert!(matches!(refused, Err(StoreError::Erased)), "{refused:?}");
    // Someone whose dossier lists her as a relative: stored, without her.
    let son = serde_json::json!({
        "DadosBasicos": {"nome": "PEDRO COSTA", "cpf": "11144477735"},
        "parentes": [
            {"nomeParente": "HELENA MARQUES DA COSTA", "cpfParente": helena.cpf.digits(), "grauParentesco": "MAE"},
            {"nomeParente": "JOAO COSTA", "cpfParente": "39053344705", "grauParentesco": "PAI"}
        ]
    });
    let son = parse_dossier(son).expect("son");
    let guard = CpfGuard::for_dossier(&ledger, &son);
    let stored = store_dossier_guarded(pool, &son, &LeadContext::default(), &options, &guard)
        .await
        .expect("stored");
    assert_eq!(stored.relatives, 1, "only the relative who was not erased");
    let hers: i64 = sqlx::query_scalar("SELECT count(*) FROM core.entities WHERE national_id = $1")
        .bind(helena.cpf.digits())
        .fetch_one(pool)
        .await
        .expect("count");
    assert_eq!(hers, 0, "the erased person does not come back");
    let father: i64 =
        sqlx::query_scalar("SELECT count(*) FROM core.entities WHERE national_id = '39053344705'")
            .fetch_one(pool)
            .await
            .expect("count");
    assert_eq!(father, 1);
}
