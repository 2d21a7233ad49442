//! The leads list: lead ids, dates, states and sellers — no customer's
//! personal data.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use maud::{html, Markup};

use super::session::{page, unavailable, user};
use super::words;
use crate::http::state::AppState;
use crate::store::console_leads::{self, Filter, PAGE};

/// Brasília time (no daylight saving since 2019).
pub(super) fn when(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::pipeline::listing::brasilia())
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

fn options(name: &str, label: &str, current: Option<&str>, values: &[(&str, &str)]) -> Markup {
    html! {
        label for=(name) { (label)
            select id=(name) name=(name) {
                option value="" { "todos" }
                @for (v, text) in values {
                    option value=(v) selected[current == Some(*v)] { (text) }
                }
            }
        }
    }
}

fn query_of(f: &Filter, page: i64) -> String {
    let mut q = url_pairs(f);
    q.push(("page".into(), page.to_string()));
    q.iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn url_pairs(f: &Filter) -> Vec<(String, String)> {
    let mut q = Vec::new();
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            q.push((k.to_owned(), v));
        }
    };
    push("lead", f.lead.clone());
    push("seller", f.seller.clone());
    push("from", f.from.map(|d| d.to_string()));
    push("to", f.to.map(|d| d.to_string()));
    push("outcome", f.outcome.clone());
    push("tier", f.tier.clone());
    push("confidence", f.confidence.clone());
    q
}

fn percent(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Quick date ranges (São Paulo days), the other filters kept.
fn presets(f: &Filter) -> Markup {
    let today = Utc::now()
        .with_timezone(&crate::pipeline::listing::brasilia())
        .date_naive();
    let range = |days: i64| Filter {
        from: Some(today - chrono::Days::new(u64::try_from(days).unwrap_or(0))),
        to: Some(today),
        page: None,
        ..f.clone()
    };
    html! {
        nav.presets aria-label="Períodos" {
            @for (label, days) in [("Hoje", 0), ("7 dias", 6), ("30 dias", 29)] {
                a href={ "/console/leads?" (query_of(&range(days), 1)) } { (label) }
            }
        }
        p.presets {
            a href="/console/leads?outcome=failed" { "Só os que falharam" }
            a href="/console/leads" { "Limpar os filtros" }
        }
    }
}

/// The page for a filter the form would never send (a malformed date or
/// page number typed into the address).
fn bad_filter(u: &crate::store::console::SessionUser) -> Response {
    super::session::page_status(
        axum::http::StatusCode::BAD_REQUEST,
        "Filtro inválido",
        Some(u),
        html! {
            p.error { "Os filtros deste endereço não puderam ser lidos: datas no formato AAAA-MM-DD, página a partir de 1." }
            a href="/console/leads" { "Voltar à lista sem filtros" }
        },
    )
}

/// The session's user and the list's filter (normalised), or the page to
/// answer instead (login, or a filter that cannot be read).
pub(super) async fn filtered(
    state: &AppState,
    headers: &HeaderMap,
    filter: Result<Query<Filter>, QueryRejection>,
) -> Result<(crate::store::console::SessionUser, Filter), Response> {
    let u = user(state, headers).await?;
    match filter {
        Ok(Query(f)) => Ok((u, f.normalised())),
        Err(_) => Err(bad_filter(&u)),
    }
}

/// `GET /console/leads`: search and pages.
pub(super) async fn leads(
    State(state): State<AppState>,
    headers: HeaderMap,
    filter: Result<Query<Filter>, QueryRejection>,
) -> Response {
    let (u, f) = match filtered(&state, &headers, filter).await {
        Ok(uf) => uf,
        Err(r) => return r,
    };
    let (rows, total) = match console_leads::search(&state.pool, &f, PAGE).await {
        Ok(r) => r,
        Err(e) => return unavailable(Some(&u), &e),
    };
    let page_no = f.page();
    let pages = (total + PAGE - 1) / PAGE;
    page(
        "Leads",
        Some(&u),
        html! {
            (presets(&f))
            form.filters method="get" action="/console/leads" role="search" {
                label for="lead" { "Lead (id)" input id="lead" name="lead" type="search" value=[f.lead.as_deref()]; }
                label for="seller" { "Corretor" input id="seller" name="seller" type="search" value=[f.seller.as_deref()]; }
                label for="from" { "De" input id="from" name="from" type="date" value=[f.from.map(|d| d.to_string())]; }
                label for="to" { "Até" input id="to" name="to" type="date" value=[f.to.map(|d| d.to_string())]; }
                (options("outcome", "Resultado", f.outcome.as_deref(), &["enriched", "nobody_found", "failed", "in_progress"].map(|c| (c, words::outcome(c)))))
                (options("tier", "Perfil", f.tier.as_deref(), &[("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")]))
                (options("confidence", "Identidade", f.confidence.as_deref(), &["confirmed", "probable", "none"].map(|c| (c, words::confidence(c)))))
                button type="submit" { "Buscar" }
            }
            p { (total) " lead(s)" @if pages > 1 { " — página " (page_no) " de " (pages) }
            " — " a href={ "/console/leads.csv?" (query_of(&f, 1)) } { "exportar CSV" } " (até 10 000 linhas)" }
            @if rows.is_empty() {
                @if page_no > pages && total > 0 {
                    p { "Esta página não existe. " a href={ "/console/leads?" (query_of(&f, 1)) } { "Ir à primeira página" } }
                } @else { p.muted { "Nenhum lead com estes filtros." } }
            } @else { table {
                caption.muted { "Leads encontrados, os mais recentes primeiro" }
                thead { tr { th scope="col" { "Lead" } th scope="col" { "Recebido" } th scope="col" { "Situação" } th scope="col" { "Resultado" }
                             th scope="col" { "Identidade" } th scope="col" { "Perfil" } th scope="col" { "Nota" } th scope="col" { "Corretor" } } }
                tbody { @for r in &rows {
                    tr { td { a href={ "/console/leads/" (r.lead_id) } { code { (r.lead_id) } } } td { (when(r.created_at)) } td { (words::state(&r.state)) } td { (r.outcome.as_deref().map_or("—", words::outcome)) }
                         td { (r.confidence.as_deref().map_or("—", words::confidence)) } td { (r.tier.as_deref().unwrap_or("—")) }
                         td { (words::note_status(&r.note_status)) } td { (r.seller_name.as_deref().unwrap_or("—")) } }
                } }
            } }
            nav.pages aria-label="Páginas" {
                @if page_no > 1 { a href={ "/console/leads?" (query_of(&f, page_no - 1)) } { "Página anterior" } }
                @if page_no < pages { a href={ "/console/leads?" (query_of(&f, page_no + 1)) } { "Próxima página" } }
            }
        },
    )
}
