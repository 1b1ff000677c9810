//! `merge`: put the out-dirs of one study back together. The inputs must share one
//! protocol (every configuration key but the grid axes) and one version of every data set
//! (by digest); their cells are combined into the union of their grids, so the shards of
//! one run give exactly the files the unsharded run writes, and runs of different grids
//! (more widths, more seeds) give the run of the combined grid.
//!
//! Every cell is accounted for: each input must hold every cell of its own grid and
//! shard, finished, and nothing else (its metadata's counts are checked against what its
//! configuration gives; rows no ledger line accounts for are refused); the shards of one
//! sharded run must all be there; every block is checked against its digest. A cell
//! present in two inputs must hold the same results in both (the cells are
//! deterministic, so a difference is a true conflict); its timings, which differ from run
//! to run, are taken from the first input given that holds it. Where the inputs leave
//! cells of the union's grid uncomputed, the merge is refused, naming them, unless a
//! partial merge is asked for (`--partial`).
//!
//! The out-dir (new or empty; a symbolic link to one is followed) receives every file at
//! once, at the end: the files are written into a hidden staging directory beside it,
//! which then takes its place (with the mode of the empty directory it replaces), so a
//! merge that fails leaves nothing behind and can simply be rerun. Hidden names beside the
//! out-dir are short whatever its name ([`beside_name`]).

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::build::{git_revision, tool_version};
use crate::config::shard::Shard;
use crate::error::{Error, Result};
use crate::io::format::{sha256_hex, utc_now};
use crate::io::lock::{beside_name, parent_and_name, process_alive, DirLock, MERGE_PREFIX};
use crate::io::machine::Machine;
use crate::io::output::{resolve, write_atomically};
use crate::study::engine::{assemble, meta_file, read_finished, Study};
use crate::study::meta::{
    config_union, protocol_differences, CellCounts, DataDigests, MergedFrom, Meta,
};

/// What a merge reports.
#[derive(Clone, Debug, PartialEq)]
pub struct MergeReport {
    /// The cells of the merged out-dir.
    pub cells: usize,
    /// The cells of the union grid (more than `cells` in a partial merge).
    pub grid_cells: usize,
    /// What the user should know of the merge, one line each (cells taken from one of
    /// several inputs, cells left to compute, inputs of different builds), for the runner
    /// to print.
    pub notes: Vec<String>,
}

/// Check that the shards of one sharded run (one directory each, same grid, same N) are
/// exactly 1..=N, each once. The error says which are repeated or missing.
pub fn check_shard_set(shards: &[(String, Shard)]) -> std::result::Result<(), String> {
    let Some((_, first)) = shards.first() else {
        return Err("no shard directories given".to_string());
    };
    let count = first.count;
    let mut seen: BTreeMap<usize, &str> = BTreeMap::new();
    for (dir, shard) in shards {
        if shard.count != count {
            return Err(format!(
                "'{dir}' is shard {shard} but '{}' is shard {first}: the runs split the grid into \
                 different numbers of shards",
                shards[0].0
            ));
        }
        if let Some(other) = seen.insert(shard.index, dir) {
            return Err(format!(
                "overlapping shards: '{other}' and '{dir}' are both shard {shard}"
            ));
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|index| !seen.contains_key(index))
        .map(|index| format!("{index}/{count}"))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("missing shard(s): {}", missing.join(", ")))
    }
}

/// Write every `(file name, bytes)` into a fresh hidden directory next to `dir`, then
/// rename it to `dir` (missing or an empty directory, whose mode it takes). If anything
/// fails the hidden directory is removed again, so `dir` never holds part of the files.
/// Staging directories left by merges that were killed are removed first.
fn write_dir_whole(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    let (parent, name) = parent_and_name(dir, "--out-dir")?;
    remove_stale_staging(&parent);
    let staging = parent.join(beside_name(
        &name,
        &format!(".partial-{}", std::process::id()),
    ));
    let failed = |what: &str, e: std::io::Error| {
        Error::runtime(format!("cannot {what} '{}': {e}", dir.display()))
    };
    std::fs::create_dir(&staging).map_err(|e| failed("prepare", e))?;
    let written = files
        .iter()
        .try_for_each(|(file, bytes)| write_atomically(&staging.join(file), bytes))
        .and_then(|()| match std::fs::metadata(dir) {
            Ok(existing) => std::fs::set_permissions(&staging, existing.permissions())
                .map_err(|e| failed("keep the mode of", e)),
            Err(_) => Ok(()),
        })
        .and_then(|()| std::fs::rename(&staging, dir).map_err(|e| failed("write", e)));
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    written
}

