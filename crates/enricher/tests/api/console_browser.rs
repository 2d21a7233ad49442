//! The operator console in a real headless Chromium, driven through
//! chromedriver (issue 19's done-when): an operator logs in with the
//! keyboard, searches a lead, opens its timeline, exports the list as CSV,
//! retries a dead lead and re-sends a note once (the second click does
//! nothing); a form without its CSRF token is refused; a viewer sees masked
//! data and cannot retry; an administrator sees the note and the reports.
//! Every page is checked by axe-core (WCAG 2.1 A/AA), its console must stay
//! silent, and screenshots go to the CI artefacts.

use std::time::Duration;

use c2s_enrich::domain::lead::LeadId;
use c2s_enrich::http::AppState;
use c2s_enrich::store::console::{self, Role};
use c2s_lab::testing::sandbox::setup_with;
use c2s_lab::testing::serve_app;
use c2s_sim::LeadKind;
use fantoccini::key::Key;
use fantoccini::Locator;

use super::browser::Browser;
use super::console::dead_lead;

const PASSWORD: &str = "uma senha longa o bastante";

/// Checks the page: no accessibility violation, nothing in its console but
/// the `expected` lines (a refusal's own status, say); then a screenshot.
async fn check_page(b: &Browser, name: &str, expected: &[&str]) {
    let violations = b.accessibility().await;
    assert!(
        violations.is_empty(),
        "{name}: accessibility: {violations:#?}"
    );
    let console: Vec<String> = b
        .console()
        .await
        .into_iter()
        .filter(|l| !expected.iter().any(|e| l.contains(e)))
        .collect();
    assert!(console.is_empty(), "{name}: console: {console:#?}");
    b.screenshot(name).await;
}

/// Logs in through the form with the keyboard only: the name field has the
/// focus, Tab to the password, Enter to send. The focused field shows a visible focus ring.
async fn keyboard_login(b: &Browser, base: &str, name: &str) {
    b.open(&format!("{base}/console")).await;
    assert_eq!(b.heading().await, "Entrar", "not logged in: the login page");
    // The name field has the focus as the page opens.
    let focused = b.client.active_element().await.expect("focus");
    assert_eq!(
        focused.attr("name").await.expect("attr").as_deref(),
        Some("name")
    );
    let ring = b
        .run("const s = getComputedStyle(document.activeElement); return s.outlineStyle + ' ' + s.outlineWidth;")
        .await;
    assert!(
        ring.as_str()
            .is_some_and(|r| !r.starts_with("none") && !r.ends_with(" 0px")),
        "a visible focus ring: {ring}"
    );
    focused.send_keys(name).await.expect("name typed");
    focused.send_keys(&Key::Tab).await.expect("tab");
    let password = b.client.active_element().await.expect("focus");
    assert_eq!(
        password.attr("name").await.expect("attr").as_deref(),
        Some("password")
    );
    password.send_keys(PASSWORD).await.expect("password typed");
    b.leading_to_next_page(async { password.send_keys(&Key::Enter).await.expect("sent") })
        .await;
    assert_eq!(b.heading().await, "Visão geral", "logged in as {name}");
}

async fn logout(b: &Browser) {
    b.click_text("Sair").await;
    assert_eq!(b.heading().await, "Entrar");
}

