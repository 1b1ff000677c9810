//! `hesscale-cli merge DIR... --out-dir OUT`: combine the out-dirs of
//! `quality --shard I/N` runs into the files one unsharded run writes. The shards must
//! share one configuration, cover 1..N exactly once, and each be complete; the rows are
//! put back into canonical cell order and the summary is recomputed from them.

use std::path::Path;

use serde_json::{json, Value};

use crate::config::merge::MergeSpec;
use crate::config::quality::Shard;
use crate::error::{Error, Result};
use crate::io::csv_out::{
    complete_cells, file_bytes, RUNS_FILE, RUNS_HEADER, TIMING_CELLS_FILE, TIMING_CELLS_HEADER,
};
use crate::io::format::utc_now;
use crate::io::output::write_atomically;
use crate::io::results_dir::{
    config_differences, create_out_dir, git_revision, read_meta, refuse_existing_results,
    write_meta, RecordedRun,
};
use crate::runner::quality::{expected_keys, parse_run_line, parse_timing_line, write_summaries};
use crate::runner::tool_version;
use crate::study::shard::{check_shard_set, grid_cells, interleave, shard_cells};

/// One shard directory read back: its metadata and the text of each of its cells.
struct ShardFiles {
    recorded: RecordedRun,
    runs: Vec<String>,
    timing: Vec<String>,
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
    let (run_keys, timing_keys) = expected_keys(&recorded.grid, &cells);
    let runs = complete_cells(&dir.join(RUNS_FILE), RUNS_HEADER, &run_keys, parse_run_line)?;
    let timing = complete_cells(
        &dir.join(TIMING_CELLS_FILE),
        TIMING_CELLS_HEADER,
        &timing_keys,
        parse_timing_line,
    )?;
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
        runs: runs.blocks,
        timing: timing.blocks,
    })
}

/// Merge the shards a spec names into its out-dir.
pub fn run(spec: &MergeSpec) -> Result<()> {
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
    let mut shards = spec
        .dirs
        .iter()
        .zip(recorded)
        .map(|(dir, run)| read_shard(dir, run))
        .collect::<Result<Vec<_>>>()?;

    create_out_dir(&spec.out_dir)?;
    refuse_existing_results(&spec.out_dir, "merge into an empty or new --out-dir")?;
    let merged_from: Vec<Value> = spec
        .dirs
        .iter()
        .zip(&shards)
        .map(|(dir, shard)| {
            let meta = &shard.recorded.meta;
            json!({
                "dir": dir.display().to_string(),
                "shard": shard.recorded.shard.to_json(),
                "git_revision": meta.get("git_revision"),
                "threads": meta.get("threads"),
                "started": meta.get("started"),
                "finished": meta.get("finished"),
            })
        })
        .collect();
    shards.sort_by_key(|shard| shard.recorded.shard.index);
    let grid = shards[0].recorded.grid.clone();
    let config = shards[0].recorded.config.clone();
    let (runs, timing): (Vec<_>, Vec<_>) = shards
        .into_iter()
        .map(|shard| (shard.runs, shard.timing))
        .unzip();
    let dir = &spec.out_dir;
    let started = utc_now();
    write_atomically(
        &dir.join(RUNS_FILE),
        &file_bytes(RUNS_HEADER, interleave(runs)),
    )?;
    write_atomically(
        &dir.join(TIMING_CELLS_FILE),
        &file_bytes(TIMING_CELLS_HEADER, interleave(timing)),
    )?;
    let cells = grid_cells(&grid);
    write_summaries(dir, &grid, &cells)?;
    let meta = json!({
        "tool": tool_version(),
        "git_revision": git_revision(),
        "config": config,
        "shard": Shard::WHOLE.to_json(),
        "cells": {"grid": cells.len(), "shard": cells.len()},
        "threads": Value::Null,
        "preset": Value::Null,
        "started": started,
        "finished": utc_now(),
        "resumed": [],
        "merged_from": merged_from,
    });
    write_meta(dir, &meta)?;
    eprintln!(
        "merge: {} shards, {} cells -> {}",
        indices.len(),
        cells.len(),
        dir.display()
    );
    Ok(())
}
