//! What the customer database knows beside a person's dossier, for the
//! agent (issue 17): real-estate records at the person's addresses (and
//! through an ownership table when the database has one), and whether the
//! person is already an open lead of another seller. One statement per lead,
//! no provider call; and the lead's tier, stored for the record.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use sqlx::PgPool;
use tokio::sync::OnceCell;

use crate::domain::lead::LeadId;
use crate::domain::tier::Assessment;

/// One property as the note lists it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Property {
    /// `ref.property_types.name` (`Apartamento`), else the row's own code.
    pub kind: Option<String>,
    pub area_m2: Option<Decimal>,
    pub price: Option<Decimal>,
}

/// An earlier open lead of the same person with another seller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlierLead {
    pub seller: String,
    pub since: DateTime<Utc>,
}

/// What the database holds beside one person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Beside {
    /// How many properties (all of them are counted).
    pub properties: usize,
    /// The three worth most, for the note.
    pub listed: Vec<Property>,
    pub earlier_lead: Option<EarlierLead>,
}

/// The lead the note is for: it is left out of "earlier leads", and so is
/// its own seller.
#[derive(Debug, Clone, Copy)]
pub struct ForLead<'a> {
    /// The C2S lead id (or a Google Ads lead's own id).
    pub lead: &'a str,
    pub seller_id: Option<&'a str>,
    pub seller_name: Option<&'a str>,
}

/// The ownership table, looked for once per process: one of the names such
/// a table goes by (`core.entity_properties`, `core.property_owners`,
/// `core.property_ownership`, …) with `entity_id` and `property_id` of the
/// entities' and properties' key types. Any other table with those columns
/// (favourites, visits) is not taken for ownership.
#[derive(Debug, Clone, Default)]
pub struct Ownership(std::sync::Arc<OnceCell<Option<String>>>);

impl Ownership {
    async fn table(&self, pool: &PgPool) -> Result<Option<&str>, sqlx::Error> {
        let found = self
            .0
            .get_or_try_init(|| async {
                sqlx::query_scalar::<_, String>(
                    "SELECT a.table_name::text
                       FROM information_schema.columns a
                       JOIN information_schema.columns b
                         ON b.table_schema = a.table_schema AND b.table_name = a.table_name
                      WHERE a.table_schema = 'core'
                        AND a.table_name IN ('entity_properties', 'property_owners', 'property_ownership',
                                             'properties_owners', 'entity_property')
                        AND a.column_name = 'entity_id' AND b.column_name = 'property_id'
                        AND a.udt_name = (SELECT udt_name FROM information_schema.columns
                                           WHERE table_schema = 'core' AND table_name = 'entities'
                                             AND column_name = 'entity_id')
                        AND b.udt_name = (SELECT udt_name FROM information_schema.columns
                                           WHERE table_schema = 'core' AND table_name = 'properties'
                                             AND column_name = 'property_id')
                      ORDER BY a.table_name LIMIT 1",
                )
                .fetch_optional(pool)
                .await
            })
            .await?;
        Ok(found.as_deref())
    }

    /// Logs which table was taken (once, at the first note).
    fn announce(table: Option<&str>) {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| match table {
            Some(t) => tracing::info!(table = %format!("core.{t}"), "properties are also read through this ownership table"),
            None => tracing::info!("no ownership table in core: properties are read by the person's addresses only"),
        });
    }
}

/// The C2S status aliases of leads no longer open.
const CLOSED: &[&str] = crate::domain::lead::CLOSED_STATUSES;

/// One row of `sql/beside.sql`.
#[derive(sqlx::FromRow)]
struct Row {
    national_id: String,
    total: i64,
    items: serde_json::Value,
    seller_name: Option<String>,
    since: Option<DateTime<Utc>>,
}

/// What the database holds beside each of the people `cpfs` (same order;
/// a person not stored has nothing beside).
pub async fn beside(
    pool: &PgPool,
    ownership: &Ownership,
    cpfs: &[brazil::Cpf],
    lead: ForLead<'_>,
) -> Result<Vec<Beside>, sqlx::Error> {
    if cpfs.is_empty() {
        return Ok(Vec::new());
    }
    let table = ownership.table(pool).await?;
    Ownership::announce(table);
    let owned = match table {
        // The name comes from the catalogue; quoted all the same.
        Some(t) => format!(
            "UNION SELECT o.property_id FROM core.\"{}\" o WHERE o.entity_id = i.entity_id",
            t.replace('"', "\"\"")
        ),
        None => String::new(),
    };
    let sql = format!(include_str!("sql/beside.sql"), owned = owned);
    let closed: Vec<String> = CLOSED.iter().map(|s| (*s).to_owned()).collect();
    let digits: Vec<&str> = cpfs.iter().map(brazil::Cpf::digits).collect();
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(&digits)
        .bind(lead.lead)
        .bind(lead.seller_id)
        .bind(lead.seller_name)
        .bind(&closed)
        .fetch_all(pool)
        .await?;
    Ok(cpfs
        .iter()
        .map(|cpf| {
            rows.iter()
                .find(|r| r.national_id == cpf.digits())
                .map(|r| Beside {
                    properties: usize::try_from(r.total).unwrap_or(0),
                    listed: listed(&r.items),
                    earlier_lead: r
                        .seller_name
                        .clone()
                        .zip(r.since)
                        .map(|(seller, since)| EarlierLead { seller, since }),
                })
                .unwrap_or_default()
        })
        .collect())
}

/// The listed properties, read tolerantly: a legacy row's area or price may
/// be text; what does not read as a number is left out, never guessed.
fn listed(items: &serde_json::Value) -> Vec<Property> {
    #[derive(Deserialize)]
    struct Item {
        kind: Option<String>,
        area: Option<serde_json::Value>,
        price: Option<serde_json::Value>,
    }
    let number = |v: Option<serde_json::Value>| -> Option<Decimal> {
        let text = match v? {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s.trim().replace(',', "."),
            _ => return None,
        };
        text.parse::<Decimal>()
            .ok()
            .or_else(|| Decimal::from_scientific(&text).ok())
            .filter(|d| *d > Decimal::ZERO)
    };
    serde_json::from_value::<Vec<Item>>(items.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|i| Property {
            kind: i
                .kind
                .map(|k| k.trim().to_owned())
                .filter(|k| !k.is_empty()),
            area_m2: number(i.area),
            price: number(i.price),
        })
        .collect()
}

/// Records the lead's tier (its reasons as JSON).
pub async fn save_tier(pool: &PgPool, lead: &LeadId, a: &Assessment) -> Result<(), sqlx::Error> {
    let reasons = serde_json::to_value(&a.reasons).unwrap_or_default();
    sqlx::query!(
        "UPDATE enrich.leads SET tier = $2, tier_score = $3, tier_rules = $4, tier_reasons = $5
          WHERE lead_id = $1",
        lead.as_str(),
        a.tier,
        a.score,
        a.rules,
        reasons
    )
    .execute(pool)
    .await
    .map(|_| ())
}
