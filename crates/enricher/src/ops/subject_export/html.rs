//! The export as a page the person can read (Portuguese; prints to PDF from
//! any browser): every item with its origin, dates, purpose, legal basis and
//! retention, as in the JSON. Rendered with `maud`, which escapes every
//! value: text from providers and leads can never become markup.

use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};
use serde_json::Value;

use super::model::{Export, Item, Why};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:2px solid #ddd}h3{font-size:1.05rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #ccc;padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}pre{white-space:pre-wrap;background:#f7f7f7;padding:.6rem;border:1px solid #ddd}
.muted{color:#555}@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}";

/// Brasília time (no daylight saving since 2019).
fn when(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::pipeline::listing::brasilia())
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

fn maybe(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "—".to_owned(), when)
}

fn value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "sim".into(),
        Value::Bool(false) => "não".into(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

fn basis(w: &Why) -> Markup {
    html! { a href={ "#" (w.purpose) } { (w.legal_basis) } }
}

fn items_table(items: &[&Item]) -> Markup {
    html! {
        table {
            thead { tr { th { "Dado" } th { "Valor" } th { "Origem" } th { "Obtido em" } th { "Atualizado em" }
                         th { "Base legal (finalidade)" } th { "Guardado até" } } }
            tbody {
                @for i in items {
                    tr { td { (i.label) } td { (value(&i.value)) } td { (i.origin) } td { (maybe(i.obtained_at)) }
                         td { (maybe(i.updated_at)) } td { (basis(&i.why)) } td { (i.kept_until) } }
                }
            }
        }
    }
}

/// The page.
pub fn render(e: &Export) -> String {
    let mut categories: Vec<&str> = e.items.iter().map(|i| i.category).collect();
    categories.dedup();
    let c = &e.controller;
    html! {
        (DOCTYPE)
        html lang="pt-BR" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Seus dados pessoais — " (c.name) }
                style { (STYLE) }
            }
            body {
                h1 { "Seus dados pessoais na " (c.name) }
                p { "Resposta ao pedido de acesso nº " (e.request_id) ", gerada em " (when(e.generated_at))
                    " (horário de Brasília), conforme os artigos 18 e 19 da LGPD (Lei 13.709/2018)." }
                p { "Controlador: " (c.name) ". Encarregado (DPO): "
                    (if c.dpo.is_empty() { "não informado" } else { &c.dpo }) ". Contato: "
                    (if c.contact.is_empty() { "não informado" } else { &c.contact }) "." }
                @if !e.found {
                    p { strong { "Não guardamos nenhum dado pessoal ligado ao identificador informado." } }
                }
                h2 { "Dados que guardamos sobre você" }
                @if e.items.is_empty() { p.muted { "Nenhum." } }
                @for cat in &categories {
                    h3 { (cat) }
                    (items_table(&e.items.iter().filter(|i| i.category == *cat).collect::<Vec<_>>()))
                }
                (links(e))
                (leads(e))
                (shared(e))
                (records(e))
                (requests(e))
                h2 { "Finalidades e bases legais" }
                @for p in &e.purposes {
                    h3 id=(p.purpose) { (p.description) }
                    p { "Base legal: " (p.legal_basis) }
                }
                h2 { "Seus direitos" }
                p { "Você pode pedir a correção de dados errados, a oposição ao tratamento (bloqueio) ou a eliminação "
                    "dos seus dados, e a portabilidade deste relatório (a versão em JSON acompanha este documento). "
                    "Fale com o encarregado pelo contato acima." }
            }
        }
    }
    .into_string()
}

