//! The operator console over HTTP (issue 19, first part): logins with
//! Argon2id passwords, session cookies, CSRF on every form, throttling and
//! lock-out, idle expiry; the overview and the leads list.

use c2s_enrich::domain::lead::LeadId;
use c2s_enrich::http::AppState;
use c2s_enrich::store::console::{self, Role};
use c2s_lab::testing::sandbox::setup;
use c2s_lab::testing::serve_app;
use c2s_sim::LeadKind;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

const PASSWORD: &str = "uma senha longa o bastante";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The named cookie's `name=value` from a response, and its attributes.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<(String, String)> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            (pair.to_owned(), attrs.to_owned())
        })
}

fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..].split('"').next().expect("value").to_owned()
}

/// Opens the login page and posts `name`/`password` with its token.
async fn login(base: &str, name: &str, password: &str) -> reqwest::Response {
    login_holding(base, name, password, None).await
}

/// [`login`] from a browser that may hold a cookie already.
async fn login_holding(
    base: &str,
    name: &str,
    password: &str,
    held: Option<&str>,
) -> reqwest::Response {
    let http = client();
    let page = http
        .get(format!("{base}/console/login"))
        .send()
        .await
        .expect("login page");
    assert_eq!(page.status(), 200);
    let (cookie, attrs) = set_cookie(&page, "__Host-c2s_login").expect("login cookie");
    assert!(
        attrs.contains("HttpOnly") && attrs.contains("Secure") && attrs.contains("SameSite=Strict")
    );
    let token = csrf_in(&page.text().await.expect("html"));
    let cookies = held.map_or_else(|| cookie.clone(), |h| format!("{h}; {cookie}"));
    http.post(format!("{base}/console/login"))
        .header(COOKIE, cookies)
        .form(&[("name", name), ("password", password), ("csrf", &token)])
        .send()
        .await
        .expect("login")
}

/// A logged-in session's cookie.
async fn session(base: &str, name: &str) -> String {
    let r = login(base, name, PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/console");
    let (cookie, attrs) = set_cookie(&r, "__Host-c2s_session").expect("session cookie");
    for a in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(attrs.contains(a), "{a} in {attrs}");
    }
    cookie
}

