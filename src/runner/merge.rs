//! `hesscale-cli merge DIR... --out-dir OUT`: combine the out-dirs of
//! `quality --shard I/N` runs into the files one unsharded run writes. The shards must
//! share one configuration, cover 1..N exactly once, and each be complete; the rows are
//! put back into canonical cell order and the summary is recomputed from them. The
//! out-dir (new or empty) receives every file at once, at the end.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::config::merge::MergeSpec;
use crate::config::quality::Shard;
use crate::error::{Error, Result};
use crate::io::csv_out::{
    file_bytes, CompleteCells, RunRow, TimingCellRow, RUNS_FILE, RUNS_HEADER, SUMMARY_FILE,
    TIMING_CELLS_FILE, TIMING_CELLS_HEADER, TIMING_FILE,
};
use crate::io::format::utc_now;
use crate::io::results_dir::{
    config_differences, git_revision, meta_bytes, read_meta, require_new_or_empty,
    write_out_dir_whole, RecordedRun, META_FILE,
};
use crate::runner::quality::{read_finished, summary_bytes};
use crate::runner::tool_version;
use crate::study::shard::{check_shard_set, interleave, shard_cells};

/// One shard directory read back: its metadata and each of its cells, as text and rows.
struct ShardFiles {
    recorded: RecordedRun,
    runs: CompleteCells<RunRow>,
    timing: CompleteCells<TimingCellRow>,
}

/// Read a shard directory's metadata.
fn read_recorded(dir: &Path) -> Result<RecordedRun> {
    read_meta(dir).map_err(|e| {
        Error::input(format!(
            "merge: '{}' is not a quality out-dir: {e}",
            dir.display()
        ))
    })
}

/// Read a shard directory's cells and check that it holds every one of them.
fn read_shard(dir: &Path, recorded: RecordedRun) -> Result<ShardFiles> {
    let cells = shard_cells(&recorded.grid, recorded.shard);
    let (runs, timing) = read_finished(dir, &recorded.grid, &cells)?;
    let finished = runs.blocks.len().min(timing.blocks.len());
    if finished < cells.len() {
        return Err(Error::input(format!(
            "merge: '{}' (shard {}) is incomplete: {finished} of {} cells finished; \
             finish it with `quality … --shard {} --resume`",
            dir.display(),
            recorded.shard,
            cells.len(),
            recorded.shard
        )));
    }
    Ok(ShardFiles {
        recorded,
        runs,
        timing,
    })
}

/// The cells of the shards (given in shard order) in canonical grid order: the text of
/// each cell, and all the rows.
fn in_grid_order<T>(by_shard: Vec<CompleteCells<T>>) -> (Vec<String>, Vec<T>) {
    let (blocks, rows): (Vec<_>, Vec<_>) = by_shard
        .into_iter()
        .map(|cells| (cells.blocks, cells.rows))
        .unzip();
    (
        interleave(blocks),
        interleave(rows).into_iter().flatten().collect(),
    )
}

/// Warn on stderr (one line) when the shards were written by more than one git
/// revision, naming each shard's.
fn warn_of_mixed_revisions(dirs: &[PathBuf], shards: &[ShardFiles]) {
    let mut all: Vec<String> = shards
        .iter()
        .flat_map(|shard| shard.recorded.revisions())
        .collect();
    all.sort();
    all.dedup();
    if all.len() > 1 {
        let each: Vec<String> = dirs
            .iter()
            .zip(shards)
            .map(|(dir, shard)| {
                format!(
                    "'{}': {}",
                    dir.display(),
                    shard.recorded.revisions().join(", ")
                )
            })
            .collect();
        eprintln!(
            "warning: merge: the shards were written by different git revisions ({})",
            each.join("; ")
        );
    }
}

/// Merge the shards a spec names into its out-dir. Everything is checked and computed
/// first; the out-dir (new or empty) then receives every file at once, so a failure
/// leaves no results behind that would block a retry.
pub fn run(spec: &MergeSpec) -> Result<()> {
    require_new_or_empty(&spec.out_dir, "merge into an empty or new --out-dir")?;
    let recorded = spec
        .dirs
        .iter()
        .map(|dir| read_recorded(dir))
        .collect::<Result<Vec<_>>>()?;
    for (dir, other) in spec.dirs.iter().zip(&recorded).skip(1) {
        let differences = config_differences(&recorded[0].config, &other.config);
        if !differences.is_empty() {
            return Err(Error::input(format!(
                "merge: '{}' and '{}' were run with different configurations ({})",
                spec.dirs[0].display(),
                dir.display(),
                differences.join("; ")
            )));
        }
    }
    let indices: Vec<(String, Shard)> = spec
        .dirs
        .iter()
        .zip(&recorded)
        .map(|(dir, run)| (dir.display().to_string(), run.shard))
        .collect();
    check_shard_set(&indices).map_err(|e| Error::input(format!("merge: {e}")))?;
    let started = utc_now();
    let mut shards = spec
        .dirs
        .iter()
        .zip(recorded)
        .map(|(dir, run)| read_shard(dir, run))
        .collect::<Result<Vec<_>>>()?;
    let merged_from: Vec<Value> = spec
        .dirs
        .iter()
        .zip(&shards)
        .map(|(dir, shard)| {
            let meta = &shard.recorded.meta;
            json!({
                "dir": dir.display().to_string(),
                "shard": shard.recorded.shard.to_json(),
                "git_revisions": shard.recorded.revisions(),
                "sessions": meta.get("sessions"),
                "started": meta.get("started"),
                "finished": meta.get("finished"),
            })
        })
        .collect();
    warn_of_mixed_revisions(&spec.dirs, &shards);

    shards.sort_by_key(|shard| shard.recorded.shard.index);
    let grid = shards[0].recorded.grid.clone();
    let config = shards[0].recorded.config.clone();
    let (runs, timing): (Vec<_>, Vec<_>) = shards
        .into_iter()
        .map(|shard| (shard.runs, shard.timing))
        .unzip();
    let (run_blocks, run_rows) = in_grid_order(runs);
    let (timing_blocks, timing_rows) = in_grid_order(timing);
    let (summary, timing_summary) = summary_bytes(grid.samples, &run_rows, &timing_rows);
    let cells = grid.n_cells();
    let meta = json!({
        "tool": tool_version(),
        "git_revision": git_revision(),
        "config": config,
        "shard": Shard::WHOLE.to_json(),
        "cells": {"grid": cells, "shard": cells},
        "threads": Value::Null,
        "preset": Value::Null,
        "started": started,
        "finished": utc_now(),
        "sessions": [],
        "merged_from": merged_from,
    });
    write_out_dir_whole(
        &spec.out_dir,
        &[
            (RUNS_FILE, file_bytes(RUNS_HEADER, run_blocks)),
            (
                TIMING_CELLS_FILE,
                file_bytes(TIMING_CELLS_HEADER, timing_blocks),
            ),
            (SUMMARY_FILE, summary),
            (TIMING_FILE, timing_summary),
            (META_FILE, meta_bytes(&meta)),
        ],
    )?;
    eprintln!(
        "merge: {} shards, {cells} cells -> {}",
        indices.len(),
        spec.out_dir.display()
    );
    Ok(())
}
