//! The lab around c2s-enrich: everything that drives the provider sandbox
//! (`c2s-sim`) rather than real providers.
//!
//! - `bench`: the benchmarks, each against a baseline from the same run;
//! - `chaos`: the reliability drills;
//! - `demo`: the README's first command — the whole pipeline on an embedded
//!   database against the sandbox;
//! - `synth`: synthetic customer databases at scale;
//! - `testing`: test support (a fresh database per test, captured logs,
//!   the API on a free port, the sandbox and a pipeline wired to it).
//!
//! The `c2s-enrich` binary offers `bench`, `chaos`, `demo` and `synth`
//! through its `lab` feature (on by default); the production image builds
//! without it, so production never links this crate nor the sandbox.

pub mod bench;
pub mod chaos;
pub mod demo;
pub mod synth;
pub mod testing;
