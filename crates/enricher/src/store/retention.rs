//! Retention (issue 12): how long each operational table keeps what it
//! holds, and the prune that applies it — in batches (short transactions, no
//! long locks), by the indexes of migration 26, with a dry run that only
//! counts. Never pruned: the customer records (`core.*`), erasures and their
//! tombstones (an erasure must hold), API keys, settings, and provider
//! reservations (an expired one is the record of a call that may have been
//! paid: the next lookup of its key turns it into an `unknown` ledger row).

use std::time::Duration;

use serde::Serialize;
use sqlx::PgPool;

/// Days each kind of row is kept (0: kept for ever).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Finished jobs (`done`): `RETENTION_JOBS_DAYS`, default 30.
    pub jobs_done_days: u32,
    /// Dead jobs (an operator may still re-queue them): `RETENTION_DEAD_JOBS_DAYS`, 90.
    pub jobs_dead_days: u32,
    /// Webhook events with their payloads: `RETENTION_WEBHOOK_EVENTS_DAYS`, 30.
    pub webhook_events_days: u32,
    /// The ledger's accounting rows (calls, credits, outcomes — no answers):
    /// `RETENTION_LEDGER_DAYS`, 400 (a year of budgets and reconciliation).
    /// A provider's answer itself is dropped as soon as its cache life ends.
    pub ledger_days: u32,
    /// Raw dossier snapshots: `RETENTION_SNAPSHOTS_DAYS`, 180.
    pub snapshots_days: u32,
    /// Personal-data access audit: `RETENTION_AUDIT_DAYS`, 1825 (five years).
    pub audit_days: u32,
    /// Google Ads form answers and descriptions of finished leads:
    /// `RETENTION_GOOGLE_ADS_DAYS`, 180.
    pub google_ads_days: u32,
    /// A finished lead's note text and step context (its state, outcome and
    /// links stay): `RETENTION_LEAD_DETAILS_DAYS`, 365.
    pub lead_details_days: u32,
    /// Rows per statement (`RETENTION_BATCH`, 1000).
    pub batch: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            jobs_done_days: 30,
            jobs_dead_days: 90,
            webhook_events_days: 30,
            ledger_days: 400,
            snapshots_days: 180,
            audit_days: 1825,
            google_ads_days: 180,
            lead_details_days: 365,
            batch: 1000,
        }
    }
}

/// One rule of the policy.
struct Rule {
    table: &'static str,
    /// What happens to a matching row (shown to operators).
    action: &'static str,
    /// `DELETE` when `None`; else the `SET` list of an `UPDATE`.
    set: Option<&'static str>,
    /// Rows past their life; `$1` is the age in days for [`Age::Days`].
    due: &'static str,
    age: fn(&Retention) -> Age,
}

/// When a row is past its life.
enum Age {
    /// Older than this many days (0: kept for ever).
    Days(u32),
    /// By the rule's own condition (a cache life, an expiry).
    Condition,
}

const RULES: &[Rule] = &[
    Rule {
        table: "enrich.jobs",
        action: "delete finished jobs",
        set: None,
        due: "state = 'done' AND finished_at < now() - make_interval(days => $1)",
        age: |r| Age::Days(r.jobs_done_days),
    },
    Rule {
        table: "enrich.jobs",
        action: "delete dead jobs",
        set: None,
        due: "state = 'dead' AND finished_at < now() - make_interval(days => $1)",
        age: |r| Age::Days(r.jobs_dead_days),
    },
    Rule {
        table: "enrich.webhook_events",
        action: "delete webhook events and their payloads",
        set: None,
        due: "received_at < now() - make_interval(days => $1)",
        age: |r| Age::Days(r.webhook_events_days),
    },
    Rule {
        table: "enrich.provider_calls",
        action: "drop provider answers past their cache life (the accounting row stays)",
        set: Some("response = NULL"),
        due: "response IS NOT NULL AND expires_at < now()",
        // Always: an answer nobody may reuse is only personal data.
        age: |_| Age::Condition,
    },
    Rule {
        table: "enrich.provider_calls",
        action: "delete ledger accounting rows",
        set: None,
        due: "created_at < now() - make_interval(days => $1) AND (expires_at IS NULL OR expires_at < now())",
        age: |r| Age::Days(r.ledger_days),
    },
    Rule {
        table: "enrich.enrichment_snapshots",
        action: "delete raw dossier snapshots",
        set: None,
        due: "fetched_at < now() - make_interval(days => $1)",
        age: |r| Age::Days(r.snapshots_days),
    },
    Rule {
        table: "enrich.pii_access_audit",
        action: "delete personal-data access audit rows",
        set: None,
        due: "accessed_at < now() - make_interval(days => $1)",
        age: |r| Age::Days(r.audit_days),
    },
    Rule {
        table: "enrich.google_ads_leads",
        action: "clear form answers, description and context of finished Google Ads leads",
        set: Some("answers = '[]'::jsonb, description = NULL, context = '{}'::jsonb"),
        due: "state IN ('completed', 'failed', 'test_recorded') AND coalesce(completed_at, updated_at) < now() - make_interval(days => $1)
              AND (answers <> '[]'::jsonb OR description IS NOT NULL OR context <> '{}'::jsonb)",
        age: |r| Age::Days(r.google_ads_days),
    },
    Rule {
        table: "enrich.leads",
        action: "clear note text, step context and tier reasons of finished leads (state, outcome, tier and links stay)",
        // A failed lead re-queued later starts from the beginning (its
        // context is gone); a completed one stays done.
        set: Some("note_text = NULL, context = '{}'::jsonb, tier_reasons = NULL, step = CASE WHEN state = 'failed' THEN 'lead' ELSE step END"),
        due: "state IN ('completed', 'failed') AND (note_text IS NOT NULL OR context <> '{}'::jsonb OR tier_reasons IS NOT NULL)
              AND coalesce(completed_at, updated_at) < now() - make_interval(days => $1)",
        age: |r| Age::Days(r.lead_details_days),
    },
    Rule {
        table: "enrich.console_sessions",
        action: "delete ended console sessions",
        set: None,
        // Ended by their absolute end or idle for a day (the idle limit is
        // shorter: such a session cannot be used again).
        due: "expires_at < now() OR last_seen_at < now() - interval '1 day'",
        age: |_| Age::Condition,
    },
];

