//! The question before a long run: above [`LONG_RUN_SECONDS`] of estimated CPU time, a
//! command asks before it starts. On a terminal the user answers; otherwise (a script, a
//! batch job) it is refused unless `--yes` was given, with a one-line error that says so.

use std::io::IsTerminal;

use crate::error::{Error, Result};
use crate::io::format::duration;

/// The estimated CPU time above which a command asks before starting (one hour).
pub const LONG_RUN_SECONDS: f64 = 3600.0;

/// Ask before a run estimated at `cpu_seconds` (described by `plan`), unless it is short
/// or `yes` was given.
pub fn confirm_long_run(plan: &str, cpu_seconds: f64, yes: bool) -> Result<()> {
    if cpu_seconds <= LONG_RUN_SECONDS || yes {
        return Ok(());
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        crate::io::console::prompt(&format!("{plan}. This is a long run: start it? [y/N] "));
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Error::input(format!("cannot read the answer: {e}")))?;
        return if matches!(answer.trim(), "y" | "Y" | "yes") {
            Ok(())
        } else {
            Err(Error::input(
                "not started (pass --yes to start without asking)",
            ))
        };
    }
    Err(Error::input(format!(
        "the run is estimated at {} of CPU time, over the limit of {} for a run started \
         without --yes; add --yes to start it",
        duration(cpu_seconds),
        duration(LONG_RUN_SECONDS)
    )))
}