fn links(e: &Export) -> Markup {
    html! {
        h2 { "Parentes e empresas ligados a você" }
        p.muted { "Dados de outras pessoas aparecem só como vínculo, com nome e CPF mascarados." }
        @if e.listed_by_others > 0 {
            p { "Você aparece como parente no cadastro de " (e.listed_by_others) " outra(s) pessoa(s)." }
        }
        @if e.links.is_empty() { p.muted { "Nenhum." } } @else {
            table {
                thead { tr { th { "Vínculo" } th { "Quem" } th { "Documento" } th { "Origem" } th { "Desde" } th { "Base legal (finalidade)" } } }
                tbody { @for l in &e.links {
                    tr { td { (l.relation) @if let Some(r) = &l.role { " — " (r) } }
                         td { (l.who) } td { (l.national_id) } td { (l.origin) } td { (maybe(l.since)) } td { (basis(&l.why)) } }
                } }
            }
        }
    }
}

fn leads(e: &Export) -> Markup {
    html! {
        h2 { "Seus contatos com a MBRAS (leads) e as notas enviadas ao corretor" }
        @if e.leads.is_empty() { p.muted { "Nenhum." } }
        @for l in &e.leads {
            h3 { "Lead " (l.lead_id) }
            p { "Recebido em " (when(l.received_at)) "."
                @if let Some(s) = &l.seller { " Corretor: " (s) "." }
                @if let Some(by) = &l.linked_by { " Ligado a você por: " (by) "." }
                @else { " Um contato seu aparece neste lead, que pode ser de outra pessoa: nada mais dele é mostrado." }
                " Detalhes guardados " (l.kept_until) "." }
            @if let Some(n) = &l.note {
                p { "Nota enviada ao Contact2Sale (C2S) em " (maybe(n.posted_at))
                    " (o que ela diz de outras pessoas foi retirado):" }
                pre { (n.text) }
            }
            @if let Some(t) = &l.tier {
                p { "Perfil do lead: " strong { (t.tier) } " — " (value(&t.reasons)) " (" (basis(&t.why)) ")" }
            }
        }
    }
}

fn shared(e: &Export) -> Markup {
    html! {
        h2 { "Com quem compartilhamos seus dados" }
        @if e.shared_with.is_empty() { p.muted { "Com ninguém." } } @else {
            table {
                thead { tr { th { "Destinatário" } th { "O quê" } th { "Quando" } th { "Vezes" } th { "Base legal (finalidade)" } } }
                tbody { @for s in &e.shared_with {
                    tr { td { (s.recipient) } td { (s.what) }
                         td { (when(s.first_at)) @if s.times > 1 { " a " (when(s.last_at)) } }
                         td { (s.times) } td { (basis(&s.why)) } }
                } }
            }
        }
    }
}

fn records(e: &Export) -> Markup {
    html! {
        h2 { "Registros do tratamento" }
        @if e.records.is_empty() { p.muted { "Nenhum." } } @else {
            table {
                thead { tr { th { "Registro" } th { "Origem" } th { "Quando" } th { "Guardado até" } th { "Base legal (finalidade)" } } }
                tbody { @for r in &e.records {
                    tr { td { (r.what) } td { (r.origin) } td { (when(r.at)) } td { (r.kept_until) } td { (basis(&r.why)) } }
                } }
            }
        }
    }
}

fn requests(e: &Export) -> Markup {
    html! {
        h2 { "Seus pedidos" }
        table {
            thead { tr { th { "Nº" } th { "Pedido" } th { "Recebido em" } th { "Prazo" } th { "Situação" } } }
            tbody { @for r in &e.requests {
                tr { td { (r.id) } td { (kind(&r.kind)) } td { (when(r.received_at)) } td { (when(r.deadline)) }
                     td { (status(&r.status)) @if let Some(t) = r.completed_at { " em " (when(t)) } } }
            } }
        }
    }
}

fn kind(k: &str) -> &str {
    match k {
        "access" => "acesso",
        "correction" => "correção",
        "block" => "oposição (bloqueio)",
        "unblock" => "fim do bloqueio",
        "erasure" => "eliminação",
        other => other,
    }
}

fn status(s: &str) -> &str {
    match s {
        "open" => "em aberto",
        "done" => "atendido",
        "refused" => "recusado",
        other => other,
    }
}
