//! `hesscale-cli optimize` end to end: a tiny grid writes every file, byte-identical at any
//! thread count; a resume after a kill equals an uninterrupted run; a huge step size
//! diverges and keeps its rows; shards + merge give the unsharded files; bad input is one
//! `Error:` line with exit code 2. Networks are tiny (784 → 4 → 10) and runs a few steps,
//! so the suite stays fast.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use predicates::prelude::*;
use support::{
    assert_resumed_after_kill_equals_uninterrupted, assert_same_files, bin, expect_input_error,
    read, repo_file, run_ok, text,
};
use tempfile::TempDir;

/// The files that must be byte-identical between equivalent runs (timings differ).
const DETERMINISTIC: [&str; 2] = ["optimize_curves.csv", "optimize_summary.csv"];

/// Two optimizers, both scalings, a sane and a diverging step size, two seeds: 16 runs.
const GRID: &[&str] = &[
    "optimize",
    "--optimizers",
    "sgd,adahesscale",
    "--scaling",
    "none,hesscale",
    "--delta",
    "1e-3",
    "--lrs",
    "0.1,1e308",
    "--seeds",
    "2",
    "--steps",
    "4",
    "--eval-every",
    "2",
    "--widths",
    "4",
    "--depths",
    "1",
    "--batch-size",
    "4",
];

/// The rows of a CSV file as fields, header first.
fn rows(path: &Path) -> Vec<Vec<String>> {
    text(path)
        .lines()
        .map(|line| line.split(',').map(String::from).collect())
        .collect()
}

/// The value of `column` in every data row of `path`.
fn column(path: &Path, column: &str) -> Vec<String> {
    let rows = rows(path);
    let index = rows[0]
        .iter()
        .position(|c| c == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    rows[1..].iter().map(|row| row[index].clone()).collect()
}

#[test]
fn a_tiny_grid_writes_every_file_the_same_at_one_and_two_threads() {
    let dir = TempDir::new().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    run_ok(&[GRID, &["--threads", "1"]].concat(), &one);
    run_ok(&[GRID, &["--threads", "2"]].concat(), &two);
    assert_same_files(&one, &two, &DETERMINISTIC);
    assert!(!read(&one.join("optimize_timing_summary.csv")).is_empty());
    let curves = one.join("optimize_curves.csv");
    assert!(text(&curves).starts_with(
        "data,activation,depth,width,batch_size,optimizer,scaling,delta,lr,seed,step,\
         train_loss,test_loss,test_accuracy,diverged\n"
    ));
    // The 8 runs at lr 0.1 are evaluated at steps 0, 2 and 4.
    let sane: Vec<Vec<String>> = rows(&curves)
        .into_iter()
        .filter(|row| row[8] == "0.1")
        .collect();
    assert_eq!(sane.len(), 8 * 3);
    assert!(sane.iter().all(|row| row[14] == "false"));
    assert_eq!(
        sane.iter()
            .map(|row| row[10].as_str())
            .take(3)
            .collect::<Vec<_>>(),
        ["0", "2", "4"]
    );
    let timing = rows(&one.join("optimize_timing.csv"));
    assert_eq!(timing.len(), 1 + 16);
    assert_eq!(
        timing[0].join(","),
        "data,activation,depth,width,batch_size,optimizer,scaling,delta,lr,seed,steps,\
         seconds_per_step,evaluations,seconds_per_evaluation"
    );
    let summary = one.join("optimize_summary.csv");
    assert_eq!(rows(&summary).len(), 1 + 8);
    assert_eq!(column(&summary, "seeds"), vec!["2"; 8]);
    // One best step size per optimizer and scaling.
    let best = column(&summary, "best_lr");
    assert_eq!(best.iter().filter(|b| *b == "true").count(), 4);
    let meta: serde_json::Value =
        serde_json::from_slice(&read(&one.join("optimize.meta.json"))).unwrap();
    assert_eq!(meta["study"], "optimize");
    assert_eq!(meta["config"]["lrs"], serde_json::json!([0.1, 1e308]));
    assert_eq!(meta["config"]["deltas"], serde_json::json!([0.001]));
    assert_eq!(meta["cells"]["grid"], 16);
}

/// sgd at α = 1e308 overflows within a few steps: the run stops with a diverged row, keeps
/// its rows before it, and the summary counts it.
#[test]
fn a_diverging_step_size_is_marked_and_keeps_its_rows() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    bin()
        .args(GRID)
        .args(["--optimizers", "sgd", "--scaling", "none", "--lrs", "1e308"])
        .arg("--out-dir")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("2/2"));
    let curves = rows(&out.join("optimize_curves.csv"));
    for seed in ["0", "1"] {
        let run: Vec<&Vec<String>> = curves[1..].iter().filter(|r| r[9] == seed).collect();
        assert_eq!(run[0][10], "0", "the evaluation at step 0 is kept");
        assert_eq!(run[0][14], "false");
        let last = run.last().unwrap();
        assert_eq!(last[14], "true", "{run:?}");
        assert_eq!((last[12].as_str(), last[13].as_str()), ("", ""));
        assert!(run[..run.len() - 1].iter().all(|r| r[14] == "false"));
    }
    let summary = out.join("optimize_summary.csv");
    assert_eq!(column(&summary, "diverged"), ["2"]);
    assert_eq!(column(&summary, "final_test_loss"), [""]);
    assert_eq!(column(&summary, "final_test_accuracy"), ["0.1"]);
}