/// Remove the staging directories of merges into `parent` (`.hesscale-merge-HASH.partial-`
/// then a process id) whose process is no longer alive: merges that were killed.
fn remove_stale_staging(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = std::str::from_utf8(name.as_bytes())
            .ok()
            .filter(|name| name.starts_with(MERGE_PREFIX))
            .and_then(|name| name.split_once(".partial-"))
            .and_then(|(_, pid)| pid.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && !process_alive(pid) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// An error unless `dir` is missing or an empty directory.
fn require_new_or_empty(dir: &Path, shown: &Path) -> Result<()> {
    let meta = match std::fs::metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::input(format!(
                "--out-dir '{}': {e}",
                shown.display()
            )))
        }
    };
    if !meta.is_dir() {
        return Err(Error::input(format!(
            "--out-dir '{}' is a file, not a directory",
            shown.display()
        )));
    }
    let empty = std::fs::read_dir(dir)
        .map_err(|e| Error::input(format!("--out-dir '{}': {e}", shown.display())))?
        .next()
        .is_none();
    if empty {
        Ok(())
    } else {
        Err(Error::input(format!(
            "--out-dir '{}' already holds results (it is not empty); merge into an empty or \
             new --out-dir",
            shown.display()
        )))
    }
}

/// Up to three keys and the count, for messages: `'a', 'b', 'c' and 7 more`.
fn some_keys(keys: &[String]) -> String {
    let shown: Vec<String> = keys.iter().take(3).map(|k| format!("'{k}'")).collect();
    match keys.len() {
        n if n > 3 => format!("{} and {} more", shown.join(", "), n - 3),
        _ => shown.join(", "),
    }
}

/// The data sets of every input, checked to agree: a name read by two inputs must have
/// one digest.
fn merged_data(dirs: &[PathBuf], metas: &[Meta]) -> Result<DataDigests> {
    let mut data = DataDigests::new();
    let mut from: BTreeMap<String, &Path> = BTreeMap::new();
    for (dir, meta) in dirs.iter().zip(metas) {
        for (name, digest) in &meta.data {
            match data.get(name) {
                Some(other) if other != digest => {
                    return Err(Error::input(format!(
                        "merge: data set '{name}' is not the same in '{}' and '{}' (SHA-256 {} \
                         vs {}): the runs read different data under one name",
                        from[name].display(),
                        dir.display(),
                        other.sha256,
                        digest.sha256
                    )))
                }
                Some(_) => {}
                None => {
                    data.insert(name.clone(), digest.clone());
                    from.insert(name.clone(), dir);
                }
            }
        }
    }
    Ok(data)
}

