//! `hesscale-cli`: parse, check, run; print `Error: …` and pick the exit code
//! (2 for bad input, 1 for failures while running).

use std::process::ExitCode;

use clap::Parser;
use hesscale::cli::{Cli, Command};
use hesscale::config::check::CheckSpec;
use hesscale::config::cost::CostSpec;
use hesscale::config::diag::DiagSpec;
use hesscale::config::merge::MergeSpec;
use hesscale::config::quality::QualitySpec;
use hesscale::config::sample::SampleSpec;
use hesscale::{runner, Result};

/// mimalloc: the tool makes many small short-lived arrays per sample, which it serves
/// markedly faster than the system allocator (README, "Crates").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Run the command; the exit code of a command that succeeded (0, or 1 from `check` when
/// a number moved).
fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Sample(args) => runner::sample::run(&SampleSpec::try_from(args)?).map(|()| 0),
        Command::Diag(args) => runner::diag::run(&DiagSpec::try_from(args)?).map(|()| 0),
        Command::List(args) => runner::list::run(args.json).map(|()| 0),
        Command::Check(args) => {
            runner::check::run(&CheckSpec::try_from(args)?).map(|c| c.exit_code() as u8)
        }
        Command::Quality(args) => runner::quality::run(&QualitySpec::try_from(args)?).map(|()| 0),
        Command::Merge(args) => runner::merge::run(&MergeSpec::try_from(args)?).map(|()| 0),
        Command::Cost(args) => runner::cost::run(&CostSpec::try_from(args)?).map(|()| 0),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("Error: {error}");
            ExitCode::from(error.exit_code() as u8)
        }
    }
}