#[test]
fn resume_after_killing_the_process_equals_an_uninterrupted_run() {
    // Longer runs than elsewhere so that the study lasts long enough to be killed.
    let args = [
        GRID,
        &["--steps", "300", "--eval-every", "100", "--threads", "1"],
    ]
    .concat();
    let (_dir, killed) = assert_resumed_after_kill_equals_uninterrupted(
        &args,
        "optimize_curves.csv",
        "optimize_summary.csv",
        &["--threads", "2"],
        &DETERMINISTIC,
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&read(&killed.join("optimize.meta.json"))).unwrap();
    assert_eq!(meta["sessions"].as_array().unwrap().len(), 2);
}

/// A resumed run may add step sizes and optimizers: only the new runs are computed, and
/// the files equal a run of the whole grid.
#[test]
fn a_resumed_run_grows_by_step_sizes_and_optimizers() {
    let dir = TempDir::new().unwrap();
    let (grown, whole) = (dir.path().join("grown"), dir.path().join("whole"));
    let small = [GRID, &["--optimizers", "sgd", "--lrs", "0.1"]].concat();
    run_ok(&small, &grown);
    bin()
        .args(GRID)
        .args(["--lrs", "0.1,0.01", "--optimizers", "sgd,adam", "--resume"])
        .arg("--out-dir")
        .arg(&grown)
        .assert()
        .success()
        .stderr(predicate::str::contains("16 runs (12 run now)"));
    run_ok(
        &[GRID, &["--lrs", "0.1,0.01", "--optimizers", "sgd,adam"]].concat(),
        &whole,
    );
    assert_same_files(&grown, &whole, &DETERMINISTIC);
}

