//! The study engine: what every study shares, written once. A study ([`Study`]) says what
//! its cells are, how one cell runs, which rows it appends to which tables and how the
//! rows summarise; the engine does the rest:
//!
//! * **cells and shards**: the grid's cells in canonical order, `--shard I/N` slices;
//! * **parallel cells, ordered output**: cells run on a pool of `--threads` workers and
//!   are appended in canonical order whatever the number of threads;
//! * **the ledger** (`NAME.ledger.csv`): after a cell's rows are appended to every table,
//!   one line records the cell, its number of rows and the SHA-256 of its rows in each
//!   table. A cell is finished exactly when its ledger line is there; every block read
//!   back is checked against its digest and by the study (types, keys, finite values);
//! * **resume**: the recorded configuration must match (the grid may grow: finished cells
//!   are kept and only the new ones run), a cell cut short by a kill is cut off, finished
//!   cells are skipped;
//! * **finish**: the tables and the ledger are rewritten in the grid's canonical order, the
//!   study's summary files are written, and the metadata record (`NAME.meta.json`) gets the
//!   finish time, elapsed and CPU time;
//! * **safety**: an exclusive lock on the out-dir for the whole run, atomic writes of every
//!   whole file, one write per appended cell.
//!
//! A fresh uninterrupted run, a resumed one and a merge of shards give the same bytes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;
use serde_json::Value;

use crate::config::run::RunOptions;
use crate::error::{Error, Result};
use crate::io::confirm::confirm_long_run;
use crate::io::format::{duration, estimate, sha256_hex};
use crate::io::lock::DirLock;
use crate::io::machine::cpu_seconds;
use crate::io::output::{truncate, write_atomically, Appender};
use crate::nn::work::WORK_PER_SECOND;
use crate::study::meta::{config_differences, DataDigests, Meta, Session};
use crate::study::progress::Progress;

/// One table a study appends its cells' rows to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// The file name under the out-dir.
    pub file: &'static str,
    /// The header line (no newline).
    pub header: String,
    /// Whether the rows are timings (which differ from run to run and machine to machine,
    /// so a merge does not compare them between inputs holding the same cell).
    pub timing: bool,
}

/// A study: what its cells are, how one cell runs, what rows it yields, how they summarise.
pub trait Study: Sync {
    /// One unit of work: a grid point and a seed, a network of a sweep…
    type Cell: Clone + Send + Sync;

    /// The study's name: its files are `NAME.meta.json` and `NAME.ledger.csv`.
    fn name(&self) -> &'static str;

    /// The tables each cell appends to, in order.
    fn tables(&self) -> Vec<Table>;

    /// The files written whole at the end (for the check that an out-dir holds no results).
    fn summary_files(&self) -> Vec<&'static str>;

    /// Every cell of the grid, in canonical order.
    fn grid_cells(&self) -> Vec<Self::Cell>;

    /// A cell's identity, unique in the study and stable across runs (no commas).
    fn cell_key(&self, cell: &Self::Cell) -> String;

    /// How much work a cell is relative to the others, for the progress estimate.
    fn cell_work(&self, cell: &Self::Cell) -> f64;

    /// Run one cell: its rows for each table, as CSV lines each ending in a newline.
    fn run_cell(&self, cell: &Self::Cell) -> Result<Vec<String>>;

    /// Check the block of rows a cell holds in table `table` when read back: that they
    /// parse, belong to the cell and hold sane values. The message says what is wrong.
    fn check_block(
        &self,
        table: usize,
        cell: &Self::Cell,
        block: &str,
    ) -> std::result::Result<(), String>;

    /// Check a cell's blocks (one per table, each already checked by
    /// [`Study::check_block`]) against each other: counts, steps and outcomes that two
    /// tables both record must agree. The message says what is wrong.
    fn check_cell(
        &self,
        _cell: &Self::Cell,
        _blocks: &[String],
    ) -> std::result::Result<(), String> {
        Ok(())
    }

    /// The data sets the study reads, by name, with their digests (recorded in the
    /// metadata; a resume or merge on other data is refused).
    fn data_digests(&self) -> DataDigests {
        DataDigests::new()
    }

