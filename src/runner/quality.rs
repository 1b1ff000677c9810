//! `hesscale-cli quality`: prepare the out-dir (fresh, or resumed where a run stopped),
//! run the shard's cells in parallel on a local rayon pool, append each finished cell to
//! the CSVs in canonical order, then write the summary and timing files and the metadata.
//!
//! Byte-identity for any `--threads`: workers take cells in canonical order and hand
//! results to an [`OrderedWriter`], which appends a cell only once every earlier cell is
//! written. A kill loses at most the cells in flight or waiting for an earlier one.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde_json::{json, Value};

use crate::config::quality::{QualityGrid, QualitySpec};
use crate::error::{Error, Result};
use crate::io::csv_out::{
    complete_cells, file_bytes, run_row_keys, runs_bytes, timing_cells_bytes, timing_row_keys,
    truncate, Appender, CompleteCells, RunRow, SummaryRow, TimingCellRow, TimingRow, RUNS_FILE,
    RUNS_HEADER, SUMMARY_FILE, SUMMARY_HEADER, TIMING_CELLS_FILE, TIMING_CELLS_HEADER, TIMING_FILE,
    TIMING_HEADER,
};
use crate::io::format::utc_now;
use crate::io::output::write_atomically;
use crate::io::results_dir::{
    config_differences, create_out_dir, git_revision, read_meta, refuse_existing_results,
    write_meta, META_FILE,
};
use crate::runner::tool_version;
use crate::study::quality::{run_cell, CellResult};
use crate::study::shard::shard_cells;
use crate::study::summary::{aggregate_timing, summarize};
use crate::study::Cell;

/// The method names of a grid's runs rows and timing rows, in file order.
fn method_names(grid: &QualityGrid) -> (Vec<String>, Vec<String>) {
    let names =
        |methods: &[crate::methods::Method]| methods.iter().map(|m| m.to_string()).collect();
    (names(&grid.methods), grid.timed_subjects())
}

/// The row keys each cell writes to the runs file and to the timing-cells file.
fn expected_keys(grid: &QualityGrid, cells: &[Cell]) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let (methods, timed) = method_names(grid);
    let runs = cells
        .iter()
        .map(|cell| run_row_keys(cell, grid.batch_size, &methods))
        .collect();
    let timing = cells
        .iter()
        .map(|cell| timing_row_keys(cell, grid.batch_size, &timed))
        .collect();
    (runs, timing)
}

/// The cells of `dir`'s runs and timing-cells files that are complete (read against
/// the keys `cells` write), each row parsed once.
pub fn read_finished(
    dir: &Path,
    grid: &QualityGrid,
    cells: &[Cell],
) -> Result<(CompleteCells<RunRow>, CompleteCells<TimingCellRow>)> {
    let (run_keys, timing_keys) = expected_keys(grid, cells);
    let runs = complete_cells(&dir.join(RUNS_FILE), RUNS_HEADER, &run_keys, RunRow::parse)?;
    let timing = complete_cells(
        &dir.join(TIMING_CELLS_FILE),
        TIMING_CELLS_HEADER,
        &timing_keys,
        TimingCellRow::parse,
    )?;
    Ok((runs, timing))
}

/// One session of a run (the first, or a `--resume`): when it started, the build
/// (tool version and git revision), its threads and the cells already done.
fn session(threads: usize, cells_done: usize) -> Value {
    json!({
        "at": utc_now(),
        "tool": tool_version(),
        "git_revision": git_revision(),
        "threads": threads,
        "cells_done": cells_done,
    })
}

/// The metadata of a new run: configuration, the build and threads that started it, the
/// times, and its sessions (this first one).
fn new_meta(spec: &QualitySpec, cells: usize) -> Value {
    let first = session(spec.threads, 0);
    json!({
        "tool": tool_version(),
        "git_revision": git_revision(),
        "config": spec.grid.to_json(),
        "shard": spec.shard.to_json(),
        "cells": {"grid": spec.grid.n_cells(), "shard": cells},
        "threads": spec.threads,
        "preset": spec.preset.as_ref().map(|p| p.display().to_string()),
        "started": first["at"].clone(),
        "finished": Value::Null,
        "sessions": [first],
    })
}

