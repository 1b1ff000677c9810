//! Plans that can be trusted: the CPU time a study's plan estimates (recorded in its
//! metadata as the session's `estimated_cpu_seconds`) is within a factor of 2 of the CPU
//! time the session took (`cpu_seconds`), for small runs that each exercise one term of
//! the work model (`hesscale::study::estimate`): rl acting and learning, optimize
//! evaluations and training with curvature, quality training and evaluations. CPU time,
//! not wall time, so that other jobs on the machine change little; one thread; about a
//! CPU-second each, so that start-up costs do not matter. And the plans of two runs over
//! an hour of CPU time ask before starting.

use std::path::Path;

use predicates::prelude::*;
use tempfile::TempDir;

mod support;

use support::bin;

/// Run `args` on one thread and return the session's estimated and measured CPU seconds.
fn estimate_and_cpu(args: &[&str]) -> (f64, f64) {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    bin()
        .args(args)
        .args(["--threads", "1", "--quiet", "--out-dir"])
        .arg(&out)
        .assert()
        .success();
    let meta = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".meta.json"))
        .unwrap();
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(meta).unwrap()).unwrap();
    let session = &meta["sessions"][0];
    (
        session["estimated_cpu_seconds"].as_f64().unwrap(),
        session["cpu_seconds"].as_f64().unwrap(),
    )
}

/// The estimate is within a factor of 2 of the CPU time measured.
fn assert_within_two(what: &str, args: &[&str]) {
    let (estimate, cpu) = estimate_and_cpu(args);
    let ratio = estimate / cpu;
    eprintln!("{what}: estimated {estimate:.2} CPU-s, took {cpu:.2}: ratio {ratio:.2}");
    assert!(
        (0.5..=2.0).contains(&ratio),
        "{what}: estimated {estimate:.2} CPU-s but took {cpu:.2} ({ratio:.2}×)"
    );
}

#[test]
fn rl_acting_is_estimated_within_two() {
    assert_within_two(
        "rl a2c mountain_car_continuous 50,000 steps",
        &[
            "rl",
            "--envs",
            "mountain_car_continuous",
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
            "50000",
        ],
    );
}

#[test]
fn rl_learning_with_curvature_is_estimated_within_two() {
    assert_within_two(
        "rl ppo cartpole adahessian 10,240 steps",
        &[
            "rl",
            "--envs",
            "cartpole",
            "--agents",
            "ppo",
            "--optimizers",
            "adahessian",
            "--scaling",
            "none",
            "--lrs",
            "1e-3",
            "--seeds",
            "1",
            "--steps",
            "10240",
        ],
    );
}

#[test]
fn optimize_evaluations_are_estimated_within_two() {
    assert_within_two(
        "optimize 784-4-10 evaluated every step, 400 steps",
        &[
            "optimize",
            "--optimizers",
            "adam",
            "--scaling",
            "none",
            "--lrs",
            "1e-3",
            "--seeds",
            "1",
            "--widths",
            "4",
            "--depths",
            "1",
            "--steps",
            "400",
            "--eval-every",
            "1",
        ],
    );
}

#[test]
fn optimize_training_with_curvature_is_estimated_within_two() {
    assert_within_two(
        "optimize 784-64x3-10 adahesscale with scaling, 1,000 steps",
        &[
            "optimize",
            "--optimizers",
            "adahesscale",
            "--scaling",
            "hesscale",
            "--lrs",
            "1e-3",
            "--seeds",
            "1",
            "--widths",
            "64",
            "--depths",
            "3",
            "--steps",
            "1000",
            "--eval-every",
            "500",
        ],
    );
}

#[test]
fn quality_training_and_evaluations_are_estimated_within_two() {
    assert_within_two(
        "quality mnist 784-64x3-10 trained 1,000 steps",
        &[
            "quality",
            "--data",
            "mnist",
            "--widths",
            "64",
            "--depths",
            "3",
            "--seeds",
            "1",
            "--samples",
            "20",
            "--methods",
            "hesscale",
            "--train-steps",
            "0,1000",
        ],
    );
}

/// The two runs of the report that started without a question although they take hours.
#[test]
fn runs_of_hours_ask_before_they_start() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    let long = |args: &[&str], out: &Path| {
        bin()
            .args(args)
            .arg("--out-dir")
            .arg(out)
            .write_stdin("")
            .timeout(std::time::Duration::from_secs(60))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("add --yes to start it"));
    };
    long(
        &[
            "rl",
            "--envs",
            "mountain_car_continuous",
            "--agents",
            "a2c",
            "--optimizers",
            "adam",
            "--scaling",
            "none",
            "--seeds",
            "3",
            "--steps",
            "100000000",
        ],
        &out,
    );
    long(
        &[
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
            "1500000",
            "--eval-every",
            "1",
            "--widths",
            "4",
            "--depths",
            "1",
        ],
        &out,
    );
    assert!(!out.exists());
}
