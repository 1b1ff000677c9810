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
//! Their summaries share [`stats`]. Every study is listed once, in [`STUDIES`] (its name,
//! its summary files, how its out-dirs merge), which `merge` and `check` read. A new study
//! is its own module implementing [`engine::Study`], a line in [`STUDIES`], its spec in
//! `config` and its subcommand (README, "Adding a study").

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

/// A file a study writes whole at the end, as the commands that may be handed it know it.
pub struct SummaryFile {
    /// Its name under the out-dir.
    pub file: &'static str,
    /// Its header line.
    pub header: &'static str,
    /// What it is, with its article (`an optimize summary`).
    pub what: &'static str,
}

/// How the out-dirs of a study merge: the study rebuilt from each recorded configuration
/// ([`merge::merge`]), given the study's name, the out-dirs, where the merged files go and
/// whether a partial grid is accepted.
type Merger = fn(&str, &[PathBuf], &Path, bool) -> Result<MergeReport>;

/// A study of the program, as the commands that handle any study's files (`merge`,
/// `check`) see it.
pub struct Registered {
    /// Its name: its subcommand and its files `NAME.meta.json` and `NAME.ledger.csv`.
    pub name: &'static str,
    /// The files it writes whole at the end.
    pub summaries: &'static [SummaryFile],
    /// How its out-dirs merge; `None` for a study whose out-dirs do not (cost's timings
    /// belong to the machine that took them).
    merge: Option<Merger>,
}

/// Every study, once: the one list `merge` and `check` read. A new study is a line here.
pub const STUDIES: [Registered; 4] = [
    Registered {
        name: quality::NAME,
        summaries: &quality::SUMMARIES,
        merge: Some(|name, dirs, out_dir, partial| {
            merge::merge(name, dirs, out_dir, partial, |config| {
                Ok(quality::QualityStudy::without_data(QualityGrid::from_json(
                    config,
                )?))
            })
        }),
    },
    Registered {
        name: optimize::NAME,
        summaries: &optimize::SUMMARIES,
        merge: Some(|name, dirs, out_dir, partial| {
            merge::merge(name, dirs, out_dir, partial, |config| {
                Ok(optimize::OptimizeStudy::new(OptimizeGrid::from_json(
                    config,
                )?))
            })
        }),
    },
    Registered {
        name: rl::NAME,
        summaries: &rl::SUMMARIES,
        merge: Some(|name, dirs, out_dir, partial| {
            merge::merge(name, dirs, out_dir, partial, |config| {
                Ok(rl::RlStudy::new(RlGrid::from_json(config)?))
            })
        }),
    },
    Registered {
        name: cost::NAME,
        summaries: &[],
        merge: None,
    },
];

/// The names of the studies whose out-dirs merge.
fn mergeable() -> Vec<&'static str> {
    STUDIES
        .iter()
        .filter(|study| study.merge.is_some())
        .map(|study| study.name)
        .collect()
}

/// The mergeable study whose out-dir `dir` is, by the metadata file it holds.
pub fn mergeable_study(dir: &Path) -> Result<&'static str> {
    let names = mergeable();
    names
        .iter()
        .find(|name| dir.join(format!("{name}.meta.json")).exists())
        .copied()
        .ok_or_else(|| {
            Error::input(format!(
                "merge: '{}' is not a {} out-dir (no {} found)",
                dir.display(),
                names.join(" or "),
                names
                    .iter()
                    .map(|name| format!("{name}.meta.json"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ))
        })
}

/// Merge the out-dirs of the study named `name` (see [`merge::merge`]).
pub fn merge_dirs(
    name: &str,
    dirs: &[PathBuf],
    out_dir: &Path,
    partial: bool,
) -> Result<MergeReport> {
    match STUDIES.iter().find(|study| study.name == name) {
        Some(Registered {
            merge: Some(merge), ..
        }) => merge(name, dirs, out_dir, partial),
        _ => Err(Error::input(format!(
            "merge: {name} out-dirs cannot be merged"
        ))),
    }
}

/// The summary file of any study whose header is `header`, as `an optimize summary
/// (optimize_summary.csv)`.
pub fn summary_with_header(header: &str) -> Option<String> {
    STUDIES
        .iter()
        .flat_map(|study| study.summaries)
        .find(|summary| summary.header == header)
        .map(|summary| format!("{} ({})", summary.what, summary.file))
}
