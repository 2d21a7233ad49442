//! The `c2s-enrich` command as a user runs it: one test binary (each links
//! the whole service; one link instead of four).

mod bench_smoke;
mod cli;
mod dq;
mod enrich_command;
mod subject;
mod worker_process;
