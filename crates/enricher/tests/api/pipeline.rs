//! One lead through the pipeline against the sandbox and a real PostgreSQL:
//! the right people, the right rows, exactly one note, nothing paid twice, and
//! a failed run resuming after its last completed step.

use c2s_enrich::domain::lead::LeadId;
use c2s_enrich::pipeline::RunError;
use c2s_lab::testing::sandbox::{setup, setup_with};
use c2s_sim::{Faults, LeadKind, SimHandle};

fn lead(sim: &SimHandle, kind: LeadKind) -> c2s_sim::SimLead {
    sim.state
        .leads()
        .into_iter()
        .find(|l| l.kind == kind)
        .expect("lead of kind")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_lead_is_enriched_once_and_a_rerun_pays_and_posts_nothing() {
    let (sim, test, pipeline) = setup().await;
    let truth = lead(&sim, LeadKind::Owner);
    let cpf = sim.state.population.people[truth.person.expect("person")]
        .cpf
        .clone();
    let id = LeadId::parse(&truth.id).expect("id");

    let outcome = pipeline.process(&id).await.expect("processed");
    assert_eq!(
        (outcome.persons, outcome.note_sent, outcome.outcome.as_str()),
        (1, true, "enriched")
    );
    let journal = sim.state.journal();
    let notes = journal.notes_for(&truth.id);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0]
            .body
            .starts_with("📞📧 Telefone e e-mail da mesma pessoa\n"),
        "{}",
        notes[0].body
    );
    assert!(notes[0].body.contains(&format!("CPF: {cpf}")));
    for (provider, op) in [
        ("diretrix", "phone"),
        ("diretrix", "email"),
        ("work_api", "phone"),
        ("work_api", "cpf"),
        ("c2s", "get_lead"),
    ] {
        assert_eq!(journal.count(provider, op), 1, "{provider}/{op}");
    }
    let stored: bool =
        sqlx::query_scalar("SELECT is_enriched FROM core.entities WHERE national_id = $1")
            .bind(cpf.digits())
            .fetch_one(&test.pool)
            .await
            .expect("person stored");
    assert!(stored);
    let linked: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.lead_entities WHERE lead_id = $1 AND match_kind = 'phone_and_email'")
        .bind(&truth.id)
        .fetch_one(&test.pool)
        .await
        .expect("link");
    assert_eq!(linked, 1);

    let calls_before = journal.calls.len();
    let again = pipeline.process(&id).await.expect("rerun");
    assert_eq!(again.entity_ids, outcome.entity_ids);
    let journal = sim.state.journal();
    assert_eq!(journal.notes_for(&truth.id).len(), 1, "never a second note");
    assert_eq!(
        journal.calls.len(),
        calls_before,
        "a completed lead calls nobody"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leads_nobody_can_resolve_get_the_nobody_note_and_contactless_leads_cost_nothing() {
    let (sim, _test, pipeline) = setup().await;
    let unknown = lead(&sim, LeadKind::Unknown);
    let out = pipeline
        .process(&LeadId::parse(&unknown.id).expect("id"))
        .await
        .expect("processed");
    assert_eq!((out.persons, out.outcome.as_str()), (0, "nobody_found"));
    let notes = sim.state.journal();
    assert_eq!(
        notes.notes_for(&unknown.id)[0].body,
        "🔎 Nenhum CPF encontrado para o telefone/e-mail do lead.\n"
    );
    assert_eq!(notes.count("work_api", "cpf"), 0);

    sim.state.reset_journal();
    let bare = lead(&sim, LeadKind::NoContact);
    pipeline
        .process(&LeadId::parse(&bare.id).expect("id"))
        .await
        .expect("processed");
    let journal = sim.state.journal();
    assert_eq!(
        journal.calls.iter().filter(|c| c.provider != "c2s").count(),
        0,
        "no contact, no lookup"
    );
    assert_eq!(journal.notes_for(&bare.id).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_and_email_of_different_people_show_in_full_only_the_one_the_name_fits() {
    // The e-mail is another person's, whose name is not the lead's: that
    // person is one line with initials, never a second dossier (both in full,
    // the PESSOAS DIFERENTES layout, only when both reach the minimum — see
    // tests/note.rs for that layout).
    let (sim, test, pipeline) = setup().await;
    let split = lead(&sim, LeadKind::Split);
    let people = &sim.state.population.people;
    let me = &people[split.person.expect("person")];
    let other = people
        .iter()
        .find(|p| {
            p.emails
                .iter()
                .any(|e| Some(e.as_str()) == split.email.as_deref())
        })
        .expect("the e-mail's owner");
    let out = pipeline
        .process(&LeadId::parse(&split.id).expect("id"))
        .await
        .expect("processed");
    assert_eq!(out.persons, 1);
    let body = sim.state.journal().notes_for(&split.id)[0].body.clone();
    assert!(
        body.starts_with("📞 Encontrado pelo telefone\n🔐 Identidade "),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "📧 E-mail registrado em nome de {} — não confirmado\n",
            brazil::initials(&other.name)
        )),
        "{body}"
    );
    assert!(body.contains(&format!("CPF: {}", me.cpf)));
    assert!(!body.contains(&format!("CPF: {}", other.cpf)), "{body}");
    assert!(!body.contains(&format!("Nome: {}", other.name)), "{body}");
    let links: i64 =
        sqlx::query_scalar("SELECT count(*) FROM enrich.lead_entities WHERE lead_id = $1")
            .bind(&split.id)
            .fetch_one(&test.pool)
            .await
            .expect("links");
    assert_eq!(links, 1, "the e-mail's owner is not linked to the lead");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_resumes_after_its_last_completed_step_without_paying_again() {
    let (sim, test, pipeline) = setup().await;
    let truth = lead(&sim, LeadKind::PhoneOnly);
    let id = LeadId::parse(&truth.id).expect("id");
    sim.state.set_faults(
        "work_api",
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    );
    let err = pipeline
        .process(&id)
        .await
        .expect_err("the Work API is down");
    assert!(matches!(err, RunError::Retryable(_)), "{err:?}");
    let step: String = sqlx::query_scalar("SELECT step FROM enrich.leads WHERE lead_id = $1")
        .bind(&truth.id)
        .fetch_one(&test.pool)
        .await
        .expect("step");
    assert_eq!(
        step, "discover",
        "the lead step completed and was persisted"
    );
    assert!(sim.state.journal().notes_for(&truth.id).is_empty());

    sim.state.set_faults("work_api", Faults::default());
    let before = sim.state.journal();
    pipeline.process(&id).await.expect("resumed after recovery");
    let after = sim.state.journal();
    assert_eq!(
        after.count("c2s", "get_lead"),
        before.count("c2s", "get_lead"),
        "the lead step is not repeated"
    );
    assert_eq!(
        after.count("diretrix", "phone"),
        before.count("diretrix", "phone"),
        "the answered lookup came from the ledger"
    );
    assert_eq!(after.notes_for(&truth.id).len(), 1);
}

/// A run that stopped after storing the person and before the note reads
/// back the dossier it stored when the ledger no longer keeps it (an answer
/// an erasure overlapped is recorded paid but not kept): the note does not
/// buy the dossier again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_resumed_at_the_note_reads_the_stored_dossier_and_pays_nothing() {
    let (sim, test, pipeline) = setup().await;
    let truth = lead(&sim, LeadKind::Owner);
    let id = LeadId::parse(&truth.id).expect("id");
    let first = pipeline.process(&id).await.expect("processed");
    assert_eq!(first.persons, 1);
    let bought = sim.state.journal().count("work_api", "cpf");
    assert!(bought >= 1);
    // As if the run had stopped after storing: the note not posted yet, and
    // the ledger's answer no longer kept.
    sqlx::query("UPDATE enrich.leads SET step = 'note', state = 'processing', note_status = 'none' WHERE lead_id = $1")
        .bind(&truth.id)
        .execute(&test.pool)
        .await
        .expect("back to the note");
    sqlx::query("UPDATE enrich.provider_calls SET expires_at = now() - interval '1 second' WHERE module = 'cpf'")
        .execute(&test.pool)
        .await
        .expect("ledger answer expired");
    let again = pipeline.process(&id).await.expect("resumed at the note");
    assert_eq!(again.persons, 1);
    let journal = sim.state.journal();
    assert_eq!(
        journal.count("work_api", "cpf"),
        bought,
        "the stored dossier was read back, not bought again"
    );
    let notes = journal.notes_for(&truth.id);
    assert_eq!(
        notes.len(),
        2,
        "the note was posted from the stored dossier"
    );
    assert_eq!(notes[0].body, notes[1].body, "the same note");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_configured_discovery_sources_are_asked() {
    let (sim, _test, pipeline) = setup_with(&[("DISCOVERY_SOURCES", "diretrix_email")]).await;
    let owner = lead(&sim, LeadKind::Owner);
    let out = pipeline
        .process(&LeadId::parse(&owner.id).expect("id"))
        .await
        .expect("processed");
    assert_eq!(out.persons, 1);
    let journal = sim.state.journal();
    assert_eq!(
        (
            journal.count("diretrix", "phone"),
            journal.count("work_api", "phone"),
            journal.count("diretrix", "email")
        ),
        (0, 0, 1)
    );
    assert!(journal.notes_for(&owner.id)[0]
        .body
        .starts_with("📧 Encontrado pelo e-mail\n"));
}

/// The note post whose answer is lost (C2S posted it) and the post that
/// really failed (C2S did not) are told apart on the retry: one note each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unclear_note_post_is_never_posted_twice_and_a_failed_one_is_posted_again() {
    let (sim, test, pipeline) = setup().await;
    let owners: Vec<c2s_sim::SimLead> = sim
        .state
        .leads()
        .into_iter()
        .filter(|l| l.kind == LeadKind::Owner)
        .take(2)
        .collect();
    for (truth, lost) in owners.iter().zip([true, false]) {
        let id = LeadId::parse(&truth.id).expect("id");
        sim.state.set_faults(
            "c2s",
            Faults {
                lose_answer_next: u32::from(lost),
                fail_next: u32::from(!lost),
                only_operations: vec!["create_message".into()],
                ..Faults::default()
            },
        );
        let err = pipeline.process(&id).await.expect_err("the post fails");
        assert!(matches!(err, RunError::Retryable(_)), "{err:?}");
        let landed = sim.state.journal().notes_for(&truth.id).len();
        assert_eq!(landed, usize::from(lost), "lost answer = the note is there");
        let status: String =
            sqlx::query_scalar("SELECT note_status FROM enrich.leads WHERE lead_id = $1")
                .bind(&truth.id)
                .fetch_one(&test.pool)
                .await
                .expect("status");
        assert_eq!(status, "pending");

        sim.state.set_faults("c2s", Faults::default());
        let outcome = pipeline.process(&id).await.expect("retried");
        assert!(outcome.note_sent);
        assert_eq!(
            sim.state.journal().notes_for(&truth.id).len(),
            1,
            "exactly one note (lost answer: {lost})"
        );
        let posts = sim
            .state
            .journal()
            .calls
            .iter()
            .filter(|c| c.operation == "create_message" && c.query == truth.id)
            .count();
        assert_eq!(
            posts,
            2 - usize::from(lost),
            "posted again only when it had failed"
        );
    }
}

/// C2S clearly refuses the note post (429): the note is not taken for
/// delivered when the lead changes before the retry (an agent's edit moves
/// `updated_at` just as a landed note would) — the retry posts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clearly_refused_note_post_is_posted_by_a_later_run_even_after_an_edit() {
    let (sim, test, pipeline) = setup().await;
    let truth = sim
        .state
        .leads()
        .into_iter()
        .find(|l| l.kind == LeadKind::Owner)
        .expect("owner lead");
    let id = LeadId::parse(&truth.id).expect("id");
    sim.state.set_faults(
        "c2s",
        Faults {
            rate_limit_next: 1,
            only_operations: vec!["create_message".into()],
            ..Faults::default()
        },
    );
    pipeline
        .process(&id)
        .await
        .expect_err("the post is refused");
    assert!(sim.state.journal().notes_for(&truth.id).is_empty());
    let status: String =
        sqlx::query_scalar("SELECT note_status FROM enrich.leads WHERE lead_id = $1")
            .bind(&truth.id)
            .fetch_one(&test.pool)
            .await
            .expect("status");
    assert_eq!(status, "none", "a clear refusal leaves nothing pending");
    sim.state.set_faults("c2s", Faults::default());
    assert!(sim.state.touch_lead(&truth.id), "an agent edits the lead");
    let outcome = pipeline.process(&id).await.expect("retried");
    assert!(outcome.note_sent);
    assert_eq!(
        sim.state.journal().notes_for(&truth.id).len(),
        1,
        "the note is posted, not presumed delivered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dossier_served_again_keeps_its_fetch_time_and_adds_no_snapshot() {
    let (sim, test, pipeline) = setup().await;
    let truth = lead(&sim, LeadKind::Owner);
    let cpf = sim.state.population.people[truth.person.expect("person")]
        .cpf
        .clone();
    let id = LeadId::parse(&truth.id).expect("id");
    pipeline.process(&id).await.expect("processed");
    let stamps = |pool: sqlx::PgPool, digits: String| async move {
        let (enriched_at, snapshots, answered): (
            chrono::DateTime<chrono::Utc>,
            i64,
            chrono::DateTime<chrono::Utc>,
        ) = sqlx::query_as(
            "SELECT e.enriched_at,
                    (SELECT count(*) FROM enrich.enrichment_snapshots s WHERE s.national_id = e.national_id),
                    (SELECT max(created_at) FROM enrich.provider_calls WHERE provider = 'work_api' AND module = 'cpf' AND outcome = 'found')
               FROM core.entities e WHERE e.national_id = $1",
        )
        .bind(digits)
        .fetch_one(&pool)
        .await
        .expect("stamps");
        (enriched_at, snapshots, answered)
    };
    let first = stamps(test.pool.clone(), cpf.digits().to_owned()).await;
    assert_eq!(first.1, 1);
    assert_eq!(
        first.0, first.2,
        "enriched_at is when the Work API answered"
    );

    // Two re-runs from the start (as `force=true` or new contacts do), a
    // moment later, and one with the snapshot gone (served by the ledger).
    for drop_snapshot in [false, true] {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if drop_snapshot {
            sqlx::query("DELETE FROM enrich.enrichment_snapshots")
                .execute(&test.pool)
                .await
                .expect("drop");
        }
        sqlx::query("UPDATE enrich.leads SET step = 'lead' WHERE lead_id = $1")
            .bind(&truth.id)
            .execute(&test.pool)
            .await
            .expect("rewind");
        pipeline.process(&id).await.expect("rerun");
        let again = stamps(test.pool.clone(), cpf.digits().to_owned()).await;
        assert_eq!(again.0, first.0, "not re-stamped as fresh");
        assert_eq!(again.1, 1, "one snapshot per answer");
    }
    assert_eq!(sim.state.journal().count("work_api", "cpf"), 1, "paid once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unclear_note_post_followed_by_a_contact_update_is_not_posted_again() {
    let (sim, test, pipeline) = setup().await;
    let owners: Vec<_> = sim
        .state
        .leads()
        .into_iter()
        .filter(|l| l.kind == LeadKind::Owner && l.phone.is_some())
        .take(2)
        .collect();
    let (truth, other) = (&owners[0], &owners[1]);
    let id = LeadId::parse(&truth.id).expect("id");
    // The note lands; its answer is lost.
    sim.state.set_faults(
        "c2s",
        Faults {
            lose_answer_next: 1,
            only_operations: vec!["create_message".into()],
            ..Faults::default()
        },
    );
    pipeline.process(&id).await.expect_err("the answer is lost");
    assert_eq!(sim.state.journal().notes_for(&truth.id).len(), 1);
    sim.state.set_faults("c2s", Faults::default());
    // Then an agent changes the lead's contacts, and C2S says so: the lead
    // runs again from the start — and must not take the note (already in
    // the lead it now reads) for one never posted.
    assert!(sim
        .state
        .set_contacts(&truth.id, other.phone.clone(), other.email.clone()));
    let edited = sim
        .state
        .leads()
        .into_iter()
        .find(|l| l.id == truth.id)
        .expect("lead");
    let events = c2s_enrich::providers::c2s::parse_webhook(&serde_json::json!(
        {"hook_action": "on_update_lead", "lead": c2s_sim::render::c2s_lead(&edited)}
    ))
    .expect("event");
    c2s_enrich::store::events::record_delivery(&test.pool, &events)
        .await
        .expect("recorded");
    pipeline.process(&id).await.expect("rerun");
    assert_eq!(
        sim.state.journal().notes_for(&truth.id).len(),
        1,
        "never a second note"
    );
}

/// A recorded context that cannot be read stops the run (fatal, the reason
/// without its value): resumed as empty it would post "nobody found" on a
/// lead whose person was found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_recorded_context_stops_the_run_instead_of_presenting_nobody() {
    let (sim, test, pipeline) = setup().await;
    let truth = lead(&sim, LeadKind::Owner);
    let id = LeadId::parse(&truth.id).expect("id");
    sqlx::query(
        "INSERT INTO enrich.leads (lead_id, step, context)
         VALUES ($1, 'dossier', '{\"discovery\": {\"persons\": [[\"Maria da Silva\", 7]]}}'::jsonb)",
    )
    .bind(&truth.id)
    .execute(&test.pool)
    .await
    .expect("a damaged context");
    let err = pipeline.process(&id).await.expect_err("stops");
    let RunError::Fatal(why) = &err else {
        panic!("not fatal: {err}");
    };
    let why = why.to_string();
    assert!(why.contains("recorded context cannot be read"), "{why}");
    assert!(!why.contains("Maria"), "no value in the reason: {why}");
    assert!(
        sim.state.journal().notes_for(&truth.id).is_empty(),
        "no note"
    );
}
