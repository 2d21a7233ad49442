//! A lead's story for the console — its webhook deliveries, jobs, provider
//! calls (paid or from the cache, with their credits), the resolution's
//! candidates, the people linked, the note as posted, the tag and alerts,
//! what operators did to it. Read-only.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// The lead's own record.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LeadRecord {
    pub lead_id: String,
    pub state: String,
    pub step: String,
    pub outcome: Option<String>,
    pub note_status: String,
    pub note_text: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub seller_name: Option<String>,
    pub c2s_status: Option<String>,
    pub tier: Option<String>,
    pub tier_score: Option<i32>,
    pub tier_reasons: Option<serde_json::Value>,
}

/// One event of the story, in time order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub at: DateTime<Utc>,
    /// `lead`, `webhook`, `job`, `call`, `person`, `delivery`, `action`.
    pub kind: String,
    /// What happened (no personal data: actions, states, reasons).
    pub what: String,
    pub detail: Option<String>,
}

/// The lead and its story.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub lead: LeadRecord,
    pub events: Vec<Event>,
    pub calls: Calls,
    pub candidates: Vec<Candidate>,
    /// Its enrichment job died (after its attempts): it may be run again.
    pub dead_job: bool,
}

/// The provider calls made for the lead, summed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calls {
    /// Calls that went to a provider (paid or failed).
    pub asked: i64,
    /// Answers taken from the cache (nothing paid).
    pub cache_hits: i64,
    pub credits: i64,
}

/// One person the resolution weighed (from the lead's context: the CPF
/// masked, whether chosen, and why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub cpf_masked: String,
    pub chosen: bool,
    pub reason: String,
}

/// The lead's story; `None` when the service never heard of it.
pub async fn timeline(pool: &PgPool, lead_id: &str) -> Result<Option<Timeline>, sqlx::Error> {
    let lead = sqlx::query_as!(
        LeadRecord,
        "SELECT lead_id, state, step, outcome, note_status, note_text, attempts, last_error, created_at, updated_at,
                completed_at, seller_name, c2s_status, tier, tier_score, tier_reasons
           FROM enrich.leads WHERE lead_id = $1",
        lead_id
    )
    .fetch_optional(pool)
    .await?;
    let Some(lead) = lead else {
        return Ok(None);
    };
    let events = events(pool, lead_id).await?;
    let calls = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE outcome <> 'hit') AS "asked!", count(*) FILTER (WHERE outcome = 'hit') AS "hits!",
                  coalesce(sum(credits), 0)::bigint AS "credits!",
                  EXISTS (SELECT 1 FROM enrich.jobs j WHERE j.lead_id = $1 AND j.kind = $2 AND j.state = 'dead') AS "dead_job!"
             FROM enrich.provider_calls WHERE lead_id = $1"#,
        lead_id,
        super::jobs::ENRICH_LEAD
    )
    .fetch_one(pool)
    .await?;
    Ok(Some(Timeline {
        lead,
        events,
        calls: Calls {
            asked: calls.asked,
            cache_hits: calls.hits,
            credits: calls.credits,
        },
        candidates: candidates(pool, lead_id).await?,
        dead_job: calls.dead_job,
    }))
}