/// One rule of the policy as configured (for the record of processing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyLine {
    pub table: &'static str,
    pub action: &'static str,
    /// `None`: by the rule's own condition (a cache life); `Some(0)`: kept
    /// for ever.
    pub older_than_days: Option<u32>,
}

/// The policy's rules with `policy`'s ages.
pub fn policy_lines(policy: &Retention) -> Vec<PolicyLine> {
    RULES
        .iter()
        .map(|r| PolicyLine {
            table: r.table,
            action: r.action,
            older_than_days: match (r.age)(policy) {
                Age::Days(d) => Some(d),
                Age::Condition => None,
            },
        })
        .collect()
}

/// What one rule found (dry run) or did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pruned {
    pub table: &'static str,
    pub action: &'static str,
    /// Set to 0 days: this rule keeps everything.
    pub kept_for_ever: bool,
    /// The age past which rows go (`None`: the rule's own condition — a
    /// cache life, an expiry).
    pub older_than_days: Option<u32>,
    pub rows: u64,
}

/// Applies the policy (`dry_run`: counts only, changes nothing).
pub async fn prune(
    pool: &PgPool,
    policy: &Retention,
    dry_run: bool,
) -> Result<Vec<Pruned>, sqlx::Error> {
    let mut out = Vec::with_capacity(RULES.len());
    for rule in RULES {
        let age = match (rule.age)(policy) {
            Age::Days(0) => {
                out.push(Pruned {
                    table: rule.table,
                    action: rule.action,
                    kept_for_ever: true,
                    older_than_days: None,
                    rows: 0,
                });
                continue;
            }
            Age::Days(d) => Some(i32::try_from(d).unwrap_or(i32::MAX)),
            Age::Condition => None,
        };
        // The rule table is configuration: unchecked SQL built from the
        // shipped rules' table names and conditions, values bound.
        let rows = if dry_run {
            let sql = format!("SELECT count(*) FROM {} WHERE {}", rule.table, rule.due);
            let mut q = sqlx::query_scalar::<_, i64>(&sql);
            if let Some(a) = age {
                q = q.bind(a);
            }
            u64::try_from(q.fetch_one(pool).await?).unwrap_or(0)
        } else {
            apply(pool, rule, age, policy.batch.max(1)).await?
        };
        out.push(Pruned {
            table: rule.table,
            action: rule.action,
            kept_for_ever: false,
            older_than_days: age.and_then(|a| u32::try_from(a).ok()),
            rows,
        });
    }
    Ok(out)
}

/// One rule, batch after batch, each its own short statement.
async fn apply(
    pool: &PgPool,
    rule: &Rule,
    age: Option<i32>,
    batch: u32,
) -> Result<u64, sqlx::Error> {
    let target = format!(
        "SELECT ctid FROM {} WHERE {} LIMIT {batch} FOR UPDATE SKIP LOCKED",
        rule.table, rule.due
    );
    let sql = match rule.set {
        None => format!(
            "DELETE FROM {} WHERE ctid = ANY(ARRAY({target}))",
            rule.table
        ),
        Some(set) => format!(
            "UPDATE {} SET {set} WHERE ctid = ANY(ARRAY({target}))",
            rule.table
        ),
    };
    let mut total = 0;
    loop {
        let mut q = sqlx::query(&sql);
        if let Some(a) = age {
            q = q.bind(a);
        }
        let n = q.execute(pool).await?.rows_affected();
        total += n;
        if n < u64::from(batch) {
            return Ok(total);
        }
    }
}

/// The scheduled prune: every `every`, in one process at a time across the
/// instances (the first to move `enrich.settings.last_prune_at` past the
/// interval runs it), until `shutdown`.
pub async fn scheduled(
    pool: PgPool,
    policy: Retention,
    every: Duration,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let (pool, policy) = (&pool, &policy);
    super::settings::repeat(
        every,
        Duration::from_secs(900),
        shutdown,
        move || async move {
            match super::settings::claim_turn(pool, "last_prune_at", every).await {
                Ok(true) => match prune(pool, policy, false).await {
                    Ok(done) => {
                        let rows: u64 = done.iter().map(|p| p.rows).sum();
                        tracing::info!(rows, "retention prune done");
                        for p in done.iter().filter(|p| p.rows > 0) {
                            tracing::info!(
                                table = p.table,
                                action = p.action,
                                rows = p.rows,
                                "pruned"
                            );
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "retention prune failed; next turn retries")
                    }
                },
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "could not take the prune turn"),
            }
        },
    )
    .await;
}
