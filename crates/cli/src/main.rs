// A lead's whole run, awaited inside the worker or the bench, is a future
// type nested deeper than the default limit of 128 lets the compiler lay out.
#![recursion_limit = "256"]

use std::process::ExitCode;

use clap::Parser;

use c2s_enrich::{config::Config, telemetry};

mod cli;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format, cli.command.default_log_filter());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole cause chain on one line.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
