//! `hesscale-cli rl` end to end: a tiny grid writes every file, byte-identical at any
//! thread count; a huge step size diverges and is counted; a resume after a kill equals an
//! uninterrupted run, and a resumed run grows by step sizes and optimizers; shards + merge
//! give the unsharded files; bad input is one `Error:` line with exit code 2; the presets
//! and the documented command lines run. Runs are short (Pendulum, 400 steps: two
//! episodes, one partial PPO rollout).

mod support;

use std::fs;
use std::path::PathBuf;

use predicates::prelude::*;
use support::{
    assert_resumed_after_kill_equals_uninterrupted, assert_same_files, bin, expect_input_error,
    repo_file, run_ok, text,
};
use tempfile::TempDir;

/// The files that must be byte-identical between equivalent runs (timings differ).
const DETERMINISTIC: [&str; 3] = ["rl_curves.csv", "rl_runs.csv", "rl_summary.csv"];

/// Both agents, two optimizers, both scalings, one step size, two seeds: 16 runs.
const GRID: &[&str] = &[
    "rl",
    "--envs",
    "pendulum",
    "--agents",
    "a2c,ppo",
    "--optimizers",
    "adam,adahesscale",
    "--scaling",
    "none,hesscale",
    "--lrs",
    "1e-3",
    "--seeds",
    "2",
    "--steps",
    "400",
];

#[test]
fn a_tiny_grid_writes_every_file_the_same_at_one_and_two_threads() {
    let dir = TempDir::new().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    run_ok(&[GRID, &["--threads", "1"]].concat(), &one);
    bin()
        .args([GRID, &["--threads", "2"]].concat())
        .arg("--out-dir")
        .arg(&two)
        .assert()
        .success()
        .stdout(predicate::str::contains("mean return ± se"));
    assert_same_files(&one, &two, &DETERMINISTIC);
    let curves = text(&one.join("rl_curves.csv"));
    assert!(curves.starts_with("env,agent,optimizer,scaling,lr,seed,step,episode_return\n"));
    // Pendulum's episodes are 200 steps long: two per run, at steps 200 and 400.
    let steps: Vec<&str> = curves
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(6).unwrap())
        .collect();
    assert_eq!(steps.len(), 16 * 2);
    assert!(steps.chunks(2).all(|pair| pair == ["200", "400"]));
    let runs = text(&one.join("rl_runs.csv"));
    assert!(runs.starts_with("env,agent,optimizer,scaling,lr,seed,steps,episodes,diverged\n"));
    assert!(runs.lines().skip(1).all(|l| l.ends_with(",400,2,false")));
    let summary = text(&one.join("rl_summary.csv"));
    assert_eq!(summary.lines().count(), 1 + 8);
    assert!(summary.starts_with(
        "env,agent,optimizer,scaling,lr,seeds,diverged,steps,mean_return,mean_return_se,\
         normalized_return,normalized_return_se,best_lr\n"
    ));
    assert_eq!(text(&one.join("rl_timing.csv")).lines().count(), 1 + 16);
    // Paired runs: the first episode of a seed is the same for every optimizer and
    // scaling of an agent (the update comes after it for PPO, whose rollout is longer).
    let first_ppo: Vec<&str> = curves
        .lines()
        .filter(|l| l.starts_with("pendulum,ppo,") && l.contains(",0,200,"))
        .map(|l| l.rsplit(',').next().unwrap())
        .collect();
    assert_eq!(first_ppo.len(), 4);
    assert!(first_ppo.iter().all(|r| *r == first_ppo[0]));
}

/// A huge step size diverges: the run stops early, keeps its episodes, and is counted in
/// the summary (at the task's lowest run return, normalised 0).
#[test]
fn a_diverging_step_size_is_marked_and_counted() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    run_ok(
        &[
            GRID,
            &[
                "--agents",
                "a2c",
                "--optimizers",
                "sgd",
                "--scaling",
                "none",
            ],
        ]
        .concat(),
        &out,
    );
    run_ok(
        &[
            GRID,
            &[
                "--agents",
                "a2c",
                "--optimizers",
                "sgd",
                "--scaling",
                "none",
            ],
            &["--lrs", "1e-3,1e300", "--resume"],
        ]
        .concat(),
        &out,
    );
    let runs = text(&out.join("rl_runs.csv"));
    let huge: Vec<&str> = runs.lines().filter(|l| l.contains(",1e300,")).collect();
    assert_eq!(huge.len(), 2);
    for line in huge {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[8], "true", "{line}");
        assert!(fields[6].parse::<u64>().unwrap() < 400, "{line}");
    }
    let summary = text(&out.join("rl_summary.csv"));
    let row = summary.lines().find(|l| l.contains(",1e300,")).unwrap();
    let fields: Vec<&str> = row.split(',').collect();
    assert_eq!((fields[5], fields[6]), ("2", "2"), "{row}");
    assert_eq!(fields[10], "0.0", "{row}");
}

/// A run killed midway and resumed (at another thread count) equals an uninterrupted run.
#[test]
fn resume_after_killing_the_process_equals_an_uninterrupted_run() {
    let args = [
        GRID,
        &["--agents", "a2c", "--steps", "2000", "--threads", "1"],
    ]
    .concat();
    assert_resumed_after_kill_equals_uninterrupted(
        &args,
        "rl_runs.csv",
        "rl_summary.csv",
        &["--threads", "2"],
        &DETERMINISTIC,
    );
}

