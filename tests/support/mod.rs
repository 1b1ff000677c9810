//! Helpers shared by the command-line tests of the studies.
#![allow(dead_code)] // each test binary uses its own subset of the helpers

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Start `hesscale-cli ARGS --out-dir OUT`, wait until the appended table `table` in OUT
/// holds its header and one row, kill the process there (SIGKILL, as a crash or a
/// preempted job would end it) and return how many lines the table then holds.
pub fn kill_once_a_row_is_written(args: &[&str], out: &Path, table: &str) -> usize {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("hesscale-cli"))
        .args(args)
        .arg("--out-dir")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let path = out.join(table);
    let lines = || fs::read(&path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
    let start = Instant::now();
    while lines() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no rows appeared"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    lines()
}

/// The SHA-256 of some bytes, in hex.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Recompute every digest of `STUDY.ledger.csv` in `dir` from the tables as they are now,
/// with the row counts the ledger records: what a forger who edits rows and hides the edit
/// does.
pub fn reseal_ledger(dir: &Path, study: &str) {
    let ledger = dir.join(format!("{study}.ledger.csv"));
    let text = fs::read_to_string(&ledger).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let files: Vec<String> = header[2..]
        .chunks(2)
        .map(|pair| pair[0].trim_end_matches(":rows").to_string())
        .collect();
    let rows: Vec<Vec<String>> = files
        .iter()
        .map(|file| {
            fs::read_to_string(dir.join(file))
                .unwrap()
                .lines()
                .skip(1)
                .map(|line| format!("{line}\n"))
                .collect()
        })
        .collect();
    let mut next = vec![0; files.len()];
    let mut out = format!("{}\n", header.join(","));
    for line in lines {
        let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
        for t in 0..files.len() {
            let count: usize = fields[2 + 2 * t].parse().unwrap();
            let block: String = rows[t][next[t]..next[t] + count].concat();
            next[t] += count;
            fields[3 + 2 * t] = sha256(block.as_bytes());
        }
        out += &format!("{}\n", fields.join(","));
    }
    fs::write(&ledger, out).unwrap();
}

/// Edit `STUDY.meta.json` in `dir` with `edit`, then recompute its digests (of the
/// configuration and of the record) so that the edit is not caught by them.
pub fn reseal_meta(dir: &Path, study: &str, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join(format!("{study}.meta.json"));
    let mut meta: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut meta);
    meta["config_sha256"] = serde_json::json!(sha256(meta["config"].to_string().as_bytes()));
    meta["sha256"] = serde_json::json!("");
    meta["sha256"] = serde_json::json!(sha256(meta.to_string().as_bytes()));
    fs::write(&path, serde_json::to_string_pretty(&meta).unwrap() + "\n").unwrap();
}

/// Write a small MNIST-like data set into `dir` (created): `train` and `test` images of
/// raw IDX files whose pixels depend on `shade`, labels cycling 0–9.
pub fn write_idx_set(dir: &Path, train: usize, test: usize, shade: u8) {
    fs::create_dir_all(dir).unwrap();
    let images = |n: usize, offset: usize| {
        let mut bytes = vec![0, 0, 8, 3];
        for dim in [n as u32, 28, 28] {
            bytes.extend(dim.to_be_bytes());
        }
        bytes.extend((0..n * 784).map(|p| ((p + offset) as u8).wrapping_mul(shade)));
        bytes
    };
    let labels = |n: usize| {
        let mut bytes = vec![0, 0, 8, 1];
        bytes.extend((n as u32).to_be_bytes());
        bytes.extend((0..n).map(|i| (i % 10) as u8));
        bytes
    };
    fs::write(dir.join("train-images-idx3-ubyte"), images(train, 0)).unwrap();
    fs::write(dir.join("train-labels-idx1-ubyte"), labels(train)).unwrap();
    fs::write(dir.join("t10k-images-idx3-ubyte"), images(test, 7)).unwrap();
    fs::write(dir.join("t10k-labels-idx1-ubyte"), labels(test)).unwrap();
}

/// The binary under test.
pub fn bin() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("hesscale-cli").unwrap()
}

