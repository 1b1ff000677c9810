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

mod support;

use support::{bin, one_line_error, TINY_OPTIMIZE, TINY_RL};

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
    // A count far over the limits, with its digests made to match.
    support::reseal_meta(&out, "quality", |meta| {
        meta["config"]["seeds"] = serde_json::json!(1_000_000_000_000u64)
    });
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
    // A count as a float, and digests that do not match.
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

use support::sha256;

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
        "not a regular file",
    );
    let dir = TempDir::new().unwrap();
    let huge = dir.path().join("huge.json");
    fs::write(&huge, vec![b' '; 2 << 20]).unwrap();
    one_line_error(
        bin().arg("quality").arg("--preset").arg(&huge).assert(),
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
    // The seconds are the last field but one (before the cost in backward-pass equivalents).
    let (head, cost) = first.rsplit_once(',').unwrap();
    let (keep, _) = head.rsplit_once(',').unwrap();
    let negative = format!("{keep},-5.0,{cost}");
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
    parts[5] = sha256(block.as_bytes());
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
        out.join(".hesscale-tmp-999999-00000000deadbeef"),
        out.join(".tmp-999999-00000000deadbeef"),
    ];
    // Files of the user's that look like temporaries but are not of the tool's form.
    let kept = [
        out.join(".notes.tmp-keep"),
        out.join(".my.tmp-settings"),
        out.join(".quality_timing.csv.tmp-999999"),
    ];
    for path in stale.iter().chain(&kept) {
        fs::write(path, "x").unwrap();
    }
    run_small(&out, &["--resume"]).success();
    for path in &stale {
        assert!(!path.exists(), "{} left", path.display());
    }
    for path in &kept {
        assert!(path.exists(), "{} removed", path.display());
    }
    let staging = dir.path().join(hesscale::io::lock::beside_name(
        "merged".as_ref(),
        ".partial-999999",
    ));
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

/// The ledger lines (finished cells) of a study's out-dir.
fn finished_cells(out: &Path, study: &str) -> usize {
    fs::read_to_string(out.join(format!("{study}.ledger.csv")))
        .unwrap()
        .lines()
        .count()
        - 1
}

#[test]
fn non_utf8_out_dir_and_preset_paths_are_paths_like_any_other() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new().unwrap();
    let name = |stem: &str| {
        dir.path()
            .join(OsStr::from_bytes(&[stem.as_bytes(), b"-\xff\xfe"].concat()))
    };
    let preset = name("preset");
    fs::write(
        &preset,
        r#"{"description": "a preset under a name that is not UTF-8"}"#,
    )
    .unwrap();
    for (study, args) in [
        ("quality", SMALL),
        ("optimize", TINY_OPTIMIZE),
        ("rl", TINY_RL),
    ] {
        let out = name(study);
        bin()
            .args(args)
            .arg("--preset")
            .arg(&preset)
            .arg("--out-dir")
            .arg(&out)
            .assert()
            .success()
            .stderr(predicate::str::contains("panicked").not());
        assert!(finished_cells(&out, study) >= 1, "{study}");
    }
    let merged = name("merged");
    bin()
        .arg("merge")
        .arg(name("quality"))
        .arg("--out-dir")
        .arg(&merged)
        .assert()
        .success();
    assert!(merged.join("quality_summary.csv").exists());
    let mut entries: Vec<Vec<u8>> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().as_bytes().to_vec())
        .collect();
    entries.sort();
    assert!(
        entries.iter().all(|name| !name.starts_with(b".")),
        "a lock or staging file is left beside the out-dirs"
    );
}

/// `/dev/full` opened for writing, as a standard stream of a child.
fn dev_full() -> Stdio {
    Stdio::from(
        fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    )
}

#[test]
fn a_closed_or_full_stdout_or_stderr_ends_the_printing_not_the_work() {
    let dir = TempDir::new().unwrap();
    let cells = 3;
    let table_run = |out: &Path| {
        let mut args: Vec<&str> = SMALL.iter().copied().filter(|&a| a != "--quiet").collect();
        args.extend(["--threads", "1", "--out-dir"]);
        let mut command = StdCommand::new(assert_cmd::cargo::cargo_bin("hesscale-cli"));
        command.args(args).arg(out);
        command
    };
    // A full standard output: the results table is lost, the results are not.
    let out = dir.path().join("stdout-full");
    let status = table_run(&out)
        .stdout(dev_full())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(finished_cells(&out, "quality"), cells);
    assert!(out.join("quality_summary.csv").exists());
    // A full standard error: no progress, every cell.
    let out = dir.path().join("stderr-full");
    let status = table_run(&out)
        .stdout(Stdio::null())
        .stderr(dev_full())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(finished_cells(&out, "quality"), cells);
    // A standard error whose reader is gone (`2>&1 >/dev/null | head -1`).
    let out = dir.path().join("stderr-closed");
    let mut child = table_run(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(finished_cells(&out, "quality"), cells);
    assert!(out.join("quality_summary.csv").exists());
    // merge: its line on a full standard error does not fail a merge that completed.
    let merged = dir.path().join("merged");
    let status = StdCommand::new(assert_cmd::cargo::cargo_bin("hesscale-cli"))
        .arg("merge")
        .arg(dir.path().join("stdout-full"))
        .arg("--out-dir")
        .arg(&merged)
        .stderr(dev_full())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(merged.join("quality.meta.json").exists());
    // Where standard output is the result, a full one is a failure, said on stderr.
    let output = StdCommand::new(assert_cmd::cargo::cargo_bin("hesscale-cli"))
        .args(["sample"])
        .stdout(dev_full())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("Error: cannot write to standard output") && stderr.lines().count() == 1,
        "{stderr}"
    );
}