async fn get(base: &str, path: &str, cookie: &str) -> reqwest::Response {
    client()
        .get(format!("{base}{path}"))
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("get")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_logs_in_sees_the_overview_searches_leads_and_logs_out() {
    let (sim, test, pipeline) = setup().await;
    let lead = sim.state.first_lead(LeadKind::Owner).expect("owner");
    pipeline
        .process(&LeadId::parse(&lead.id).expect("id"))
        .await
        .expect("processed");
    let pool = &test.pool;
    console::add(pool, "ana", Role::Operator, PASSWORD)
        .await
        .expect("user");
    assert!(matches!(
        console::add(pool, "ana", Role::Viewer, PASSWORD).await,
        Err(console::UserError::Exists)
    ));
    assert!(matches!(
        console::add(pool, "bia", Role::Viewer, "curta").await,
        Err(console::UserError::WeakPassword)
    ));
    let served = serve_app(AppState::new(pool.clone())).await.expect("serve");
    let base = &served.base;
    // Not logged in: to the login page.
    let r = client()
        .get(format!("{base}/console"))
        .send()
        .await
        .expect("get");
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()[LOCATION].to_str().expect("loc")
        ),
        (303, "/console/login")
    );
    // A wrong password, and a login form without its token, are refused.
    let wrong = login(base, "ana", "não é esta senha").await;
    assert_eq!(wrong.status(), 401);
    let page = wrong.text().await.expect("html");
    assert!(page.contains("Usuário ou senha inválidos"));
    assert!(
        page.contains(r#"value="ana""#) && !page.contains("não é esta senha"),
        "the name is kept, the password is not: {page}"
    );
    let forged = client()
        .post(format!("{base}/console/login"))
        .form(&[("name", "ana"), ("password", PASSWORD), ("csrf", "x")])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), 403);
    let earlier = session(base, "ana").await;
    let again = login_holding(base, "ana", PASSWORD, Some(&earlier)).await;
    assert_eq!(again.status(), 303);
    let (cookie, _) = set_cookie(&again, "__Host-c2s_session").expect("session cookie");
    assert_eq!(
        get(base, "/console", &earlier).await.status(),
        303,
        "a login ends the browser's earlier session"
    );
    let overview = get(base, "/console", &cookie).await;
    assert_eq!(overview.status(), 200);
    let csp = overview.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    let html = overview.text().await.expect("html");
    assert!(html.contains("Visão geral") && html.contains("leads recebidos"));
    assert!(html.contains("<html lang=\"pt-BR\">"));
    // The list, searched.
    let list = get(
        base,
        &format!("/console/leads?lead={}&outcome=enriched", &lead.id[..8]),
        &cookie,
    )
    .await;
    assert_eq!(list.status(), 200);
    let html = list.text().await.expect("html");
    assert!(html.contains(&lead.id), "the lead is listed");
    assert!(html.contains("<label for=\"seller\">"), "labelled fields");
    let none = get(
        base,
        "/console/leads?seller=ninguem-com-este-nome&outcome=&from=&to=",
        &cookie,
    )
    .await;
    assert_eq!(none.status(), 200, "empty fields are no filter");
    let html = none.text().await.expect("html");
    assert!(html.contains("0 lead(s)") && !html.contains(&lead.id));
    assert!(html.contains("Nenhum lead com estes filtros"));
    for bad in [
        "/console/leads?from=not-a-date",
        "/console/leads.csv?page=x",
    ] {
        let r = get(base, bad, &cookie).await;
        assert_eq!(
            r.status(),
            400,
            "a malformed filter is a clear error: {bad}"
        );
        assert!(r.text().await.expect("html").contains("Filtro inválido"));
    }
    let missing = get(base, "/console/nada-aqui", &cookie).await;
    assert_eq!(missing.status(), 404);
    assert!(missing
        .text()
        .await
        .expect("html")
        .contains("Página não encontrada"));
    // Log out: without the form's token refused; with it the session ends.
    let refused = client()
        .post(format!("{base}/console/logout"))
        .header(COOKIE, &cookie)
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 403);
    let token = csrf_in(
        &get(base, "/console", &cookie)
            .await
            .text()
            .await
            .expect("html"),
    );
    let out = client()
        .post(format!("{base}/console/logout"))
        .header(COOKIE, &cookie)
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(out.status(), 303);
    assert_eq!(
        get(base, "/console", &cookie).await.status(),
        303,
        "the session is over"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_lock_after_failures_are_throttled_and_sessions_expire() {
    let (_sim, test, _pipeline) = setup().await;
    let pool = &test.pool;
    console::add(pool, "caio", Role::Viewer, PASSWORD)
        .await
        .expect("user");
    console::add(pool, "duda", Role::Admin, PASSWORD)
        .await
        .expect("user");
    let served = serve_app(AppState::new(pool.clone())).await.expect("serve");
    let base = &served.base;
    // Idle for more than 30 minutes: over.
    let cookie = session(base, "duda").await;
    assert_eq!(get(base, "/console", &cookie).await.status(), 200);
    sqlx::query("UPDATE enrich.console_sessions SET last_seen_at = now() - interval '31 minutes'")
        .execute(pool)
        .await
        .expect("age");
    assert_eq!(get(base, "/console", &cookie).await.status(), 303);
    // A disabled user's session ends.
    let cookie = session(base, "duda").await;
    assert!(console::disable(pool, "duda").await.expect("disable"));
    assert_eq!(get(base, "/console", &cookie).await.status(), 303);
    // Five wrong passwords lock the account: the right one is refused too,
    // and reads as a wrong password (as an unknown name does).
    for _ in 0..5 {
        assert_eq!(
            login(base, "caio", "errada errada errada").await.status(),
            401
        );
    }
    let locked = login(base, "caio", PASSWORD).await;
    assert_eq!(locked.status(), 401);
    let locked_text = locked.text().await.expect("html");
    let unknown = login(base, "ninguem", PASSWORD)
        .await
        .text()
        .await
        .expect("html");
    let message = |html: &str| {
        html.split("role=\"alert\">")
            .nth(1)
            .map(|m| m.split('<').next().unwrap_or("").to_owned())
    };
    assert_eq!(
        message(&locked_text),
        message(&unknown),
        "locked and unknown read the same"
    );
    // A lock that ended starts the count again: one more mistake does not
    // lock at once.
    sqlx::query("UPDATE enrich.console_users SET locked_until = now() - interval '1 second' WHERE name = 'caio'")
        .execute(pool)
        .await
        .expect("expire");
    assert_eq!(login(base, "caio", "errada").await.status(), 401);
    let (failures, locked_until): (i32, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "SELECT failed_logins, locked_until FROM enrich.console_users WHERE name = 'caio'",
    )
    .fetch_one(pool)
    .await
    .expect("row");
    assert_eq!((failures, locked_until), (1, None));
    assert!(console::unlock(pool, "caio").await.expect("unlock"));
    // Attempts from one address are throttled (10 a minute).
    let mut throttled = false;
    for _ in 0..6 {
        if login(base, "ninguem", "x").await.status() == 429 {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "the 11th attempt in a minute is refused");
    let users = console::list(pool).await.expect("list");
    assert!(users
        .iter()
        .any(|u| u.name == "caio" && u.locked_until.is_none()));
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM enrich.console_users WHERE name = 'caio'")
            .fetch_one(pool)
            .await
            .expect("hash");
    assert!(hash.starts_with("$argon2id$") && !hash.contains(PASSWORD));
}

fn action_in(html: &str) -> String {
    let at = html
        .find("name=\"action\" value=\"")
        .expect("an action field")
        + 21;
    html[at..].split('"').next().expect("value").to_owned()
}

async fn post_form(
    base: &str,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client()
        .post(format!("{base}{path}"))
        .header(COOKIE, cookie)
        .form(form)
        .send()
        .await
        .expect("post")
}

/// A lead that failed, its enrichment job dead after its attempts.
pub(super) async fn dead_lead(pool: &sqlx::PgPool, lead: &str, key: &str) {
    sqlx::query("INSERT INTO enrich.leads (lead_id, state, step, last_error) VALUES ($1, 'failed', 'lead', 'provider: timeout')")
        .bind(lead)
        .execute(pool)
        .await
        .expect("lead");
    sqlx::query("INSERT INTO enrich.jobs (kind, job_key, lead_id, payload, state, attempts, max_attempts) VALUES ('enrich_lead', $2, $1, '{}'::jsonb, 'dead', 8, 8)")
        .bind(lead)
        .bind(key)
        .execute(pool)
        .await
        .expect("job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_masks_by_role_and_operators_retry_and_resend_once() {
    let (sim, test, pipeline) = setup().await;
    let lead = sim.state.first_lead(LeadKind::Owner).expect("owner");
    pipeline
        .process(&LeadId::parse(&lead.id).expect("id"))
        .await
        .expect("processed");
    let pool = &test.pool;
    // A lead that failed, its job dead.
    let failed = "fa11ed00000000000000000000000001";
    dead_lead(pool, failed, "k1").await;
    for (name, role) in [
        ("vi", Role::Viewer),
        ("op", Role::Operator),
        ("dpo", Role::Admin),
    ] {
        console::add(pool, name, role, PASSWORD)
            .await
            .expect("user");
    }
    let pipeline = std::sync::Arc::new(pipeline);
    let state = AppState {
        pipeline: Some(pipeline.clone()),
        ..AppState::new(pool.clone())
    };
    let served = serve_app(state).await.expect("serve");
    let base = &served.base;
    let posted = sim.state.journal().notes_for(&lead.id)[0].body.clone();
    let first_line = posted.lines().next().expect("line").to_owned();
    // A viewer: the story, no note text, no actions.
    let viewer = session(base, "vi").await;
    let html = get(base, &format!("/console/leads/{}", lead.id), &viewer)
        .await
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("Linha do tempo") && html.contains("Texto oculto"),
        "{html}"
    );
    assert!(!html.contains(&first_line) && !html.contains("Reenviar"));
    // Every provider call of the run was recorded as the lead's (the CNPJ
    // lookups of the note included), and the page sums them; the
    // resolution's candidates are listed with their CPFs masked.
    let (tagged, all, credits): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE lead_id = $1), count(*), coalesce(sum(credits) FILTER (WHERE lead_id = $1), 0)::bigint
           FROM enrich.provider_calls",
    )
    .bind(&lead.id)
    .fetch_one(pool)
    .await
    .expect("calls");
    assert!(
        tagged > 0 && tagged == all,
        "{tagged} of {all} calls tagged"
    );
    assert!(
        html.contains(&format!(
            "{tagged} chamada(s) a fornecedores, 0 resposta(s) do cache, {credits} crédito(s)"
        )),
        "{html}"
    );
    // The candidates are listed, their CPFs (even masked) only to admins.
    assert!(
        html.contains("Candidatos pesados") && !html.contains("***."),
        "{html}"
    );
    // The reports are for administrators (an operator's `enrich` is not enough).
    let operator = session(base, "op").await;
    for path in ["/console/quality", "/console/requests"] {
        assert_eq!(get(base, path, &viewer).await.status(), 403, "{path}");
        assert_eq!(get(base, path, &operator).await.status(), 403, "{path}");
    }
    let token = csrf_in(&html);
    let r = post_form(
        base,
        &format!("/console/leads/{failed}/retry"),
        &viewer,
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(r.status(), 403);
    // An admin sees the note as posted; the view is audited.
    let admin = session(base, "dpo").await;
    let html = get(base, &format!("/console/leads/{}", lead.id), &admin)
        .await
        .text()
        .await
        .expect("html");
    assert!(
        html.contains(&maud::html! { (first_line) }.into_string()),
        "the note's text"
    );
    assert!(
        html.contains("<code>***."),
        "an admin sees the candidates' masked CPFs"
    );
    assert!(
        html.contains("lead registrado no serviço")
            && html.contains("processamento concluído: enriquecido, nota publicada"),
        "the run's start and end on the timeline"
    );
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM enrich.pii_access_audit WHERE key_name = 'console:dpo' AND query_kind = 'lead'")
        .fetch_one(pool)
        .await
        .expect("audit");
    assert_eq!(audited, 1);
    // An operator retries the failed lead: once queued, a second click does nothing.
    let op = session(base, "op").await;
    let html = get(base, &format!("/console/leads/{failed}"), &op)
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("Processar de novo"));
    assert!(
        html.contains("(enrich_lead) morta, 8 de 8 tentativas")
            && html.contains("provider (detalhe só para administradores)")
            && !html.contains("provider: timeout"),
        "the dead job in Portuguese, its error cut to its kind: {html}"
    );
    let token = csrf_in(&html);
    assert_eq!(
        post_form(base, &format!("/console/leads/{failed}/retry"), &op, &[])
            .await
            .status(),
        403,
        "no token"
    );
    for answer in ["voltou para a fila", "já está na fila"] {
        let r = post_form(
            base,
            &format!("/console/leads/{failed}/retry"),
            &op,
            &[("csrf", &token)],
        )
        .await;
        assert!(r.text().await.expect("html").contains(answer), "{answer}");
    }
    let queued: String = sqlx::query_scalar("SELECT state FROM enrich.jobs WHERE lead_id = $1")
        .bind(failed)
        .fetch_one(pool)
        .await
        .expect("job");
    assert_eq!(queued, "queued");
    // The note re-sent once per confirmation.
    let confirm = get(base, &format!("/console/leads/{}/resend", lead.id), &op)
        .await
        .text()
        .await
        .expect("html");
    let action = action_in(&confirm);
    let path = format!("/console/leads/{}/resend", lead.id);
    let sent = post_form(base, &path, &op, &[("csrf", &token), ("action", &action)]).await;
    assert!(sent.text().await.expect("html").contains("Nota reenviada"));
    let twice = post_form(base, &path, &op, &[("csrf", &token), ("action", &action)]).await;
    assert!(twice.text().await.expect("html").contains("Nada foi feito"));
    assert_eq!(
        sim.state.journal().notes_for(&lead.id).len(),
        2,
        "posted once more, not twice"
    );
    let actions: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT action, outcome FROM enrich.console_actions ORDER BY id")
            .fetch_all(pool)
            .await
            .expect("actions");
    assert_eq!(
        actions,
        vec![
            ("retry".to_owned(), Some("requeued".to_owned())),
            ("resend_note".to_owned(), Some("sent".to_owned()))
        ]
    );
    // The list as CSV, for any role.
    let csv = get(base, "/console/leads.csv?outcome=enriched", &viewer).await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .expect("type")
        .starts_with("text/csv"));
    let body = csv.text().await.expect("csv");
    assert!(body.starts_with("lead_id,recebido_em,"));
    assert!(body.contains(&lead.id) && !body.contains(failed));
}
