//! `hesscale-cli completions SHELL` and `hesscale-cli man`: the shell completion script and
//! the manual page, generated from the command line's definition (clap_complete,
//! clap_mangen), so they never drift from it.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, Result};
use crate::io::output::Output;

/// The program's name, as the shells see it.
const BIN_NAME: &str = "hesscale-cli";

/// Write the completion script of `shell` to standard output.
pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, BIN_NAME, &mut script);
    if shell == clap_complete::Shell::Bash {
        script = label_bash_arms_as_the_loop_does(&script);
    }
    Output::Stdout.write(&script)
}

/// clap_complete (4.6.12, the newest) spells a hyphenated program name two ways in its bash
/// script: the loop that follows the words typed sets `cmd=hesscale__cli__subcmd__quality`,
/// while the `case` arms that complete a subcommand's options are labelled
/// `hesscale__subcmd__cli__subcmd__quality)`, so no subcommand's option ever completes
/// (clap-rs/clap#6421, open). The arms are relabelled the way the loop spells the name.
fn label_bash_arms_as_the_loop_does(script: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(script);
    let arms_spelling = BIN_NAME.replace('-', "__subcmd__");
    let loop_spelling = BIN_NAME.replace('-', "__");
    text.replace(&arms_spelling, &loop_spelling).into_bytes()
}

/// Write the manual page (roff) of the program, or of `subcommand` (the page
/// `hesscale-cli-SUBCOMMAND(1)` that the program's page refers to), to standard output.
pub fn man(subcommand: Option<&str>) -> Result<()> {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let command = match subcommand {
        None => command,
        Some(name) => command.find_subcommand(name).cloned().ok_or_else(|| {
            let names: Vec<&str> = command.get_subcommands().map(|s| s.get_name()).collect();
            Error::input(format!(
                "man: no subcommand '{name}' (one of: {})",
                names.join(", ")
            ))
        })?,
    };
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .map_err(|e| Error::runtime(format!("cannot render the manual page: {e}")))?;
    Output::Stdout.write(&page)
}
