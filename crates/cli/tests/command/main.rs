//! The `c2s-enrich` command as a user runs it: one test binary (each links
//! the whole service; one link instead of four).

// A lead's whole run, awaited inside the worker or the bench, is a future
// type nested deeper than the default limit of 128 lets the compiler lay out.
#![recursion_limit = "256"]

mod bench_smoke;
mod cli;
mod dq;
mod enrich_command;
mod subject;
mod worker_process;
