//! Configuration: defaults < optional TOML file < environment, validated once.
//!
//! Environment variable names are the users' own (see the README's table).
//! Secrets are [`SecretString`]s: their `Debug` prints `[REDACTED]` and nothing
//! here ever formats their value.

mod agent;
mod budgets;
mod error;
mod layers;
mod load;
mod settings;
mod values;

pub use c2s_db::mask_database_url;
pub use error::ConfigError;
pub use settings::{AlertConfig, CacheConfig, Config, DatabaseConfig, LogFormat, ProviderConfig};

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use std::path::Path;

    use rust_decimal::Decimal;
    use secrecy::SecretString;

    use super::*;

    fn load(vars: &[(&str, &str)], file: Option<&Path>) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Config::load_with(file, &move |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_need_no_credentials_and_no_database() {
        let c = load(&[], None).expect("defaults are valid");
        assert!(c.database.url.is_none());
        assert_eq!(c.port, 8080);
        assert_eq!(c.income_factor, Decimal::new(19, 1));
        assert_eq!(c.message_max_chars, 5000);
        assert_eq!(c.work_api.base_url, "https://completa.workbuscas.com/api");
        assert_eq!(
            c.work_api.policy.min_interval,
            std::time::Duration::from_secs(2)
        );
        assert_eq!(
            c.cache.freshness.not_found,
            std::time::Duration::from_secs(7 * 24 * 3600)
        );
        let err = c
            .require_provider_credentials()
            .expect_err("no credentials");
        assert_eq!(
            err.to_string(),
            "missing provider credentials: C2S_TOKEN, DIRETRIX_USER, DIRETRIX_PASS, WORK_API (required by this command)"
        );
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c2s.toml");
        std::fs::write(
            &path,
            "port = 9000\nincome_factor = \"2.5\"\nc2s_token = \"from-file\"\n",
        )
        .expect("write");
        let c = load(&[("PORT", "9100")], Some(&path)).expect("valid");
        assert_eq!(c.port, 9100);
        assert_eq!(c.income_factor, Decimal::new(25, 1));
        assert!(c.c2s.secret.is_some());
    }

    #[test]
    fn invalid_values_are_reported_with_the_variable_name() {
        let cases = [
            ("PORT", "eighty", "PORT: expected a whole number"),
            ("INCOME_FACTOR", "-1", "INCOME_FACTOR: expected a decimal"),
            ("LOG_FORMAT", "xml", "LOG_FORMAT: expected"),
            ("C2S_BASE_URL", "ftp://x", "C2S_BASE_URL: must be an http"),
            (
                "DATABASE_URL",
                "mysql://x",
                "DATABASE_URL: must start with postgres",
            ),
            (
                "DB_MAX_CONNECTIONS",
                "0",
                "DB_MAX_CONNECTIONS: must be at least 1",
            ),
            (
                "HARDENING_FINANCIAL_PERIOD",
                "ano\"; DROP TABLE x; --",
                "HARDENING_FINANCIAL_PERIOD: expected",
            ),
            (
                "HARDENING_FINANCIAL_PERIOD",
                "ano,mes,dia",
                "HARDENING_FINANCIAL_PERIOD: expected",
            ),
        ];
        for (var, value, expected) in cases {
            let err = load(&[(var, value)], None).expect_err(var).to_string();
            assert!(err.starts_with(expected), "{var}: {err}");
        }
    }

    #[test]
    fn a_financial_period_mapping_names_one_or_two_columns() {
        let at = |v: &str| {
            load(&[("HARDENING_FINANCIAL_PERIOD", v)], None)
                .expect("valid")
                .financial_period
        };
        assert_eq!(at("ano"), Some(("ano".into(), None)));
        assert_eq!(
            at(" ano_ref , mes_ref "),
            Some(("ano_ref".into(), Some("mes_ref".into())))
        );
        assert_eq!(at(""), None);
    }

    #[test]
    fn the_metrics_listener_is_loopback_unless_told_otherwise() {
        let at = |vars: &[(&str, &str)]| load(vars, None).expect("valid").metrics_addr;
        assert_eq!(at(&[]).as_deref(), Some("127.0.0.1:9091"));
        assert_eq!(
            at(&[("METRICS_PORT", "9300")]).as_deref(),
            Some("127.0.0.1:9300")
        );
        assert_eq!(
            at(&[("METRICS_PORT", "9300"), ("METRICS_ADDR", "[::]:9091")]).as_deref(),
            Some("[::]:9091")
        );
        assert_eq!(at(&[("METRICS_ADDR", "off")]), None);
        for bad in [("METRICS_PORT", "70000"), ("METRICS_ADDR", "9091")] {
            let err = load(&[bad], None).expect_err(bad.0).to_string();
            assert!(err.starts_with(bad.0), "{err}");
        }
    }

    #[test]
    fn db_url_is_accepted_and_a_conflict_with_database_url_is_refused() {
        let c = load(&[("DB_URL", "postgres://u:p@h/db")], None).expect("valid");
        assert!(c.database.url.is_some());
        let err = load(
            &[
                ("DB_URL", "postgres://a/x"),
                ("DATABASE_URL", "postgres://b/y"),
            ],
            None,
        )
        .expect_err("conflict");
        assert!(err.to_string().contains("both set and differ"));
    }

    #[test]
    fn secrets_never_appear_in_debug_output_or_file_errors() {
        let c = load(
            &[
                ("C2S_TOKEN", "tok-SECRET-1"),
                ("DIRETRIX_PASS", "pass-SECRET-2"),
            ],
            None,
        )
        .expect("valid");
        let debug = format!("{c:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "c2s_token = tok-SECRET-3\n").expect("write");
        let err = load(&[], Some(&path)).expect_err("bad toml").to_string();
        assert!(!err.contains("SECRET"), "{err}");
    }

    #[test]
    fn alert_tag_and_cnpj_settings_are_checked_with_the_variable_named() {
        let mail = [
            ("ALERT_EMAIL_TO", "vendas@mbras.test"),
            ("ALERT_EMAIL_FROM", "alertas@mbras.test"),
            ("SMTP_HOST", "smtp.mbras.test"),
        ];
        let with = |extra: &[(&str, &str)]| {
            let mut vars = mail.to_vec();
            vars.extend_from_slice(extra);
            load(&vars, None)
        };
        let c = with(&[]).expect("valid");
        let e = c.alerts.email.expect("e-mail on");
        assert_eq!((e.port, e.tls), (587, crate::notify::SmtpTls::Starttls));
        assert_eq!(
            c.alerts.min_tier.as_deref(),
            Some("A"),
            "the best tier by default"
        );
        assert_eq!(c.alerts.tag_prefix.as_deref(), Some("Perfil "));
        assert!(c.cnpj.is_some(), "company names on by default");
        let cases: [(&[(&str, &str)], &str); 9] = [
            (&[("SMTP_TLS", "none")], "SMTP_TLS: none is allowed only"),
            (
                &[("SMTP_USER", "u")],
                "SMTP_USER: SMTP_USER and SMTP_PASS go together",
            ),
            (
                &[("ALERT_EMAIL_TO", " , ")],
                "ALERT_EMAIL_TO: names no recipient",
            ),
            (&[("ALERT_EMAIL_TO", "not an address")], "ALERT_EMAIL_TO:"),
            (&[("ALERT_MIN_TIER", "Z")], "ALERT_MIN_TIER: not a tier"),
            (&[("C2S_LEAD_URL", "ftp://x/{lead_id}")], "C2S_LEAD_URL:"),
            (
                &[("SLACK_WEBHOOK_URL", "http://hooks.slack.test/x")],
                "SLACK_WEBHOOK_URL: must be an https",
            ),
            (&[("CNPJ_LOOKUP", "maybe")], "CNPJ_LOOKUP:"),
            (
                &[("TIER_RULES_FILE", "/nonexistent/rules.toml")],
                "TIER_RULES_FILE: cannot read",
            ),
        ];
        for (extra, expected) in cases {
            let err = with(extra).expect_err(expected).to_string();
            assert!(err.starts_with(expected), "{expected}: {err}");
        }
        // A local test relay may go unencrypted; tags and names may be off.
        let c = with(&[
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_TLS", "none"),
            ("C2S_TAGS", "off"),
            ("CNPJ_LOOKUP", "off"),
        ])
        .expect("valid");
        assert_eq!(c.alerts.email.map(|e| e.port), Some(25));
        assert!(c.alerts.tag_prefix.is_none() && c.cnpj.is_none());
        // The webhook URL is a secret: never in an error.
        let err = load(
            &[("SLACK_WEBHOOK_URL", "http://hooks.test/T0/B0/SECRET")],
            None,
        )
        .expect_err("http")
        .to_string();
        assert!(!err.contains("SECRET"), "{err}");
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "prot = 1\n").expect("write");
        assert!(load(&[], Some(&path)).is_err());
    }

    #[test]
    fn database_urls_are_masked() {
        let url = SecretString::from("postgres://app:s3cret@db.example:5432/core?sslmode=require");
        assert_eq!(
            mask_database_url(&url),
            "postgres://app:***@db.example:5432/core"
        );
        let url = SecretString::from("postgres://postgres@127.0.0.1:5432/test");
        assert_eq!(
            mask_database_url(&url),
            "postgres://postgres@127.0.0.1:5432/test"
        );
        // Any character in the password, unencoded: no piece of it is shown
        // (the whole location is hidden when the URL is ambiguous).
        for password in [
            "pa/ss",
            "p@ss",
            "pa?ss=1",
            "pa#ss",
            "p:a:s:s",
            "a/b@c?d#e",
            "@/",
            "x%2Fy",
            "1/ss",
        ] {
            let url = SecretString::from(format!(
                "postgres://app:{password}@db.example:5432/core?sslmode=require"
            ));
            let masked = mask_database_url(&url);
            for piece in password
                .split(['/', '@', '?', '#', ':', '='])
                .filter(|p| p.len() >= 2)
            {
                assert!(!masked.contains(piece), "{password}: {masked}");
            }
            assert!(masked.starts_with("postgres://"), "{masked}");
        }
        // A password in the query, with or without an `@` in it.
        for url in [
            "postgres://db.example/core?password=s3cret",
            "postgres://db.example/core?password=p@ssw0rd",
            "postgres://app@db.example/core?password=s3cr@t",
        ] {
            let masked = mask_database_url(&SecretString::from(url));
            for piece in ["s3cret", "p@ssw0rd", "ssw0rd", "s3cr", "@t"] {
                assert!(!masked.contains(piece), "{url}: {masked}");
            }
        }
        let url = SecretString::from("postgres://db.example/core?password=s3cret");
        assert_eq!(mask_database_url(&url), "postgres://db.example/core");
    }
}