    /// The name of the data set a cell reads, if any (its digest goes in the ledger).
    fn cell_data(&self, _cell: &Self::Cell) -> Option<String> {
        None
    }

    /// The keys of [`Study::config`] a `--resume` may change besides the grid axes,
    /// growing them as grid lists grow; the cells whose rows then change are named by
    /// [`Study::recompute`].
    fn resumable_keys(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether a cell finished under the recorded configuration `recorded` must be
    /// computed again under this one (its rows depend on a [`Study::resumable_keys`] key
    /// that grew).
    fn recompute(&self, _recorded: &Value, _cell: &Self::Cell) -> bool {
        false
    }

    /// The summary files, from each table's rows (every cell, canonical order, no header).
    fn summaries(&self, tables: &[String]) -> Result<Vec<(&'static str, Vec<u8>)>>;

    /// The configuration the metadata records: everything that determines the rows.
    fn config(&self) -> Value;

    /// The keys of [`Study::config`] that are grid axes: a resumed run or a merge may
    /// extend them (lists grow, counts rise); every other key must match. A grid study
    /// gives its grid's axes' keys (`config::grid::keys`), so that its cells and these
    /// keys come from one list.
    fn grid_keys(&self) -> Vec<&'static str>;

    /// What to do about an out-dir that already holds this study's results, for the
    /// message that refuses to overwrite them.
    fn existing_results_hint(&self) -> &'static str {
        "pass --resume to continue that run, or choose another --out-dir"
    }

    /// A short text of the results for the terminal at the end, if the study has one.
    fn report(&self, _summaries: &[(&'static str, Vec<u8>)]) -> Option<String> {
        None
    }
}

/// What a finished run reports.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    /// The cells of the run (the shard's).
    pub cells: usize,
    /// The cells computed by this invocation.
    pub run_now: usize,
    /// The cells of the whole grid.
    pub grid_cells: usize,
    /// The summary files written.
    pub summaries: Vec<(&'static str, Vec<u8>)>,
}

/// The metadata file of a study.
pub fn meta_file<S: Study>(study: &S) -> String {
    format!("{}.meta.json", study.name())
}

/// The ledger file of a study.
pub fn ledger_file<S: Study>(study: &S) -> String {
    format!("{}.ledger.csv", study.name())
}

/// The ledger's header: `cell`, `data_sha256` (the digest of the data set the cell read,
/// empty for none), then for each table `FILE:rows` and `FILE:sha256`.
fn ledger_header<S: Study>(study: &S) -> String {
    let mut columns = vec!["cell".to_string(), "data_sha256".to_string()];
    for table in study.tables() {
        columns.push(format!("{}:rows", table.file));
        columns.push(format!("{}:sha256", table.file));
    }
    columns.join(",")
}

/// The digest of the data set `cell` reads, as its ledger records it (empty for none).
fn cell_data_sha256<S: Study>(study: &S, cell: &S::Cell, data: &DataDigests) -> String {
    study
        .cell_data(cell)
        .and_then(|name| data.get(&name))
        .map_or_else(String::new, |digest| digest.sha256.clone())
}

/// The ledger line of a cell (with its newline).
fn ledger_line(key: &str, data_sha256: &str, blocks: &[String]) -> String {
    let mut line = format!("{key},{data_sha256}");
    for block in blocks {
        line += &format!(
            ",{},{}",
            block.lines().count(),
            sha256_hex(block.as_bytes())
        );
    }
    line + "\n"
}

/// The finished cells an out-dir holds, read back and checked.
pub struct Finished {
    /// Per finished cell, in file order: its index among the given cells and its block of
    /// rows in each table.
    pub cells: Vec<(usize, Vec<String>)>,
    /// The indices of the finished cells that must be computed again
    /// ([`Study::recompute`]); their blocks were checked against their digests only.
    pub recompute: Vec<usize>,
    /// Per table, the byte offset just past the last finished cell's rows.
    pub table_ends: Vec<u64>,
    /// The byte offset just past the last complete ledger line.
    pub ledger_end: u64,
    /// The rows the tables hold that no ledger line accounts for, one text per table
    /// (`'FILE': 3 rows no ledger line accounts for`): the rows of a cell a kill cut short
    /// before its ledger line, or rows added after the run. (Ledger lines whose rows a
    /// table no longer holds in full only make their cells unfinished.)
    pub unledgered: Vec<String>,
}

/// A file's complete lines after its header, each with the offset just past its newline;
/// a last line without a newline (a write cut short) is left out. The header must be
/// `header`; the file must be a regular file.
fn read_lines(path: &Path, header: &str) -> Result<(u64, Vec<(String, u64)>)> {
    let bytes = crate::io::output::read_bounded(path, crate::io::output::MAX_RESULT_BYTES)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::input(format!("'{}' is not UTF-8 text", path.display())))?;
    let mut pieces = text.split_inclusive('\n');
    let mut offset = match pieces.next() {
        Some(first) if first.ends_with('\n') && first.trim_end_matches('\n') == header => {
            first.len() as u64
        }
        _ => {
            return Err(Error::input(format!(
                "'{}' does not start with the header '{header}'",
                path.display()
            )))
        }
    };
    let header_end = offset;
    let mut lines = Vec::new();
    for piece in pieces {
        offset += piece.len() as u64;
        if let Some(line) = piece.strip_suffix('\n') {
            lines.push((line.to_string(), offset));
        }
    }
    Ok((header_end, lines))
}

/// The rows of a table beyond the `recorded` rows of every ledger line, as a text for
/// [`Finished::unledgered`], if any.
fn unaccounted(path: &Path, rows: usize, recorded: usize) -> Option<String> {
    match rows.saturating_sub(recorded) {
        0 => None,
        n => Some(format!(
            "'{}': {n} row{} no ledger line accounts for",
            path.display(),
            if n == 1 { "" } else { "s" }
        )),
    }
}

/// Read the finished cells of `dir` back: the ledger, then each table's blocks, each
/// checked against its digest and by the study (each block, then the cell's blocks
/// together). `cells` are the cells the directory may hold; a ledger entry for any other
/// cell, a repeated one, one whose data set is not `data`'s (by digest), a block whose
/// digest differs (an edited row) or that the study refuses is an input error naming the
/// cell and file. Cells for which `recompute` holds are checked against their digests
/// only and listed in [`Finished::recompute`]. Cells whose rows a table no longer holds in
/// full (it was cut short) and every cell after them are not finished; rows beyond those
/// of every ledger line are described in [`Finished::unledgered`].
pub fn read_finished<S: Study>(
    study: &S,
    dir: &Path,
    cells: &[S::Cell],
    data: &DataDigests,
    recompute: &dyn Fn(&S::Cell) -> bool,
) -> Result<Finished> {
    let index: HashMap<String, usize> = cells
        .iter()
        .enumerate()
        .map(|(i, cell)| (study.cell_key(cell), i))
        .collect();
    let tables = study.tables();
    let ledger_path = dir.join(ledger_file(study));
    let (ledger_start, ledger_lines) = read_lines(&ledger_path, &ledger_header(study))?;
    let mut entries: Vec<(usize, Vec<(usize, String)>)> = Vec::new();
    let mut seen = vec![false; cells.len()];
    for (number, (line, _)) in ledger_lines.iter().enumerate() {
        let bad = |why: String| {
            Error::input(format!(
                "'{}' line {}: {why}",
                ledger_path.display(),
                number + 2
            ))
        };
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != 2 + 2 * tables.len() {
            return Err(bad(format!(
                "has {} fields, expected {}",
                fields.len(),
                2 + 2 * tables.len()
            )));
        }
        let &position = index.get(fields[0]).ok_or_else(|| {
            bad(format!(
                "cell '{}' is not part of this run's grid (its configuration differs)",
                fields[0]
            ))
        })?;
        if std::mem::replace(&mut seen[position], true) {
            return Err(bad(format!("cell '{}' is recorded twice", fields[0])));
        }
        let expected = cell_data_sha256(study, &cells[position], data);
        if fields[1] != expected {
            let name = study.cell_data(&cells[position]).unwrap_or_default();
            return Err(bad(format!(
                "cell '{}' was computed on data set '{name}' with SHA-256 {}, but that data \
                 set is now {}: its files were changed or replaced",
                fields[0],
                if fields[1].is_empty() {
                    "(none)"
                } else {
                    fields[1]
                },
                if expected.is_empty() {
                    "(none)"
                } else {
                    &expected
                }
            )));
        }
        let mut counts = Vec::with_capacity(tables.len());
        for pair in fields[2..].chunks(2) {
            let rows: usize = pair[0]
                .parse()
                .map_err(|_| bad(format!("'{}' is not a row count", pair[0])))?;
            if pair[1].len() != 64 || !pair[1].bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(format!("'{}' is not a SHA-256 digest", pair[1])));
            }
            counts.push((rows, pair[1].to_string()));
        }
        entries.push((position, counts));
    }
    // A table cut short (a kill, a full disk) ends before the rows of the last cells the
    // ledger records: those cells count as unfinished, and so does every later one.
    let mut table_lines = Vec::with_capacity(tables.len());
    let mut complete = entries.len();
    let mut unledgered: Vec<String> = Vec::new();
    for (t, table) in tables.iter().enumerate() {
        let path = dir.join(table.file);
        let (header_end, lines) = read_lines(&path, &table.header)?;
        let recorded = entries.iter().map(|(_, counts)| counts[t].0).sum();
        unledgered.extend(unaccounted(&path, lines.len(), recorded));
        let mut rows = 0;
        let present = entries
            .iter()
            .take_while(|(_, counts)| {
                rows += counts[t].0;
                rows <= lines.len()
            })
            .count();
        complete = complete.min(present);
        table_lines.push((path, header_end, lines));
    }
    entries.truncate(complete);
    let ledger_end = match complete {
        0 => ledger_start,
        n => ledger_lines[n - 1].1,
    };
    let mut blocks: Vec<Vec<String>> = vec![Vec::with_capacity(tables.len()); entries.len()];
    let mut table_ends = Vec::with_capacity(tables.len());
    for (t, (path, header_end, lines)) in table_lines.iter().enumerate() {
        let mut next = 0;
        let mut end = *header_end;
        for ((position, counts), cell_blocks) in entries.iter().zip(&mut blocks) {
            let (rows, digest) = &counts[t];
            let cell = &cells[*position];
            let key = study.cell_key(cell);
            let mut block = String::new();
            for (line, _) in &lines[next..next + rows] {
                block.push_str(line);
                block.push('\n');
            }
            if sha256_hex(block.as_bytes()) != *digest {
                return Err(Error::input(format!(
                    "'{}': the rows of cell '{key}' (lines {}–{}) do not match their digest in \
                     '{}': the file was changed after the run wrote it",
                    path.display(),
                    next + 2,
                    next + rows + 1,
                    ledger_path.display()
                )));
            }
            if !recompute(cell) {
                study.check_block(t, cell, &block).map_err(|why| {
                    Error::input(format!("'{}', cell '{key}': {why}", path.display()))
                })?;
            }
            if *rows > 0 {
                end = lines[next + rows - 1].1;
            }
            next += rows;
            cell_blocks.push(block);
        }
        table_ends.push(end);
    }
    let mut again = Vec::new();
    for ((position, _), cell_blocks) in entries.iter().zip(&blocks) {
        let cell = &cells[*position];
        if recompute(cell) {
            again.push(*position);
        } else {
            study.check_cell(cell, cell_blocks).map_err(|why| {
                Error::input(format!(
                    "'{}', cell '{}': {why}",
                    dir.display(),
                    study.cell_key(cell)
                ))
            })?;
        }
    }
    Ok(Finished {
        cells: entries
            .into_iter()
            .map(|(position, _)| position)
            .zip(blocks)
            .collect(),
        recompute: again,
        table_ends,
        ledger_end,
        unledgered,
    })
}

