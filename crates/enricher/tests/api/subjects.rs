//! The data subject's requests (issue 18): a blocked person's contacts cause
//! no provider call and store nothing, their lead gets the neutral note; the
//! block lifts; every request is registered with its 15-day deadline.

use brazil::PhoneBr;
use c2s_enrich::domain::lead::LeadId;
use c2s_enrich::store::subjects::{self, Identifier};
use c2s_lab::testing::sandbox::setup;
use c2s_sim::{LeadKind, SimHandle};

fn owner(sim: &SimHandle) -> c2s_sim::SimLead {
    sim.state.first_lead(LeadKind::Owner).expect("owner")
}

fn paid(sim: &SimHandle) -> usize {
    sim.state
        .journal()
        .calls
        .iter()
        .filter(|c| c.paid())
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_phone_costs_nothing_stores_nothing_and_the_block_lifts() {
    let (sim, test, pipeline) = setup().await;
    let lead = owner(&sim);
    let cpf = sim.state.population.people[lead.person.expect("person")]
        .cpf
        .clone();
    let phone = PhoneBr::parse(lead.phone.as_deref().expect("phone")).expect("phone");
    let who = Identifier::Phone(phone);
    let (request, new) = subjects::block(&test.pool, &pipeline.ledger, &who, "dpo")
        .await
        .expect("block");
    assert!(new);
    pipeline
        .process(&LeadId::parse(&lead.id).expect("id"))
        .await
        .expect("processed");
    assert_eq!(paid(&sim), 0, "no provider call for a blocked person");
    let notes = sim.state.journal().notes_for(&lead.id).len();
    assert_eq!(notes, 1);
    let note = sim.state.journal().notes_for(&lead.id)[0].body.clone();
    assert_eq!(
        note,
        "🔎 Nenhum CPF encontrado para o telefone/e-mail do lead.\n"
    );
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM core.entities WHERE national_id = $1")
            .bind(cpf.digits())
            .fetch_one(&test.pool)
            .await
            .expect("count");
    assert_eq!(stored, 0, "nothing stored");
    // Blocking again changes nothing but is registered.
    let (_, again) = subjects::block(&test.pool, &pipeline.ledger, &who, "dpo")
        .await
        .expect("block");
    assert!(!again);
    // Lifted: a new lead of the person is enriched again.
    let (_, was) = subjects::unblock(&test.pool, &pipeline.ledger, &who, "dpo")
        .await
        .expect("unblock");
    assert!(was);
    let mut next = lead.clone();
    next.id = "cd0000000000000000000000000000ab".into();
    next.internal_id += 70_000;
    sim.state.put_lead(next.clone());
    let outcome = pipeline
        .process(&LeadId::parse(&next.id).expect("id"))
        .await
        .expect("processed");
    assert_eq!(outcome.outcome, "enriched");
    assert!(paid(&sim) > 0);
    // The register: three requests, done at once, with their deadlines.
    let all = subjects::requests(&test.pool, false)
        .await
        .expect("register");
    assert_eq!(
        all.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
        ["unblock", "block", "block"]
    );
    assert!(all.iter().any(|r| r.id == request));
    for r in &all {
        assert_eq!(
            (r.identifier_kind.as_str(), r.status.as_str()),
            ("phone", "done")
        );
        assert_eq!(r.acted_by.as_deref(), Some("dpo"));
        assert_eq!((r.deadline - r.received_at).num_days(), 15);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_requests_past_their_deadline_are_overdue() {
    let (_sim, test, _pipeline) = setup().await;
    for (age, status) in [(16, "open"), (3, "open"), (20, "done")] {
        sqlx::query(
            "INSERT INTO enrich.subject_requests (kind, identifier_kind, identifier_hash, received_at, deadline, status)
             VALUES ('access', 'email', decode(md5(random()::text) || md5(random()::text), 'hex'),
                     now() - make_interval(days => $1), now() - make_interval(days => $1) + interval '15 days', $2)",
        )
        .bind(age)
        .bind(status)
        .execute(&test.pool)
        .await
        .expect("request");
    }
    let overdue = subjects::requests(&test.pool, true).await.expect("overdue");
    assert_eq!(overdue.len(), 1);
    assert!(overdue[0].overdue(chrono::Utc::now()));
    let all = subjects::requests(&test.pool, false).await.expect("all");
    assert_eq!(
        all.iter().filter(|r| r.overdue(chrono::Utc::now())).count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_is_registered_as_a_request_done() {
    let (sim, test, pipeline) = setup().await;
    let lead = owner(&sim);
    pipeline
        .process(&LeadId::parse(&lead.id).expect("id"))
        .await
        .expect("processed");
    let cpf = sim.state.population.people[lead.person.expect("person")]
        .cpf
        .clone();
    c2s_enrich::store::erasure::erase(&test.pool, &pipeline.ledger, &cpf, "dpo", None)
        .await
        .expect("erase")
        .expect("erased");
    let all = subjects::requests(&test.pool, false)
        .await
        .expect("register");
    assert_eq!(all.len(), 1);
    assert_eq!(
        (
            all[0].kind.as_str(),
            all[0].identifier_kind.as_str(),
            all[0].status.as_str()
        ),
        ("erasure", "cpf", "done")
    );
    assert_eq!(all[0].acted_by.as_deref(), Some("dpo"));
}
