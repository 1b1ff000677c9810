//! Runners: one thin file per subcommand (the grid studies `quality`, `optimize` and `rl`
//! share [`study`]); each takes a checked spec from `crate::config`, runs it (a study on
//! the engine, or a computation of `crate::methods`) and hands the results to `crate::io`
//! for the bytes.

pub mod check;
pub mod cost;
pub mod diag;
pub mod list;
pub mod merge;
pub mod sample;
pub mod shell;
pub mod study;