/// The files of a study that mark an out-dir as holding results.
fn result_files<S: Study>(study: &S) -> Vec<String> {
    let mut files = vec![meta_file(study), ledger_file(study)];
    files.extend(study.tables().iter().map(|t| t.file.to_string()));
    files.extend(study.summary_files().iter().map(|f| f.to_string()));
    files
}

/// Create `dir` (and its parents) if needed.
pub fn create_out_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::input(format!("--out-dir: cannot create '{}': {e}", dir.display())))
}

/// Write the ledger and every table with their headers alone, the ledger first: a run
/// has started once its metadata is written after them, so a start cut short (a full
/// disk) leaves no metadata, or files without rows ([`holds_no_results`]).
fn write_headers<S: Study>(study: &S, dir: &Path) -> Result<()> {
    write_atomically(
        &dir.join(ledger_file(study)),
        format!("{}\n", ledger_header(study)).as_bytes(),
    )?;
    for table in study.tables() {
        write_atomically(
            &dir.join(table.file),
            format!("{}\n", table.header).as_bytes(),
        )?;
    }
    Ok(())
}

/// Start a fresh run: the ledger and the tables with their headers, then the metadata.
fn start_fresh<S: Study>(study: &S, options: &RunOptions, cells: usize) -> Result<Meta> {
    let dir = &options.out_dir;
    write_headers(study, dir)?;
    let meta = Meta::new(
        study.name(),
        study.config(),
        study.grid_cells().len(),
        study.data_digests(),
        options,
        cells,
    );
    meta.write(&dir.join(meta_file(study)))?;
    Ok(meta)
}

