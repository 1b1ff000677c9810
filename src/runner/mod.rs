//! Runners: each takes a checked spec from `crate::config`, computes, and hands the
//! results to an exporter (`crate::io`) for the bytes.

pub mod check;
pub mod cost;
pub mod diag;
pub mod list;
pub mod merge;
pub mod quality;
pub mod sample;

/// The tool's name and version, recorded in every output's metadata.
pub fn tool_version() -> String {
    format!("hesscale-cli {}", env!("CARGO_PKG_VERSION"))
}
