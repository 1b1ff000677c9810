//! hesscale: exact and approximate Hessian diagonals of small MLPs (see `SPEC.md`).

pub mod error;
pub mod methods;
pub mod nn;
pub mod rng;

pub use error::{Error, Result};