/// Whether the study's files in `dir` hold no results at all: no summary, and no ledger
/// line or table row (each file missing, empty or a header at most). What a start cut
/// short by a full disk leaves: nothing is lost by starting afresh over it.
fn holds_no_results<S: Study>(study: &S, dir: &Path) -> bool {
    let no_rows = |file: &str| match crate::io::output::read_bounded(&dir.join(file), 1 << 20) {
        Ok(bytes) => bytes.iter().filter(|&&b| b == b'\n').count() <= 1,
        Err(_) => !dir.join(file).exists(),
    };
    study.summary_files().iter().all(|f| !dir.join(f).exists())
        && no_rows(&ledger_file(study))
        && study.tables().iter().all(|t| no_rows(t.file))
}

/// Continue the run recorded in the out-dir: the configuration must match except for
/// grid axes, which may grow as long as every finished cell is still one of the run's, and
/// resumable keys, which may grow too (the cells they change are computed again); the data
/// sets must be the ones recorded; the files are cut back to the finished cells. Returns
/// the metadata (with this session recorded) and the finished cells' positions.
fn resume<S: Study>(
    study: &S,
    options: &RunOptions,
    cells: &[S::Cell],
) -> Result<(Meta, Vec<bool>)> {
    let dir = &options.out_dir;
    let meta_path = dir.join(meta_file(study));
    let mut meta = Meta::read(&meta_path)?;
    let config = study.config();
    let growable: Vec<&str> = study
        .grid_keys()
        .iter()
        .chain(study.resumable_keys())
        .copied()
        .collect();
    let differences = config_differences(&meta.config, &config, &growable);
    if !differences.is_empty() {
        return Err(Error::input(format!(
            "--resume: '{}' records another configuration ({}; recorded vs now); rerun \
             with the recorded options or choose another --out-dir",
            meta_path.display(),
            differences.join("; ")
        )));
    }
    if meta.shard != options.shard {
        return Err(Error::input(format!(
            "--resume: '{}' records shard {} but --shard is {}",
            meta_path.display(),
            meta.shard,
            options.shard
        )));
    }
    let data = study.data_digests();
    for (name, now) in &data {
        if let Some(then) = meta.data.get(name).filter(|then| *then != now) {
            return Err(Error::input(format!(
                "--resume: data set '{name}' is not the one the run in '{}' read (SHA-256 \
                 {} then, {} now): its files were changed or replaced; restore them or \
                 choose another --out-dir",
                dir.display(),
                then.sha256,
                now.sha256
            )));
        }
    }
    let tables = study.tables();
    let mut paths: Vec<PathBuf> = tables.iter().map(|t| dir.join(t.file)).collect();
    paths.push(dir.join(ledger_file(study)));
    let present: Vec<bool> = paths.iter().map(|p| p.exists()).collect();
    let mut done = vec![false; cells.len()];
    if present.iter().all(|&p| p) {
        let recorded = meta.config.clone();
        let recompute = |cell: &S::Cell| study.recompute(&recorded, cell);
        let finished = read_finished(study, dir, cells, &data, &recompute).map_err(|e| {
            let message = e.to_string();
            if message.contains("is not part of this run's grid") {
                Error::input(format!(
                    "--resume: {message}; a resumed run may add cells but not drop finished ones"
                ))
            } else {
                e
            }
        })?;
        if meta.finished.is_some() && !finished.unledgered.is_empty() {
            return Err(Error::input(format!(
                "--resume: the run in '{}' finished, but its files hold rows its ledger does \
                 not account for ({}): they were added after the run; remove them or \
                 choose another --out-dir",
                dir.display(),
                finished.unledgered.join("; ")
            )));
        }
        for (position, _) in &finished.cells {
            done[*position] = !finished.recompute.contains(position);
        }
        if finished.recompute.is_empty() {
            for (path, end) in paths.iter().zip(finished.table_ends.iter()) {
                truncate(path, *end)?;
            }
            truncate(&dir.join(ledger_file(study)), finished.ledger_end)?;
        } else {
            // Cells to compute again sit among the kept ones: rewrite the files without
            // them (the kept cells in file order; the finish puts everything in order).
            let (kept, blocks): (Vec<S::Cell>, Vec<Vec<String>>) = finished
                .cells
                .into_iter()
                .filter(|(position, _)| done[*position])
                .map(|(position, blocks)| (cells[position].clone(), blocks))
                .unzip();
            for (file, bytes) in assemble(study, &kept, &blocks, &data) {
                write_atomically(&dir.join(file), &bytes)?;
            }
        }
    } else if present.iter().any(|&p| p) && !holds_no_results(study, dir) {
        let missing: Vec<String> = paths
            .iter()
            .zip(&present)
            .filter(|(_, &p)| !p)
            .map(|(path, _)| format!("'{}'", path.display()))
            .collect();
        return Err(Error::input(format!(
            "--resume: {} is missing but the out-dir holds the other files of the run, whose \
             finished cells cannot be kept without it; restore it, or delete --out-dir '{}' \
             to start afresh",
            missing.join(", "),
            dir.display()
        )));
    } else {
        write_headers(study, dir)?;
    }
    let last_revision = meta.last_revision();
    if last_revision != crate::build::git_revision() {
        crate::io::console::line(&format!(
            "warning: resuming a run last written by revision {last_revision} with revision \
             {}: its files will mix the results of both builds (see 'sessions' in '{}')",
            crate::build::git_revision(),
            meta_path.display()
        ));
    }
    meta.config = config;
    meta.config_sha256 = sha256_hex(meta.config.to_string().as_bytes());
    meta.cells.grid = study.grid_cells().len();
    meta.cells.shard = cells.len();
    meta.data = data;
    meta.finished = None;
    meta.sessions.push(Session::now(
        options.threads,
        done.iter().filter(|&&d| d).count(),
    ));
    meta.write(&meta_path)?;
    Ok((meta, done))
}

