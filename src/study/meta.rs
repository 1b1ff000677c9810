//! The metadata record of a study's out-dir (`NAME.meta.json`): what was run (the
//! configuration and its digest, the shard, the cells), by which build, on which machine,
//! when, for how long, and every session that wrote cells (the first run, then each
//! `--resume`), the digest of every data set it read, and the SHA-256 of the whole
//! record (`sha256`), so that no count, digest or configuration in it can be changed
//! unnoticed. Read back through serde; an unknown or missing key is an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::build::{git_revision, tool_version};
use crate::config::run::RunOptions;
use crate::config::shard::Shard;
use crate::data::DataDigest;
use crate::error::{Error, Result};
use crate::io::format::{sha256_hex, utc_now};
use crate::io::machine::Machine;
use crate::io::output::{read_bounded, write_atomically, MAX_META_BYTES};

/// The data sets a study read, by name, with their digests.
pub type DataDigests = BTreeMap<String, DataDigest>;

/// The cells of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellCounts {
    /// Cells of the whole grid.
    pub grid: usize,
    /// Cells of this run's shard.
    pub shard: usize,
}

/// One session that wrote cells: the first run or a `--resume`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// When it started (UTC).
    pub at: String,
    pub tool: String,
    pub git_revision: String,
    pub threads: usize,
    /// Cells already finished when it started.
    pub cells_done: usize,
    /// The CPU time its plan estimated for the cells it had to run.
    pub estimated_cpu_seconds: Option<f64>,
    /// Its wall time, once it finished.
    pub elapsed_seconds: Option<f64>,
    /// The CPU time it used, once it finished (where the system reports it).
    pub cpu_seconds: Option<f64>,
}

impl Session {
    /// A session starting now with this build.
    pub fn now(threads: usize, cells_done: usize) -> Session {
        Session {
            at: utc_now(),
            tool: tool_version(),
            git_revision: git_revision().to_string(),
            threads,
            cells_done,
            estimated_cpu_seconds: None,
            elapsed_seconds: None,
            cpu_seconds: None,
        }
    }
}

/// One input of a merge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergedFrom {
    pub dir: String,
    pub shard: Shard,
    pub cells: usize,
    pub git_revisions: Vec<String>,
    pub sessions: Vec<Session>,
    pub started: String,
    pub finished: Option<String>,
}

/// The metadata record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// The study (`quality`, `optimize`, `rl`, `cost`).
    pub study: String,
    /// The build that started the run.
    pub tool: String,
    pub git_revision: String,
    /// Everything that determines the rows; `--resume` and `merge` compare it key by key.
    pub config: Value,
    /// The SHA-256 of `config` as compact JSON, checked when the record is read back.
    pub config_sha256: String,
    pub shard: Shard,
    pub cells: CellCounts,
    pub threads: Option<usize>,
    pub preset: Option<String>,
    pub machine: Machine,
    pub started: String,
    pub finished: Option<String>,
    /// The wall time of every session together.
    pub elapsed_seconds: Option<f64>,
    /// The CPU time of every session together.
    pub cpu_seconds: Option<f64>,
    pub sessions: Vec<Session>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<MergedFrom>,
    /// The SHA-256 of each summary file written at the end, for `check` to verify.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub summaries: BTreeMap<String, String>,
    /// Every data set the study read, by name, with its digest; `--resume` and `merge`
    /// refuse other data under the same name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, DataDigest>,
    /// The SHA-256 of the record itself: its compact JSON with this field empty. Covers
    /// every count, digest and time in it.
    pub sha256: String,
}

impl Meta {
    /// The record of a fresh run of the study named `study` with configuration `config`,
    /// `grid_cells` cells in its grid, `cells` in its shard, reading the data sets `data`.
    pub fn new(
        study: &str,
        config: Value,
        grid_cells: usize,
        data: DataDigests,
        options: &RunOptions,
        cells: usize,
    ) -> Meta {
        let first = Session::now(options.threads, 0);
        Meta {
            study: study.to_string(),
            tool: tool_version(),
            git_revision: git_revision().to_string(),
            config_sha256: sha256_hex(config.to_string().as_bytes()),
            config,
            shard: options.shard,
            cells: CellCounts {
                grid: grid_cells,
                shard: cells,
            },
            threads: Some(options.threads),
            preset: options.preset.as_ref().map(|p| p.display().to_string()),
            machine: Machine::this(),
            started: first.at.clone(),
            finished: None,
            elapsed_seconds: None,
            cpu_seconds: None,
            sessions: vec![first],
            merged_from: Vec::new(),
            summaries: BTreeMap::new(),
            data,
            sha256: String::new(),
        }
    }

