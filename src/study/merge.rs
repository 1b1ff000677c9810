//! `merge`: put the out-dirs of one study back together. The inputs must share one
//! protocol (every configuration key but the grid axes); their cells are combined into
//! the union of their grids, so the shards of one run give exactly the files the unsharded
//! run writes, and runs of different grids (more widths, more seeds) give the run of the
//! combined grid. A cell present in two inputs must hold the same rows in both (the cells
//! are deterministic, so a difference is a true conflict); the shards of one sharded run
//! must all be there; every input must be finished; every block is checked against its
//! digest. The out-dir (new or empty) receives every file at once, at the end, so a merge
//! that fails leaves nothing behind and can simply be rerun.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::build::{git_revision, tool_version};
use crate::config::shard::Shard;
use crate::error::{Error, Result};
use crate::io::format::utc_now;
use crate::io::lock::{process_alive, DirLock};
use crate::io::machine::Machine;
use crate::io::output::write_atomically;
use crate::study::engine::{assemble, meta_file, read_finished, sha256_hex, Study};
use crate::study::meta::{config_union, protocol_differences, CellCounts, MergedFrom, Meta};

/// What a merge reports.
#[derive(Clone, Debug, PartialEq)]
pub struct MergeReport {
    /// The cells of the merged out-dir.
    pub cells: usize,
    /// The cells of the union grid (more than `cells` when the inputs' grids do not fill
    /// their union).
    pub grid_cells: usize,
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
/// rename it to `dir` (missing or an empty directory). If anything fails the hidden
/// directory is removed again, so `dir` never holds part of the files. Staging
/// directories left by merges that were killed are removed first.
fn write_dir_whole(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    let name = dir
        .file_name()
        .ok_or_else(|| {
            Error::input(format!(
                "--out-dir '{}' must name a directory",
                dir.display()
            ))
        })?
        .to_string_lossy()
        .into_owned();
    let parent = match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    remove_stale_staging(&parent, &name);
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let failed = |what: &str, e: std::io::Error| {
        Error::runtime(format!("cannot {what} '{}': {e}", dir.display()))
    };
    std::fs::create_dir(&staging).map_err(|e| failed("prepare", e))?;
    let written = files
        .iter()
        .try_for_each(|(file, bytes)| write_atomically(&staging.join(file), bytes))
        .and_then(|()| {
            if dir.exists() {
                std::fs::remove_dir(dir).map_err(|e| failed("replace the empty", e))?;
            }
            std::fs::rename(&staging, dir).map_err(|e| failed("write", e))
        });
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    written
}

/// Remove `.NAME.partial-PID` staging directories of processes that are no longer alive.
fn remove_stale_staging(parent: &Path, name: &str) {
    let prefix = format!(".{name}.partial-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = entry_name
            .strip_prefix(&prefix)
            .and_then(|p| p.parse::<u32>().ok())
        {
            if pid != std::process::id() && !process_alive(pid) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// An error unless `dir` is missing or an empty directory.
fn require_new_or_empty(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let empty = std::fs::read_dir(dir)
        .map_err(|e| Error::input(format!("--out-dir '{}': {e}", dir.display())))?
        .next()
        .is_none();
    if empty {
        Ok(())
    } else {
        Err(Error::input(format!(
            "--out-dir '{}' already holds results (it is not empty); merge into an empty or \
             new --out-dir",
            dir.display()
        )))
    }
}

/// Merge the out-dirs `dirs` of the study named `name` into `out_dir`; `study_of` makes
/// the study of a recorded configuration.
pub fn merge<S: Study>(
    name: &str,
    dirs: &[PathBuf],
    out_dir: &Path,
    study_of: impl Fn(&Value) -> Result<S>,
) -> Result<MergeReport> {
    let parent = match out_dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    crate::study::engine::create_out_dir(&parent)?;
    let out_name = out_dir
        .file_name()
        .ok_or_else(|| {
            Error::input(format!(
                "--out-dir '{}' must name a directory",
                out_dir.display()
            ))
        })?
        .to_string_lossy()
        .into_owned();
    let _lock = DirLock::acquire_file(
        &parent.join(format!(".{out_name}.lock")),
        out_dir,
        "--out-dir",
    )?;
    require_new_or_empty(out_dir)?;
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
        let differences = protocol_differences(&metas[0].config, &meta.config, grid_keys);
        if !differences.is_empty() {
            return Err(Error::input(format!(
                "merge: '{}' and '{}' were run with different configurations ({})",
                dirs[0].display(),
                dir.display(),
                differences.join("; ")
            )));
        }
    }
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
            config_union(&union, &meta.config, grid_keys)
        });
    let study = study_of(&union)?;
    let cells = study.grid_cells();
    let mut blocks: Vec<Option<(String, Vec<String>)>> = vec![None; cells.len()];
    for (dir, meta) in dirs.iter().zip(&metas) {
        let finished = read_finished(&study, dir, &cells)?;
        if finished.cells.len() < meta.cells.shard {
            return Err(Error::input(format!(
                "merge: '{}' (shard {}) is incomplete: {} of {} cells finished; finish it with \
                 `{name} … --shard {} --resume`",
                dir.display(),
                meta.shard,
                finished.cells.len(),
                meta.cells.shard,
                meta.shard
            )));
        }
        for (position, cell_blocks) in finished.cells {
            let shown = dir.display().to_string();
            match &blocks[position] {
                Some((other, existing)) if *existing != cell_blocks => {
                    return Err(Error::input(format!(
                        "merge: cell '{}' differs between '{other}' and '{shown}' (the same cell \
                         of the same configuration must give the same rows)",
                        study.cell_key(&cells[position])
                    )))
                }
                Some(_) => {}
                None => blocks[position] = Some((shown, cell_blocks)),
            }
        }
    }
    let (present, present_blocks): (Vec<S::Cell>, Vec<Vec<String>>) = cells
        .iter()
        .zip(blocks)
        .filter_map(|(cell, blocks)| blocks.map(|(_, b)| (cell.clone(), b)))
        .unzip();
    warn_of_mixed_revisions(dirs, &metas);
    let mut files = assemble(&study, &present, &present_blocks);
    let tables: Vec<String> = (0..study.tables().len())
        .map(|t| present_blocks.iter().map(|b| b[t].as_str()).collect())
        .collect();
    let summaries = study.summaries(&tables)?;
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
    };
    files.extend(
        summaries
            .into_iter()
            .map(|(file, bytes)| (file.to_string(), bytes)),
    );
    files.push((meta_file(&study), meta.to_bytes()));
    write_dir_whole(out_dir, &files)?;
    Ok(MergeReport {
        cells: present.len(),
        grid_cells: cells.len(),
    })
}

/// Warn on stderr (one line) when the inputs were written by more than one git revision.
fn warn_of_mixed_revisions(dirs: &[PathBuf], metas: &[Meta]) {
    let mut all: Vec<String> = metas.iter().flat_map(Meta::revisions).collect();
    all.sort();
    all.dedup();
    if all.len() > 1 {
        let each: Vec<String> = dirs
            .iter()
            .zip(metas)
            .map(|(dir, meta)| format!("'{}': {}", dir.display(), meta.revisions().join(", ")))
            .collect();
        eprintln!(
            "warning: merge: the inputs were written by different git revisions ({})",
            each.join("; ")
        );
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
        let stale = root.path().join(".merged.partial-999999");
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
