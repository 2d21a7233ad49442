//! A lead's timeline, its retry and note re-send.
//! Personal data (the note's text, the tier's reasons, the candidates' masked
//! CPFs, error details that may quote a provider) only for roles with
//! `read:pii`, and every such view is written to the access audit.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use chrono::{DateTime, Utc};
use maud::html;

use super::login::TokenForm;
use super::redact::{detail, error_text, masked_cpf, reasons, redacted};
use super::session::{form_user, page, page_status, unavailable, user};
use super::words;
use crate::domain::lead::LeadId;
use crate::http::state::AppState;
use crate::store::console::SessionUser;
use crate::store::console_actions::{self, Claim, Retried};
use crate::store::console_timeline::{self, Timeline};

fn when(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::pipeline::listing::brasilia())
        .format("%d/%m/%Y %H:%M:%S")
        .to_string()
}

fn not_found(u: &SessionUser) -> Response {
    page_status(
        StatusCode::NOT_FOUND,
        "Lead não encontrado",
        Some(u),
        html! {
            p { "Este serviço não tem registro deste lead." } a href="/console/leads" { "Voltar à lista" }
        },
    )
}

/// Records that `u` saw the lead's personal data (as an API read is): one
/// entry per person linked to the lead (one without a person when none is).
async fn audit(
    state: &AppState,
    headers: &HeaderMap,
    u: &SessionUser,
    lead: &str,
) -> Result<(), Response> {
    let people: Vec<uuid::Uuid> = sqlx::query_scalar!(
        "SELECT entity_id FROM enrich.lead_entities WHERE lead_id = $1 ORDER BY linked_at",
        lead
    )
    .fetch_all(&state.pool)
    .await
    .map_err(|e| unavailable(Some(u), &e))?;
    let entry = |entity_id| crate::store::pii_audit::AuditEntry {
        key_name: format!("console:{}", u.name),
        endpoint: format!("GET /console/leads/{lead}"),
        query_kind: "lead",
        entity_id,
        request_id: crate::http::customers::request_id(headers),
        accessed_at: Utc::now(),
    };
    let entries = if people.is_empty() {
        vec![entry(None)]
    } else {
        people.into_iter().map(|p| entry(Some(p))).collect()
    };
    state
        .audit
        .record(entries)
        .await
        .map_err(|e| unavailable(Some(u), &e))
}

/// The session's user and the lead the address names, or the page to answer
/// instead (login, or "not found" for an id that cannot be a lead's).
async fn user_and_lead(
    state: &AppState,
    headers: &HeaderMap,
    raw: &str,
) -> Result<(SessionUser, LeadId), Response> {
    let u = user(state, headers).await?;
    match LeadId::parse(raw) {
        Ok(lead) => Ok((u, lead)),
        Err(_) => Err(not_found(&u)),
    }
}

/// `GET /console/leads/{lead_id}`.
pub(super) async fn timeline(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    let (u, lead) = match user_and_lead(&state, &headers, &raw).await {
        Ok(ul) => ul,
        Err(r) => return r,
    };
    let t = match console_timeline::timeline(&state.pool, lead.as_str()).await {
        Ok(Some(t)) => t,
        Ok(None) => return not_found(&u),
        Err(e) => return unavailable(Some(&u), &e),
    };
    let pii = u.role.can("read:pii");
    let shows_pii = t.lead.note_text.is_some()
        || t.lead.tier_reasons.is_some()
        || !t.candidates.is_empty()
        || t.lead.last_error.is_some()
        || t.events
            .iter()
            .any(|e| e.detail.is_some() && redacted(&e.kind));
    if pii && shows_pii {
        if let Err(r) = audit(&state, &headers, &u, lead.as_str()).await {
            return r;
        }
    }
    let l = &t.lead;
    let may_act = u.role.can("enrich");
    let retryable = l.state == "failed" || t.dead_job;
    page(
        &format!("Lead {}", l.lead_id),
        Some(&u),
        html! {
            dl {
                dt { "Situação" } dd { (words::state(&l.state)) " — etapa: " (words::step(&l.step)) @if let Some(o) = &l.outcome { "; " (words::outcome(o)) } }
                dt { "Recebido" } dd { (when(l.created_at)) }
                dt { "Concluído" } dd { (l.completed_at.map_or_else(|| "—".to_owned(), when)) }
                dt { "Corretor" } dd { (l.seller_name.as_deref().unwrap_or("—")) " (" (l.c2s_status.as_deref().unwrap_or("—")) ")" }
                dt { "Perfil" } dd { (l.tier.as_deref().unwrap_or("—"))
                    @if let Some(s) = l.tier_score { " (" (s) " pontos)" }
                    @if pii { @if let Some(r) = &l.tier_reasons { " — " (reasons(r)) } }
                }
                dt { "Tentativas" } dd { (l.attempts) @if let Some(e) = &l.last_error { " — último erro: " (error_text(e, pii)) } }
            }
            @if may_act { (actions(l, &u, retryable)) }
            (resolution(&t, pii))
            h2 { "Linha do tempo" }
            table {
                thead { tr { th scope="col" { "Quando" } th scope="col" { "Tipo" } th scope="col" { "O quê" } th scope="col" { "Detalhe" } } }
                tbody { @for e in &t.events {
                    tr { td { (when(e.at)) } td { (words::event_kind(&e.kind)) } td { (e.what) } td { (detail(e, pii)) } }
                } }
            }
            h2 { "Nota enviada ao C2S" }
            @match (&l.note_text, pii) {
                (None, _) => p.muted { "Nenhuma nota guardada (não enviada, ou já apagada pela retenção)." },
                (Some(text), true) => pre { (text) },
                (Some(text), false) => p.muted { "Texto oculto (" (text.chars().count()) " caracteres): só administradores veem dados pessoais." },
            }
        },
    )
}