/// A resumed run may add step sizes and optimizers: only the new runs are computed, and
/// the files equal a run of the whole grid.
#[test]
fn a_resumed_run_grows_by_step_sizes_and_optimizers() {
    let dir = TempDir::new().unwrap();
    let (grown, whole) = (dir.path().join("grown"), dir.path().join("whole"));
    let base = [GRID, &["--agents", "a2c"]].concat();
    run_ok(
        &[base.as_slice(), &["--optimizers", "adam"]].concat(),
        &grown,
    );
    bin()
        .args(&base)
        .args(["--lrs", "1e-3,1e-2", "--resume"])
        .arg("--out-dir")
        .arg(&grown)
        .assert()
        .success()
        .stderr(predicate::str::contains("16 runs (12 run now)"));
    run_ok(&[base.as_slice(), &["--lrs", "1e-3,1e-2"]].concat(), &whole);
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
        text(&merged.join("rl_timing.csv")).lines().count(),
        text(&whole.join("rl_timing.csv")).lines().count()
    );
}

#[test]
fn bad_input_is_one_line_and_exit_code_2_before_any_work() {
    let cases: &[(&[&str], &str)] = &[
        (&["--envs", "humanoid"], "--envs: unknown task 'humanoid'"),
        (
            &["--variance-head", "tanh"],
            "invalid value 'tanh' for '--variance-head <VARIANCE_HEAD>' (possible values: softplus, exp)",
        ),
        (&["--agents", "sac"], "--agents: unknown agent 'sac'"),
        (
            &["--optimizers", "adaggnmc"],
            "--optimizers: adaggnmc does not apply to policy losses",
        ),
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
        (
            &["--delta", "0"],
            "--delta: give one delta, a finite number > 0",
        ),
        (
            &["--steps", "100"],
            "--steps: 100 steps do not finish one pendulum episode (200 steps)",
        ),
        (
            &["--steps", "0"],
            "--steps: a step count of 0 is not allowed",
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

/// A build without the `mujoco` feature names what a MuJoCo task needs.
#[cfg(not(feature = "mujoco"))]
#[test]
fn mujoco_tasks_need_the_mujoco_build() {
    expect_input_error(
        &[GRID, &["--envs", "pendulum,hopper"]].concat(),
        "--envs: task 'hopper' needs the MuJoCo build: run `make mujoco`, then build with \
         `cargo build --release --features mujoco`",
    );
}

/// The presets parse and describe the grids their descriptions claim (run here as a
/// single short run on pendulum; the MuJoCo presets' own tasks in the MuJoCo build, below),
/// and record their variance head.
#[test]
fn the_presets_hold_the_documented_grids() {
    let dir = TempDir::new().unwrap();
    for (preset, runs, head) in [
        ("experiments/rl-small.json", 192, None),
        ("experiments/rl-icml2024.json", 5760, None),
        ("experiments/rl-mujoco-small.json", 96, Some("exp")),
        ("experiments/rl-mujoco-icml2024.json", 7200, Some("exp")),
    ] {
        let out = dir.path().join(preset.replace('/', "_"));
        bin()
            .args(["rl", "--preset"])
            .arg(repo_file(preset))
            .args(SHRUNK)
            .args(["--envs", "pendulum", "--steps", "200"])
            .arg("--out-dir")
            .arg(&out)
            .assert()
            .success();
        let value: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(repo_file(preset)).unwrap()).unwrap();
        let count = |key: &str| value[key].as_array().map_or(1, |a| a.len());
        let grid = count("envs")
            * count("agents")
            * count("optimizers")
            * count("scaling")
            * count("lrs")
            * value["seeds"].as_u64().unwrap() as usize;
        assert_eq!(grid, runs, "{preset}");
        let meta: serde_json::Value =
            serde_json::from_str(&text(&out.join("rl.meta.json"))).unwrap();
        assert_eq!(
            meta["config"].get("variance_head").and_then(|h| h.as_str()),
            head,
            "{preset}"
        );
    }
}

/// The options that shrink a preset to one short run of each of its tasks.
const SHRUNK: &[&str] = &[
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
];

/// The MuJoCo presets run their own tasks (a first episode of each, 1000 steps).
#[cfg(feature = "mujoco")]
#[test]
fn the_mujoco_presets_run_their_tasks() {
    let dir = TempDir::new().unwrap();
    for (preset, tasks) in [
        (
            "experiments/rl-mujoco-small.json",
            "half_cheetah,hopper,walker2d,inverted_pendulum",
        ),
        (
            "experiments/rl-mujoco-icml2024.json",
            "ant,walker2d,half_cheetah,hopper,inverted_double_pendulum",
        ),
    ] {
        let out = dir.path().join(preset.replace('/', "_"));
        bin()
            .args(["rl", "--preset"])
            .arg(repo_file(preset))
            .args(SHRUNK)
            .args(["--steps", "1000"])
            .arg("--out-dir")
            .arg(&out)
            .assert()
            .success();
        let runs = text(&out.join("rl_runs.csv"));
        let envs: Vec<&str> = runs
            .lines()
            .skip(1)
            .map(|line| line.split(',').next().unwrap())
            .collect();
        assert_eq!(envs.join(","), tasks, "{preset}");
    }
}
