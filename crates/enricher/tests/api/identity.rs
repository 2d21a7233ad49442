//! Identity, black box: leads of the sandbox's labelled world through the
//! pipeline against a fresh database — the person the note presents, what it
//! must not contain, the stored links and the paid calls, for each situation
//! that used to put a stranger's data in front of the sales agent.

use c2s_enrich::domain::lead::LeadId;
use c2s_enrich::pipeline::Pipeline;
use c2s_lab::testing::TestDb;
use c2s_sim::{LeadKind, SimHandle, SimLead, World};

async fn labelled() -> (SimHandle, TestDb, Pipeline) {
    c2s_lab::testing::sandbox::setup_world(World::Labelled, 21, 200, &[]).await
}

fn leads_of(sim: &SimHandle, kind: LeadKind) -> Vec<SimLead> {
    sim.state
        .leads()
        .into_iter()
        .filter(|l| l.kind == kind)
        .collect()
}

async fn note_of(sim: &SimHandle, pipeline: &Pipeline, lead: &SimLead) -> String {
    let id = LeadId::parse(&lead.id).expect("id");
    pipeline.process(&id).await.expect("processed");
    let journal = sim.state.journal();
    let notes = journal.notes_for(&lead.id);
    assert_eq!(notes.len(), 1, "one note");
    notes[0].body.clone()
}

/// Creates a C2S lead in the sandbox (as a person filling a portal form
/// would) and returns its id.
async fn create_lead(sim: &SimHandle, body: &serde_json::Value) -> String {
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/integration/leads", sim.base_url()))
        .bearer_auth(&sim.state.config.c2s_token)
        .json(body)
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    created["data"]["id"].as_str().expect("id").to_owned()
}

/// (entity CPF, confidence) of every link of the lead.
async fn links(test: &TestDb, lead_id: &str) -> Vec<(String, Option<String>)> {
    sqlx::query_as(
        "SELECT e.national_id, l.confidence FROM enrich.lead_entities l JOIN core.entities e USING (entity_id)
          WHERE l.lead_id = $1 ORDER BY 1",
    )
    .bind(lead_id)
    .fetch_all(&test.pool)
    .await
    .expect("links")
}

fn dossier_calls(sim: &SimHandle, cpf: &str) -> usize {
    sim.state
        .journal()
        .calls
        .iter()
        .filter(|c| c.provider == "work_api" && c.operation == "cpf" && c.query == cpf)
        .count()
}

