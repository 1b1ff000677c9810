//! Every `hesscale-cli` command line of the README's `sh` blocks, run in order in a scratch
//! folder that holds the repository's `experiments/`, must succeed. The studies that take
//! minutes run with the README's exact words plus options that shrink them (a flag given
//! twice takes its last value), so the lines themselves are what is tested.

use std::fs;
use std::path::Path;

use assert_cmd::Command;

/// README command lines that contain one of these get the options appended.
const SHRINK: &[(&str, &[&str])] = &[
    (
        "--widths 16,32,64 --seeds 30",
        &["--samples", "3", "--seeds", "2"],
    ),
    (
        "--preset experiments/paper2022.json",
        &["--samples", "3", "--seeds", "2"],
    ),
    (
        "--preset experiments/cnn-quality.json",
        &["--samples", "2", "--seeds", "1", "--train-steps", "0,5"],
    ),
    (
        "--out-dir results/cnn-quick",
        &["--samples", "2", "--seeds", "1", "--train-steps", "0,5"],
    ),
    (
        "--preset experiments/icml2024.json",
        &["--samples", "2", "--seeds", "1", "--train-steps", "0,5"],
    ),
    (
        "--preset experiments/optimize-mnist",
        &[
            "--optimizers",
            "sgd,adahesscale",
            "--lrs",
            "1",
            "--seeds",
            "1",
            "--steps",
            "2",
            "--eval-every",
            "1",
            "--activations",
            "tanh",
        ],
    ),
    (
        "hesscale-cli rl ",
        &[
            "--envs",
            "pendulum",
            "--agents",
            "a2c",
            "--optimizers",
            "adam,adahesscale",
            "--lrs",
            "1e-3",
            "--seeds",
            "1",
            "--steps",
            "200",
        ],
    ),
    (
        "hesscale-cli cost",
        &["--reps", "1", "--warmup", "0", "--max-work", "1e8"],
    ),
];

/// The `hesscale-cli …` lines of the README's `sh` blocks, with `\` continuations joined
/// and trailing `# comments` removed.
fn readme_command_lines() -> Vec<String> {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md is readable");
    let mut commands = Vec::new();
    let mut in_sh_block = false;
    let mut pending = String::new();
    for line in readme.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_sh_block = trimmed == "```sh";
            continue;
        }
        if !in_sh_block {
            continue;
        }
        if pending.is_empty() && !trimmed.starts_with("hesscale-cli ") {
            continue;
        }
        let code = trimmed.split(" #").next().unwrap_or("").trim_end();
        match code.strip_suffix('\\') {
            Some(start) => pending.push_str(start),
            None => {
                pending.push_str(code);
                commands.push(std::mem::take(&mut pending));
            }
        }
    }
    commands
}

fn link_experiments(workspace: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    std::os::unix::fs::symlink(source, workspace.join("experiments")).unwrap();
}

#[test]
fn the_readme_shows_every_subcommand() {
    let lines = readme_command_lines();
    for subcommand in [
        "sample", "diag", "list", "quality", "optimize", "rl", "merge", "check", "cost",
    ] {
        let prefix = format!("hesscale-cli {subcommand}");
        assert!(
            lines.iter().any(|line| line.starts_with(&prefix)),
            "the README has no example of {subcommand}"
        );
    }
}

#[test]
fn the_readme_shows_the_method_table_that_list_prints() {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md is readable");
    let table = Command::cargo_bin("hesscale-cli")
        .unwrap()
        .arg("list")
        .output()
        .unwrap()
        .stdout;
    let table = String::from_utf8(table).unwrap();
    assert!(
        readme.contains(&format!("```text\n{table}```")),
        "the README's `list` block differs from the program's output:\n{table}"
    );
}

#[test]
fn every_readme_command_line_runs() {
    let workspace = tempfile::tempdir().unwrap();
    link_experiments(workspace.path());
    for line in readme_command_lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let extra: Vec<&str> = SHRINK
            .iter()
            .filter(|(pattern, _)| line.contains(pattern))
            .flat_map(|(_, options)| options.iter().copied())
            .collect();
        let output = Command::cargo_bin("hesscale-cli")
            .unwrap()
            .args(&words[1..])
            .args(&extra)
            .current_dir(workspace.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "`{line}` (+ {extra:?}) failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // Each of the README's sharded runs, merged, equals its unsharded run of the same grid.
    let results = workspace.path().join("results");
    for (whole, merged, files) in [
        ("", "merged", ["quality_runs.csv", "quality_summary.csv"]),
        (
            "optimize-mnist",
            "optimize-merged",
            ["optimize_curves.csv", "optimize_summary.csv"],
        ),
        ("rl-small", "rl-merged", ["rl_curves.csv", "rl_summary.csv"]),
    ] {
        for file in files {
            assert_eq!(
                fs::read(results.join(whole).join(file)).unwrap(),
                fs::read(results.join(merged).join(file)).unwrap(),
                "{merged}/{file}: merged shards differ from the unsharded run"
            );
        }
    }
}
