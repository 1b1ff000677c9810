//! Checked configurations: each subcommand's arguments become a spec type through
//! `TryFrom`, which rejects every bad value with a one-line message before any work. Only
//! these types reach the runners.

pub mod check;
pub mod cost;
pub mod diag;
pub mod grid;
pub mod memory;
pub mod merge;
pub mod optimize;
pub mod preset;
pub mod quality;
pub mod rl;
pub mod run;
pub mod sample;
pub mod shard;

use std::fmt::Display;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::io::output::Output;

/// The largest width of any layer we accept.
pub const MAX_WIDTH: usize = 1 << 16;
/// The largest number of parameters of a model we accept (400 MB of f64).
pub const MAX_PARAMS: usize = 50_000_000;

/// Parse a comma-separated list of values for `flag`; an empty text is an empty list.
pub fn parse_list<T>(flag: &str, text: &str) -> Result<Vec<T>>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|item| {
            item.trim()
                .parse::<T>()
                .map_err(|e| Error::input(format!("--{flag}: '{}': {e}", item.trim())))
        })
        .collect()
}

/// Refuse a grid with an empty axis: `axes` are (key, is empty) pairs, `origin` prefixes
/// the key in the message (a preset's or a recorded run's path, or nothing for flags).
pub fn check_nonempty(origin: &str, axes: &[(&str, bool)]) -> Result<()> {
    match axes.iter().find(|(_, empty)| *empty) {
        Some((key, _)) => Err(Error::input(format!(
            "{origin}{key}: give at least one value"
        ))),
        None => Ok(()),
    }
}

/// Check that `value`, given by `origin` (a flag like `--widths` or a preset key), is
/// at least 1 and at most `max`; `what` names it in the message (`a width`).
pub fn check_range(origin: impl Display, what: &str, value: usize, max: usize) -> Result<usize> {
    if value == 0 {
        Err(Error::input(format!(
            "{origin}: {what} of 0 is not allowed"
        )))
    } else if value > max {
        Err(Error::input(format!(
            "{origin}: {what} of {value} is over the limit of {max}"
        )))
    } else {
        Ok(value)
    }
}

/// Check a layer width given by `flag`: at least 1, at most [`MAX_WIDTH`].
pub fn check_width(flag: &str, width: usize) -> Result<usize> {
    check_range(format!("--{flag}"), "a width", width, MAX_WIDTH)
}

/// Check a count given by `flag` (batch size, repetitions…): at least 1, at most `max`.
pub fn check_count(flag: &str, count: usize, max: usize) -> Result<usize> {
    check_range(format!("--{flag}"), "a value", count, max)
}

/// The destination of `--output`, checked to be writable before any work.
pub fn checked_output(arg: &str) -> Result<Output> {
    let output = Output::from_arg(arg);
    output.check_writable()?;
    Ok(output)
}

/// Check a model's parameter count against [`MAX_PARAMS`].
pub fn check_n_params(n_params: usize) -> Result<usize> {
    if n_params > MAX_PARAMS {
        Err(Error::input(format!(
            "the model would have {n_params} parameters, over the limit of {MAX_PARAMS}"
        )))
    } else {
        Ok(n_params)
    }
}
