//! The record of processing operations (LGPD art. 37), written from the
//! configuration and the code's own facts — the tables and what they hold,
//! the providers configured, the retention policy as set, the security
//! measures switched on — so it cannot drift from what the service does. A
//! test checks that every table of the migrated schema is described here.

use std::fmt::Write as _;

use crate::config::Config;
use crate::domain::privacy::Purpose;
use crate::store::retention::policy_lines;

/// A table holding personal data: whose, what, why.
#[derive(Debug)]
pub struct TableFacts {
    pub table: &'static str,
    pub subjects: &'static str,
    pub data: &'static str,
    pub purpose: Purpose,
}

const LEADS: &str = "leads";
const LEADS_AND_RELATIVES: &str = "leads; parentes e sócios listados nos dossiês";

/// Every table that holds personal data.
pub const PERSONAL_DATA: &[TableFacts] = &[
    TableFacts { table: "core.entities", subjects: LEADS_AND_RELATIVES, data: "nome, CPF (ou CNPJ de empresas)", purpose: Purpose::IdentifyLead },
    TableFacts { table: "core.entity_profiles", subjects: LEADS_AND_RELATIVES, data: "sexo, nascimento, óbito, nacionalidade, estado civil, escolaridade, ocupação, filiação, situação cadastral", purpose: Purpose::IdentifyLead },
    TableFacts { table: "core.entity_financials", subjects: LEADS, data: "renda estimada, poder aquisitivo, score e faixa de risco de crédito", purpose: Purpose::IdentifyLead },
    TableFacts { table: "core.entity_phones", subjects: LEADS_AND_RELATIVES, data: "telefones, operadora, WhatsApp", purpose: Purpose::IdentifyLead },
    TableFacts { table: "core.entity_emails", subjects: LEADS_AND_RELATIVES, data: "e-mails", purpose: Purpose::IdentifyLead },
    TableFacts { table: "core.addresses", subjects: LEADS_AND_RELATIVES, data: "endereços", purpose: Purpose::IdentifyLead },
    TableFacts { table: "core.entity_addresses", subjects: LEADS_AND_RELATIVES, data: "vínculo pessoa–endereço, endereço atual", purpose: Purpose::IdentifyLead },
    TableFacts { table: "core.entity_relationships", subjects: LEADS_AND_RELATIVES, data: "parentesco, participação em empresas", purpose: Purpose::IdentifyLead },
    TableFacts { table: "core.properties", subjects: "proprietários de imóveis", data: "imóveis por endereço", purpose: Purpose::QualifyLead },
    TableFacts { table: "enrich.enrichment_snapshots", subjects: LEADS_AND_RELATIVES, data: "dossiê como recebido do fornecedor", purpose: Purpose::IdentifyLead },
    TableFacts { table: "enrich.lead_entities", subjects: LEADS, data: "vínculo lead–pessoa, contato usado, confiança da identificação", purpose: Purpose::IdentifyLead },
    TableFacts { table: "enrich.leads", subjects: "leads; corretores", data: "contatos do lead, texto da nota, perfil e motivos, corretor", purpose: Purpose::AnswerContact },
    TableFacts { table: "enrich.webhook_events", subjects: "leads; corretores", data: "lead como enviado pelo C2S (nome, telefone, e-mail)", purpose: Purpose::AnswerContact },
    TableFacts { table: "enrich.google_ads_leads", subjects: LEADS, data: "respostas do formulário de anúncio, descrição do lead criado", purpose: Purpose::AnswerContact },
    TableFacts { table: "enrich.provider_calls", subjects: LEADS_AND_RELATIVES, data: "respostas dos fornecedores em cache (identificadores só como hash com chave) e o lead C2S para o qual cada chamada foi feita", purpose: Purpose::IdentifyLead },
    TableFacts { table: "enrich.archived_rows", subjects: LEADS_AND_RELATIVES, data: "linhas removidas pela limpeza do cadastro (desfazível)", purpose: Purpose::IdentifyLead },
    TableFacts { table: "enrich.lead_deliveries", subjects: "corretores", data: "alertas e etiquetas enviados por lead", purpose: Purpose::QualifyLead },
    TableFacts { table: "enrich.subject_corrections", subjects: LEADS, data: "campos corrigidos a pedido do titular e a prova apresentada", purpose: Purpose::SubjectRights },
    TableFacts { table: "enrich.subject_requests", subjects: LEADS, data: "pedidos do titular (identificador só como hash com chave)", purpose: Purpose::SubjectRights },
    TableFacts { table: "enrich.subject_blocks", subjects: LEADS, data: "oposições (identificador só como hash com chave)", purpose: Purpose::SubjectRights },
    TableFacts { table: "enrich.erasures", subjects: LEADS, data: "eliminações feitas (quem, quando, quanto; sem dados da pessoa)", purpose: Purpose::SubjectRights },
    TableFacts { table: "enrich.erasure_tombstones", subjects: LEADS, data: "identificadores eliminados, só como hash com chave", purpose: Purpose::SubjectRights },
    TableFacts { table: "enrich.pii_access_audit", subjects: "leads; operadores", data: "quem consultou o cadastro de quem, quando", purpose: Purpose::Security },
    TableFacts { table: "enrich.api_keys", subjects: "operadores", data: "nome da chave, escopos (segredo só como hash)", purpose: Purpose::Security },
    TableFacts { table: "enrich.console_users", subjects: "operadores", data: "nome de usuário, papel, senha (só como hash Argon2id), último acesso", purpose: Purpose::Security },
    TableFacts { table: "enrich.console_actions", subjects: "operadores", data: "quem refez ou reenviou o quê, em qual lead, quando", purpose: Purpose::Security },
    TableFacts { table: "enrich.console_sessions", subjects: "operadores", data: "sessões do console (token só como hash)", purpose: Purpose::Security },
];

