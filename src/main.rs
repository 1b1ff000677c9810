//! `hesscale-cli`: parse, check, run; print `Error: …` and pick the exit code
//! (2 for bad input, 1 for failures while running).

use std::process::ExitCode;

use clap::Parser;
use hesscale::cli::{Cli, Command};
use hesscale::config::check::CheckSpec;
use hesscale::config::cost::CostSpec;
use hesscale::config::diag::DiagSpec;
use hesscale::config::merge::MergeSpec;
use hesscale::config::optimize::OptimizeSpec;
use hesscale::config::quality::QualitySpec;
use hesscale::config::rl::RlSpec;
use hesscale::config::sample::SampleSpec;
use hesscale::io::console;
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
        Command::Quality(args) => runner::quality::run(&QualitySpec::try_from(*args)?).map(|()| 0),
        Command::Optimize(args) => {
            runner::optimize::run(&OptimizeSpec::try_from(*args)?).map(|()| 0)
        }
        Command::Rl(args) => runner::rl::run(&RlSpec::try_from(*args)?).map(|()| 0),
        Command::Merge(args) => runner::merge::run(&MergeSpec::try_from(args)?).map(|()| 0),
        Command::Cost(args) => runner::cost::run(&CostSpec::try_from(args)?).map(|()| 0),
        Command::Completions(args) => runner::shell::completions(args.shell).map(|()| 0),
        Command::Man(args) => runner::shell::man(args.subcommand.as_deref()).map(|()| 0),
    }
}

/// A command-line error of clap's as one line: `invalid value 'x' for '--flag <F>'
/// (possible values: …); see --help`.
fn one_line(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
    let first = lines
        .next()
        .unwrap_or("invalid command line")
        .trim_start_matches("error: ");
    let details: Vec<String> = lines
        .filter(|line| !line.starts_with("For more information") && !line.starts_with("Usage:"))
        .map(|line| {
            line.trim_start_matches('[')
                .trim_end_matches(']')
                .to_string()
        })
        .filter(|line| !line.starts_with("tip: "))
        .collect();
    if details.is_empty() {
        format!("{first}; see --help")
    } else {
        format!("{first} ({}); see --help", details.join("; "))
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => {
            // --help and --version: clap's own output, exit code 0.
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error)
            if error.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            // No subcommand: the overview, on stderr, as a usage error.
            let _ = error.print();
            return ExitCode::from(2);
        }
        Err(error) => {
            console::line(&format!("Error: {}", one_line(&error)));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            console::line(&format!("Error: {error}"));
            ExitCode::from(error.exit_code() as u8)
        }
    }
}
