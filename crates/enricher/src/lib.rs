//! c2s-enrich: turns Contact2Sale leads into known people.
//!
//! This crate is the service (library + the `c2s-enrich` binary). The domain
//! vocabulary (CPF, phones, …) lives in the `brazil` crate.

pub mod app;
pub mod archive;
pub mod bench;
pub mod chaos;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod dq;
pub mod embedded_pg;
pub mod hardening;
pub mod http;
pub mod maintenance;
pub mod metrics;
pub mod migrate;
pub mod pipeline;
pub mod plan;
pub mod providers;
pub mod store;
pub mod synth;
pub mod telemetry;
pub mod testing;