/// Tables without personal data (operational state, reference lists).
pub const NO_PERSONAL_DATA: &[&str] = &[
    "enrich.jobs",
    "enrich.provider_budget_spend",
    "enrich.provider_pacing",
    "enrich.provider_pauses",
    "enrich.provider_reservations",
    "enrich.provider_usage_daily",
    "enrich.schema_migrations",
    "enrich.settings",
    "enrich.source_health",
    "ref.property_types",
    "ref.relationship_types",
    "ref.street_type_aliases",
    "ref.street_type_catalog",
];

fn host(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "endereço inválido".into())
}

fn days(d: Option<u32>) -> String {
    match d {
        None => "ao fim da validade do cache".into(),
        Some(0) => "mantido (configurado 0 = sem prazo)".into(),
        Some(n) => format!("após {n} dias"),
    }
}

/// The record, as Markdown.
pub fn render(config: &Config) -> String {
    let p = &config.privacy;
    let mut md = String::new();
    let c = &p.controller;
    let or_unset = |s: &str| {
        if s.is_empty() {
            "(não configurado: PRIVACY_FILE)".to_owned()
        } else {
            s.to_owned()
        }
    };
    let _ = writeln!(
        md,
        "# Registro das operações de tratamento de dados pessoais (LGPD art. 37)\n"
    );
    let _ = writeln!(md, "Gerado por `c2s-enrich ropa` a partir da configuração em uso e dos fatos do código (tabelas, fornecedores, retenção); textos de finalidade na versão `{}`.\n", p.version);
    let _ = writeln!(
        md,
        "## Controlador\n\n- Controlador: {}\n- Encarregado (DPO): {}\n- Contato: {}\n",
        c.name,
        or_unset(&c.dpo),
        or_unset(&c.contact)
    );
    let _ = writeln!(
        md,
        "## Finalidades e bases legais\n\n| Finalidade | Descrição | Base legal |\n|---|---|---|"
    );
    for purpose in Purpose::ALL {
        let t = p.purpose(purpose);
        let _ = writeln!(
            md,
            "| `{}` | {} | {} |",
            purpose.key(),
            t.description,
            t.legal_basis
        );
    }
    let _ = writeln!(md, "\n## Titulares\n\n- Leads: pessoas que contataram a MBRAS (C2S, Make.com, anúncios Google Ads).\n- Parentes e sócios listados nos dossiês dessas pessoas (não contataram a MBRAS: a nota mostra ao corretor o nome e o grau de até 3 parentes; o dono de uma linha familiar aparece só com iniciais).\n- Corretores da MBRAS (nome do vendedor do lead) e operadores do serviço (chaves de API).\n");
    let _ = writeln!(md, "## Categorias de dados, por tabela\n\n| Tabela | Titulares | Dados | Finalidade |\n|---|---|---|---|");
    for t in PERSONAL_DATA {
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | `{}` |",
            t.table,
            t.subjects,
            t.data,
            t.purpose.key()
        );
    }
    let _ = writeln!(md, "\nDados sensíveis (art. 5º, II): nenhum é pedido aos fornecedores; um dossiê pode trazer indicação de pessoa politicamente exposta, usada só no perfil do lead.\n");
    sources_and_recipients(config, &mut md);
    retention(config, &mut md);
    security(config, &mut md);
    let _ = writeln!(md, "## Tabelas sem dados pessoais\n");
    for t in NO_PERSONAL_DATA {
        let _ = writeln!(md, "- `{t}`");
    }
    md
}

