//! The console's list of leads: searched by lead id, seller, date range,
//! outcome, tier and identity confidence, newest first, a page at a time.
//! No personal data: ids, dates, states, the seller (MBRAS's own agent).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;

/// Leads per page.
pub const PAGE: i64 = 50;

/// What the list is filtered by (every field optional).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Filter {
    /// A lead id, or its start (at least 4 characters).
    #[serde(default)]
    pub lead: Option<String>,
    /// The seller's name or id, in part.
    #[serde(default)]
    pub seller: Option<String>,
    /// Received on or after (São Paulo date).
    #[serde(default, deserialize_with = "date_or_empty")]
    pub from: Option<NaiveDate>,
    /// Received on or before.
    #[serde(default, deserialize_with = "date_or_empty")]
    pub to: Option<NaiveDate>,
    /// `enriched`, `nobody_found`, `failed`, `in_progress`.
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub tier: Option<String>,
    /// `confirmed`, `probable`, `none`.
    #[serde(default)]
    pub confidence: Option<String>,
    /// From 1.
    #[serde(default)]
    pub page: Option<i64>,
}

/// A form's date field: empty is no date, anything else must be one.
fn date_or_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    let raw: Option<String> = serde::Deserialize::deserialize(d)?;
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("a date is YYYY-MM-DD")),
    }
}

impl Filter {
    /// Empty strings (an untouched form field) are no filter.
    pub fn normalised(mut self) -> Self {
        for f in [
            &mut self.lead,
            &mut self.seller,
            &mut self.outcome,
            &mut self.tier,
            &mut self.confidence,
        ] {
            if f.as_deref().is_some_and(|v| v.trim().is_empty()) {
                *f = None;
            }
            if let Some(v) = f.as_mut() {
                *v = v.trim().to_owned();
            }
        }
        self
    }

    pub fn page(&self) -> i64 {
        self.page.unwrap_or(1).clamp(1, 10_000)
    }
}

/// One lead as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub lead_id: String,
    pub created_at: DateTime<Utc>,
    pub state: String,
    pub outcome: Option<String>,
    pub note_status: String,
    pub tier: Option<String>,
    pub confidence: Option<String>,
    pub seller_name: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// One page of the leads matching `f`, and how many match in all (one
/// statement; a page past the end counts none).
pub async fn search(pool: &PgPool, f: &Filter, limit: i64) -> Result<(Vec<Row>, i64), sqlx::Error> {
    // LIKE patterns: the typed text matched literally (`\\`, `%`, `_` escaped).
    let literal = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    };
    let lead = f
        .lead
        .as_deref()
        .map(|l| format!("{}%", literal(&l.to_lowercase())));
    let seller = f.seller.as_deref().map(|s| format!("%{}%", literal(s)));
    let found = sqlx::query!(
        r#"WITH m AS (
             SELECT l.lead_id, l.created_at, l.state, l.outcome, l.note_status, l.tier, l.seller_name, l.attempts, l.last_error,
                    (SELECT CASE WHEN bool_or(le.confidence = 'confirmed') THEN 'confirmed'
                                 WHEN bool_or(le.confidence = 'probable') THEN 'probable' END
                       FROM enrich.lead_entities le WHERE le.lead_id = l.lead_id) AS confidence
               FROM enrich.leads l
              WHERE ($1::text IS NULL OR l.lead_id LIKE $1)
                AND ($2::text IS NULL OR l.seller_name ILIKE $2 OR l.seller_id ILIKE $2)
                AND ($3::date IS NULL OR l.created_at >= ($3::date::timestamp AT TIME ZONE 'America/Sao_Paulo'))
                AND ($4::date IS NULL OR l.created_at < (($4::date + 1)::timestamp AT TIME ZONE 'America/Sao_Paulo'))
                AND ($5::text IS NULL
                     OR ($5 = 'in_progress' AND l.state IN ('pending', 'processing'))
                     OR ($5 = 'failed' AND l.state = 'failed')
                     OR (l.state = 'completed' AND l.outcome = $5))
                AND ($6::text IS NULL OR l.tier = $6))
           SELECT lead_id AS "lead_id!", created_at AS "created_at!", state AS "state!", outcome, note_status AS "note_status!",
                  tier, confidence, seller_name, attempts AS "attempts!", last_error, count(*) OVER () AS "total!"
             FROM m
            WHERE $7::text IS NULL OR coalesce(confidence, 'none') = $7
            ORDER BY created_at DESC, lead_id
            LIMIT $8 OFFSET $9"#,
        lead,
        seller,
        f.from,
        f.to,
        f.outcome,
        f.tier,
        f.confidence,
        limit,
        (f.page() - 1) * limit
    )
    .fetch_all(pool)
    .await?;
    let total = found.first().map_or(0, |r| r.total);
    let rows = found
        .into_iter()
        .map(|r| Row {
            lead_id: r.lead_id,
            created_at: r.created_at,
            state: r.state,
            outcome: r.outcome,
            note_status: r.note_status,
            tier: r.tier,
            confidence: r.confidence,
            seller_name: r.seller_name,
            attempts: r.attempts,
            last_error: r.last_error,
        })
        .collect();
    Ok((rows, total))
}
