//! `hesscale-cli completions SHELL` and `hesscale-cli man`: the shell completion script and
//! the manual page, generated from the command line's definition (clap_complete,
//! clap_mangen), so they never drift from it.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, Result};

/// Write the completion script of `shell` to standard output.
pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "hesscale-cli", &mut std::io::stdout());
    Ok(())
}

/// Write the manual page (roff) to standard output.
pub fn man() -> Result<()> {
    match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::runtime(format!(
            "cannot write to standard output: {e}"
        ))),
        _ => Ok(()),
    }
}
