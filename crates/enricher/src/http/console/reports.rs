//! The data-quality report and the register of data subject requests, for
//! administrators (the API's `admin` scope). Counts, rule names, request
//! kinds and deadlines — no customer's personal data.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;

use super::pages::when;
use super::session::{page, page_status, unavailable, user};
use crate::http::state::AppState;
use crate::store::console::SessionUser;

/// The session's user when an administrator, else the refusal.
async fn admin(state: &AppState, headers: &HeaderMap) -> Result<SessionUser, Response> {
    let u = user(state, headers).await?;
    if u.role.can("admin") {
        return Ok(u);
    }
    Err(page_status(
        StatusCode::FORBIDDEN,
        "Sem permissão",
        Some(&u),
        html! { p.error { "Esta página é só para administradores." } },
    ))
}

fn mb(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_048_576.0)
}

/// `GET /console/quality`: `c2s-enrich dq`, at most five minutes old
/// (shared with the status page's checks).
pub(super) async fn quality(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let u = match admin(&state, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let (at, r) = match crate::http::status::quality_report(&state).await {
        Ok(r) => r,
        Err(e) => return unavailable(Some(&u), &e),
    };
    let e = &r.enrichment;
    let a = &r.address_confidence;
    page(
        "Qualidade dos dados",
        Some(&u),
        html! {
            p.muted { "Verificado em " (when(at)) " (refeito no máximo a cada 5 minutos; "
                code { "c2s-enrich dq" } " verifica na hora)." }
            @if r.passed() { p role="status" { "Todas as regras obrigatórias passam." } }
            @else { p.error role="status" { "Há regras obrigatórias violadas." } }
            table {
                caption.muted { "Regras obrigatórias (DATABASE.md)" }
                thead { tr { th scope="col" { "Regra" } th scope="col" { "Violações" } th scope="col" { "Situação" } } }
                tbody { @for c in &r.checks {
                    tr { td { (c.name) } td { (c.violations) }
                         td { @if c.passed { "ok" } @else { strong.error { "violada" } } } }
                } }
            }
            h2 { "Enriquecimento" }
            dl {
                dt { "Pessoas" } dd { (e.entities) }
                dt { "Enriquecidas" } dd { (e.enriched) " (" (format!("{:.1} %", e.enriched_share * 100.0)) ")" }
                dt { "Enriquecidas com lead" } dd { (e.enriched_with_lead_id) }
                dt { "Último enriquecimento" } dd { (e.last_enriched_at.map_or_else(|| "—".to_owned(), when)) }
                dt { "Registros órfãos" } dd { (r.orphans) }
            }
            h2 { "Confiança dos endereços" }
            dl {
                dt { "Vínculos" } dd { (a.links) " (" (a.with_score) " com nota, " (a.reliable) " confiáveis)" }
                dt { "Média / mínimo / máximo" }
                dd { (a.avg.map_or_else(|| "—".to_owned(), |v| format!("{v:.2}"))) " / "
                     (a.min.map_or_else(|| "—".to_owned(), |v| format!("{v:.2}"))) " / "
                     (a.max.map_or_else(|| "—".to_owned(), |v| format!("{v:.2}"))) }
            }
            h2 { "Tabelas" }
            table {
                thead { tr { th scope="col" { "Tabela" } th scope="col" { "Linhas (estim.)" } th scope="col" { "Dados" }
                             th scope="col" { "Índices" } th scope="col" { "Tuplas mortas" } } }
                tbody { @for t in &r.tables {
                    tr { td { code { (t.table) } } td { (t.rows_estimate) } td { (mb(t.table_bytes)) } td { (mb(t.index_bytes)) }
                         td { (format!("{:.1} %", t.dead_tuple_ratio * 100.0)) } }
                } }
            }
        },
    )
}

fn kind_name(kind: &str) -> &str {
    match kind {
        "access" => "acesso",
        "correction" => "correção",
        "block" => "oposição",
        "unblock" => "fim da oposição",
        "erasure" => "eliminação",
        other => other,
    }
}

/// `GET /console/requests`: the register of data subject requests (LGPD
/// art. 18), open ones past their deadline first, a thousand at most.
pub(super) async fn requests(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let u = match admin(&state, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let (rows, open, overdue) = match crate::store::subjects::register(&state.pool, 1000).await {
        Ok(r) => r,
        Err(e) => return unavailable(Some(&u), &e),
    };
    let now = chrono::Utc::now();
    page(
        "Pedidos de titulares",
        Some(&u),
        html! {
            p role="status" { (open) " aberto(s), "
                @if overdue > 0 { strong.error { (overdue) " atrasado(s)" } } @else { "nenhum atrasado" }
                ". Prazo: 15 dias (LGPD art. 19). Registrados por " code { "c2s-enrich subject" } " e pela API." }
            @if rows.is_empty() { p.muted { "Nenhum pedido registrado." } } @else { table {
                thead { tr { th scope="col" { "Nº" } th scope="col" { "Pedido" } th scope="col" { "Identificado por" } th scope="col" { "Recebido" }
                             th scope="col" { "Prazo" } th scope="col" { "Situação" } th scope="col" { "Por" } th scope="col" { "Concluído" } } }
                tbody { @for r in &rows {
                    tr { td { (r.id) } td { (kind_name(&r.kind)) } td { (match r.identifier_kind.as_str() { "cpf" => "CPF", "phone" => "telefone", "email" => "e-mail", k => k }) } td { (when(r.received_at)) }
                         td { @if r.overdue(now) { strong.error { (when(r.deadline)) " — atrasado" } } @else { (when(r.deadline)) } }
                         td { (match r.status.as_str() { "open" => "aberto", "done" => "atendido", "refused" => "recusado", s => s }) }
                         td { (r.acted_by.as_deref().unwrap_or("—")) } td { (r.completed_at.map_or_else(|| "—".to_owned(), when)) } }
                } }
            } }
        },
    )
}
