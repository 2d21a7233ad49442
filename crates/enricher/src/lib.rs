//! c2s-enrich: turns Contact2Sale leads into known people.
//!
//! This crate is the service (library + the `c2s-enrich` binary). The domain
//! vocabulary (CPF, phones, …) lives in the `brazil` crate. The lab — `bench`,
//! `chaos` and `demo`, which drive the provider sandbox (`c2s-sim`) — is built
//! only with the `lab` feature (on by default; the production image builds
//! with `--no-default-features`).

pub mod app;
#[cfg(feature = "lab")]
pub mod bench;
#[cfg(feature = "lab")]
pub mod chaos;
pub mod cli;
pub mod config;
pub mod db;
#[cfg(feature = "lab")]
pub mod demo;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod ops;
pub mod pipeline;
pub mod providers;
pub mod store;
pub mod synth;
pub mod telemetry;
pub mod testing;