/// Prepare the out-dir: refuse to overwrite results unless resuming (files without any
/// result, left by a start cut short, are started over), and return the metadata and
/// which cells are already done.
fn prepare<S: Study>(
    study: &S,
    options: &RunOptions,
    cells: &[S::Cell],
) -> Result<(Meta, Vec<bool>)> {
    let dir = &options.out_dir;
    if options.replace {
        for file in result_files(study) {
            let path = dir.join(&file);
            if path.exists() {
                std::fs::remove_file(&path).map_err(|e| {
                    Error::input(format!("cannot replace '{}': {e}", path.display()))
                })?;
            }
        }
    }
    if options.resume && dir.join(meta_file(study)).exists() {
        return resume(study, options, cells);
    }
    let existing: Vec<String> = result_files(study)
        .into_iter()
        .filter(|file| dir.join(file).exists())
        .collect();
    if !existing.is_empty() && !holds_no_results(study, dir) {
        let hint = if options.resume {
            format!(
                "--resume needs its {}, which is missing: choose another --out-dir",
                meta_file(study)
            )
        } else {
            study.existing_results_hint().to_string()
        };
        return Err(Error::input(format!(
            "--out-dir '{}' already holds results ({}); {hint}",
            dir.display(),
            existing.join(", ")
        )));
    }
    Ok((
        start_fresh(study, options, cells.len())?,
        vec![false; cells.len()],
    ))
}

