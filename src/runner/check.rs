//! `hesscale-cli check`: compare a summary with its baseline and print the report.

use crate::config::check::CheckSpec;
use crate::error::Result;
use crate::io::output::Output;
use crate::study::check::{compare_summaries, render_report, Comparison};

/// Compare, print the report on standard output, and hand the comparison back so that
/// `main` can pick the exit code (0 nothing moved, 1 something moved).
pub fn run(spec: &CheckSpec) -> Result<Comparison> {
    let comparison = compare_summaries(&spec.baseline, &spec.current, spec.tolerance)?;
    Output::Stdout.write(render_report(&comparison).as_bytes())?;
    Ok(comparison)
}