/// Waits for a finished download named `name`; its text.
async fn downloaded(b: &Browser, name: &str) -> String {
    let path = b.downloads.path().join(name);
    for _ in 0..600 {
        if let Ok(text) = std::fs::read_to_string(&path) {
            if !text.is_empty() {
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{name} was not downloaded into {}",
        b.downloads.path().display()
    );
}

/// The values after `Nome: `, `CPF: ` in the note, its first e-mail and the
/// national digits of its first phone.
fn secrets_of(note: &str) -> Vec<String> {
    let after = |prefix: &str| {
        note.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(|v| v.trim().to_owned())
    };
    let mut found: Vec<String> = ["Nome: ", "CPF: "]
        .iter()
        .filter_map(|p| after(p))
        .collect();
    let phone = note
        .lines()
        .skip_while(|l| !l.contains("TELEFONES"))
        .nth(1)
        .and_then(|l| l.strip_prefix("1. "))
        .and_then(|l| l.split(" - ").next());
    found.extend(phone.map(str::to_owned));
    let email = note.split_whitespace().find(|w| w.contains('@'));
    found.extend(email.map(str::to_owned));
    assert_eq!(
        found.len(),
        4,
        "name, CPF, phone, e-mail in the note: {found:?}"
    );
    found
}

async fn job_states(pool: &sqlx::PgPool, lead: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT state FROM enrich.jobs WHERE lead_id = $1 ORDER BY id")
        .bind(lead)
        .fetch_all(pool)
        .await
        .expect("jobs")
}

/// What the stories share.
struct World {
    b: Browser,
    sim: c2s_sim::SimHandle,
    pool: sqlx::PgPool,
    base: String,
    owner: String,
    note_line: String,
    /// The person's name, CPF, phone digits and e-mail, as the note shows them.
    secrets: Vec<String>,
}

const DEAD: &str = "dead0000000000000000000000000001";
const FORGED: &str = "dead0000000000000000000000000002";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_browser_by_role() {
    // Each stage boxed: a debug build's futures are large, a test thread's
    // stack is not.
    let Some(b) = Box::pin(Browser::start()).await else {
        return;
    };
    // A daily budget, for the chart's budget line.
    let (sim, test, pipeline) = Box::pin(setup_with(&[("WORK_API_DAILY_CREDITS", "100")])).await;
    let owner = sim
        .state
        .first_lead(LeadKind::Owner)
        .expect("owner")
        .id
        .clone();
    Box::pin(pipeline.process(&LeadId::parse(&owner).expect("id")))
        .await
        .expect("processed");
    let pool = test.pool.clone();
    dead_lead(&pool, DEAD, "k1").await;
    dead_lead(&pool, FORGED, "k2").await;
    // A data subject's access request, received 20 days ago and still open.
    sqlx::query("INSERT INTO enrich.subject_requests (kind, identifier_kind, identifier_hash, received_at, deadline)
                 VALUES ('access', 'email', sha256('x'::bytea), now() - interval '20 days', now() - interval '5 days')")
        .execute(&pool)
        .await
        .expect("request");
    for (name, role) in [
        ("vi", Role::Viewer),
        ("op", Role::Operator),
        ("dpo", Role::Admin),
    ] {
        console::add(&pool, name, role, PASSWORD)
            .await
            .expect("user");
    }
    let state = AppState {
        pipeline: Some(std::sync::Arc::new(pipeline)),
        ..AppState::new(pool.clone())
    };
    let served = serve_app(state).await.expect("serve");
    let note = sim.state.journal().notes_for(&owner)[0].body.clone();
    let w = World {
        b,
        sim,
        pool,
        base: served.base.clone(),
        note_line: note.lines().next().expect("a line").to_owned(),
        secrets: secrets_of(&note),
        owner,
    };
    Box::pin(operator(&w)).await;
    Box::pin(viewer(&w)).await;
    Box::pin(admin(&w)).await;
    w.b.client.clone().close().await.expect("session closed");
}

/// The operator: keyboard login, overview, search, timeline, re-send, CSV, retry, CSRF.
// Longer than 70 lines on purpose: one user's story, in the order they would click.
async fn operator(w: &World) {
    let (b, base, pool, owner) = (&w.b, w.base.as_str(), &w.pool, w.owner.as_str());
    let (dead, forged, note_line) = (DEAD, FORGED, w.note_line.as_str());
    // The operator: login by keyboard, the overview with its chart.
    b.open(&format!("{base}/console/login")).await;
    check_page(b, "01-login", &[]).await;
    keyboard_login(b, base, "op").await;
    let chart_bars = b
        .run("return document.querySelectorAll('#credits-chart rect').length;")
        .await;
    assert_eq!(chart_bars, 30, "one bar a day");
    let budget_lines = b
        .run("return document.querySelectorAll('#credits-chart line.budget').length;")
        .await;
    assert_eq!(budget_lines, 1, "the daily budget's line");
    assert!(b
        .main_text()
        .await
        .contains("orçamento diário de 100 (work_api)"));
    check_page(b, "02-overview", &[]).await;

    // Search the lead by the start of its id, open its timeline.
    b.click_text("Leads").await;
    b.click_text("Hoje").await;
    let text = b.main_text().await;
    assert!(text.contains("3 lead(s)"), "today's leads: {text}");
    let field = b.client.find(Locator::Css("#lead")).await.expect("field");
    field.send_keys(&owner[..10]).await.expect("typed");
    b.click_text("Buscar").await;
    let text = b.main_text().await;
    assert!(text.contains("1 lead(s)") && text.contains(owner), "{text}");
    check_page(b, "03-search", &[]).await;
    b.click(&format!("a[href='/console/leads/{}']", owner))
        .await;
    let text = b.main_text().await;
    for shown in [
        "Linha do tempo",
        "Fornecedores e resolução",
        "crédito(s) gastos",
        "Candidatos",
        "Texto oculto",
    ] {
        assert!(text.contains(shown), "{shown} on the timeline: {text}");
    }
    assert!(
        !text.contains(note_line),
        "an operator does not see the note's text"
    );
    check_page(b, "04-timeline-operator", &[]).await;

    // Re-send the note: confirm once; the same confirmation again does nothing.
    b.click_text("Reenviar a nota…").await;
    check_page(b, "05-resend-confirm", &[]).await;
    b.click_text("Reenviar a nota").await;
    assert!(b.main_text().await.contains("Nota reenviada"));
    b.client.back().await.expect("back");
    b.heading().await;
    b.click_text("Reenviar a nota").await;
    assert!(b.main_text().await.contains("Nada foi feito"));
    assert_eq!(
        w.sim.state.journal().notes_for(owner).len(),
        2,
        "one re-send, not two"
    );
    check_page(b, "06-resend-again", &[]).await;

    // Export the list as CSV.
    b.open(&format!("{base}/console/leads?outcome=enriched"))
        .await;
    b.press("exportar CSV").await;
    let csv = downloaded(b, "leads.csv").await;
    assert!(
        csv.starts_with("lead_id,recebido_em,") && csv.contains(owner) && !csv.contains(dead),
        "{csv}"
    );

    // Retry a dead lead; the second click finds it queued and does nothing.
    b.open(&format!("{base}/console/leads/{dead}")).await;
    b.click_text("Processar de novo").await;
    assert!(b.main_text().await.contains("voltou para a fila"));
    b.client.back().await.expect("back");
    b.heading().await;
    b.click_text("Processar de novo").await;
    assert!(b.main_text().await.contains("já está na fila"));
    assert_eq!(job_states(pool, dead).await, ["queued"]);
    check_page(b, "07-retried", &[]).await;

    // A form whose CSRF token was taken out is refused, and nothing is done.
    b.open(&format!("{base}/console/leads/{forged}")).await;
    b.run(
        "document.querySelectorAll('main input[name=csrf]').forEach(i => i.remove()); return null;",
    )
    .await;
    b.click_text("Processar de novo").await;
    assert_eq!(b.heading().await, "Formulário recusado");
    assert_eq!(job_states(pool, forged).await, ["dead"]);
    check_page(b, "08-csrf-refused", &["403"]).await;
    logout(b).await;
}

/// The viewer: masked, no actions, a forged retry refused.
// Longer than 70 lines on purpose: one user's story, in the order they would click.
async fn viewer(w: &World) {
    let (b, base, pool, owner) = (&w.b, w.base.as_str(), &w.pool, w.owner.as_str());
    let (forged, note_line) = (FORGED, w.note_line.as_str());
    // The viewer: no note text, no retry button, and a forged retry refused.
    keyboard_login(b, base, "vi").await;
    b.open(&format!("{base}/console/leads/{}", owner)).await;
    let text = b.main_text().await;
    assert!(
        text.contains("Texto oculto") && !text.contains(note_line),
        "{text}"
    );
    assert!(!text.contains("Reenviar"));
    // Nothing of the person in the page's source: name, CPF (even masked),
    // phone, e-mail.
    let source = b.client.source().await.expect("source");
    for secret in &w.secrets {
        assert!(
            !source.contains(secret.as_str()),
            "the viewer's page shows {secret}"
        );
    }
    assert!(!source.contains("***."), "a masked CPF");
    b.open(&format!("{base}/console/leads/{forged}")).await;
    assert!(!b.main_text().await.contains("Processar de novo"));
    check_page(b, "09-timeline-viewer", &[]).await;
    b.run(&format!(
        "const f = document.createElement('form'); f.method = 'post'; f.action = '/console/leads/{forged}/retry';
         const t = document.querySelector('input[name=csrf]').cloneNode(); f.appendChild(t);
         const s = document.createElement('button'); s.textContent = 'x'; f.appendChild(s);
         document.querySelector('main').appendChild(f); return null;"
    ))
    .await;
    b.click("main form button").await;
    assert_eq!(b.heading().await, "Sem permissão");
    assert_eq!(job_states(pool, forged).await, ["dead"]);
    let _ = b.console().await; // the refusal's own 403
    logout(b).await;
}

/// The administrator: the note as posted (audited) and the reports.
// Longer than 70 lines on purpose: one user's story, in the order they would click.
async fn admin(w: &World) {
    let (b, base, pool, owner) = (&w.b, w.base.as_str(), &w.pool, w.owner.as_str());
    let note_line = w.note_line.as_str();
    // The administrator: the note as posted (audited), the reports.
    keyboard_login(b, base, "dpo").await;
    b.open(&format!("{base}/console/leads/{}", owner)).await;
    assert!(
        b.main_text().await.contains(note_line),
        "an admin sees the note"
    );
    check_page(b, "10-timeline-admin", &[]).await;
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM enrich.pii_access_audit WHERE key_name = 'console:dpo' AND query_kind = 'lead'",
    )
    .fetch_one(pool)
    .await
    .expect("audit");
    assert!(audited >= 1, "the admin's view is audited");
    b.click_text("Qualidade").await;
    assert!(b.main_text().await.contains("Regras obrigatórias"));
    check_page(b, "11-quality", &[]).await;
    b.click_text("Pedidos de titulares").await;
    let text = b.main_text().await;
    assert!(
        text.contains("1 aberto(s), 1 atrasado(s)")
            && text.contains("acesso")
            && text.contains("atrasado"),
        "{text}"
    );
    check_page(b, "12-requests", &[]).await;
    logout(b).await;
}
