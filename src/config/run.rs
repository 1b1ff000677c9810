//! The options every study runs with: threads, out-dir, resume or replace, shard, and the
//! preset they came from.

use std::path::PathBuf;

use crate::config::shard::Shard;

/// How to run a study: the checked options every study shares.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOptions {
    /// Worker threads; cells run in parallel on them.
    pub threads: usize,
    /// Where the files go.
    pub out_dir: PathBuf,
    /// Continue the run recorded in the out-dir.
    pub resume: bool,
    /// Remove the study's existing files before starting (`cost --force`).
    pub replace: bool,
    /// The slice of the cells this run computes.
    pub shard: Shard,
    /// The preset file the options came from, recorded in the metadata.
    pub preset: Option<PathBuf>,
    /// Print no results table at the end.
    pub quiet: bool,
    /// Start a run estimated above the long-run limit without asking.
    pub yes: bool,
}
