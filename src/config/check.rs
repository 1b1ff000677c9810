//! The checked configuration of `hesscale-cli check`.

use std::path::PathBuf;

use crate::cli::CheckArgs;
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

/// How far a value may move: `|current − baseline| ≤ atol + rtol·|baseline|`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Relative tolerance, scaled by `|baseline|`.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
}

impl Default for Tolerance {
    /// The CLI defaults: `rtol = 1e-9`, `atol = 1e-12`.
    fn default() -> Self {
        Tolerance {
            rtol: 1e-9,
            atol: 1e-12,
        }
    }
}

impl Tolerance {
    /// A tolerance after checking that both parts are finite and non-negative.
    pub fn new(rtol: f64, atol: f64) -> Result<Self> {
        let tolerance = Tolerance { rtol, atol };
        tolerance.validate()?;
        Ok(tolerance)
    }

    /// Checks that `rtol` and `atol` are finite and non-negative (else an input error).
    pub fn validate(&self) -> Result<()> {
        for (name, value) in [("--rtol", self.rtol), ("--atol", self.atol)] {
            if !value.is_finite() || value < 0.0 {
                return Err(Error::input(format!(
                    "{name} must be a finite number ≥ 0, got {value}"
                )));
            }
        }
        Ok(())
    }

    /// Whether `current` is within tolerance of `baseline`.
    pub fn is_close(&self, baseline: f64, current: f64) -> bool {
        (current - baseline).abs() <= self.atol + self.rtol * baseline.abs()
    }
}