    /// Mark the run finished now: the last session's wall and CPU time, and the totals.
    pub fn finish(&mut self, elapsed: f64, cpu_before: Option<f64>, cpu_after: Option<f64>) {
        self.finished = Some(utc_now());
        let cpu = cpu_before
            .zip(cpu_after)
            .map(|(before, after)| after - before);
        if let Some(session) = self.sessions.last_mut() {
            session.elapsed_seconds = Some(elapsed);
            session.cpu_seconds = cpu;
        }
        let total = |field: fn(&Session) -> Option<f64>| -> Option<f64> {
            self.sessions.iter().map(field).sum()
        };
        self.elapsed_seconds = total(|s| s.elapsed_seconds).or(Some(elapsed));
        self.cpu_seconds = total(|s| s.cpu_seconds).or(cpu);
    }

    /// The git revision of every session, in order (the top-level one for a merge).
    pub fn session_revisions(&self) -> Vec<String> {
        if self.sessions.is_empty() {
            vec![self.git_revision.clone()]
        } else {
            self.sessions
                .iter()
                .map(|s| s.git_revision.clone())
                .collect()
        }
    }

    /// The distinct git revisions the files were written by, in order of first use.
    pub fn revisions(&self) -> Vec<String> {
        let mut revisions: Vec<String> = Vec::new();
        for revision in self.session_revisions() {
            if !revisions.contains(&revision) {
                revisions.push(revision);
            }
        }
        revisions
    }

    /// The git revision of the last session.
    pub fn last_revision(&self) -> String {
        self.session_revisions()
            .pop()
            .expect("there is always at least one revision")
    }

    /// The SHA-256 of the record with its own digest left empty.
    fn digest(&self) -> String {
        let body = Meta {
            sha256: String::new(),
            ..self.clone()
        };
        sha256_hex(
            serde_json::to_string(&body)
                .expect("the record serialises")
                .as_bytes(),
        )
    }

    /// The record as pretty JSON with a final newline, its digest (`sha256`) filled in.
    pub fn to_bytes(&self) -> Vec<u8> {
        let sealed = Meta {
            sha256: self.digest(),
            ..self.clone()
        };
        (serde_json::to_string_pretty(&sealed).expect("the record serialises") + "\n").into_bytes()
    }

    /// Write the record atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomically(path, &self.to_bytes())
    }

    /// Read and check a record: bounded in size, every key known, the record's and the
    /// configuration's digests matching.
    pub fn read(path: &Path) -> Result<Meta> {
        let shown = path.display();
        let bytes = read_bounded(path, MAX_META_BYTES)?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::input(format!("'{shown}': not a metadata record: {e}")))?;
        if value.is_object() && value.get("sha256").is_none() {
            return Err(Error::input(format!(
                "'{shown}' has no digest of its own (sha256): it was written by an earlier \
                 version of hesscale-cli, whose records cannot be checked; rerun the study"
            )));
        }
        let meta: Meta = serde_json::from_value(value)
            .map_err(|e| Error::input(format!("'{shown}': not a metadata record: {e}")))?;
        if meta.digest() != meta.sha256 {
            return Err(Error::input(format!(
                "'{shown}' does not match its digest (sha256): the file was changed after the \
                 run wrote it"
            )));
        }
        if meta.shard.index == 0 || meta.shard.index > meta.shard.count {
            return Err(Error::input(format!(
                "'{shown}': shard {} is not one of 1/N … N/N",
                meta.shard
            )));
        }
        if sha256_hex(meta.config.to_string().as_bytes()) != meta.config_sha256 {
            return Err(Error::input(format!(
                "'{shown}': the configuration does not match its digest (config_sha256): \
                 the file was changed after the run wrote it"
            )));
        }
        Ok(meta)
    }

    /// The path of a study's record in `dir`.
    pub fn path_in(dir: &Path, study: &str) -> PathBuf {
        dir.join(format!("{study}.meta.json"))
    }
}