fn sources_and_recipients(config: &Config, md: &mut String) {
    let _ = writeln!(
        md,
        "## Fontes\n\n| Fonte | O que fornece | Endereço |\n|---|---|---|"
    );
    let _ = writeln!(
        md,
        "| Contact2Sale (C2S) | leads: nome, telefone, e-mail, corretor | {} |",
        host(&config.c2s.base_url)
    );
    let _ = writeln!(
        md,
        "| Google Ads | formulários de anúncio: respostas do titular | webhook recebido |"
    );
    let _ = writeln!(
        md,
        "| Diretrix | CPF por telefone ou e-mail | {} |",
        host(&config.diretrix.base_url)
    );
    let _ = writeln!(
        md,
        "| Work API | CPF por telefone; dossiê por CPF | {} |",
        host(&config.work_api.base_url)
    );
    match &config.cnpj {
        Some(c) => {
            let _ = writeln!(md, "| BrasilAPI (dados públicos da Receita Federal) | nome e situação de empresas, por CNPJ | {} |", host(&c.base_url));
        }
        None => {
            let _ = writeln!(md, "| BrasilAPI | desligado (`CNPJ_LOOKUP=off`) | — |");
        }
    }
    let _ = writeln!(md, "\n## Destinatários (compartilhamento)\n\n| Destinatário | O que recebe | Finalidade |\n|---|---|---|");
    let _ = writeln!(md, "| Contact2Sale (C2S) | a nota no lead (dados do dossiê de quem foi identificado com confiança){} | `identify_lead` |",
        if config.alerts.tag_prefix.is_some() { "; a etiqueta de perfil" } else { "" });
    let _ = writeln!(
        md,
        "| Diretrix | telefone e e-mail do lead, ao consultar | `identify_lead` |"
    );
    let _ = writeln!(
        md,
        "| Work API | telefone do lead e CPF encontrado, ao consultar | `identify_lead` |"
    );
    if config.alerts.slack_webhook.is_some() {
        let _ = writeln!(md, "| Slack (operador: a MBRAS; transferência internacional) | alerta de lead prioritário: perfil, motivos, corretor, sem CPF nem nome do cliente | `qualify_lead` |");
    }
    if let Some(e) = &config.alerts.email {
        let _ = writeln!(md, "| E-mail via {} ({} destinatário(s)) | alerta de lead prioritário, sem CPF nem nome do cliente | `qualify_lead` |", e.host, e.to.len());
    }
    let _ = writeln!(md);
}

fn retention(config: &Config, md: &mut String) {
    let _ = writeln!(
        md,
        "## Retenção\n\n| Tabela | O que acontece | Quando |\n|---|---|---|"
    );
    let _ = writeln!(
        md,
        "| `core.*` | não é apagado por idade: {} | pedido de eliminação |",
        config.privacy.customer_records_retention
    );
    for l in policy_lines(&config.retention) {
        let _ = writeln!(
            md,
            "| `{}` | {} | {} |",
            l.table,
            l.action,
            days(l.older_than_days)
        );
    }
    let f = &config.cache.freshness;
    let _ = writeln!(md, "\nValidade do cache das respostas dos fornecedores: descoberta {} dias, dossiê {} dias, \"não encontrado\" {} dias. Pedidos do titular, eliminações e suas marcas (hash) são mantidos como prova do atendimento.\n",
        f.discovery.as_secs() / 86_400, f.dossier.as_secs() / 86_400, f.not_found.as_secs() / 86_400);
}

fn security(config: &Config, md: &mut String) {
    let on_off = |b: bool| if b { "sim" } else { "NÃO" };
    let _ = writeln!(md, "## Medidas de segurança\n");
    let _ = writeln!(md, "- Identificadores de titulares guardados fora do cadastro só como HMAC-SHA256 com chave (cache, eliminações, bloqueios, pedidos); chave {}.",
        if config.cache.hash_key.is_some() { "fornecida pela configuração (`LEDGER_HASH_KEY`)" } else { "gerada e guardada no banco" });
    let _ = writeln!(md, "- API: chaves com escopos (`enrich`, `read:pii`, `admin`), guardadas só como SHA-256; limite de {} pedidos/min por chave e {} por IP.", config.rate_limit_per_key, config.rate_limit_per_ip);
    let _ = writeln!(
        md,
        "- Toda leitura de dados pessoais pela API é registrada (`enrich.pii_access_audit`)."
    );
    let _ = writeln!(
        md,
        "- Webhooks do C2S assinados: {}; chave dos webhooks do Google Ads: {}.",
        on_off(config.webhook_secret.is_some()),
        on_off(config.google_ads_webhook_key.is_some())
    );
    let _ = writeln!(md, "- Registros (logs), métricas e mensagens de erro sem dados pessoais em claro (CPF, telefone e e-mail mascarados).");
    let _ = writeln!(md, "- A nota mostra dados de uma pessoa só quando a identificação é pelo menos `{}`; quem não atinge esse nível aparece só com iniciais, sem CPF nem outros dados.", config.identity_min_confidence.as_str());
    let _ = writeln!(md, "- Eliminação e oposição se mantêm: um novo lead com os mesmos contatos não gera consulta nem cadastro.\n");
}
