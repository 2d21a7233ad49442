//! The overview and the leads list: aggregates and lead ids, dates, states
//! and sellers — no customer's personal data.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use maud::{html, Markup};

use super::session::{page, unavailable, user};
use crate::http::state::AppState;
use crate::store::console_leads::{self, Filter, PAGE};

/// Brasília time (no daylight saving since 2019).
fn when(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::pipeline::listing::brasilia())
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

fn card(label: &str, value: impl std::fmt::Display) -> Markup {
    html! { div.card { div.n { (value) } div.l { (label) } } }
}

fn share(s: Option<f64>) -> String {
    s.map_or_else(|| "—".to_owned(), |v| format!("{:.0} %", v * 100.0))
}

/// `GET /console`: today's figures, the queue, the providers, the budgets.
pub(super) async fn overview(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let u = match user(&state, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let s = match crate::http::status::collect(&state).await {
        Ok(s) => s,
        Err(e) => return unavailable(Some(&u), &e),
    };
    let t = &s.last_24h;
    page(
        "Visão geral",
        Some(&u),
        html! {
            p.muted { "Últimas 24 horas; atualizado em " (when(s.generated_at)) " (horário de Brasília)." }
            div.cards {
                (card("leads recebidos", t.received))
                (card("enriquecidos", t.enriched))
                (card("ninguém encontrado", t.nobody_found))
                (card("falharam", t.failed))
                (card("em andamento", t.in_progress))
                (card("taxa de sucesso", share(t.success_share)))
            }
            h2 { "Fila" }
            div.cards {
                (card("prontos", s.queue.ready))
                (card("agendados", s.queue.scheduled))
                (card("executando", s.queue.running))
                (card("mortos", s.queue.dead))
                (card("espera do mais antigo (s)", format!("{:.0}", s.queue.oldest_ready_seconds)))
            }
            h2 { "Fornecedores (24 h)" }
            table {
                thead { tr { th scope="col" { "Fornecedor" } th scope="col" { "Chamadas" } th scope="col" { "Erros" }
                             th scope="col" { "Do cache" } th scope="col" { "Créditos" } th scope="col" { "Situação" } } }
                tbody { @for p in &s.providers {
                    tr { td { (p.provider) } td { (p.calls) } td { (p.errors) } td { (p.cache_hits) } td { (p.credits) }
                         td { @if p.paused { strong.error { "pausado" } } @else { "ativo" } } }
                } }
            }
            h2 { "Créditos e orçamentos" }
            @if s.budgets.is_empty() { p.muted { "Nenhum orçamento configurado." } } @else {
                table {
                    thead { tr { th scope="col" { "Fornecedor" } th scope="col" { "Período" } th scope="col" { "Gasto" } th scope="col" { "Orçamento" } } }
                    tbody { @for b in &s.budgets {
                        tr { td { (b.provider) } td { (if b.period == "day" { "dia" } else { "mês" }) " desde " (b.starts.format("%d/%m/%Y")) }
                             td { (b.spent) } td { (b.budget) } }
                    } }
                }
            }
        },
    )
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

/// `GET /console/leads`: search and pages.
pub(super) async fn leads(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(f): Query<Filter>,
) -> Response {
    let u = match user(&state, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let f = f.normalised();
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
            form.filters method="get" action="/console/leads" role="search" {
                label for="lead" { "Lead (id)" input id="lead" name="lead" type="search" value=[f.lead.as_deref()]; }
                label for="seller" { "Corretor" input id="seller" name="seller" type="search" value=[f.seller.as_deref()]; }
                label for="from" { "De" input id="from" name="from" type="date" value=[f.from.map(|d| d.to_string())]; }
                label for="to" { "Até" input id="to" name="to" type="date" value=[f.to.map(|d| d.to_string())]; }
                (options("outcome", "Resultado", f.outcome.as_deref(), &[("enriched", "enriquecido"), ("nobody_found", "ninguém encontrado"), ("failed", "falhou"), ("in_progress", "em andamento")]))
                (options("tier", "Perfil", f.tier.as_deref(), &[("A", "A"), ("B", "B"), ("C", "C")]))
                (options("confidence", "Identidade", f.confidence.as_deref(), &[("confirmed", "confirmada"), ("probable", "provável"), ("none", "nenhuma")]))
                button type="submit" { "Buscar" }
            }
            p { (total) " lead(s)" @if pages > 1 { " — página " (page_no) " de " (pages) }
            " — " a href={ "/console/leads.csv?" (query_of(&f, 1)) } { "exportar CSV" } }
            table {
                caption.muted { "Mais recentes primeiro" }
                thead { tr { th scope="col" { "Lead" } th scope="col" { "Recebido" } th scope="col" { "Situação" } th scope="col" { "Resultado" }
                             th scope="col" { "Identidade" } th scope="col" { "Perfil" } th scope="col" { "Nota" } th scope="col" { "Corretor" } } }
                tbody { @for r in &rows {
                    tr { td { a href={ "/console/leads/" (r.lead_id) } { code { (r.lead_id) } } } td { (when(r.created_at)) } td { (r.state) } td { (r.outcome.as_deref().unwrap_or("—")) }
                         td { (r.confidence.as_deref().unwrap_or("—")) } td { (r.tier.as_deref().unwrap_or("—")) }
                         td { (r.note_status) } td { (r.seller_name.as_deref().unwrap_or("—")) } }
                } }
            }
            nav.pages aria-label="Páginas" {
                @if page_no > 1 { a href={ "/console/leads?" (query_of(&f, page_no - 1)) } { "← anterior" } }
                @if page_no < pages { a href={ "/console/leads?" (query_of(&f, page_no + 1)) } { "próxima →" } }
            }
        },
    )
}