/// The keys other than `grid_keys` whose values differ between two configurations, as
/// `key: A vs B`: what keeps two runs from being parts of one study.
pub fn protocol_differences(left: &Value, right: &Value, grid_keys: &[&str]) -> Vec<String> {
    let strip = |config: &Value| {
        let mut config = config.clone();
        if let Some(object) = config.as_object_mut() {
            for key in grid_keys {
                object.remove(*key);
            }
        }
        config
    };
    config_differences(&strip(left), &strip(right), &[])
}

/// The keys of two configurations whose values differ, as `key: A vs B` (in the order of
/// `left`'s keys, then keys only `right` has), leaving out `grid_keys` where `right` only
/// extends `left` (a list with the same items first, or a count at least as large).
pub fn config_differences(left: &Value, right: &Value, grid_keys: &[&str]) -> Vec<String> {
    let empty = serde_json::Map::new();
    let left = left.as_object().unwrap_or(&empty);
    let right = right.as_object().unwrap_or(&empty);
    let shown = |value: Option<&Value>| value.map_or("(missing)".to_string(), Value::to_string);
    left.keys()
        .chain(right.keys().filter(|k| !left.contains_key(*k)))
        .filter(|key| {
            let (a, b) = (left.get(*key), right.get(*key));
            a != b && !(grid_keys.contains(&key.as_str()) && extends(a, b))
        })
        .map(|key| {
            format!(
                "{key}: {} vs {}",
                shown(left.get(key)),
                shown(right.get(key))
            )
        })
        .collect()
}

/// Whether `b` extends `a`: a list holding every item of `a`, or a count at least `a`.
fn extends(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Array(a)), Some(Value::Array(b))) => a.iter().all(|item| b.contains(item)),
        (Some(Value::Number(a)), Some(Value::Number(b))) => {
            matches!((a.as_u64(), b.as_u64()), (Some(a), Some(b)) if b >= a)
        }
        _ => false,
    }
}

/// The union of two configurations of the same protocol: grid lists joined (`left`'s
/// items first, then `right`'s new ones), grid counts the larger; every other key must be
/// equal (see [`config_differences`]).
pub fn config_union(left: &Value, right: &Value, grid_keys: &[&str]) -> Value {
    let mut union = left.clone();
    if let (Some(union), Some(right)) = (union.as_object_mut(), right.as_object()) {
        for key in grid_keys {
            match (union.get_mut(*key), right.get(*key)) {
                (Some(Value::Array(items)), Some(Value::Array(more))) => {
                    for item in more {
                        if !items.contains(item) {
                            items.push(item.clone());
                        }
                    }
                }
                (Some(count @ Value::Number(_)), Some(Value::Number(other)))
                    if other.as_u64() > count.as_u64() =>
                {
                    *count = Value::Number(other.clone());
                }
                _ => {}
            }
        }
    }
    union
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_name_the_keys_and_let_grids_grow() {
        let a = json!({"widths": [16], "seeds": 3, "samples": 5});
        let b = json!({"widths": [16, 32], "seeds": 4, "samples": 5, "extra": 1});
        assert_eq!(
            config_differences(&a, &b, &[]),
            vec![
                "widths: [16] vs [16,32]",
                "seeds: 3 vs 4",
                "extra: (missing) vs 1"
            ]
        );
        assert_eq!(
            config_differences(&a, &b, &["widths", "seeds"]),
            vec!["extra: (missing) vs 1"]
        );
        assert_eq!(
            config_differences(&b, &a, &["widths", "seeds"]),
            vec![
                "widths: [16,32] vs [16]",
                "seeds: 4 vs 3",
                "extra: 1 vs (missing)"
            ]
        );
        assert!(config_differences(&a, &a, &[]).is_empty());
    }

    #[test]
    fn unions_join_lists_and_take_the_larger_count() {
        let a = json!({"widths": [16, 8], "seeds": 3, "samples": 5});
        let b = json!({"widths": [32, 16], "seeds": 2, "samples": 5});
        assert_eq!(
            config_union(&a, &b, &["widths", "seeds"]),
            json!({"widths": [16, 8, 32], "seeds": 3, "samples": 5})
        );
    }
}
