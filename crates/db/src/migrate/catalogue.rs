//! The migrations, embedded in the binary, in order.

use sqlx::PgConnection;

/// A Rust step run after a migration's SQL (up direction only).
pub(super) type Hook = for<'c> fn(&'c mut PgConnection) -> crate::hardening::HookFuture<'c>;

/// One migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub(super) up: &'static str,
    pub(super) down: Option<&'static str>,
    /// Rust steps run after the script, in order, each named for errors.
    pub(super) hooks: &'static [(&'static str, Hook)],
    /// Checksums of earlier texts of this migration that are accepted as
    /// applied: an edit that only makes a migration adapt to more legacy
    /// shapes (it must not change what it does on a shape it handled before).
    pub(super) former: &'static [i64],
}

macro_rules! migration {
    ($version:literal, $prefix:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            up: include_str!(concat!("../../migrations/", $prefix, "_", $name, ".up.sql")),
            down: Some(include_str!(concat!(
                "../../migrations/",
                $prefix,
                "_",
                $name,
                ".down.sql"
            ))),
            hooks: &[],
            former: &[],
        }
    };
}

/// Every migration, in order.
pub static MIGRATIONS: &[Migration] = &[
    migration!(1, "0001", "schemas"),
    migration!(2, "0002", "reference_tables"),
    Migration {
        // Before it added every missing column (issue 13).
        former: &[-375_155_693_794_890_280],
        hooks: &[(
            "columns to the types the hardening needs, online",
            crate::hardening::convert_columns,
        )],
        ..migration!(3, "0003", "core_tables")
    },
    Migration {
        // Before the archive's `duplicate_of` (issue 13).
        former: &[7_895_459_162_380_644_870],
        ..migration!(4, "0004", "service_tables")
    },
    Migration {
        // Before its row-wise steps read by key ranges (issue 13).
        former: &[-2_866_915_172_384_839_298, -1_628_859_441_796_740_173],
        ..migration!(5, "0005", "deduplicate")
    },
    Migration {
        // Before it read by key ranges (issue 13).
        former: &[6_265_983_733_709_009_517],
        ..migration!(6, "0006", "normalize_addresses")
    },
    Migration {
        hooks: &[
            ("phone_e164 back-fill", crate::hardening::backfill_e164),
            (
                "financial period back-fill",
                crate::hardening::backfill_financial_period,
            ),
        ],
        ..migration!(7, "0007", "phone_e164")
    },
    Migration {
        // Before its orphan archives read by key ranges (issue 13).
        former: &[-6_583_483_427_411_574_315, -5_543_786_436_944_040_046],
        ..migration!(8, "0008", "prepare_keys")
    },
    migration!(9, "0009", "unique_keys"),
    migration!(10, "0010", "foreign_keys_and_checks"),
    migration!(11, "0011", "performance_indexes"),
    migration!(12, "0012", "analyze"),
    migration!(13, "0013", "provider_ledger"),
    migration!(14, "0014", "jobs"),
    migration!(15, "0015", "leads"),
    migration!(16, "0016", "webhook_events"),
    migration!(17, "0017", "provider_pauses"),
    migration!(18, "0018", "api_keys"),
    migration!(19, "0019", "pii_audit"),
    migration!(20, "0020", "erasures"),
    migration!(21, "0021", "google_ads_leads"),
    migration!(22, "0022", "identity_confidence"),
    migration!(23, "0023", "provider_reservations"),
    migration!(24, "0024", "erasure_tombstones"),
    migration!(25, "0025", "lead_revisions"),
    migration!(26, "0026", "retention_indexes"),
    migration!(27, "0027", "usage_rollup"),
    migration!(28, "0028", "archive_duplicate_of"),
    migration!(29, "0029", "event_source"),
    migration!(30, "0030", "provider_budgets"),
    migration!(31, "0031", "lead_retries"),
    migration!(32, "0032", "lead_profile"),
    migration!(33, "0033", "property_address_index"),
    migration!(34, "0034", "deliveries"),
    migration!(35, "0035", "google_ads_products"),
    migration!(36, "0036", "subject_requests"),
    migration!(37, "0037", "subject_corrections"),
    migration!(38, "0038", "console"),
    migration!(39, "0039", "provider_calls_lead"),
];

impl Migration {
    /// The up script's text.
    pub fn up_text(&self) -> &'static str {
        self.up
    }
}