/// The provider calls made for the lead and the people the resolution
/// weighed: whether chosen and why for every role; their masked CPFs only
/// with `read:pii` (such a view is audited).
fn resolution(t: &Timeline, pii: bool) -> maud::Markup {
    let c = &t.calls;
    html! {
        h2 { "Fornecedores e resolução" }
        p { (c.asked) " chamada(s) a fornecedores, " (c.cache_hits) " resposta(s) do cache, "
            (c.credits) " crédito(s) gastos." }
        @if t.candidates.is_empty() { p.muted { "Nenhum candidato registrado." } } @else {
            table {
                caption.muted { "Candidatos pesados pela resolução" @if pii { " (CPF mascarado)" } }
                thead { tr { @if pii { th scope="col" { "CPF" } } th scope="col" { "Escolhido" } th scope="col" { "Motivo" } } }
                tbody { @for k in &t.candidates {
                    tr { @if pii { td { code { (masked_cpf(&k.cpf_masked).unwrap_or("?")) } } }
                         td { (if k.chosen { "sim" } else { "não" }) } td { (k.reason) } }
                } }
            }
        }
    }
}

/// The buttons an operator has on a lead.
fn actions(
    l: &crate::store::console_timeline::LeadRecord,
    u: &SessionUser,
    retryable: bool,
) -> maud::Markup {
    html! {
        div.actions {
            @if retryable {
                form method="post" action={ "/console/leads/" (l.lead_id) "/retry" } {
                    input type="hidden" name="csrf" value=(u.csrf);
                    button type="submit" { "Processar de novo" }
                }
            }
            @if l.note_status == "sent" && l.note_text.is_some() {
                a href={ "/console/leads/" (l.lead_id) "/resend" } { "Reenviar a nota…" }
            }
        }
    }
}

fn forbidden(u: &SessionUser) -> Response {
    page_status(
        StatusCode::FORBIDDEN,
        "Sem permissão",
        Some(u),
        html! {
            p.error { "Seu perfil só permite consultar." }
        },
    )
}

/// A page saying what an action did, with the way back to the lead.
fn done(u: &SessionUser, title: &str, lead: &LeadId, message: &str) -> Response {
    page(
        title,
        Some(u),
        html! {
            p role="status" { (message) }
            a href={ "/console/leads/" (lead.as_str()) } { "Voltar ao lead" }
        },
    )
}

/// `POST /console/leads/{lead_id}/retry` (operators and admins).
pub(super) async fn retry(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(f): Form<TokenForm>,
) -> Response {
    let u = match form_user(&state, &headers, &f.csrf).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if !u.role.can("enrich") {
        return forbidden(&u);
    }
    let Ok(lead) = LeadId::parse(&raw) else {
        return not_found(&u);
    };
    let message = match console_actions::retry(&state.pool, lead.as_str(), &u.name).await {
        Ok(Retried::Requeued(id) | Retried::Queued(id)) => {
            format!("O lead voltou para a fila (job {id}).")
        }
        Ok(Retried::AlreadyQueued) => "O lead já está na fila; nada foi feito.".to_owned(),
        Ok(Retried::NotFailed) => "O lead não falhou; nada foi feito.".to_owned(),
        Err(e) => return unavailable(Some(&u), &e),
    };
    done(&u, "Processar de novo", &lead, &message)
}

