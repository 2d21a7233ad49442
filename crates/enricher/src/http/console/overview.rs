//! The console's overview: the last 24 hours, the identity-confidence mix,
//! the queue, the providers, and credits spent per day against the daily
//! budget as a chart drawn on the server (SVG, no script) with the same
//! figures as a table. Aggregates only.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{html, Markup};

use super::pages::when;
use super::session::{page, unavailable, user};
use crate::http::state::AppState;
use crate::store::console_figures::{self, DayCredits};

/// Days the credits chart covers.
const CHART_DAYS: i32 = 30;

fn card(label: &str, value: impl std::fmt::Display) -> Markup {
    html! { div.card { div.n { (value) } div.l { (label) } } }
}

fn share(s: Option<f64>) -> String {
    s.map_or_else(|| "—".to_owned(), |v| format!("{:.0} %", v * 100.0))
}

/// `GET /console`: today's figures, the identity-confidence mix, the
/// queue, the providers, credits by day against the budgets.
pub(super) async fn overview(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let u = match user(&state, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let s = match crate::http::status::cached(&state).await {
        Ok(s) => s,
        Err(e) => return unavailable(Some(&u), &e),
    };
    let (mix, days) = match tokio::try_join!(
        console_figures::confidence_mix(&state.pool),
        console_figures::credits_by_day(&state.pool, CHART_DAYS)
    ) {
        Ok(f) => f,
        Err(e) => return unavailable(Some(&u), &e),
    };
    // Every provider's daily budget, summed (the chart shows all providers).
    let daily_budget: i64 = s
        .budgets
        .iter()
        .filter(|b| b.period == "day")
        .map(|b| b.budget)
        .sum();
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
            h2 { "Confiança na identidade (24 h)" }
            div.cards {
                (card("pessoas confirmadas", mix.confirmed))
                (card("pessoas prováveis", mix.probable))
                (card("sem grau (CPF do formulário ou manual)", mix.ungraded))
            }
            h2 { "Fila" } p { a href="/console/leads?outcome=failed" { "Ver os leads que falharam" } }
            div.cards {
                (card("prontos", s.queue.ready))
                (card("agendados", s.queue.scheduled))
                (card("executando", s.queue.running))
                (card("mortos", s.queue.dead))
                (card("espera do mais antigo (s)", format!("{:.0}", s.queue.oldest_ready_seconds)))
            }
            (providers(&s.providers))
            h2 { "Créditos e orçamentos" }
            (chart(&days, daily_budget, &s.budgets.iter().filter(|b| b.period == "day").map(|b| b.provider.as_str()).collect::<Vec<_>>()))
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

/// The providers' last 24 hours and whether each is paused.
fn providers(list: &[crate::store::rollups::ProviderHealth]) -> Markup {
    html! {
            h2 { "Fornecedores (24 h)" }
            table {
                thead { tr { th scope="col" { "Fornecedor" } th scope="col" { "Chamadas" } th scope="col" { "Erros" }
                             th scope="col" { "Do cache" } th scope="col" { "Créditos" } th scope="col" { "Situação" } } }
                tbody { @for p in list {
                    tr { td { (p.provider) } td { (p.calls) } td { (p.errors) } td { (p.cache_hits) } td { (p.credits) }
                         td { @if p.paused { strong.error { "pausado" } } @else { "ativo" } } }
                } }
            }
    }
}

/// Credits per day, all providers, as bars (a dashed line at the sum of the
/// daily budgets, naming the providers that have one), then the figures as a
/// table for those who do not see the chart.
fn chart(days: &[DayCredits], daily_budget: i64, budgeted: &[&str]) -> Markup {
    const W: i64 = 720;
    const H: i64 = 160;
    let top = days
        .iter()
        .map(|d| d.credits)
        .max()
        .unwrap_or(0)
        .max(daily_budget)
        .max(1);
    let n = i64::try_from(days.len()).unwrap_or(1).max(1);
    let step = W / n;
    let y = |v: i64| H - v * (H - 10) / top;
    let total: i64 = days.iter().map(|d| d.credits).sum();
    let label = format!(
        "Créditos gastos por dia nos últimos {} dias: {total} no total{}",
        days.len(),
        if daily_budget > 0 {
            format!(
                "; linha tracejada: orçamento diário de {daily_budget} ({})",
                budgeted.join(", ")
            )
        } else {
            String::new()
        }
    );
    html! {
        figure.chart {
            svg id="credits-chart" viewBox={ "0 0 " (W) " " (H + 20) } width="100%" role="img" aria-labelledby="credits-caption" data-days=(days.len()) {
                @for (i, d) in days.iter().enumerate() {
                    @let x = i64::try_from(i).unwrap_or(0) * step;
                    rect x=(x + 1) y=(y(d.credits)) width=(step - 2) height=(H - y(d.credits)) fill="#0b4f9c" {
                        title { (d.day.format("%d/%m")) ": " (d.credits) " crédito(s)" }
                    }
                }
                @if daily_budget > 0 {
                    line.budget x1="0" x2=(W) y1=(y(daily_budget)) y2=(y(daily_budget)) stroke="#9c1b0b" stroke-width="2" stroke-dasharray="6 4" {}
                }
                line x1="0" x2=(W) y1=(H) y2=(H) stroke="#4a4a4a" {}
                @if let (Some(first), Some(last)) = (days.first(), days.last()) {
                    text x="0" y=(H + 16) font-size="12" fill="#1a1a1a" { (first.day.format("%d/%m")) }
                    text x=(W) y=(H + 16) font-size="12" fill="#1a1a1a" text-anchor="end" { (last.day.format("%d/%m")) }
                }
            }
            figcaption id="credits-caption" { (label) "; o topo do gráfico vale " (top) " crédito(s)." }
        }
        details {
            summary { "Os mesmos números em tabela" }
            table {
                thead { tr { th scope="col" { "Dia" } th scope="col" { "Chamadas pagas ou com erro" } th scope="col" { "Créditos" } } }
                tbody { @for d in days.iter().rev() {
                    tr { td { (d.day.format("%d/%m/%Y")) } td { (d.asked) } td { (d.credits) } }
                } }
            }
        }
    }
}
