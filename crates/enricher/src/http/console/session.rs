//! The console's sessions, forms and page layout.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup, DOCTYPE};

use crate::http::state::AppState;
use crate::store::console::SessionUser;

/// The session cookie.
pub(super) const SESSION_COOKIE: &str = "__Host-c2s_session";
/// The login form's own token (double-submitted: cookie and field).
pub(super) const LOGIN_COOKIE: &str = "__Host-c2s_login";

pub(super) const CSS: &str = include_str!("console.css");

/// A cookie's value from the request.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` (`__Host-` names: this host only, `Path=/`, `Secure` — no
/// sibling domain can plant one); `max_age` 0 removes it, `None` lasts the
/// browser session.
pub(super) fn set_cookie(name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let age = max_age
        .map(|a| format!("; Max-Age={a}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; Secure; SameSite=Strict{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=1; Max-Age=0"))
}

/// Equal, in time that does not depend on where they differ.
pub(super) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The session's user, or the way to the login page.
pub(super) async fn user(state: &AppState, headers: &HeaderMap) -> Result<SessionUser, Response> {
    let to_login = || Redirect::to("/console/login").into_response();
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Err(to_login());
    };
    match crate::store::console::session(&state.pool, &state.console.policy, token).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(to_login()),
        Err(e) => Err(unavailable(None, &e)),
    }
}

/// The page for a database that did not answer (the error logged, not shown).
pub(super) fn unavailable(user: Option<&SessionUser>, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "a console page failed");
    page_status(
        StatusCode::SERVICE_UNAVAILABLE,
        "Indisponível",
        user,
        html! {
            p.error { "O banco de dados não respondeu. Tente de novo em instantes." }
        },
    )
}

/// The user of a form's session, its token checked: the prelude of every
/// console `POST`.
pub(super) async fn form_user(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<SessionUser, Response> {
    let u = user(state, headers).await?;
    match refused_form(&u, csrf) {
        Some(refused) => Err(refused),
        None => Ok(u),
    }
}

/// A form of this session carries the session's token; `Some`: the refusal
/// of one that does not.
fn refused_form(user: &SessionUser, given: &str) -> Option<Response> {
    (!same(&user.csrf, given)).then(|| {
        page_status(
            StatusCode::FORBIDDEN,
            "Formulário recusado",
            Some(user),
            html! {
                p.error { "Este formulário não veio desta sessão (token ausente ou inválido). Recarregue a página e tente de novo." }
            },
        )
    })
}

/// A console page: the layout, the navigation, the strict policy (no
/// script, styles from this server, forms to this server only).
pub(super) fn page(title: &str, user: Option<&SessionUser>, body: Markup) -> Response {
    page_status(StatusCode::OK, title, user, body)
}

pub(super) fn page_status(
    status: StatusCode,
    title: &str,
    user: Option<&SessionUser>,
    body: Markup,
) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="pt-BR" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — c2s-enrich" }
                link rel="stylesheet" href="/console/assets/console.css";
                link rel="icon" type="image/svg+xml" href="/console/assets/icon.svg";
            }
            body {
                a.skip href="#conteudo" { "Pular para o conteúdo" }
                header {
                    strong { "c2s-enrich" }
                    @if let Some(u) = user {
                        nav aria-label="Principal" {
                            a href="/console" { "Visão geral" }
                            a href="/console/leads" { "Leads" }
                            @if u.role.can("admin") {
                                a href="/console/quality" { "Qualidade" }
                                a href="/console/requests" { "Pedidos de titulares" }
                            }
                        }
                        span { (u.name) " (" (role_name(u.role)) ")" }
                        form method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(u.csrf);
                            button.link type="submit" { "Sair" }
                        }
                    }
                }
                main id="conteudo" tabindex="-1" { h1 { (title) } (body) }
            }
        }
    };
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'",
                ),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        markup.into_string(),
    )
        .into_response()
}

fn role_name(r: crate::store::console::Role) -> &'static str {
    use crate::store::console::Role;
    match r {
        Role::Viewer => "leitura",
        Role::Operator => "operador",
        Role::Admin => "administrador",
    }
}
