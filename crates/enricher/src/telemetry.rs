//! Logging: human-readable on a terminal, JSON with `LOG_FORMAT=json`; `RUST_LOG`
//! filters (by default `info` with sqlx's per-statement logs kept at `warn`,
//! or for the lab commands only warnings — see `Command::default_log_filter`).
//!
//! Beside the log output, a second layer counts the SQL statements the
//! process sends (sqlx reports each as an event, target `sqlx::query`) by the
//! phase of the work they belong to — the metric
//! `c2s_enrich_sql_statements_total{phase}`. Each layer has its own filter, so
//! `RUST_LOG` never hides statements from the count, and the count never
//! puts statements in the log.

use std::io::IsTerminal;

use tracing::span::{Attributes, Id};
use tracing::{field::Field, Event, Subscriber};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

use crate::config::LogFormat;

/// Installs the global subscriber. Logs go to stderr so that command output on
/// stdout (`db-url`, reports) stays clean for pipes.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let output = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let output = match format {
        LogFormat::Json => output
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
        LogFormat::Pretty => output.with_target(false).boxed(),
    };
    // sqlx reports statements at DEBUG (`c2s_db`'s pool options); the hint
    // keeps everything finer (TRACE, from any crate) switched off unless
    // `RUST_LOG` asks for it.
    let counted = filter_fn(|meta| {
        *meta.level() <= tracing::Level::DEBUG
            && (meta.target() == SQLX_TARGET
                || (meta.is_span() && phase_of_span(meta.name()).is_some()))
    })
    .with_max_level_hint(tracing::level_filters::LevelFilter::DEBUG);
    // A second init (tests) keeps the first subscriber: ignoring the error is right.
    let _ = tracing_subscriber::registry()
        .with(output.with_filter(filter))
        .with(SqlStatements.with_filter(counted))
        .try_init();
}

/// The target of sqlx's per-statement events.
const SQLX_TARGET: &str = "sqlx::query";

/// The phase a span stands for; a `step` span's phase is its `step` field.
fn phase_of_span(name: &str) -> Option<&'static str> {
    match name {
        "step" => Some("step"),
        "lead" | "google_ads_lead" => Some("run"),
        "job" => Some("job"),
        "request" => Some("request"),
        _ => None,
    }
}

/// The phase recorded on a span.
struct Phase(&'static str);

/// The step names the pipeline gives its `step` spans (anything else is
/// counted as `step`: a label never carries free text).
const STEPS: [&str; 6] = ["lead", "discover", "dossier", "store", "note", "create"];

struct StepField(Option<&'static str>);

impl tracing::field::Visit for StepField {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "step" {
            self.0 = STEPS.iter().copied().find(|s| *s == value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "step" {
            let text = format!("{value:?}");
            self.0 = STEPS.iter().copied().find(|s| *s == text.trim_matches('"'));
        }
    }
}

/// Counts sqlx's statement events by the innermost phase span around them.
struct SqlStatements;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SqlStatements {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(mut phase) = phase_of_span(attrs.metadata().name()) else {
            return;
        };
        if phase == "step" {
            let mut step = StepField(None);
            attrs.record(&mut step);
            phase = step.0.unwrap_or("step");
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Phase(phase));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != SQLX_TARGET {
            return;
        }
        let phase = ctx
            .event_scope(event)
            .and_then(|scope| {
                scope
                    .into_iter()
                    .find_map(|span| span.extensions().get::<Phase>().map(|p| p.0))
            })
            .unwrap_or("other");
        crate::metrics::METRICS.sql_statement(phase);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(phase: &str) -> u64 {
        crate::metrics::METRICS.sql_statements_seen(phase)
    }

    #[test]
    fn statements_are_counted_by_the_innermost_phase_around_them() {
        let subscriber = tracing_subscriber::registry().with(SqlStatements);
        let before: Vec<u64> = ["note", "run", "job", "other"].map(counted).to_vec();
        tracing::subscriber::with_default(subscriber, || {
            let statement = || tracing::debug!(target: "sqlx::query", summary = "select 1");
            statement();
            let job = tracing::info_span!("job", job_id = 1);
            let _job = job.enter();
            statement();
            let lead = tracing::info_span!("lead", lead_id = "x");
            let _lead = lead.enter();
            statement();
            let step = "note";
            let span = tracing::info_span!("step", step);
            let _step = span.enter();
            statement();
            statement();
            // Other events are not statements.
            tracing::info!("not a statement");
            let odd = tracing::info_span!("step", step = "free text");
            let _odd = odd.enter();
            statement();
        });
        let after: Vec<u64> = ["note", "run", "job", "other"].map(counted).to_vec();
        let delta: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
        assert_eq!(delta, vec![2, 1, 1, 1]);
        assert!(crate::metrics::METRICS.sql_statements_seen("step") >= 1);
    }
}