/// A file of the repository, by its path from the top.
pub fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Run `hesscale-cli ARGS --out-dir OUT` and expect success.
pub fn run_ok(args: &[&str], out: &Path) {
    bin()
        .args(args)
        .arg("--out-dir")
        .arg(out)
        .assert()
        .success();
}

/// A file's bytes (a panic naming the file if it cannot be read).
pub fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A file's text.
pub fn text(path: &Path) -> String {
    String::from_utf8(read(path)).unwrap()
}

/// Assert that the out-dirs `a` and `b` hold the same `files`, byte for byte.
pub fn assert_same_files(a: &Path, b: &Path, files: &[&str]) {
    for name in files {
        assert!(
            read(&a.join(name)) == read(&b.join(name)),
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

/// The kill-and-resume property of a study: `hesscale-cli ARGS` run uninterrupted into
/// one out-dir, and run into another, killed once a row of `table` is written (before
/// `summary` exists) and resumed with `--resume` and `resume` added, leave the same
/// `files`. Returns the temporary directory and the resumed out-dir.
pub fn assert_resumed_after_kill_equals_uninterrupted(
    args: &[&str],
    table: &str,
    summary: &str,
    resume: &[&str],
    files: &[&str],
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::TempDir::new().unwrap();
    let clean = dir.path().join("clean");
    let killed = dir.path().join("killed");
    run_ok(args, &clean);
    let total = text(&clean.join(table)).lines().count();
    let written = kill_once_a_row_is_written(args, &killed, table);
    assert!(written < total, "the run finished before it was killed");
    assert!(!killed.join(summary).exists());
    run_ok(&[args, &["--resume"], resume].concat(), &killed);
    assert_same_files(&clean, &killed, files);
    (dir, killed)
}

/// Run `hesscale-cli ARGS --out-dir OUT` in a fresh directory and expect an input error
/// before any work: exit code 2, nothing on stdout, one line on stderr starting `Error: `
/// and containing `message`, and no out-dir created.
pub fn expect_input_error(args: &[&str], message: &str) {
    use predicates::prelude::*;
    let dir = tempfile::TempDir::new().unwrap();
    let out = dir.path().join("out");
    bin()
        .current_dir(dir.path())
        .args(args)
        .arg("--out-dir")
        .arg(&out)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with("Error: "))
        .stderr(predicate::str::contains(message))
        .stderr(predicate::function(|s: &str| s.lines().count() == 1));
    assert!(!out.exists(), "{args:?}: the out-dir was created");
}

/// An error as the contract has it: exit code `code`, one line on stderr starting
/// `Error: ` (the last line: nothing follows it) containing `message`, no panic.
pub fn one_line_error(assert: assert_cmd::assert::Assert, code: i32, message: &str) {
    use predicates::prelude::*;
    assert
        .code(code)
        .stderr(predicate::str::contains(message))
        .stderr(predicate::function(|s: &str| {
            let errors = s.lines().filter(|l| l.starts_with("Error: ")).count();
            errors == 1
                && s.lines().last().is_some_and(|l| l.starts_with("Error: "))
                && !s.contains("panicked")
        }));
}

/// A tiny optimize grid (later flags override its values): Adam without scaling at one
/// step size, one seed, 784 → 4 → 10 trained 20 steps, evaluated every 10, one thread.
pub const TINY_OPTIMIZE: &[&str] = &[
    "optimize",
    "--optimizers",
    "adam",
    "--scaling",
    "none",
    "--lrs",
    "1e-3",
    "--seeds",
    "1",
    "--steps",
    "20",
    "--eval-every",
    "10",
    "--widths",
    "4",
    "--depths",
    "1",
    "--threads",
    "1",
    "--quiet",
];

/// A tiny rl grid (later flags override its values): A2C on Pendulum with Adam without
/// scaling at one step size, one seed, 400 steps, one thread.
pub const TINY_RL: &[&str] = &[
    "rl",
    "--envs",
    "pendulum",
    "--agents",
    "a2c",
    "--optimizers",
    "adam",
    "--scaling",
    "none",
    "--lrs",
    "1e-3",
    "--seeds",
    "1",
    "--steps",
    "400",
    "--threads",
    "1",
    "--quiet",
];
