//! hesscale: exact and approximate Hessian diagonals of small MLPs (see `SPEC.md`).

pub mod check;
pub mod error;

pub use error::{Error, Result};
