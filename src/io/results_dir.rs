//! A `quality` out-dir: its files, `quality.meta.json` (what was run, by which build,
//! when), and the checks that keep one run from overwriting another.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::quality::{parse_shard, QualityGrid, Shard};
use crate::error::{Error, Result};
use crate::io::csv_out::{RUNS_FILE, SUMMARY_FILE, TIMING_CELLS_FILE, TIMING_FILE};
use crate::io::output::write_atomically;

/// The metadata file of an out-dir.
pub const META_FILE: &str = "quality.meta.json";

/// Every file a `quality` run or a `merge` writes.
pub const RESULT_FILES: [&str; 5] = [
    META_FILE,
    RUNS_FILE,
    TIMING_CELLS_FILE,
    SUMMARY_FILE,
    TIMING_FILE,
];

/// The git revision the binary was built from (`git describe --always --dirty
/// --abbrev=12` at build time: `-dirty` marks a build from a modified tree), or `unknown`.
pub fn git_revision() -> &'static str {
    env!("HESSCALE_GIT_REVISION")
}

/// Create `dir` (and its parents) if needed; an input error if that fails or if `dir` is
/// not a directory.
pub fn create_out_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::input(format!("--out-dir: cannot create '{}': {e}", dir.display())))
}

/// The result files already in `dir`.
pub fn existing_results(dir: &Path) -> Vec<&'static str> {
    RESULT_FILES
        .into_iter()
        .filter(|name| dir.join(name).exists())
        .collect()
}

/// An input error if `dir` already holds results: a run never overwrites another.
pub fn refuse_existing_results(dir: &Path, hint: &str) -> Result<()> {
    let existing = existing_results(dir);
    if existing.is_empty() {
        Ok(())
    } else {
        Err(Error::input(format!(
            "--out-dir '{}' already holds results ({}); {hint}",
            dir.display(),
            existing.join(", ")
        )))
    }
}

/// An input error unless `dir` is missing or an empty directory.
pub fn require_new_or_empty(dir: &Path, hint: &str) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    refuse_existing_results(dir, hint)?;
    let empty = std::fs::read_dir(dir)
        .map_err(|e| Error::input(format!("--out-dir '{}': {e}", dir.display())))?
        .next()
        .is_none();
    if empty {
        Ok(())
    } else {
        Err(Error::input(format!(
            "--out-dir '{}' is not empty; {hint}",
            dir.display()
        )))
    }
}