/// Appends finished cells in canonical order: a cell waits until every cell before it is
/// written; each cell is one write (and flush) per table, then its ledger line.
struct OrderedWriter {
    next: usize,
    /// Per cell waiting for its turn: its key, the digest of its data and its blocks.
    pending: BTreeMap<usize, (String, String, Vec<String>)>,
    tables: Vec<Appender>,
    ledger: Appender,
}

impl OrderedWriter {
    /// Accept the rows of the `index`-th cell still to do and write every cell now next in
    /// line.
    fn submit(&mut self, index: usize, cell: (String, String), blocks: Vec<String>) -> Result<()> {
        self.pending.insert(index, (cell.0, cell.1, blocks));
        while let Some((key, data, blocks)) = self.pending.remove(&self.next) {
            for (table, block) in self.tables.iter_mut().zip(&blocks) {
                table.append(block)?;
            }
            self.ledger.append(&ledger_line(&key, &data, &blocks))?;
            self.next += 1;
        }
        Ok(())
    }
}

/// Run the cells not yet done on `threads` workers, appending each in order.
fn run_cells<S: Study>(
    study: &S,
    options: &RunOptions,
    cells: &[S::Cell],
    done: &[bool],
) -> Result<usize> {
    let dir = &options.out_dir;
    let data = study.data_digests();
    let todo: Vec<&S::Cell> = cells
        .iter()
        .zip(done)
        .filter(|(_, &d)| !d)
        .map(|(cell, _)| cell)
        .collect();
    let work = |cell: &S::Cell| study.cell_work(cell).max(0.0);
    let total: f64 = cells.iter().map(work).sum();
    let finished: f64 = cells
        .iter()
        .zip(done)
        .filter(|(_, &d)| d)
        .map(|(c, _)| work(c))
        .sum();
    let progress = Progress::start(
        study.name(),
        cells.len(),
        cells.len() - todo.len(),
        total,
        finished,
    );
    let tables = study
        .tables()
        .iter()
        .map(|t| Appender::open(&dir.join(t.file)))
        .collect::<Result<Vec<_>>>()?;
    let writer = Mutex::new(OrderedWriter {
        next: 0,
        pending: BTreeMap::new(),
        tables,
        ledger: Appender::open(&dir.join(ledger_file(study)))?,
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .build()
        .map_err(|e| Error::runtime(format!("cannot start {} threads: {e}", options.threads)))?;
    // par_bridge hands out cells in order, so the writer's backlog stays short.
    pool.install(|| {
        todo.iter()
            .enumerate()
            .par_bridge()
            .try_for_each(|(index, cell)| {
                let blocks = study.run_cell(cell)?;
                writer
                    .lock()
                    .map_err(|_| Error::runtime("a worker failed while writing"))?
                    .submit(
                        index,
                        (study.cell_key(cell), cell_data_sha256(study, cell, &data)),
                        blocks,
                    )?;
                progress.cell_done(work(cell));
                Ok(())
            })
    })?;
    progress.finish();
    let writer = writer
        .into_inner()
        .map_err(|_| Error::runtime("a worker failed while writing"))?;
    for table in &writer.tables {
        table.sync()?;
    }
    writer.ledger.sync()?;
    Ok(todo.len())
}

/// Put every finished cell of `dir` into canonical order and rewrite the tables and the
/// ledger whole; then write the summaries. Returns the summaries.
fn finish<S: Study>(
    study: &S,
    dir: &Path,
    cells: &[S::Cell],
) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let data = study.data_digests();
    let finished = read_finished(study, dir, cells, &data, &|_| false)?;
    if finished.cells.len() != cells.len() {
        return Err(Error::runtime(format!(
            "{} of {} cells are finished after the run",
            finished.cells.len(),
            cells.len()
        )));
    }
    let mut ordered: Vec<Option<Vec<String>>> = vec![None; cells.len()];
    for (position, blocks) in finished.cells {
        ordered[position] = Some(blocks);
    }
    let ordered: Vec<Vec<String>> = ordered.into_iter().flatten().collect();
    let files = assemble(study, cells, &ordered, &data);
    for (file, bytes) in &files {
        write_atomically(&dir.join(file), bytes)?;
    }
    let tables: Vec<String> = (0..study.tables().len())
        .map(|t| ordered.iter().map(|blocks| blocks[t].as_str()).collect())
        .collect();
    let summaries = study.summaries(&tables)?;
    for (file, bytes) in &summaries {
        write_atomically(&dir.join(file), bytes)?;
    }
    Ok(summaries)
}

/// The bytes of every table and of the ledger for the given cells' blocks, in order;
/// `data`: the digests of the data sets the cells read.
pub fn assemble<S: Study>(
    study: &S,
    cells: &[S::Cell],
    blocks: &[Vec<String>],
    data: &DataDigests,
) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = study
        .tables()
        .iter()
        .enumerate()
        .map(|(t, table)| {
            let mut text = format!("{}\n", table.header);
            for cell_blocks in blocks {
                text.push_str(&cell_blocks[t]);
            }
            (table.file.to_string(), text.into_bytes())
        })
        .collect();
    let mut ledger = format!("{}\n", ledger_header(study));
    for (cell, cell_blocks) in cells.iter().zip(blocks) {
        ledger.push_str(&ledger_line(
            &study.cell_key(cell),
            &cell_data_sha256(study, cell, data),
            cell_blocks,
        ));
    }
    files.push((ledger_file(study), ledger.into_bytes()));
    files
}