/// Sections only a person shown in full has.
const FULL: [&str; 4] = [
    "💰 DADOS FINANCEIROS",
    "👪 PARENTES",
    "🏠 ENDEREÇOS",
    "CPF: ",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_household_phone_presents_the_lead_found_among_the_owners_relatives_not_the_owner() {
    let (sim, test, pipeline) = labelled().await;
    let people = &sim.state.population.people;
    let lead = leads_of(&sim, LeadKind::Household)
        .into_iter()
        .find(|l| l.email.is_none() && l.confounders == ["household_phone"])
        .expect("a household lead with only the phone");
    let me = &people[lead.person.expect("person")];
    let phone = brazil::PhoneBr::parse(lead.phone.as_deref().expect("phone")).expect("phone");
    let owner = people
        .iter()
        .find(|p| p.phones.first().is_some_and(|x| x.phone == phone))
        .expect("the number's owner");
    let note = note_of(&sim, &pipeline, &lead).await;

    assert!(note.starts_with("📞 Telefone de "), "{note}");
    let header = note.lines().next().expect("header");
    assert!(header.contains(&brazil::initials(&owner.name)), "{header}");
    assert!(
        ["(mãe)", "(pai)", "(cônjuge)"]
            .iter()
            .any(|d| header.ends_with(d)),
        "{header}"
    );
    assert!(note.contains(&format!("CPF: {}", me.cpf)), "{note}");
    assert!(note.contains(&format!("Nome: {}", me.name)), "{note}");
    assert!(
        note.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("🔐 Identidade ")),
        "{note}"
    );
    assert!(
        !note.contains(&owner.cpf.to_string()),
        "the owner's CPF is not shown"
    );
    assert!(!note.contains(&format!("Nome: {}", owner.name)), "{note}");
    assert!(!note.contains("Nome diferente"), "{note}");

    let linked = links(&test, &lead.id).await;
    assert_eq!(linked.len(), 1, "{linked:?}");
    assert_eq!(linked[0].0, me.cpf.digits());
    assert!(matches!(
        linked[0].1.as_deref(),
        Some("probable" | "confirmed")
    ));
    // Paid: the phone lookups, the owner's dossier (to find the lead among
    // the relatives) and the lead's own — each once.
    assert_eq!(dossier_calls(&sim, owner.cpf.digits()), 1);
    assert_eq!(dossier_calls(&sim, me.cpf.digits()), 1);
    let j = sim.state.journal();
    assert_eq!(
        (j.count("diretrix", "phone"), j.count("work_api", "phone")),
        (1, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_several_own_presents_the_lead_not_the_spouse_two_sources_agree_on() {
    let (sim, test, pipeline) = labelled().await;
    let people = &sim.state.population.people;
    let lead = leads_of(&sim, LeadKind::SharedLine)
        .into_iter()
        .next()
        .expect("a shared-line lead");
    let me = &people[lead.person.expect("person")];
    let spouse = me
        .relatives
        .iter()
        .find(|(_, d)| *d == "CONJUGE")
        .map(|(i, _)| &people[*i])
        .expect("spouse");
    let note = note_of(&sim, &pipeline, &lead).await;
    assert!(note.starts_with("📞 Encontrado pelo telefone\n"), "{note}");
    assert!(
        note.contains(&format!("CPF: {}", me.cpf)),
        "{lead:?}\n{note}"
    );
    assert!(!note.contains(&format!("CPF: {}", spouse.cpf)), "{note}");
    assert!(!note.contains(&format!("Nome: {}", spouse.name)), "{note}");
    let linked = links(&test, &lead.id).await;
    assert_eq!(
        linked.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(),
        [me.cpf.digits()]
    );
    // The spouse's dossier may be checked once; never bought twice.
    assert!(dossier_calls(&sim, spouse.cpf.digits()) <= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recycled_number_owned_by_a_stranger_shows_no_one_and_pays_the_check_once() {
    let (sim, test, pipeline) = labelled().await;
    let people = &sim.state.population.people;
    let lead = leads_of(&sim, LeadKind::Recycled)
        .into_iter()
        .find(|l| {
            l.email.is_none()
                && !l.confounders.contains(&"first_name_only")
                && people.iter().any(|p| {
                    p.deceased
                        && (p.phones[0].in_diretrix || p.phones[0].in_work)
                        && l.phone
                            .as_deref()
                            .and_then(|x| brazil::PhoneBr::parse(x).ok())
                            .is_some_and(|x| p.phones[0].phone == x)
                })
        })
        .expect("a recycled number of a deceased stranger, no e-mail");
    let phone = brazil::PhoneBr::parse(lead.phone.as_deref().expect("phone")).expect("phone");
    let stranger = people
        .iter()
        .find(|p| p.phones[0].phone == phone)
        .expect("owner");
    let note = note_of(&sim, &pipeline, &lead).await;
    let expected = format!(
        "⚠️ Identidade não confirmada\n📞 Telefone registrado em nome de {} (falecido)\n",
        brazil::initials(&stranger.name)
    );
    assert_eq!(note, expected);
    for section in FULL {
        assert!(!note.contains(section), "{note}");
    }
    assert!(
        links(&test, &lead.id).await.is_empty(),
        "not linked to the lead"
    );
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM core.entities WHERE national_id = $1")
            .bind(stranger.cpf.digits())
            .fetch_one(&test.pool)
            .await
            .expect("count");
    assert_eq!(
        stored, 0,
        "the stranger is not written into the customer database"
    );
    assert_eq!(
        dossier_calls(&sim, stranger.cpf.digits()),
        1,
        "the check is paid once"
    );
    // Processing again (an operator's re-run) pays nothing more.
    let id = LeadId::parse(&lead.id).expect("id");
    sqlx::query("UPDATE enrich.leads SET step = 'discover' WHERE lead_id = $1")
        .bind(&lead.id)
        .execute(&test.pool)
        .await
        .expect("reset");
    pipeline.process(&id).await.expect("rerun");
    assert_eq!(dossier_calls(&sim, stranger.cpf.digits()), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_person_who_merely_lists_the_phone_is_not_taken_for_the_lead() {
    let (sim, test, pipeline) = labelled().await;
    let people = &sim.state.population.people;
    // A child whose dossier lists the mother's mobile among their own numbers.
    let (child, mother) = people
        .iter()
        .enumerate()
        .find_map(|(i, p)| {
            let mother = p
                .relatives
                .iter()
                .find(|(_, d)| *d == "MAE")
                .map(|(m, _)| *m)?;
            let listed = p
                .phones
                .iter()
                .any(|x| !x.in_diretrix && !x.in_work && x.phone == people[mother].phones[0].phone);
            let lead_of_child = sim
                .state
                .leads()
                .into_iter()
                .find(|l| l.person == Some(i) && l.kind == LeadKind::Owner)?;
            (listed && people[mother].phones[0].in_diretrix).then_some((lead_of_child, mother))
        })
        .expect("a child lead whose dossier lists the mother's number");
    let first = note_of(&sim, &pipeline, &child).await;
    assert!(first.contains(&format!("CPF: {}", people[child.person.expect("p")].cpf)));
    // The child is now stored, their dossier listing the mother's number.
    // Then the mother arrives as a lead of her own, with that number.
    let m = &people[mother];
    let body = serde_json::json!({"data": {"type": "lead", "attributes": {
        "name": m.name, "phone": m.phones[0].phone.national(), "description": "t", "source": "t"}}});
    let id = create_lead(&sim, &body).await;
    let before = sim.state.journal().count("diretrix", "phone");
    pipeline
        .process(&LeadId::parse(&id).expect("id"))
        .await
        .expect("processed");
    let journal = sim.state.journal();
    assert_eq!(
        journal.count("diretrix", "phone"),
        before + 1,
        "the stored child does not answer for the mother: the providers are asked"
    );
    let note = &journal.notes_for(&id)[0].body;
    assert!(note.contains(&format!("CPF: {}", m.cpf)), "{note}");
    assert!(
        !note.contains(&format!("CPF: {}", people[child.person.expect("p")].cpf)),
        "{note}"
    );
    let linked = links(&test, &id).await;
    assert_eq!(
        linked.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(),
        [m.cpf.digits()]
    );

    // A third lead with the mother's number and name: her confirmed match is
    // a free answer now — no provider is asked again.
    let before = sim
        .state
        .journal()
        .calls
        .iter()
        .filter(|c| c.provider != "c2s")
        .count();
    let again = create_lead(&sim, &body).await;
    pipeline
        .process(&LeadId::parse(&again).expect("id"))
        .await
        .expect("processed");
    let journal = sim.state.journal();
    assert_eq!(
        journal.calls.iter().filter(|c| c.provider != "c2s").count(),
        before
    );
    assert!(journal.notes_for(&again)[0]
        .body
        .contains(&format!("CPF: {}", m.cpf)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_and_child_of_one_name_behind_the_phone_are_neither_shown() {
    let (sim, test, pipeline) = labelled().await;
    let people = &sim.state.population.people;
    let first = |n: &str| n.split(' ').next().unwrap_or_default().to_owned();
    let last = |n: &str| n.split(' ').next_back().unwrap_or_default().to_owned();
    // A parent whose child has the same first and last name (JOSE X PRADO and
    // JOSE Y PRADO): "Jose Prado" fits both; the phone is the parent's.
    let (parent, child) = people
        .iter()
        .find_map(|p| {
            let c = p.relatives.iter().find_map(|(c, d)| {
                let c = &people[*c];
                (*d == "FILHA(O)"
                    && first(&c.name) == first(&p.name)
                    && last(&c.name) == last(&p.name))
                .then_some(c)
            })?;
            (p.phones[0].in_diretrix && !p.deceased).then_some((p, c))
        })
        .expect("a parent and child of one name in the labelled world");
    let typed = format!("{} {}", first(&parent.name), last(&parent.name));
    let body = serde_json::json!({"data": {"type": "lead", "attributes": {
        "name": typed, "phone": parent.phones[0].phone.national(), "description": "t", "source": "t"}}});
    let id = create_lead(&sim, &body).await;
    pipeline
        .process(&LeadId::parse(&id).expect("id"))
        .await
        .expect("processed");
    let journal = sim.state.journal();
    let note = &journal.notes_for(&id)[0].body;
    assert!(note.starts_with("⚠️ Identidade não confirmada\n"), "{note}");
    assert!(
        note.contains(&format!(
            "registrado em nome de {}",
            brazil::initials(&parent.name)
        )),
        "{note}"
    );
    for section in FULL {
        assert!(!note.contains(section), "{note}");
    }
    for who in [parent, child] {
        assert!(!note.contains(&who.cpf.to_string()), "{note}");
        assert!(!note.contains(&who.name), "{note}");
    }
    assert!(links(&test, &id).await.is_empty(), "not linked to the lead");
    // The check is the parent's dossier, paid once; the child's is not bought.
    assert_eq!(dossier_calls(&sim, parent.cpf.digits()), 1);
    assert_eq!(dossier_calls(&sim, child.cpf.digits()), 0);
}