/// Make a FIFO at `path`.
fn mkfifo(path: &Path) {
    let _ = fs::remove_file(path);
    assert!(StdCommand::new("mkfifo")
        .arg(path)
        .status()
        .unwrap()
        .success());
}

#[test]
fn fifos_where_files_are_expected_are_refused_at_once() {
    let dir = TempDir::new().unwrap();
    let within = |mut command: Command| {
        command.timeout(Duration::from_secs(30));
        command.assert()
    };
    // An IDX file.
    let data = dir.path().join("D");
    support::write_idx_set(&data, 20, 10, 3);
    mkfifo(&data.join("t10k-labels-idx1-ubyte"));
    let mut command = bin();
    command
        .args(TINY_OPTIMIZE)
        .args(["--data", &format!("mnist:{}", data.display())])
        .arg("--out-dir")
        .arg(dir.path().join("o"));
    one_line_error(within(command), 2, "not a regular file");
    // A preset.
    let preset = dir.path().join("p.json");
    mkfifo(&preset);
    let mut command = bin();
    command
        .args(SMALL)
        .arg("--preset")
        .arg(&preset)
        .arg("--out-dir")
        .arg(dir.path().join("q"));
    one_line_error(within(command), 2, "not a regular file");
    // A table on --resume (the lock is released: a second resume is told the same).
    let out = dir.path().join("r");
    finished_run(&out);
    mkfifo(&out.join("quality_runs.csv"));
    for _ in 0..2 {
        let mut command = bin();
        command
            .args(SMALL)
            .arg("--resume")
            .arg("--out-dir")
            .arg(&out);
        one_line_error(within(command), 2, "not a regular file");
    }
    // A merge input's metadata.
    let input = dir.path().join("in");
    finished_run(&input);
    mkfifo(&input.join("quality.meta.json"));
    let mut command = bin();
    command
        .arg("merge")
        .arg(&input)
        .arg("--out-dir")
        .arg(dir.path().join("m"));
    one_line_error(within(command), 2, "not a regular file");
}

/// Leave `out` as a start cut short by a full disk leaves it: the metadata and the
/// tables' headers, no ledger, no summary.
fn cut_short_at_start(out: &Path, study: &str, tables: &[&str]) {
    for entry in fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if tables.contains(&name.as_str()) {
            let text = fs::read_to_string(&path).unwrap();
            fs::write(&path, format!("{}\n", text.lines().next().unwrap())).unwrap();
        } else if name != format!("{study}.meta.json") && name != ".lock" {
            fs::remove_file(&path).unwrap();
        }
    }
}

#[test]
fn a_start_cut_short_by_a_full_disk_is_started_over_by_a_rerun_or_a_resume() {
    let dir = TempDir::new().unwrap();
    let studies: [(&str, &[&str], &[&str]); 3] = [
        (
            "quality",
            SMALL,
            &[
                "quality_runs.csv",
                "quality_timing_cells.csv",
                "quality_training.csv",
            ],
        ),
        (
            "optimize",
            TINY_OPTIMIZE,
            &["optimize_curves.csv", "optimize_timing.csv"],
        ),
        (
            "rl",
            TINY_RL,
            &["rl_curves.csv", "rl_runs.csv", "rl_timing.csv"],
        ),
    ];
    for (study, args, tables) in studies {
        let out = dir.path().join(study);
        bin()
            .args(args)
            .arg("--out-dir")
            .arg(&out)
            .assert()
            .success();
        let summary = format!("{study}_summary.csv");
        let expected = fs::read(out.join(&summary)).unwrap();
        for resume in [false, true] {
            cut_short_at_start(&out, study, tables);
            let mut command = bin();
            command.args(args).arg("--out-dir").arg(&out);
            if resume {
                command.arg("--resume");
            }
            command.assert().success();
            assert_eq!(
                fs::read(out.join(&summary)).unwrap(),
                expected,
                "{study} {resume}"
            );
        }
    }
}