/// Start a fresh run in `dir`: the metadata, then each appended file with its header.
fn start_fresh(spec: &QualitySpec, dir: &Path, cells: usize) -> Result<Value> {
    let meta = new_meta(spec, cells);
    write_meta(dir, &meta)?;
    write_atomically(&dir.join(RUNS_FILE), &file_bytes(RUNS_HEADER, []))?;
    write_atomically(
        &dir.join(TIMING_CELLS_FILE),
        &file_bytes(TIMING_CELLS_HEADER, []),
    )?;
    Ok(meta)
}

/// Continue the run recorded in `dir`: check the configuration, keep the cells both
/// appended files hold complete, cut both files back to them. If only one of the two
/// files exists, its cells cannot be kept: an input error, before anything is written.
/// Warns on stderr when this build's git revision differs from the last session's.
/// Returns the metadata (with this session, and its build, recorded) and the number of
/// cells already done.
fn resume(spec: &QualitySpec, dir: &Path, cells: &[Cell]) -> Result<(Value, usize)> {
    let recorded = read_meta(dir)?;
    let differences = config_differences(&recorded.config, &spec.grid.to_json());
    if !differences.is_empty() {
        return Err(Error::input(format!(
            "--resume: '{}' records another configuration ({}; recorded vs now); rerun \
             with the recorded options or choose another --out-dir",
            recorded.path.display(),
            differences.join("; ")
        )));
    }
    if recorded.shard != spec.shard {
        return Err(Error::input(format!(
            "--resume: '{}' records shard {} but --shard is {}",
            recorded.path.display(),
            recorded.shard,
            spec.shard
        )));
    }
    let runs_path = dir.join(RUNS_FILE);
    let timing_path = dir.join(TIMING_CELLS_FILE);
    let done = match (runs_path.exists(), timing_path.exists()) {
        (true, true) => {
            let (runs, timing) = read_finished(dir, &spec.grid, cells)?;
            let done = runs.blocks.len().min(timing.blocks.len());
            truncate(&runs_path, runs.end_of(done))?;
            truncate(&timing_path, timing.end_of(done))?;
            done
        }
        (false, false) => {
            write_atomically(&runs_path, &file_bytes(RUNS_HEADER, []))?;
            write_atomically(&timing_path, &file_bytes(TIMING_CELLS_HEADER, []))?;
            0
        }
        (runs_exist, _) => {
            let (present, missing) = if runs_exist {
                (&runs_path, &timing_path)
            } else {
                (&timing_path, &runs_path)
            };
            return Err(Error::input(format!(
                "--resume: '{}' is missing but '{}' holds finished cells, which cannot be \
                 kept without it; restore '{}', or delete --out-dir '{}' to start afresh",
                missing.display(),
                present.display(),
                missing.display(),
                dir.display()
            )));
        }
    };
    let last_revision = recorded.last_revision();
    if last_revision != git_revision() {
        eprintln!(
            "warning: resuming a run last written by revision {last_revision} with revision \
             {}: its files will mix the results of both builds (see 'sessions' in '{}')",
            git_revision(),
            recorded.path.display()
        );
    }
    let mut meta = recorded.meta;
    meta["finished"] = Value::Null;
    let session = session(spec.threads, done);
    match meta.get_mut("sessions").and_then(Value::as_array_mut) {
        Some(sessions) => sessions.push(session),
        None => meta["sessions"] = json!([session]),
    }
    write_meta(dir, &meta)?;
    Ok((meta, done))
}

/// Prepare the out-dir before any work: create it, refuse to overwrite results unless
/// resuming, and return the metadata and the number of cells already done.
fn prepare(spec: &QualitySpec, cells: &[Cell]) -> Result<(Value, usize)> {
    let dir = &spec.out_dir;
    create_out_dir(dir)?;
    if spec.resume && dir.join(META_FILE).exists() {
        return resume(spec, dir, cells);
    }
    refuse_existing_results(
        dir,
        if spec.resume {
            "--resume needs its quality.meta.json, which is missing: choose another --out-dir"
        } else {
            "pass --resume to continue that run, or choose another --out-dir"
        },
    )?;
    Ok((start_fresh(spec, dir, cells.len())?, 0))
}

/// Writes finished cells in canonical order: a cell waits in `pending` until every cell
/// before it has been written; each cell is one append (and flush) per file.
pub struct OrderedWriter {
    next: usize,
    pending: BTreeMap<usize, CellResult>,
    runs: Appender,
    timing: Appender,
    batch_size: usize,
    /// The samples each cell times (batches × batch size).
    samples: usize,
    progress: ProgressBar,
}