/// The lead's events from every table that records one, in time order, in
/// Portuguese (codes the mapping does not know are shown as they are).
async fn events(pool: &PgPool, lead_id: &str) -> Result<Vec<Event>, sqlx::Error> {
    sqlx::query_as!(
        Event,
        r#"SELECT received_at AS "at!", 'webhook' AS "kind!", 'evento do C2S: ' || hook_action AS "what!",
                  'decisão: ' || decision AS detail
             FROM enrich.webhook_events WHERE lead_id = $1
           UNION ALL
           SELECT created_at, 'lead', 'lead registrado no serviço', NULL FROM enrich.leads WHERE lead_id = $1
           UNION ALL
           SELECT completed_at, 'lead',
                  'processamento concluído: '
                    || CASE outcome WHEN 'enriched' THEN 'enriquecido' WHEN 'nobody_found' THEN 'ninguém encontrado'
                                    ELSE coalesce(outcome, state) END
                    || CASE note_status WHEN 'sent' THEN ', nota publicada' WHEN 'pending' THEN ', nota pendente'
                                        ELSE ', sem nota' END,
                  NULL
             FROM enrich.leads WHERE lead_id = $1 AND completed_at IS NOT NULL
           UNION ALL
           SELECT created_at, 'job',
                  'tarefa ' || id || ' (' || kind || ') '
                    || CASE state WHEN 'queued' THEN 'na fila' WHEN 'running' THEN 'em execução'
                                  WHEN 'done' THEN 'concluída' WHEN 'dead' THEN 'morta' ELSE state END
                    || ', ' || attempts || ' de ' || max_attempts || ' tentativas',
                  last_error
             FROM enrich.jobs WHERE lead_id = $1
           UNION ALL
           SELECT linked_at, 'person',
                  'pessoa ligada por '
                    || CASE match_kind WHEN 'phone' THEN 'telefone' WHEN 'email' THEN 'e-mail'
                                       WHEN 'phone_and_email' THEN 'telefone e e-mail' WHEN 'form_cpf' THEN 'CPF do formulário'
                                       ELSE match_kind END
                    || coalesce(', identidade ' || CASE confidence WHEN 'confirmed' THEN 'confirmada'
                                                                   WHEN 'probable' THEN 'provável' ELSE confidence END, ''),
                  identity_reasons
             FROM enrich.lead_entities WHERE lead_id = $1
           UNION ALL
           SELECT coalesce(sent_at, claimed_at),
                  'delivery',
                  CASE channel WHEN 'tag' THEN 'etiqueta no C2S' WHEN 'slack' THEN 'alerta no Slack'
                               WHEN 'email' THEN 'alerta por e-mail' ELSE channel END || ': '
                    || CASE status WHEN 'pending' THEN 'pendente' WHEN 'sent' THEN 'enviada' WHEN 'failed' THEN 'falhou'
                                   WHEN 'abandoned' THEN 'abandonada' WHEN 'skipped' THEN 'dispensada' ELSE status END,
                  last_error
             FROM enrich.lead_deliveries WHERE lead_id = $1
           UNION ALL
           SELECT at, 'action',
                  CASE action WHEN 'retry' THEN 'processar de novo' WHEN 'resend_note' THEN 'reenviar a nota' ELSE action END
                    || ', por ' || user_name,
                  CASE outcome WHEN 'requeued' THEN 'a tarefa morta voltou para a fila' WHEN 'queued' THEN 'nova tarefa na fila'
                               WHEN 'already_queued' THEN 'já estava na fila' WHEN 'not_failed' THEN 'o lead não tinha falhado'
                               WHEN 'sent' THEN 'nota publicada' WHEN 'held' THEN 'nada publicado: oposição ou eliminação'
                               WHEN 'refused_recent' THEN 'recusado: reenvio há menos de dez minutos'
                               ELSE outcome END
             FROM enrich.console_actions WHERE lead_id = $1 AND outcome <> 'offered'
           UNION ALL
           SELECT created_at, 'call',
                  provider || '/' || module || ': '
                    || CASE outcome WHEN 'hit' THEN 'resposta do cache' WHEN 'found' THEN 'encontrado'
                                    WHEN 'not_found' THEN 'não encontrado' WHEN 'error' THEN 'erro'
                                    WHEN 'unknown' THEN 'resultado desconhecido' ELSE outcome END,
                  credits || ' crédito(s)' || coalesce(', ' || latency_ms || ' ms', '')
                    || coalesce(', HTTP ' || http_status, '') || coalesce(', ' || error_kind, '')
             FROM enrich.provider_calls WHERE lead_id = $1
           ORDER BY 1"#,
        lead_id
    )
    .fetch_all(pool)
    .await
}

/// The resolution's candidates as its run recorded them; a context of
/// another shape (older runs, hand edits) gives none rather than an error.
async fn candidates(pool: &PgPool, lead_id: &str) -> Result<Vec<Candidate>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT coalesce(d->>'cpf_masked', '?') AS "cpf!", coalesce(d->'chosen' = 'true'::jsonb, false) AS "chosen!",
                  coalesce(d->>'reason', '') AS "reason!"
             FROM enrich.leads l,
                  jsonb_array_elements(CASE WHEN jsonb_typeof(l.context->'discovery'->'decisions') = 'array'
                                            THEN l.context->'discovery'->'decisions' ELSE '[]'::jsonb END) d
            WHERE l.lead_id = $1 AND jsonb_typeof(d) = 'object'"#,
        lead_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Candidate {
            cpf_masked: r.cpf,
            chosen: r.chosen,
            reason: r.reason,
        })
        .collect())
}