#[test]
fn preset_values_follow_the_flags_rules() {
    let dir = TempDir::new().unwrap();
    let preset = |text: &str| {
        let path = dir.path().join("p.json");
        fs::write(&path, text).unwrap();
        path
    };
    // A number the flag refuses is refused by the preset, for the same reason.
    let flag = bin()
        .args(["optimize", "--seed", "18446744073709551616"])
        .assert()
        .code(2);
    let flag_error = String::from_utf8(flag.get_output().stderr.clone()).unwrap();
    assert!(
        flag_error.contains("number too large to fit in target type"),
        "{flag_error}"
    );
    // Run in the temporary directory: a preset that were accepted would write there.
    let refused = |study: &str, text: &str, message: &str| {
        let path = preset(text);
        let assert = bin()
            .current_dir(dir.path())
            .arg(study)
            .arg("--preset")
            .arg(&path)
            .timeout(Duration::from_secs(60))
            .assert();
        one_line_error(assert, 2, message);
    };
    for study in ["quality", "optimize", "rl"] {
        refused(
            study,
            r#"{"seed": 18446744073709551616}"#,
            "key 'seed': invalid value '18446744073709551616': number too large to fit in target type",
        );
        refused(
            study,
            r#"{"seeds": -1}"#,
            "key 'seeds': invalid value '-1': invalid digit found in string",
        );
        if study != "rl" {
            refused(
                study,
                r#"{"widths": [4, 2.5]}"#,
                "key 'widths': invalid value '2.5': invalid digit found in string",
            );
        }
    }
    // null is no value, not the default.
    for (study, key) in [
        ("optimize", "lrs"),
        ("rl", "lrs"),
        ("quality", "widths"),
        ("quality", "out_dir"),
    ] {
        refused(
            study,
            &format!(r#"{{"{key}": null}}"#),
            &format!("key '{key}': null is not a value"),
        );
    }
    // Whole numbers written as floats are still whole numbers, as documented.
    let path = preset(r#"{"seeds": 3.0, "seed": 1e1}"#);
    bin()
        .args(SMALL)
        .arg("--preset")
        .arg(&path)
        .arg("--out-dir")
        .arg(dir.path().join("ok"))
        .assert()
        .success();
}

#[test]
fn errors_are_one_line_whatever_the_values_they_quote() {
    let dir = TempDir::new().unwrap();
    one_line_error(
        bin().args(["quality", "--data", "mnist:a\nb"]).assert(),
        2,
        "may not contain a comma, quote or line break",
    );
    one_line_error(
        bin()
            .args(["optimize", "--preset", "/no/such\ndir/p.json"])
            .assert(),
        2,
        "cannot read '/no/such\\ndir/p.json'",
    );
    // The holder of a lock ran with a line break in its command line.
    let out = dir.path().join("r\nx");
    let _first = start_long_run(&out);
    one_line_error(run_small(&out, &[]), 2, "is in use by another run");
}

#[test]
fn messages_say_what_is_wrong_in_the_users_terms() {
    let dir = TempDir::new().unwrap();
    // check compares quality summaries; another study's summary is named as what it is.
    let out = dir.path().join("opt");
    bin()
        .args(TINY_OPTIMIZE)
        .arg("--out-dir")
        .arg(&out)
        .assert()
        .success();
    let summary = out.join("optimize_summary.csv");
    one_line_error(
        bin()
            .arg("check")
            .arg("--baseline")
            .arg(&summary)
            .arg(&summary)
            .assert(),
        2,
        "this is an optimize summary (optimize_summary.csv)",
    );
    // A data directory: missing, a file, a loop of links.
    let file = dir.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let looped = dir.path().join("loop");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    for (path, message) in [
        (dir.path().join("missing"), "does not exist"),
        (file, "is a file, not a directory"),
        (
            looped,
            "cannot be opened: Too many levels of symbolic links",
        ),
    ] {
        one_line_error(
            bin()
                .args(TINY_OPTIMIZE)
                .args(["--data", &format!("mnist:{}", path.display())])
                .arg("--out-dir")
                .arg(dir.path().join("never"))
                .assert(),
            2,
            message,
        );
    }
    // A row of another run is named in the study's terms, not as a Rust value.
    let curves = out.join("optimize_curves.csv");
    let text = fs::read_to_string(&curves).unwrap();
    fs::write(
        &curves,
        text.replacen(",adam,none,,0.001,0,", ",adam,none,,0.001,7,", 1),
    )
    .unwrap();
    support::reseal_ledger(&out, "optimize");
    let assert = bin()
        .args(TINY_OPTIMIZE)
        .arg("--out-dir")
        .arg(&out)
        .arg("--resume")
        .assert();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("a row of another run (data mnist, tanh, depth 1, width 4, batch 32, adam, none, lr 0.001, seed 7)"), "{stderr}");
    assert!(!stderr.contains("RunKey"), "{stderr}");
}
