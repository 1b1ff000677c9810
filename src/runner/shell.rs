//! `hesscale-cli completions SHELL` and `hesscale-cli man`: the shell completion script and
//! the manual page, generated from the command line's definition (clap_complete,
//! clap_mangen), so they never drift from it.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, Result};
use crate::io::output::Output;

/// Write the completion script of `shell` to standard output.
pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "hesscale-cli", &mut script);
    Output::Stdout.write(&script)
}

/// Write the manual page (roff) to standard output.
pub fn man() -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|e| Error::runtime(format!("cannot render the manual page: {e}")))?;
    Output::Stdout.write(&page)
}
