//! The options every study runs with: threads, out-dir, resume or replace, shard, and the
//! preset they came from.

use std::path::PathBuf;

use crate::cli::RunArgs;
use crate::config::check_range;
use crate::config::preset::{count_option, shard_option, Whole};
use crate::config::shard::Shard;
use crate::error::Result;

/// The most worker threads.
pub const MAX_THREADS: usize = 1024;

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

/// The run options a preset may set (under the keys `threads`, `out_dir`, `shard`).
#[derive(Debug, Default)]
pub struct PresetRun {
    pub threads: Option<Whole>,
    pub out_dir: Option<PathBuf>,
    pub shard: Option<String>,
}

impl RunOptions {
    /// The checked options of a study's run: each flag, else the preset's value, else the
    /// default (threads: the CPUs; out-dir: `results`; shard: `1/1`, checked against the
    /// grid's `cells`).
    pub fn from_args(args: RunArgs, preset: PresetRun, cells: usize) -> Result<RunOptions> {
        let path = args.preset.as_deref();
        let default_threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (threads, origin) = count_option(
            args.threads,
            "threads",
            preset.threads,
            path,
            "threads",
            default_threads,
        );
        let threads = check_range(&origin, "a thread count", threads, MAX_THREADS)?;
        let out_dir = args
            .out_dir
            .or(preset.out_dir)
            .unwrap_or_else(|| PathBuf::from("results"));
        let shard = shard_option(args.shard, preset.shard, path, cells)?;
        Ok(RunOptions {
            threads,
            out_dir,
            resume: args.resume,
            replace: false,
            shard,
            preset: args.preset,
            quiet: args.quiet,
            yes: args.yes,
        })
    }
}
