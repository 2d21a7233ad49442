//! A discovery source gone silent: when its last `SOURCE_HEALTH_WINDOW`
//! calls (answered or failed; cache hits aside) found nobody,
//! one alert goes to the alert channels — once per silent spell, again only
//! after it has found someone since (one peer's phone source found nothing
//! for five days and nobody knew). Checked by one process at a time every
//! `SOURCE_HEALTH_SECS`.

use std::time::Duration;

use sqlx::PgPool;

use crate::domain::identity::Source;
use crate::notify::{Alert, Alerts, SendError};
use crate::store::settings;

const TURN: &str = "last_source_health_at";

/// The ledger's name of a paid discovery source.
pub fn ledger_name(source: Source) -> Option<(&'static str, &'static str)> {
    match source {
        Source::DiretrixPhone => Some(("diretrix", "phone")),
        Source::DiretrixEmail => Some(("diretrix", "email")),
        Source::WorkApiPhone => Some(("work_api", "phone")),
        Source::Database => None,
    }
}

/// What one check found for one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Fewer answers than the window: nothing to judge yet.
    TooFewAnswers,
    Finding,
    /// Silent, and this check alerted (`true`) or an earlier one had.
    Silent {
        alerted_now: bool,
    },
}

/// Checks every source once; alerts the ones newly silent.
pub async fn check(
    pool: &PgPool,
    alerts: &Alerts,
    sources: &[Source],
    window: u32,
) -> Result<Vec<(Source, Health)>, sqlx::Error> {
    let mut out = Vec::new();
    for &source in sources {
        let Some((provider, module)) = ledger_name(source) else {
            continue;
        };
        let name = format!("{provider}/{module}");
        let last = crate::store::ledger::recent_answers(pool, provider, module, window).await?;
        let health = if last.answered < i64::from(window) {
            Health::TooFewAnswers
        } else if last.found > 0 {
            if crate::store::ledger::source_recovered(pool, &name).await? {
                tracing::info!(source = %name, "a discovery source finds people again");
            }
            Health::Finding
        } else if crate::store::ledger::claim_source_alert(pool, &name).await? {
            let alert = silent_alert(&name, window, last.since);
            let sent = send_all(alerts, &alert).await;
            if let Err(e) = &sent {
                // Refused everywhere: the next check tries again.
                tracing::warn!(source = %name, error = %e, "the silent-source alert was refused; the next check tries again");
                crate::store::ledger::unclaim_source_alert(pool, &name).await?;
            } else {
                tracing::error!(source = %name, window, "a discovery source found nobody in its last answers; alerted");
                crate::metrics::METRICS.event("source_silent_alert");
            }
            Health::Silent {
                alerted_now: sent.is_ok(),
            }
        } else {
            Health::Silent { alerted_now: false }
        };
        out.push((source, health));
    }
    Ok(out)
}

/// To every channel; refused only when every channel refused it (then
/// the next check sends it again to all of them).
async fn send_all(alerts: &Alerts, alert: &Alert) -> Result<(), SendError> {
    let mut delivered = false;
    let mut last = Ok(());
    for channel in alerts.channels() {
        match alerts.send(channel, alert).await {
            Ok(()) | Err(SendError::Unclear(_)) => delivered = true,
            Err(e) => last = Err(e),
        }
    }
    if delivered {
        Ok(())
    } else {
        last
    }
}

fn silent_alert(name: &str, window: u32, since: Option<chrono::DateTime<chrono::Utc>>) -> Alert {
    let since = since
        .map(|t| {
            t.with_timezone(&super::listing::brasilia())
                .format("%d/%m/%Y %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "—".to_owned());
    Alert {
        title: format!("⚠️ Fonte de descoberta sem resultados: {name}"),
        fields: vec![
            ("Fonte".to_owned(), name.to_owned()),
            (
                "Últimas respostas".to_owned(),
                format!("{window}, nenhuma encontrou alguém"),
            ),
            ("Desde".to_owned(), since),
            (
                "O que fazer".to_owned(),
                "conferir credenciais, contrato e respostas do provedor (runbook, fontes silenciosas)"
                    .to_owned(),
            ),
        ],
        link: None,
    }
}

/// Every `every`, one process's turn checks the sources, until `shutdown`.
pub async fn scheduled(
    pool: PgPool,
    alerts: Alerts,
    sources: Vec<Source>,
    window: u32,
    every: Duration,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if window == 0 || alerts.channels().is_empty() {
        return;
    }
    let (pool, alerts, sources) = (&pool, &alerts, &sources);
    settings::repeat(
        every,
        Duration::from_secs(300),
        shutdown,
        move || async move {
            let r = match settings::claim_turn(pool, TURN, every).await {
                Ok(true) => check(pool, alerts, sources, window).await.map(|_| ()),
                Ok(false) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = r {
                tracing::warn!(error = %e, "the source health check failed; the next turn retries");
            }
        },
    )
    .await;
}