/// The confirmation's one-time id.
#[derive(Debug, serde::Deserialize)]
pub(super) struct ResendForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
}

/// `GET /console/leads/{lead_id}/resend`: the confirmation.
pub(super) async fn resend_confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    let (u, lead) = match user_and_lead(&state, &headers, &raw).await {
        Ok(ul) => ul,
        Err(r) => return r,
    };
    if !u.role.can("enrich") {
        return forbidden(&u);
    }
    let action = match console_actions::offer_resend(&state.pool, lead.as_str(), &u.name).await {
        Ok(a) => a,
        Err(e) => return unavailable(Some(&u), &e),
    };
    page(
        "Reenviar a nota",
        Some(&u),
        html! {
            p { "A nota do lead " code { (lead.as_str()) } " será publicada de novo no C2S, como uma nota nova. Confirma?" }
            form method="post" action={ "/console/leads/" (lead.as_str()) "/resend" } {
                input type="hidden" name="csrf" value=(u.csrf);
                input type="hidden" name="action" value=(action);
                button type="submit" { "Reenviar a nota" }
            }
            p { a href={ "/console/leads/" (lead.as_str()) } { "Cancelar" } }
        },
    )
}

/// The person may have been erased or have objected since the note went out:
/// then nothing of theirs is posted again (`Some`: the page saying so, or the
/// failure to tell).
async fn held_refusal(
    state: &AppState,
    ledger: &crate::store::ledger::Ledger,
    u: &SessionUser,
    lead: &LeadId,
    action: &str,
) -> Option<Response> {
    match console_actions::held(&state.pool, ledger, lead.as_str()).await {
        Ok(false) => None,
        Ok(true) => Some(
            match console_actions::resent(&state.pool, action, "held").await {
                Ok(()) => done(
                    u,
                    "Reenviar a nota",
                    lead,
                    "Nada foi feito: a pessoa deste lead pediu oposição ou eliminação.",
                ),
                Err(e) => unavailable(Some(u), &e),
            },
        ),
        Err(e) => Some(unavailable(Some(u), &e)),
    }
}

/// `POST /console/leads/{lead_id}/resend`: once per confirmation.
pub(super) async fn resend(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(f): Form<ResendForm>,
) -> Response {
    let u = match form_user(&state, &headers, &f.csrf).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let (Ok(lead), true) = (LeadId::parse(&raw), u.role.can("enrich")) else {
        return forbidden(&u);
    };
    let Some(pipeline) = &state.pipeline else {
        return page_status(
            StatusCode::SERVICE_UNAVAILABLE,
            "Indisponível",
            Some(&u),
            html! {
                p.error { "Este processo não fala com o C2S (sem workers)." }
            },
        );
    };
    if f.action.len() != 32 || !f.action.chars().all(|c| c.is_ascii_hexdigit()) {
        return page_status(
            StatusCode::BAD_REQUEST,
            "Confirmação inválida",
            Some(&u),
            html! { p.error { "Abra a confirmação de novo." } },
        );
    }
    let text =
        match console_actions::claim_resend(&state.pool, &f.action, lead.as_str(), &u.name).await {
            Ok(Claim::Post(t)) => t,
            Ok(other) => {
                let why = match other {
                    Claim::Recent => {
                        "Nada foi feito: a nota deste lead foi reenviada há menos de dez minutos."
                    }
                    Claim::NoNote => "Nada foi feito: o lead não tem nota guardada.",
                    _ => "Nada foi feito: esta confirmação já foi usada (ou não é sua).",
                };
                return done(&u, "Reenviar a nota", &lead, why);
            }
            Err(e) => return unavailable(Some(&u), &e),
        };
    if let Some(refusal) = held_refusal(&state, &pipeline.ledger, &u, &lead, &f.action).await {
        return refusal;
    }
    let outcome = match pipeline.providers.c2s.post_note(&lead, &text).await {
        Ok(_) => "sent".to_owned(),
        Err(e) => format!("failed: {}", e.kind()),
    };
    if let Err(e) = console_actions::resent(&state.pool, &f.action, &outcome).await {
        return unavailable(Some(&u), &e);
    }
    let message = if outcome == "sent" {
        "Nota reenviada ao C2S.".to_owned()
    } else {
        let kind = outcome.trim_start_matches("failed: ");
        format!("O C2S recusou ou não respondeu ({kind}); a nota não foi publicada de novo.")
    };
    done(&u, "Reenviar a nota", &lead, &message)
}