/// Merge the out-dirs `dirs` of the study named `name` into `out_dir`; `study_of` makes
/// the study of a recorded configuration. With `partial`, cells of the union's grid that
/// no input holds are left to compute (by `--resume` into the out-dir) instead of refused.
pub fn merge<S: Study>(
    name: &str,
    dirs: &[PathBuf],
    out_dir: &Path,
    partial: bool,
    study_of: impl Fn(&Value) -> Result<S>,
) -> Result<MergeReport> {
    // A link is followed: the files go where it points.
    let target = resolve(out_dir).map_err(|e| Error::input(format!("--out-dir: {e}")))?;
    let (parent, _) = parent_and_name(&target, "--out-dir")?;
    crate::study::engine::create_out_dir(&parent)?;
    let _lock = DirLock::acquire_beside(&target, "--out-dir")?;
    require_new_or_empty(&target, out_dir)?;
    let started = utc_now();
    let metas = dirs
        .iter()
        .map(|dir| {
            Meta::read(&Meta::path_in(dir, name)).map_err(|e| {
                Error::input(format!(
                    "merge: '{}' is not a {name} out-dir: {e}",
                    dir.display()
                ))
            })
        })
        .collect::<Result<Vec<Meta>>>()?;
    let first_study = study_of(&metas[0].config)?;
    let grid_keys = first_study.grid_keys();
    for (dir, meta) in dirs.iter().zip(&metas).skip(1) {
        let differences = protocol_differences(&metas[0].config, &meta.config, &grid_keys);
        if !differences.is_empty() {
            return Err(Error::input(format!(
                "merge: '{}' and '{}' were run with different configurations ({})",
                dirs[0].display(),
                dir.display(),
                differences.join("; ")
            )));
        }
    }
    let data = merged_data(dirs, &metas)?;
    // The shards of each sharded run must all be there.
    let mut runs: BTreeMap<(String, usize), Vec<(String, Shard)>> = BTreeMap::new();
    for (dir, meta) in dirs.iter().zip(&metas) {
        runs.entry((meta.config_sha256.clone(), meta.shard.count))
            .or_default()
            .push((dir.display().to_string(), meta.shard));
    }
    for shards in runs.values() {
        if shards[0].1.count > 1 {
            check_shard_set(shards).map_err(|e| Error::input(format!("merge: {e}")))?;
        }
    }
    let union = metas
        .iter()
        .skip(1)
        .fold(metas[0].config.clone(), |union, meta| {
            config_union(&union, &meta.config, &grid_keys)
        });
    let study = study_of(&union)?;
    let cells = study.grid_cells();
    let tables = study.tables();
    let mut blocks: Vec<Option<(usize, Vec<String>)>> = vec![None; cells.len()];
    let mut shared = 0;
    for (input, (dir, meta)) in dirs.iter().zip(&metas).enumerate() {
        let own = input_cells(&study_of(&meta.config)?, meta, dir)?;
        let finished = read_finished(&study, dir, &cells, &meta.data, &|_| false)?;
        let held: Vec<String> = finished
            .cells
            .iter()
            .map(|(position, _)| study.cell_key(&cells[*position]))
            .collect();
        let missing: Vec<String> = own.iter().filter(|k| !held.contains(k)).cloned().collect();
        if !missing.is_empty() {
            return Err(Error::input(format!(
                "merge: '{}' (shard {}) is incomplete: {} of its {} cells are not finished ({}); \
                 finish it with `{name} … --shard {} --resume`",
                dir.display(),
                meta.shard,
                missing.len(),
                own.len(),
                some_keys(&missing),
                meta.shard
            )));
        }
        if !finished.unledgered.is_empty() {
            return Err(Error::input(format!(
                "merge: '{}' holds rows its ledger does not account for ({}): rows added \
                 after the run",
                dir.display(),
                finished.unledgered.join("; ")
            )));
        }
        let foreign: Vec<String> = held.iter().filter(|k| !own.contains(k)).cloned().collect();
        if !foreign.is_empty() {
            return Err(Error::input(format!(
                "merge: '{}' holds cells that are not part of its own grid and shard ({}): its \
                 files were changed after the run",
                dir.display(),
                some_keys(&foreign)
            )));
        }
        for (position, cell_blocks) in finished.cells {
            match &blocks[position] {
                Some((other, existing)) => {
                    let differs = tables
                        .iter()
                        .zip(existing.iter().zip(&cell_blocks))
                        .any(|(table, (a, b))| !table.timing && a != b);
                    if differs {
                        return Err(Error::input(format!(
                            "merge: cell '{}' differs between '{}' and '{}' (the same cell of the \
                             same configuration must give the same results)",
                            study.cell_key(&cells[position]),
                            dirs[*other].display(),
                            dir.display()
                        )));
                    }
                    shared += 1;
                }
                None => blocks[position] = Some((input, cell_blocks)),
            }
        }
    }
    let mut notes = Vec::new();
    if shared > 0 {
        notes.push(format!(
            "merge: {shared} cells are in more than one input with the same results; their \
             timings are those of the first input given that holds them"
        ));
    }
    let holes: Vec<String> = cells
        .iter()
        .zip(&blocks)
        .filter(|(_, b)| b.is_none())
        .map(|(cell, _)| study.cell_key(cell))
        .collect();
    if !holes.is_empty() {
        let what = format!(
            "{} of the {} cells of the inputs' combined grid are in no input ({})",
            holes.len(),
            cells.len(),
            some_keys(&holes)
        );
        if !partial {
            return Err(Error::input(format!(
                "merge: {what}; merge what there is with --partial, then compute the rest with \
                 `{name} … --resume` into the merged out-dir"
            )));
        }
        notes.push(format!(
            "merge: partial: {what}; `{name} … --resume` with the combined grid's options \
             into '{}' computes them",
            out_dir.display()
        ));
    }
    let (present, present_blocks): (Vec<S::Cell>, Vec<Vec<String>>) = cells
        .iter()
        .zip(blocks)
        .filter_map(|(cell, blocks)| blocks.map(|(_, b)| (cell.clone(), b)))
        .unzip();
    notes.extend(mixed_revisions(dirs, &metas));
    let mut files = assemble(&study, &present, &present_blocks, &data);
    let table_texts: Vec<String> = (0..tables.len())
        .map(|t| present_blocks.iter().map(|b| b[t].as_str()).collect())
        .collect();
    let summaries = study.summaries(&table_texts)?;
    let meta = Meta {
        study: name.to_string(),
        tool: tool_version(),
        git_revision: git_revision().to_string(),
        config_sha256: sha256_hex(union.to_string().as_bytes()),
        config: union,
        shard: Shard::WHOLE,
        cells: CellCounts {
            grid: cells.len(),
            shard: present.len(),
        },
        threads: None,
        preset: None,
        machine: Machine::this(),
        started,
        finished: Some(utc_now()),
        elapsed_seconds: None,
        cpu_seconds: None,
        sessions: Vec::new(),
        merged_from: dirs
            .iter()
            .zip(&metas)
            .map(|(dir, meta)| MergedFrom {
                dir: dir.display().to_string(),
                shard: meta.shard,
                cells: meta.cells.shard,
                git_revisions: meta.revisions(),
                sessions: meta.sessions.clone(),
                started: meta.started.clone(),
                finished: meta.finished.clone(),
            })
            .collect(),
        summaries: summaries
            .iter()
            .map(|(file, bytes)| (file.to_string(), sha256_hex(bytes)))
            .collect(),
        data,
        sha256: String::new(),
    };
    files.extend(
        summaries
            .into_iter()
            .map(|(file, bytes)| (file.to_string(), bytes)),
    );
    files.push((meta_file(&study), meta.to_bytes()));
    write_dir_whole(&target, &files)?;
    Ok(MergeReport {
        cells: present.len(),
        grid_cells: cells.len(),
        notes,
    })
}