#[test]
fn shards_merge_into_the_unsharded_files() {
    let dir = TempDir::new().unwrap();
    let whole = dir.path().join("whole");
    run_ok(GRID, &whole);
    let shards: Vec<PathBuf> = (1..=3)
        .map(|i| {
            let out = dir.path().join(format!("shard-{i}"));
            run_ok(&[GRID, &["--shard", &format!("{i}/3")]].concat(), &out);
            out
        })
        .collect();
    let merged = dir.path().join("merged");
    bin()
        .arg("merge")
        .args(&shards)
        .arg("--out-dir")
        .arg(&merged)
        .assert()
        .success();
    assert_same_files(&whole, &merged, &DETERMINISTIC);
    assert_eq!(
        text(&merged.join("optimize_timing.csv")).lines().count(),
        text(&whole.join("optimize_timing.csv")).lines().count()
    );
    assert_eq!(
        rows(&merged.join("optimize_timing_summary.csv")).len(),
        rows(&whole.join("optimize_timing_summary.csv")).len()
    );
    // A missing shard is refused.
    bin()
        .arg("merge")
        .args(&shards[..2])
        .arg("--out-dir")
        .arg(dir.path().join("partial"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing shard(s): 3/3"));
}

/// The shipped IDX files read as `mnist:DIR` train like any data set; a directory without
/// them is refused before any work.
#[test]
fn data_from_a_directory_is_a_grid_axis() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    let data = format!(
        "mnist,mnist:{}",
        repo_file("experiments/data/mnist").display()
    );
    run_ok(
        &[
            GRID,
            &["--optimizers", "adam", "--lrs", "0.1", "--data", &data],
        ]
        .concat(),
        &out,
    );
    let sets = column(&out.join("optimize_summary.csv"), "data");
    assert_eq!(sets.len(), 4);
    assert_eq!(sets[0], "mnist");
    assert!(sets[3].ends_with("experiments/data/mnist"));
    expect_input_error(
        &[GRID, &["--data", "mnist:/no/such/dir"]].concat(),
        "--data 'mnist:/no/such/dir'",
    );
}

#[test]
fn bad_input_is_one_line_and_exit_code_2_before_any_work() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--optimizers", "adamw"],
            "--optimizers: unknown optimizer 'adamw'",
        ),
        (
            &["--scaling", "trust"],
            "--scaling: unknown step-size scaling 'trust'",
        ),
        (
            &["--lrs", "0.1,0"],
            "--lrs: a step size of 0 is not a finite number > 0",
        ),
        (&["--lrs", "fast"], "invalid value 'fast' for '--lrs"),
        (
            &["--delta", "-1e-3"],
            "--delta: a delta of -0.001 is not a finite number > 0",
        ),
        (
            &["--delta", "inf"],
            "--delta: a delta of inf is not a finite number > 0",
        ),
        (
            &["--steps", "0"],
            "--steps: a step count of 0 is not allowed",
        ),
        (&["--data", "cifar"], "--data: unknown data set 'cifar'"),
        (
            &["--activations", "swish"],
            "invalid value 'swish' for '--activations",
        ),
        (
            &["--learning-rate", "1"],
            "unexpected argument '--learning-rate'",
        ),
        (
            &["--shard", "17/17"],
            "17 shards for a grid of only 16 cells",
        ),
    ];
    for (args, message) in cases {
        expect_input_error(&[GRID, *args].concat(), message);
    }
}

/// The presets parse and describe the grids their descriptions claim (run here with a
/// single short run).
#[test]
fn the_presets_hold_the_documented_grids() {
    let dir = TempDir::new().unwrap();
    for (preset, runs, steps) in [
        ("experiments/optimize-mnist.json", 300, 1000),
        ("experiments/optimize-mnist-full.json", 2160, 10000),
    ] {
        let out = dir.path().join(preset.replace('/', "_"));
        bin()
            .args(["optimize", "--preset"])
            .arg(repo_file(preset))
            .args(["--optimizers", "sgd", "--scaling", "none", "--lrs", "1"])
            .args(["--seeds", "1", "--steps", "1", "--activations", "tanh"])
            .arg("--out-dir")
            .arg(&out)
            .assert()
            .success();
        let text = fs::read_to_string(repo_file(preset)).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["steps"], steps);
        let count = |key: &str| value[key].as_array().map_or(1, |a| a.len());
        let scalings = 1 + count("delta");
        let grid = 6 * scalings * count("lrs") * count("activations") * count("widths");
        assert_eq!(
            grid * value["seeds"].as_u64().unwrap() as usize,
            runs,
            "{preset}"
        );
        assert_eq!(value["optimizers"], "all");
    }
}
