//! Nothing lost, nothing replaced, nothing trusted blindly: two runs into one out-dir,
//! outputs that are devices, FIFOs or links, hostile metadata, endless inputs, edited
//! results, leftovers of killed runs, the one-line error contract and its exit codes, and
//! the question before a long run.

use std::fs;
use std::path::Path;
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

fn bin() -> Command {
    Command::cargo_bin("hesscale-cli").unwrap()
}

/// A small grid that runs in well under a second.
const SMALL: &[&str] = &[
    "quality",
    "--widths",
    "4",
    "--depths",
    "2",
    "--inputs",
    "3",
    "--outputs",
    "4",
    "--seeds",
    "3",
    "--samples",
    "4",
    "--methods",
    "hesscale,ggn,hutchinson:2",
    "--quiet",
];

fn run_small(out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    bin()
        .args(SMALL)
        .args(extra)
        .arg("--out-dir")
        .arg(out)
        .assert()
}

/// One line on stderr, starting `Error: ` and containing `message`; exit code `code`.
fn one_line_error(assert: assert_cmd::assert::Assert, code: i32, message: &str) {
    assert
        .code(code)
        .stderr(predicate::str::starts_with("Error: "))
        .stderr(predicate::str::contains(message))
        .stderr(predicate::function(|s: &str| {
            s.lines().filter(|l| l.starts_with("Error: ")).count() == 1 && !s.contains("panicked")
        }));
}