/// The keys of the cells an input must hold: those of its own grid in its shard, after
/// checking that its metadata's cell counts are what its configuration and shard give.
fn input_cells<S: Study>(study: &S, meta: &Meta, dir: &Path) -> Result<Vec<String>> {
    let grid = study.grid_cells();
    let own: Vec<String> = grid
        .iter()
        .enumerate()
        .filter(|(position, _)| meta.shard.contains(*position))
        .map(|(_, cell)| study.cell_key(cell))
        .collect();
    if (meta.cells.grid, meta.cells.shard) != (grid.len(), own.len()) {
        return Err(Error::input(format!(
            "merge: '{}' records {} cells in its grid and {} in shard {}, but its configuration \
             gives {} and {}: the metadata was changed after the run",
            dir.display(),
            meta.cells.grid,
            meta.cells.shard,
            meta.shard,
            grid.len(),
            own.len()
        )));
    }
    Ok(own)
}

/// A warning when the inputs were written by more than one git revision.
fn mixed_revisions(dirs: &[PathBuf], metas: &[Meta]) -> Option<String> {
    let mut all: Vec<String> = metas.iter().flat_map(Meta::revisions).collect();
    all.sort();
    all.dedup();
    if all.len() > 1 {
        let each: Vec<String> = dirs
            .iter()
            .zip(metas)
            .map(|(dir, meta)| format!("'{}': {}", dir.display(), meta.revisions().join(", ")))
            .collect();
        Some(format!(
            "warning: merge: the inputs were written by different git revisions ({})",
            each.join("; ")
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_set_must_be_complete_and_disjoint() {
        let s = |dir: &str, index, count| (dir.to_string(), Shard { index, count });
        assert!(check_shard_set(&[s("b", 2, 2), s("a", 1, 2)]).is_ok());
        let missing = check_shard_set(&[s("a", 1, 3), s("c", 3, 3)]).unwrap_err();
        assert_eq!(missing, "missing shard(s): 2/3");
        let overlap = check_shard_set(&[s("a", 1, 2), s("b", 1, 2)]).unwrap_err();
        assert!(
            overlap.contains("'a' and 'b' are both shard 1/2"),
            "{overlap}"
        );
        let counts = check_shard_set(&[s("a", 1, 2), s("b", 2, 3)]).unwrap_err();
        assert!(counts.contains("different numbers of shards"), "{counts}");
    }

    #[test]
    fn an_out_dir_written_whole_holds_every_file_or_none() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/merged");
        std::fs::create_dir_all(root.path().join("a")).unwrap();
        let files = [
            ("x.csv".to_string(), b"1\n".to_vec()),
            ("y.json".to_string(), b"{}".to_vec()),
        ];
        write_dir_whole(&dir, &files).unwrap();
        assert_eq!(std::fs::read(dir.join("x.csv")).unwrap(), b"1\n");
        let entries = |path: &Path| std::fs::read_dir(path).unwrap().count();
        assert_eq!(
            entries(&root.path().join("a")),
            1,
            "no staging directory is left"
        );
        let failed = root.path().join("failed");
        let broken = [
            ("x.csv".to_string(), b"1\n".to_vec()),
            ("no/such/dir.csv".to_string(), b"2".to_vec()),
        ];
        assert!(write_dir_whole(&failed, &broken).is_err());
        assert!(!failed.exists());
    }

    #[test]
    fn staging_directories_of_dead_merges_are_removed() {
        let root = tempfile::tempdir().unwrap();
        let stale = root
            .path()
            .join(beside_name("merged".as_ref(), ".partial-") + "999999");
        std::fs::create_dir(&stale).unwrap();
        std::fs::write(stale.join("x.csv"), "x").unwrap();
        write_dir_whole(
            &root.path().join("merged"),
            &[("a".to_string(), b"1".to_vec())],
        )
        .unwrap();
        assert!(!stale.exists());
    }
}
