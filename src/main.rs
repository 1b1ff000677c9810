//! `hesscale-cli`: parse, check, run; print `Error: …` and pick the exit code
//! (2 for bad input, 1 for failures while running).

use std::process::ExitCode;

use clap::Parser;
use hesscale::cli::{Cli, Command};
use hesscale::config::cost::CostSpec;
use hesscale::config::diag::DiagSpec;
use hesscale::config::sample::SampleSpec;
use hesscale::{runner, Result};

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Sample(args) => runner::sample::run(&SampleSpec::try_from(args)?),
        Command::Diag(args) => runner::diag::run(&DiagSpec::try_from(args)?),
        Command::List(args) => runner::list::run(&args),
        Command::Cost(args) => runner::cost::run(&CostSpec::try_from(args)?),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error}");
            ExitCode::from(error.exit_code() as u8)
        }
    }
}
