//! Logging in and out. The login form is protected by its own token, sent
//! both as a cookie and as a field (a page elsewhere cannot log a browser
//! into an account of its choosing); attempts are throttled per client
//! address; a wrong name and a wrong password read the same.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;

use super::session::{cookie, page_status, same, set_cookie, user, LOGIN_COOKIE, SESSION_COOKIE};
use crate::http::context::CLIENT_IP;
use crate::http::state::AppState;
use crate::store::console::{self, Login};

/// The login form's fields.
#[derive(Debug, serde::Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// A form's token only (logout and the other actions).
#[derive(Debug, serde::Deserialize)]
pub(super) struct TokenForm {
    #[serde(default)]
    pub csrf: String,
}

/// The login page; `name`: the name typed in a refused attempt, kept in its
/// field (the password field then has the focus).
fn login_page(status: StatusCode, message: Option<&str>, name: Option<&str>) -> Response {
    let name = name.map(|n| n.chars().take(64).collect::<String>());
    let token = console::random_token();
    let mut response = page_status(
        status,
        "Entrar",
        None,
        html! {
            @if let Some(m) = message { p.error role="alert" { (m) } }
            form.login method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(token);
                label for="name" { "Usuário"
                    input id="name" name="name" type="text" autocomplete="username" required autofocus[name.is_none()] value=[name.as_deref()];
                }
                label for="password" { "Senha"
                    input id="password" name="password" type="password" autocomplete="current-password" required autofocus[name.is_some()];
                }
                button type="submit" { "Entrar" }
            }
        },
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, &token, Some(1800)),
    );
    response
}

/// Whose attempts count together: an IPv4 address, or an IPv6 /64 (one
/// host's usual allocation).
fn address_bucket(client: &str) -> String {
    match client.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => client.to_owned(),
    }
}

/// `GET /console/login`.
pub(super) async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if user(&state, &headers).await.is_ok() {
        return Redirect::to("/console").into_response();
    }
    login_page(StatusCode::OK, None, None)
}

/// `POST /console/login`.
pub(super) async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same(expected, &f.csrf) {
        return login_page(
            StatusCode::FORBIDDEN,
            Some("O formulário expirou. Tente de novo."),
            None,
        );
    }
    let client = headers
        .get(CLIENT_IP)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_owned();
    let bucket = format!("console-login:{}", address_bucket(&client));
    if state.console.logins.check(&bucket).is_err()
        || state.console.all_logins.check("console-login").is_err()
    {
        crate::metrics::METRICS.auth_failure("console_throttled");
        return login_page(
            StatusCode::TOO_MANY_REQUESTS,
            Some("Muitas tentativas. Aguarde um minuto."),
            Some(f.name.trim()),
        );
    }
    let name = f.name.trim().to_lowercase();
    match console::login(&state.pool, &state.console.policy, &name, &f.password).await {
        Ok(Login::Ok { token, user }) => {
            tracing::info!(user = %user.name, role = user.role.as_str(), "console login");
            // A session this browser had before ends (no session survives a
            // login, whoever set its cookie).
            if let Some(old) = cookie(&headers, SESSION_COOKIE) {
                if let Err(e) = console::logout(&state.pool, old).await {
                    tracing::warn!(error = %e, "ending the earlier console session failed");
                }
            }
            let mut r = Redirect::to("/console").into_response();
            let h = r.headers_mut();
            h.append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &token, None));
            h.append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, "", Some(0)));
            r
        }
        Ok(Login::Refused) => {
            crate::metrics::METRICS.auth_failure("console_login");
            login_page(
                StatusCode::UNAUTHORIZED,
                Some("Usuário ou senha inválidos — ou a conta está bloqueada por 15 minutos após tentativas erradas."),
                Some(f.name.trim()),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "console login failed");
            login_page(
                StatusCode::SERVICE_UNAVAILABLE,
                Some("O banco de dados não respondeu. Tente de novo."),
                Some(f.name.trim()),
            )
        }
    }
}

/// `POST /console/logout`.
pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<TokenForm>,
) -> Response {
    if let Err(r) = super::session::form_user(&state, &headers, &f.csrf).await {
        return r;
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        if let Err(e) = console::logout(&state.pool, token).await {
            tracing::error!(error = %e, "console logout failed");
        }
    }
    let mut r = Redirect::to("/console/login").into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", Some(0)));
    r
}