/// The plan of a run (cells to run, estimated CPU and wall time) as one line, after the
/// question before a long run ([`confirm_long_run`]), and its estimated CPU seconds.
/// `done`: which cells are already finished. Nothing is written before this.
fn plan<S: Study>(
    study: &S,
    options: &RunOptions,
    cells: &[S::Cell],
    done: &[bool],
) -> Result<(String, f64)> {
    let remaining: f64 = cells
        .iter()
        .zip(done)
        .filter(|(_, &done)| !done)
        .map(|(c, _)| study.cell_work(c).max(0.0))
        .sum();
    let to_run = done.iter().filter(|&&d| !d).count();
    let done = cells.len() - to_run;
    let cpu = remaining / WORK_PER_SECOND;
    let wall = cpu / options.threads.min(to_run).max(1) as f64;
    let line = format!(
        "{}: {} cells to run ({done} already finished), estimated {} of CPU time, {} on {} threads",
        study.name(),
        to_run,
        duration(cpu),
        estimate(wall),
        options.threads
    );
    confirm_long_run(&line, cpu, options.yes)?;
    Ok((line, cpu))
}

/// Run a study: prepare the out-dir (fresh, or resumed where a run stopped), run the
/// shard's remaining cells, then finish the files.
pub fn run<S: Study>(study: &S, options: &RunOptions) -> Result<RunReport> {
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let grid = study.grid_cells();
    let grid_cells = grid.len();
    let cells: Vec<S::Cell> = grid
        .into_iter()
        .enumerate()
        .filter(|(position, _)| options.shard.contains(*position))
        .map(|(_, cell)| cell)
        .collect();
    let mut finished_before = vec![false; cells.len()];
    if options.resume && options.out_dir.join(meta_file(study)).exists() {
        let data = study.data_digests();
        if let Ok(finished) = read_finished(study, &options.out_dir, &cells, &data, &|_| false) {
            for (position, _) in finished.cells {
                finished_before[position] = true;
            }
        }
    }
    let (plan, estimated_cpu) = plan(study, options, &cells, &finished_before)?;
    create_out_dir(&options.out_dir)?;
    let _lock = DirLock::acquire(&options.out_dir, "--out-dir")?;
    let (mut meta, done) = prepare(study, options, &cells)?;
    if let Some(session) = meta.sessions.last_mut() {
        session.estimated_cpu_seconds = Some(estimated_cpu);
    }
    crate::io::console::line(&plan);
    let run_now = run_cells(study, options, &cells, &done)?;
    let summaries = finish(study, &options.out_dir, &cells)?;
    meta.summaries = summaries
        .iter()
        .map(|(file, bytes)| (file.to_string(), sha256_hex(bytes)))
        .collect();
    meta.finish(started.elapsed().as_secs_f64(), cpu_before, cpu_seconds());
    meta.write(&options.out_dir.join(meta_file(study)))?;
    Ok(RunReport {
        cells: cells.len(),
        run_now,
        grid_cells,
        summaries,
    })
}
