//! The checked configuration of `hesscale-cli check`.

use std::path::PathBuf;

use crate::cli::CheckArgs;
use crate::compare::Tolerance;
use crate::error::{Error, Result};

/// A checked `check` request: two summary files and a valid tolerance.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckSpec {
    pub baseline: PathBuf,
    pub current: PathBuf,
    pub tolerance: Tolerance,
}

impl TryFrom<CheckArgs> for CheckSpec {
    type Error = Error;

    fn try_from(args: CheckArgs) -> Result<Self> {
        Ok(CheckSpec {
            tolerance: Tolerance::new(args.rtol, args.atol)?,
            baseline: args.baseline,
            current: args.current,
        })
    }
}