/// A long run in the background (killed when the handle is dropped).
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_long_run(out: &Path) -> Background {
    let child = StdCommand::new(assert_cmd::cargo::cargo_bin("hesscale-cli"))
        .args([
            "quality",
            "--widths",
            "64",
            "--seeds",
            "6",
            "--samples",
            "100000",
            "--threads",
            "1",
            "--quiet",
            "--yes",
            "--out-dir",
        ])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !out.join("quality.meta.json").exists() {
        assert!(
            Instant::now() < deadline,
            "the background run did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Background(child)
}

#[test]
fn a_second_run_into_a_busy_out_dir_is_refused_and_a_killed_runs_lock_is_taken_over() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("r");
    let mut first = start_long_run(&out);
    let pid = first.0.id();
    for extra in [&[][..], &["--resume"][..]] {
        one_line_error(
            run_small(&out, extra),
            2,
            &format!("is in use by another run (pid {pid}"),
        );
    }
    let runs = fs::read(out.join("quality_runs.csv")).unwrap();
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    // The killed run's lock is free: a resume of its own grid takes the directory over.
    let before = fs::read(out.join("quality.meta.json")).unwrap();
    assert!(!before.is_empty() && runs.starts_with(b"activation,"));
    one_line_error(
        run_small(&out, &["--resume"]),
        2,
        "records another configuration",
    );
}

#[test]
fn outputs_that_are_devices_fifos_or_links_are_written_through_not_replaced() {
    let dir = TempDir::new().unwrap();
    // A FIFO: a reader gets the problem, and the FIFO stays a FIFO.
    let fifo = dir.path().join("fifo");
    assert!(StdCommand::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
    };
    bin()
        .args(["sample", "--output"])
        .arg(&fifo)
        .assert()
        .success();
    let received = reader.join().unwrap();
    assert!(received.starts_with("{\"layers\""), "{received}");
    use std::os::unix::fs::FileTypeExt;
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    // A symbolic link: its target is replaced, the link stays.
    let target = dir.path().join("target.json");
    fs::write(&target, "old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    bin().args(["sample", "-o"]).arg(&link).assert().success();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::read_to_string(&target)
        .unwrap()
        .starts_with("{\"layers\""));
    // A character device.
    bin().args(["sample", "-o", "/dev/null"]).assert().success();
    assert!(fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    // A legal 250-byte name.
    let long = dir.path().join("p".repeat(250));
    bin().args(["sample", "-o"]).arg(&long).assert().success();
    assert!(long.exists());
}

/// A finished small run in `out`.
fn finished_run(out: &Path) {
    run_small(out, &[]).success();
}

/// Replace the first occurrence of `from` by `to` in a file.
fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from}", path.display());
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn hostile_metadata_is_refused_before_anything_is_allocated() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("r");
    finished_run(&out);
    let meta = out.join("quality.meta.json");
    let text = fs::read_to_string(&meta).unwrap();
    // A count far over the limits, with its digest made to match.
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["config"]["seeds"] = serde_json::json!(1_000_000_000_000u64);
    let config = value["config"].to_string();
    value["config_sha256"] = serde_json::json!(sha256(config.as_bytes()));
    fs::write(&meta, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    let merged = dir.path().join("m");
    one_line_error(
        bin()
            .arg("merge")
            .arg(&out)
            .arg("--out-dir")
            .arg(&merged)
            .assert(),
        2,
        "a seed count of 1000000000000 is over the limit",
    );
    // A count as a float, and a digest that does not match.
    fs::write(&meta, text.replace("\"seeds\": 3", "\"seeds\": 1e12")).unwrap();
    one_line_error(
        bin()
            .arg("merge")
            .arg(&out)
            .arg("--out-dir")
            .arg(&merged)
            .assert(),
        2,
        "does not match its digest",
    );
    fs::write(&meta, text.replace("\"samples\": 4", "\"samples\": 0")).unwrap();
    one_line_error(
        run_small(&out, &["--resume"]),
        2,
        "does not match its digest",
    );
    assert!(!merged.exists());
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn endless_or_huge_inputs_are_refused_quickly() {
    let start = Instant::now();
    one_line_error(
        bin().args(["diag", "--problem", "/dev/zero"]).assert(),
        2,
        "invalid problem JSON",
    );
    one_line_error(
        bin().args(["quality", "--preset", "/dev/zero"]).assert(),
        2,
        "larger than the limit of 1 MiB",
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn edited_results_are_refused_by_resume_merge_and_check() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("r");
    finished_run(&out);
    let runs = out.join("quality_runs.csv");
    let line = fs::read_to_string(&runs)
        .unwrap()
        .lines()
        .nth(5)
        .unwrap()
        .to_string();
    let fields: Vec<&str> = line.split(',').collect();
    let edited = format!("{},{},{}", fields[..10].join(","), "0.5", fields[11]);
    edit(&runs, &line, &edited);
    let merged = dir.path().join("m");
    for assert in [
        run_small(&out, &["--resume"]),
        bin()
            .arg("merge")
            .arg(&out)
            .arg("--out-dir")
            .arg(&merged)
            .assert(),
    ] {
        one_line_error(assert, 2, "do not match their digest");
    }
    assert!(!merged.exists());

    // A negative time whose digest was recomputed is refused by the rows' own checks.
    let other = dir.path().join("t");
    finished_run(&other);
    let timing = other.join("quality_timing_cells.csv");
    let text = fs::read_to_string(&timing).unwrap();
    let first = text.lines().nth(1).unwrap();
    let (keep, _) = first.rsplit_once(',').unwrap();
    let negative = format!("{keep},-5.0");
    let new_text = text.replacen(first, &negative, 1);
    fs::write(&timing, &new_text).unwrap();
    // The first cell's block: gradient, linearization, exact and the three methods.
    let block: String = new_text
        .lines()
        .skip(1)
        .take(6)
        .map(|l| format!("{l}\n"))
        .collect();
    let ledger = other.join("quality.ledger.csv");
    let ledger_text = fs::read_to_string(&ledger).unwrap();
    let entry = ledger_text.lines().nth(1).unwrap();
    let mut parts: Vec<String> = entry.split(',').map(str::to_string).collect();
    parts[4] = sha256(block.as_bytes());
    fs::write(&ledger, ledger_text.replacen(entry, &parts.join(","), 1)).unwrap();
    one_line_error(
        run_small(&other, &["--resume"]),
        2,
        "seconds -5 is negative",
    );

    // check: a summary changed after its run wrote it.
    let third = dir.path().join("c");
    finished_run(&third);
    let summary = third.join("quality_summary.csv");
    let copy = dir.path().join("baseline.csv");
    fs::copy(&summary, &copy).unwrap();
    let text = fs::read_to_string(&summary).unwrap();
    fs::write(&summary, text.replacen(",3,4,", ",3,4,9", 1)).unwrap();
    one_line_error(
        bin()
            .arg("check")
            .arg("--baseline")
            .arg(&copy)
            .arg(&summary)
            .assert(),
        2,
        "does not match the digest its run recorded",
    );
}

#[test]
fn leftovers_of_killed_runs_are_removed() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("r");
    finished_run(&out);
    let stale = [
        out.join(".quality_timing.csv.tmp-999999"),
        out.join(".tmp-999999-00000000deadbeef"),
    ];
    for path in &stale {
        fs::write(path, "x").unwrap();
    }
    run_small(&out, &["--resume"]).success();
    for path in &stale {
        assert!(!path.exists(), "{} left", path.display());
    }
    let staging = dir.path().join(".merged.partial-999999");
    fs::create_dir(&staging).unwrap();
    fs::write(staging.join("quality_runs.csv"), "x").unwrap();
    bin()
        .arg("merge")
        .arg(&out)
        .arg("--out-dir")
        .arg(dir.path().join("merged"))
        .assert()
        .success();
    assert!(!staging.exists());
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["merged", "r"],
        "nothing else is left beside the out-dirs"
    );
}

#[test]
fn every_bad_input_is_one_line_with_exit_code_2() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let inside_file = file.join("out");
    let inside = inside_file.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["quality", "--bogus"],
            "unexpected argument '--bogus' found",
        ),
        (
            vec!["quality", "--widths", "x"],
            "invalid value 'x' for '--widths",
        ),
        (vec!["frobnicate"], "unrecognized subcommand"),
        (
            vec!["cost", "--reps", "-1"],
            "unexpected argument '-1' found",
        ),
        (
            vec!["quality", "--seeds", "1", "--out-dir", inside],
            "--out-dir: cannot create",
        ),
        (
            vec![
                "cost",
                "--sizes",
                "2",
                "--sweep",
                "width",
                "--out-dir",
                inside,
            ],
            "--out-dir: cannot create",
        ),
        (vec!["sample", "-o", inside], "cannot write"),
        (
            vec!["sample", "-o", dir.path().to_str().unwrap()],
            "is a directory",
        ),
        (
            vec!["merge", dir.path().to_str().unwrap(), "--out-dir", inside],
            "not a quality or optimize or rl out-dir",
        ),
    ];
    for (args, message) in cases {
        one_line_error(bin().args(&args).assert(), 2, message);
    }
}

#[test]
fn a_long_run_is_not_started_without_yes_when_no_one_can_be_asked() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("r");
    one_line_error(
        bin()
            .args([
                "quality",
                "--widths",
                "512",
                "--depths",
                "8",
                "--seeds",
                "1000",
                "--out-dir",
            ])
            .arg(&out)
            .write_stdin("")
            .assert(),
        2,
        "add --yes to start it",
    );
    assert!(!out.exists(), "nothing is written before the question");
    // A short run prints its plan and starts without asking.
    run_small(&dir.path().join("s"), &[])
        .success()
        .stderr(predicate::str::contains(
            "cells to run (0 already finished), estimated",
        ));
}
