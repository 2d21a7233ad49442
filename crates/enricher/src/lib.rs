//! c2s-enrich: turns Contact2Sale leads into known people.
//!
//! This crate is the service as a library; the `c2s-enrich` command is
//! `crates/cli`, and the lab (benchmarks, drills, demo, test support, which
//! drive the provider sandbox) is `crates/lab`. The domain vocabulary (CPF,
//! phones, …) lives in the `brazil` crate.
//!
//! - `domain`: pure rules (leads, dossiers, identity, Google Ads forms);
//! - `providers`: the clients of C2S, Diretrix and the Work API;
//! - `store`: every read and write of the service's data (all its SQL);
//! - `pipeline`: a lead's run, step by step, and the worker;
//! - `http`: the API, webhooks and pages; `notify`: alerts (Slack, e-mail);
//! - `db`: the database as a thing to run (embedded cluster, migrations,
//!   hardening); `ops`: data quality, archive, maintenance;
//! - `app`: wiring; `config`, `metrics`, `telemetry`.

pub mod app;
pub mod config;
/// The database as a thing to run (crate `c2s-db`).
pub use c2s_db as db;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod ops;
pub mod pipeline;
pub mod providers;
pub mod store;
pub mod telemetry;
