//! The studies, on one engine ([`engine`]): a study says what its cells are, how one cell
//! runs, what rows it yields and how they summarise; the engine does the rest (shards,
//! parallel cells with ordered output, the ledger, resume, merge, the metadata record,
//! progress, atomic writes).
//!
//! * [`quality`]: how close each approximation is to the exact diagonal (SPEC §3);
//! * [`cost`]: what each method costs next to a gradient (SPEC §4);
//! * [`optimize`]: what each optimizer, with and without step-size scaling, does for
//!   training, over step sizes (SPEC §9);
//! * [`rl`]: the same for A2C and PPO agents on control tasks (the ICML 2024 RL study).
//!
//! Their summaries share [`stats`]. A new study is its own module implementing
//! [`engine::Study`], a runner, and (to be mergeable) a line in [`merge_dirs`] and
//! `config::merge::MERGEABLE`.

pub mod cost;
pub mod engine;
pub mod estimate;
pub mod merge;
pub mod meta;
pub mod optimize;
pub mod progress;
pub mod quality;
pub mod rl;
pub mod stats;

use std::path::{Path, PathBuf};

use crate::config::optimize::OptimizeGrid;
use crate::config::quality::QualityGrid;
use crate::config::rl::RlGrid;
use crate::error::{Error, Result};
use merge::MergeReport;

/// Merge the out-dirs of the study named `name` (see [`merge::merge`]).
pub fn merge_dirs(
    name: &str,
    dirs: &[PathBuf],
    out_dir: &Path,
    partial: bool,
) -> Result<MergeReport> {
    match name {
        "quality" => merge::merge(name, dirs, out_dir, partial, |config| {
            Ok(quality::QualityStudy::without_data(QualityGrid::from_json(
                config,
            )?))
        }),
        "optimize" => merge::merge(name, dirs, out_dir, partial, |config| {
            Ok(optimize::OptimizeStudy::new(OptimizeGrid::from_json(
                config,
            )?))
        }),
        "rl" => merge::merge(name, dirs, out_dir, partial, |config| {
            Ok(rl::RlStudy::new(RlGrid::from_json(config)?))
        }),
        other => Err(Error::input(format!(
            "merge: {other} out-dirs cannot be merged"
        ))),
    }
}
