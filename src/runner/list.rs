//! `hesscale-cli list`: the method table, generated from [`Method::catalogue`].

use crate::error::Result;
use crate::io::method_table::render_table;
use crate::io::output::Output;
use crate::methods::Method;

/// Print the table (as text, or as JSON when `as_json`).
pub fn run(as_json: bool) -> Result<()> {
    let catalogue = Method::catalogue();
    let text = if as_json {
        serde_json::to_string_pretty(&catalogue).expect("the table serialises") + "\n"
    } else {
        render_table(&catalogue)
    };
    Output::Stdout.write(text.as_bytes())
}