/// Write a whole out-dir at once: every `(file name, bytes)` goes into a fresh hidden
/// directory next to `dir`, which is then renamed to `dir` (missing or an empty
/// directory; see [`require_new_or_empty`]). If anything fails, the hidden directory is
/// removed again, so `dir` never holds part of the files.
pub fn write_out_dir_whole(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<()> {
    let name = dir.file_name().ok_or_else(|| {
        Error::input(format!(
            "--out-dir '{}' must name a directory",
            dir.display()
        ))
    })?;
    let parent = match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_out_dir(&parent)?;
    let staging = parent.join(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
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

/// The bytes of a metadata file: `meta` as pretty JSON and a newline.
pub fn meta_bytes(meta: &Value) -> Vec<u8> {
    (serde_json::to_string_pretty(meta).expect("JSON values serialise") + "\n").into_bytes()
}

/// Write `meta` as pretty JSON into `dir`, atomically.
pub fn write_meta(dir: &Path, meta: &Value) -> Result<()> {
    write_atomically(&dir.join(META_FILE), &meta_bytes(meta))
}

/// What `--resume` and `merge` need from a recorded `quality.meta.json`.
#[derive(Clone, Debug)]
pub struct RecordedRun {
    /// The path of the meta file.
    pub path: PathBuf,
    /// The whole document.
    pub meta: Value,
    /// Its `config` object.
    pub config: Value,
    /// The grid the config describes.
    pub grid: QualityGrid,
    /// Its shard.
    pub shard: Shard,
}

impl RecordedRun {
    /// The git revision of each session recorded under `sessions`, in order; for a
    /// metadata file without sessions (a merge, or an older version), its top-level
    /// `git_revision`.
    pub fn session_revisions(&self) -> Vec<String> {
        let text = |value: &Value| value.as_str().unwrap_or("unknown").to_string();
        match self.meta.get("sessions").and_then(Value::as_array) {
            Some(sessions) if !sessions.is_empty() => sessions
                .iter()
                .map(|session| session.get("git_revision").map_or("unknown".into(), text))
                .collect(),
            _ => vec![self.meta.get("git_revision").map_or("unknown".into(), text)],
        }
    }

    /// The distinct git revisions the recorded files were written by, in order of first
    /// use.
    pub fn revisions(&self) -> Vec<String> {
        let mut revisions: Vec<String> = Vec::new();
        for revision in self.session_revisions() {
            if !revisions.contains(&revision) {
                revisions.push(revision);
            }
        }
        revisions
    }

    /// The git revision of the last session recorded.
    pub fn last_revision(&self) -> String {
        self.session_revisions()
            .pop()
            .expect("there is always at least one revision")
    }
}

/// Read and check `dir/quality.meta.json`.
pub fn read_meta(dir: &Path) -> Result<RecordedRun> {
    let path = dir.join(META_FILE);
    let shown = path.display();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::input(format!("cannot read '{shown}': {e}")))?;
    let meta: Value = serde_json::from_str(&text)
        .map_err(|e| Error::input(format!("'{shown}': invalid JSON: {e}")))?;
    let config = meta
        .get("config")
        .cloned()
        .ok_or_else(|| Error::input(format!("'{shown}': no 'config' object")))?;
    let grid = QualityGrid::from_json(&config)
        .map_err(|e| Error::input(format!("'{shown}': config: {e}")))?;
    let shard = meta
        .get("shard")
        .and_then(|s| Some(format!("{}/{}", s.get("index")?, s.get("count")?)))
        .ok_or_else(|| Error::input(format!("'{shown}': no 'shard' object")))
        .and_then(|text| {
            parse_shard(&text).map_err(|e| Error::input(format!("'{shown}': shard: {e}")))
        })?;
    Ok(RecordedRun {
        path,
        meta,
        config,
        grid,
        shard,
    })
}

/// The keys of two `config` objects whose values differ, as `key: A vs B` (in the order
/// of `left`'s keys, then keys only `right` has).
pub fn config_differences(left: &Value, right: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let left = left.as_object().unwrap_or(&empty);
    let right = right.as_object().unwrap_or(&empty);
    let shown = |value: Option<&Value>| value.map_or("(missing)".to_string(), Value::to_string);
    left.keys()
        .chain(right.keys().filter(|k| !left.contains_key(*k)))
        .filter(|key| left.get(*key) != right.get(*key))
        .map(|key| {
            format!(
                "{key}: {} vs {}",
                shown(left.get(key)),
                shown(right.get(key))
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn recorded(meta: Value) -> RecordedRun {
        RecordedRun {
            path: PathBuf::from("quality.meta.json"),
            meta,
            config: Value::Null,
            grid: QualityGrid::from_json(&json!({
                "activations": ["tanh"], "losses": ["mse"], "reductions": ["mean"],
                "depths": [1], "widths": [2], "inputs": 1, "outputs": 1, "batch_size": 1,
                "samples": 1, "seeds": 1, "seed": 0, "methods": ["zero"]
            }))
            .unwrap(),
            shard: Shard::WHOLE,
        }
    }

    #[test]
    fn revisions_come_from_the_sessions_in_order() {
        let run = recorded(json!({
            "git_revision": "aaa",
            "sessions": [
                {"git_revision": "aaa"},
                {"git_revision": "bbb-dirty"},
                {"git_revision": "aaa"}
            ]
        }));
        assert_eq!(run.revisions(), vec!["aaa", "bbb-dirty"]);
        assert_eq!(run.last_revision(), "aaa");
        let merged = recorded(json!({"git_revision": "ccc", "sessions": []}));
        assert_eq!(merged.revisions(), vec!["ccc"]);
        assert_eq!(merged.last_revision(), "ccc");
    }

    #[test]
    fn an_out_dir_written_whole_holds_every_file_or_none() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/merged");
        let files = [("x.csv", b"1\n".to_vec()), ("y.json", b"{}".to_vec())];
        write_out_dir_whole(&dir, &files).unwrap();
        assert_eq!(std::fs::read(dir.join("x.csv")).unwrap(), b"1\n");
        assert_eq!(std::fs::read(dir.join("y.json")).unwrap(), b"{}");
        let entries = |path: &Path| std::fs::read_dir(path).unwrap().count();
        assert_eq!(
            entries(&root.path().join("a")),
            1,
            "no staging directory is left"
        );

        // An existing empty directory is replaced.
        let empty = root.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        require_new_or_empty(&empty, "hint").unwrap();
        write_out_dir_whole(&empty, &files).unwrap();
        assert_eq!(entries(&empty), 2);

        // A write that fails half-way (the second file cannot be created) leaves nothing.
        let failed = root.path().join("failed");
        let broken = [
            ("x.csv", b"1\n".to_vec()),
            ("no/such/dir.csv", b"2".to_vec()),
        ];
        assert!(write_out_dir_whole(&failed, &broken).is_err());
        assert!(!failed.exists());
        let mut left: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        left.sort();
        assert_eq!(left, ["a", "empty"], "no staging directory is left");
    }

    #[test]
    fn only_a_missing_or_empty_out_dir_is_new() {
        let root = tempfile::tempdir().unwrap();
        require_new_or_empty(&root.path().join("missing"), "hint").unwrap();
        std::fs::write(root.path().join("notes.txt"), "x").unwrap();
        let error = require_new_or_empty(root.path(), "choose another").unwrap_err();
        assert!(
            error.to_string().contains("is not empty; choose another"),
            "{error}"
        );
        std::fs::write(root.path().join(RUNS_FILE), "x").unwrap();
        let error = require_new_or_empty(root.path(), "choose another").unwrap_err();
        assert!(
            error.to_string().contains("already holds results"),
            "{error}"
        );
    }

    #[test]
    fn differences_name_the_keys() {
        let a = json!({"widths": [16], "seeds": 3, "samples": 5});
        let b = json!({"widths": [16, 32], "seeds": 3, "extra": 1});
        assert_eq!(
            config_differences(&a, &b),
            vec![
                "widths: [16] vs [16,32]",
                "samples: 5 vs (missing)",
                "extra: (missing) vs 1"
            ]
        );
        assert!(config_differences(&a, &a).is_empty());
    }
}