impl OrderedWriter {
    /// Accept the result of cell `index` (counted from the first cell still to do) and
    /// write every cell that is now next in line.
    pub fn submit(&mut self, index: usize, result: CellResult) -> Result<()> {
        self.pending.insert(index, result);
        self.progress.inc(1);
        while let Some(result) = self.pending.remove(&self.next) {
            self.runs.append(&runs_bytes(&result, self.batch_size))?;
            self.timing
                .append(&timing_cells_bytes(&result, self.batch_size, self.samples))?;
            self.next += 1;
        }
        Ok(())
    }
}

/// A progress bar over the shard's cells on stderr (hidden when stderr is not a
/// terminal), starting at the cells already done.
fn progress_bar(total: usize, done: usize) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total as u64), target);
    bar.set_style(
        ProgressStyle::with_template("{elapsed} {wide_bar} {pos}/{len} cells  {rate}  ETA {eta}")
            .expect("a valid template")
            .with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.2} cells/s", state.per_sec());
                },
            ),
    );
    bar.set_position(done as u64);
    bar.reset_eta();
    bar
}

/// Run the cells after the first `done` on `threads` workers, writing each as it
/// finishes (in order).
fn run_cells(spec: &QualitySpec, cells: &[Cell], done: usize) -> Result<()> {
    let dir = &spec.out_dir;
    let progress = progress_bar(cells.len(), done);
    let writer = Mutex::new(OrderedWriter {
        next: 0,
        pending: BTreeMap::new(),
        runs: Appender::open(&dir.join(RUNS_FILE))?,
        timing: Appender::open(&dir.join(TIMING_CELLS_FILE))?,
        batch_size: spec.grid.batch_size,
        samples: spec.grid.samples_per_cell(),
        progress: progress.clone(),
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(spec.threads)
        .build()
        .map_err(|e| Error::runtime(format!("cannot start {} threads: {e}", spec.threads)))?;
    // par_bridge hands out cells in order, so the writer's backlog stays short.
    pool.install(|| {
        cells[done..]
            .iter()
            .enumerate()
            .par_bridge()
            .try_for_each(|(index, cell)| {
                let result = run_cell(&spec.grid, cell)?;
                writer
                    .lock()
                    .map_err(|_| Error::runtime("a worker failed while writing"))?
                    .submit(index, result)
            })
    })?;
    progress.finish_and_clear();
    let writer = writer
        .into_inner()
        .map_err(|_| Error::runtime("a worker failed while writing"))?;
    writer.runs.sync()?;
    writer.timing.sync()
}

/// The bytes of `quality_summary.csv` and `quality_timing.csv`, computed from the rows
/// of the runs and timing-cells files (`samples`: the grid's batches per seed).
pub fn summary_bytes(
    samples: usize,
    runs: &[RunRow],
    timings: &[TimingCellRow],
) -> (Vec<u8>, Vec<u8>) {
    let summary = summarize(runs, samples);
    let timing = aggregate_timing(timings);
    (
        file_bytes(SUMMARY_HEADER, summary.iter().map(SummaryRow::to_line)),
        file_bytes(TIMING_HEADER, timing.iter().map(TimingRow::to_line)),
    )
}

/// Write `quality_summary.csv` and `quality_timing.csv` of `dir` from its runs and
/// timing-cells files, each atomically.
fn write_summaries(dir: &Path, grid: &QualityGrid, cells: &[Cell]) -> Result<()> {
    let (runs, timing) = read_finished(dir, grid, cells)?;
    let runs: Vec<RunRow> = runs.rows.into_iter().flatten().collect();
    let timings: Vec<TimingCellRow> = timing.rows.into_iter().flatten().collect();
    let (summary, timing) = summary_bytes(grid.samples, &runs, &timings);
    write_atomically(&dir.join(SUMMARY_FILE), &summary)?;
    write_atomically(&dir.join(TIMING_FILE), &timing)
}

/// Run the study a spec describes.
pub fn run(spec: &QualitySpec) -> Result<()> {
    let cells = shard_cells(&spec.grid, spec.shard);
    let (mut meta, done) = prepare(spec, &cells)?;
    run_cells(spec, &cells, done)?;
    write_summaries(&spec.out_dir, &spec.grid, &cells)?;
    meta["finished"] = json!(utc_now());
    write_meta(&spec.out_dir, &meta)?;
    eprintln!(
        "quality: {} cells ({} run now) of {} in the grid -> {}",
        cells.len(),
        cells.len() - done,
        spec.grid.n_cells(),
        spec.out_dir.display()
    );
    Ok(())
}
