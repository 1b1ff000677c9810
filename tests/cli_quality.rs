//! `hesscale-cli quality` and `merge` end to end: the README's command lines, byte-identity
//! across thread counts, resume after an interruption, shards + merge, and every input
//! error (exit code 2, one `Error:` line, no files written). Grids are tiny so the suite
//! stays fast.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use predicates::prelude::*;
use support::{
    assert_resumed_after_kill_equals_uninterrupted, assert_same_files, bin, expect_input_error,
    read, repo_file, run_ok,
};
use tempfile::TempDir;

/// The number of methods `--methods all` (the default) names.
fn all_methods() -> usize {
    hesscale::methods::Method::all().len()
}

/// The README's commands (checked to appear there verbatim).
const README_FULL: &str = "hesscale-cli quality --widths 16,32,64 --seeds 30";
const README_QUICK: &str =
    "hesscale-cli quality --widths 4,8 --seeds 3 --samples 20 --out-dir results/quick";
const README_PAPER: &str = "hesscale-cli quality --preset experiments/paper2022.json";
const README_SHARDS: [&str; 3] = [
    "hesscale-cli quality --widths 16,32,64 --seeds 30 --shard 1/3 --out-dir results/shard-1",
    "hesscale-cli quality --widths 16,32,64 --seeds 30 --shard 2/3 --out-dir results/shard-2",
    "hesscale-cli quality --widths 16,32,64 --seeds 30 --shard 3/3 --out-dir results/shard-3",
];
const README_MERGE: &str =
    "hesscale-cli merge results/shard-1 results/shard-2 results/shard-3 --out-dir results/merged";

/// The files that must be byte-identical between equivalent runs.
const DETERMINISTIC: [&str; 2] = ["quality_runs.csv", "quality_summary.csv"];

/// A small grid with two of every axis the CI baseline varies.
const GRID: &[&str] = &[
    "quality",
    "--activations",
    "tanh,relu",
    "--losses",
    "cross_entropy,mse",
    "--reduction",
    "mean,sum",
    "--depth",
    "2,3",
    "--widths",
    "4",
    "--inputs",
    "3",
    "--outputs",
    "4",
    "--seeds",
    "2",
    "--samples",
    "5",
    "--methods",
    "hesscale,ggn,ggn_mc:2,hutchinson:2,zero",
];

/// Run a README command line (without its `hesscale-cli`) plus `extra` in `dir`.
fn run_line(dir: &Path, line: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.remove(0), "hesscale-cli");
    bin().current_dir(dir).args(words).args(extra).assert()
}

fn lines(path: &Path) -> usize {
    String::from_utf8(read(path)).unwrap().lines().count()
}

#[test]
fn readme_shows_the_tested_commands() {
    let readme = fs::read_to_string(repo_file("README.md")).unwrap();
    for line in [README_FULL, README_QUICK, README_PAPER, README_MERGE]
        .iter()
        .chain(&README_SHARDS)
    {
        assert!(readme.contains(line), "README lacks `{line}`");
    }
}

/// The README's `quality` section.
fn readme_quality_section() -> String {
    let readme = fs::read_to_string(repo_file("README.md")).unwrap();
    let start = readme.find("### `quality`").expect("a quality section");
    let end = start
        + readme[start..]
            .find("### `check`")
            .expect("a check section");
    readme[start..end].to_string()
}

#[test]
fn readme_calls_only_the_flag_defaults_the_default() {
    let section = readme_quality_section();
    assert!(
        !section.contains("default study"),
        "`{README_FULL}` is not the flags' default (width 16 x 40 seeds)"
    );
    assert!(section.contains("| `--widths` | `16` |"));
    assert!(section.contains("| `--seeds` | `40` |"));
}

#[test]
fn readme_quick_command_writes_every_file() {
    let dir = TempDir::new().unwrap();
    run_line(dir.path(), README_QUICK, &[]).success();
    let out = dir.path().join("results/quick");
    let runs = String::from_utf8(read(&out.join("quality_runs.csv"))).unwrap();
    assert!(runs.starts_with(
        "activation,loss,reduction,data,depth,width,inputs,outputs,n_params,batch_size,step,seed,\
         method,layer,param,l1,sum_abs_exact\n"
    ));
    // 2 widths x 3 seeds x every method x (4 layers + all) x 3 params.
    assert_eq!(runs.lines().count(), 1 + 2 * 3 * all_methods() * 5 * 3);
    let summary = String::from_utf8(read(&out.join("quality_summary.csv"))).unwrap();
    assert!(summary.starts_with(
        "activation,loss,reduction,data,depth,width,inputs,outputs,n_params,batch_size,step,\
         method,layer,seeds,samples,mean_l1,se_l1,normalized_l1,ratio_mean,ratio_se,relative_l1\n"
    ));
    assert_eq!(summary.lines().count(), 1 + 2 * all_methods() * 5);
    // 6 -> 8,8,8 -> 10: 56 + 72 + 72 + 90 parameters.
    assert!(summary.contains("tanh,cross_entropy,mean,random,3,8,6,10,290,1,0,hesscale,all,3,20,"));
    let timing = String::from_utf8(read(&out.join("quality_timing.csv"))).unwrap();
    assert!(timing.starts_with(
        "activation,loss,data,depth,width,batch_size,method,samples,seconds_per_sample,backward_equivalents\n"
    ));
    assert!(timing.contains("tanh,cross_entropy,random,3,4,1,exact,60,"));
    let meta: serde_json::Value =
        serde_json::from_slice(&read(&out.join("quality.meta.json"))).unwrap();
    assert_eq!(meta["config"]["widths"], serde_json::json!([4, 8]));
    assert_eq!(meta["shard"], serde_json::json!({"index": 1, "count": 1}));
    for key in ["tool", "git_revision", "threads", "started", "finished"] {
        assert!(!meta[key].is_null(), "meta lacks {key}");
    }
    let first = &meta["sessions"][0];
    for key in ["tool", "git_revision", "threads"] {
        assert_eq!(first[key], meta[key], "the first session records the build");
    }
    assert_eq!(first["at"], meta["started"]);
}

#[test]
fn readme_full_and_paper_commands_parse_and_run_small() {
    let dir = TempDir::new().unwrap();
    run_line(dir.path(), README_FULL, &["--samples", "2", "--seeds", "1"]).success();
    let summary = read(&dir.path().join("results/quality_summary.csv"));
    assert_eq!(
        String::from_utf8(summary).unwrap().lines().count(),
        1 + 3 * all_methods() * 5
    );

    fs::create_dir(dir.path().join("experiments")).unwrap();
    fs::copy(
        repo_file("experiments/paper2022.json"),
        dir.path().join("experiments/paper2022.json"),
    )
    .unwrap();
    run_line(
        dir.path(),
        README_PAPER,
        &["--samples", "2", "--seeds", "1"],
    )
    .success();
    let out = dir.path().join("results/paper2022");
    let meta: serde_json::Value =
        serde_json::from_slice(&read(&out.join("quality.meta.json"))).unwrap();
    let config = &meta["config"];
    assert_eq!(config["widths"], serde_json::json!([16]));
    assert_eq!(config["depths"], serde_json::json!([3]));
    assert_eq!(config["activations"], serde_json::json!(["tanh"]));
    assert_eq!(config["methods"].as_array().unwrap().len(), all_methods());
    assert_eq!(
        (config["inputs"].as_u64(), config["outputs"].as_u64()),
        (Some(6), Some(10))
    );
    assert_eq!(
        config["samples"], 2,
        "an explicit flag overrides the preset"
    );
}

#[test]
fn csvs_are_byte_identical_for_any_thread_count() {
    let dir = TempDir::new().unwrap();
    let one = dir.path().join("one");
    let two = dir.path().join("two");
    run_ok(&[GRID, &["--threads", "1"]].concat(), &one);
    run_ok(&[GRID, &["--threads", "2"]].concat(), &two);
    assert_same_files(&one, &two, &DETERMINISTIC);
    // 2 activations x 2 losses x 2 reductions x 2 depths x 1 width x 2 seeds = 32 cells.
    let rows_per_cell_d2 = 5 * 4 * 3;
    let rows_per_cell_d3 = 5 * 5 * 3;
    assert_eq!(
        lines(&one.join("quality_runs.csv")),
        1 + 16 * (rows_per_cell_d2 + rows_per_cell_d3)
    );
}

/// Turn a finished out-dir into one interrupted `cut` bytes into its runs file's rows.
fn interrupt_at(out: &Path, cut: usize) {
    let runs = out.join("quality_runs.csv");
    let bytes = read(&runs);
    fs::write(&runs, &bytes[..cut]).unwrap();
    fs::remove_file(out.join("quality_summary.csv")).unwrap();
    fs::remove_file(out.join("quality_timing.csv")).unwrap();
}

#[test]
fn resume_after_a_cut_mid_row_equals_an_uninterrupted_run() {
    let dir = TempDir::new().unwrap();
    let clean = dir.path().join("clean");
    let cut = dir.path().join("cut");
    run_ok(GRID, &clean);
    run_ok(GRID, &cut);
    let size = read(&cut.join("quality_runs.csv")).len();
    interrupt_at(&cut, size / 3 + 7);
    run_ok(&[GRID, &["--resume", "--threads", "2"]].concat(), &cut);
    assert_same_files(&clean, &cut, &DETERMINISTIC);
    let meta: serde_json::Value =
        serde_json::from_slice(&read(&cut.join("quality.meta.json"))).unwrap();
    let sessions = meta["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "the first run and the resume");
    assert_eq!(sessions[0]["cells_done"], 0);
    assert!(sessions[1]["cells_done"].as_u64().unwrap() > 0);
    // Resuming a finished run changes nothing.
    run_ok(&[GRID, &["--resume"]].concat(), &cut);
    assert_same_files(&clean, &cut, &DETERMINISTIC);
}

#[test]
fn resume_after_killing_the_process_equals_an_uninterrupted_run() {
    // More samples and methods than elsewhere so that the run lasts long enough to be
    // killed (a few hundred milliseconds).
    let slower = [
        "--widths",
        "4,8",
        "--samples",
        "20",
        "--methods",
        "all",
        "--threads",
        "1",
    ];
    assert_resumed_after_kill_equals_uninterrupted(
        &[GRID, &slower].concat(),
        "quality_runs.csv",
        "quality_summary.csv",
        &[],
        &DETERMINISTIC,
    );
}

#[test]
fn shards_merge_into_the_unsharded_files() {
    let dir = TempDir::new().unwrap();
    let small = ["--samples", "2", "--seeds", "1"];
    run_line(
        dir.path(),
        README_FULL,
        &[&small[..], &["--out-dir", "whole"]].concat(),
    )
    .success();
    for line in README_SHARDS {
        run_line(dir.path(), line, &small).success();
    }
    run_line(dir.path(), README_MERGE, &[]).success();
    assert_same_files(
        &dir.path().join("whole"),
        &dir.path().join("results/merged"),
        &DETERMINISTIC,
    );
    let merged = dir.path().join("results/merged");
    assert_eq!(
        lines(&merged.join("quality_timing.csv")),
        lines(&dir.path().join("whole/quality_timing.csv"))
    );
    // Merging again into a directory that holds results is refused.
    run_line(dir.path(), README_MERGE, &[])
        .code(2)
        .stderr(predicate::str::contains("already holds results"));
}

/// Shards 1..=3 of GRID in `root/s1..s3`; returns their paths.
fn three_shards(root: &Path, extra: &[&str]) -> Vec<PathBuf> {
    (1..=3)
        .map(|i| {
            let out = root.join(format!("s{i}"));
            let shard = format!("{i}/3");
            let args = [GRID, &["--shard", shard.as_str()]].concat();
            let args = if i == 3 {
                [args.as_slice(), extra].concat()
            } else {
                args
            };
            run_ok(&args, &out);
            out
        })
        .collect()
}

fn merge(dirs: &[&Path], out: &Path) -> assert_cmd::assert::Assert {
    bin()
        .arg("merge")
        .args(dirs)
        .arg("--out-dir")
        .arg(out)
        .assert()
}

#[test]
fn merge_refuses_overlapping_missing_mismatched_or_incomplete_shards() {
    let dir = TempDir::new().unwrap();
    let shards = three_shards(dir.path(), &[]);
    let out = dir.path().join("merged");
    let expect_error = |dirs: &[&Path], message: &str| {
        merge(dirs, &out)
            .code(2)
            .stderr(predicate::str::starts_with("Error: merge: "))
            .stderr(predicate::str::contains(message))
            .stderr(predicate::function(|s: &str| s.lines().count() == 1));
        assert!(!out.exists(), "nothing is written after an error");
    };
    expect_error(&[&shards[0], &shards[1]], "missing shard(s): 3/3");

    let copy = dir.path().join("copy");
    fs::create_dir(&copy).unwrap();
    for entry in fs::read_dir(&shards[0]).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    expect_error(
        &[&shards[0], &copy, &shards[1], &shards[2]],
        "are both shard 1/3",
    );

    let other = dir.path().join("other");
    run_ok(&[GRID, &["--shard", "3/3", "--seed", "1"]].concat(), &other);
    expect_error(
        &[&shards[0], &shards[1], &other],
        "different configurations (seed: 0 vs 1)",
    );

    let runs = shards[2].join("quality_runs.csv");
    let bytes = read(&runs);
    fs::write(&runs, &bytes[..bytes.len() / 2]).unwrap();
    expect_error(&[&shards[0], &shards[1], &shards[2]], "is incomplete");
}

#[test]
fn invalid_grids_fail_before_any_work() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--widths", "16,0"],
            "--widths: a width of 0 is not allowed",
        ),
        (&["--depth", "0"], "--depths: a depth of 0 is not allowed"),
        (
            &["--seeds", "0"],
            "--seeds: a seed count of 0 is not allowed",
        ),
        (
            &["--samples", "0"],
            "--samples: a sample count of 0 is not allowed",
        ),
        (
            &["--shard", "0/4"],
            "--shard: '0/4': the shard index I must be between 1 and N",
        ),
        (&["--shard", "5/4"], "--shard: '5/4'"),
        (&["--shard", "x/y"], "--shard: 'x/y' is not of the form I/N"),
        (
            &["--activations", "tanh,swish"],
            "invalid value 'swish' for '--activations <ACTIVATIONS>' (possible values: tanh,",
        ),
        (
            &["--losses", "hinge"],
            "invalid value 'hinge' for '--losses",
        ),
        (
            &["--reduction", "median"],
            "invalid value 'median' for '--reductions",
        ),
        (&["--widths", "16,x"], "invalid value 'x' for '--widths"),
        (
            &["--methods", "hesscale,magic"],
            "--methods: unknown method 'magic'",
        ),
        (&["--widths", "8,8"], "--widths: 8 is listed twice"),
        (
            &["--widths", "8192", "--batch-size", "64", "--threads", "2"],
            "GiB of memory",
        ),
    ];
    for (args, message) in cases {
        expect_input_error(&[&["quality"], *args].concat(), message);
    }
}

#[test]
fn bad_presets_fail_before_any_work() {
    let dir = TempDir::new().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let unknown = write("unknown.json", r#"{"widths": [8], "widht": 16}"#);
    let malformed = write("malformed.json", r#"{"widths": [8"#);
    let bad_value = write("bad.json", r#"{"depth": [3, 0]}"#);
    let fractional = write("fractional.json", r#"{"seeds": 10.5}"#);
    let resume = write("resume.json", r#"{"widths": [8], "resume": true}"#);
    let missing = dir.path().join("missing.json").display().to_string();
    let cases = [
        (
            fractional,
            "key 'seeds': invalid value '10.5': invalid digit found in string",
        ),
        (resume, "'resume' is not a preset key"),
        (unknown, "key 'widht': unknown field `widht`"),
        (malformed, "invalid JSON"),
        (bad_value, "key 'depths': a depth of 0"),
        (missing, "--preset: cannot read"),
    ];
    for (path, message) in cases {
        expect_input_error(&["quality", "--preset", &path], message);
    }
}

#[test]
fn an_unwritable_out_dir_fails_before_any_work() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("a-file");
    fs::write(&file, "x").unwrap();
    bin()
        .args(["quality", "--seeds", "1", "--samples", "1", "--out-dir"])
        .arg(file.join("out"))
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "Error: --out-dir: cannot create",
        ))
        .stderr(predicate::function(|s: &str| s.lines().count() == 1));
}

#[test]
fn existing_results_are_never_overwritten_and_resume_checks_the_configuration() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    run_ok(GRID, &out);
    let before = read(&out.join("quality_runs.csv"));
    bin()
        .args(GRID)
        .arg("--out-dir")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already holds results"))
        .stderr(predicate::str::contains("--resume"));
    bin()
        .args(GRID)
        .args(["--samples", "7", "--resume", "--out-dir"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "records another configuration (samples: 5 vs 7",
        ));
    bin()
        .args(GRID)
        .args(["--seeds", "1", "--resume", "--out-dir"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "records another configuration (seeds: 2 vs 1",
        ));
    bin()
        .args(GRID)
        .args(["--shard", "1/2", "--resume", "--out-dir"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "records shard 1/1 but --shard is 1/2",
        ));
    assert_eq!(read(&out.join("quality_runs.csv")), before);
}

#[test]
fn a_resumed_run_grows_by_seeds_and_widths_computing_only_the_new_cells() {
    let dir = TempDir::new().unwrap();
    let grown = dir.path().join("grown");
    run_ok(GRID, &grown);
    let more = [GRID, &["--seeds", "3", "--widths", "4,6"]].concat();
    bin()
        .args(&more)
        .args(["--resume", "--out-dir"])
        .arg(&grown)
        .assert()
        .success()
        .stderr(predicate::str::contains("96 cells (64 run now) of 96"));
    let fresh = dir.path().join("fresh");
    run_ok(&more, &fresh);
    assert_same_files(&fresh, &grown, &DETERMINISTIC);
}

#[test]
fn merge_combines_runs_of_different_grids_into_the_run_of_their_union() {
    let dir = TempDir::new().unwrap();
    let four = dir.path().join("four");
    let six = dir.path().join("six");
    run_ok(&[GRID, &["--widths", "4"]].concat(), &four);
    run_ok(&[GRID, &["--widths", "6"]].concat(), &six);
    let merged = dir.path().join("merged");
    merge(&[&four, &six], &merged).success();
    let fresh = dir.path().join("fresh");
    run_ok(&[GRID, &["--widths", "4,6"]].concat(), &fresh);
    assert_same_files(&fresh, &merged, &DETERMINISTIC);
    // A union with a hole (width 6 has a third seed, width 4 does not) is merged as a run
    // of the union grid with the missing cells still to do, and `--resume` fills them.
    let six_three_seeds = dir.path().join("six-three-seeds");
    run_ok(
        &[GRID, &["--widths", "6", "--seeds", "3"]].concat(),
        &six_three_seeds,
    );
    let holey = dir.path().join("holey");
    merge(&[&four, &six_three_seeds], &holey)
        .code(2)
        .stderr(predicate::str::contains(
            "16 of the 96 cells of the inputs' combined grid are in no input",
        ))
        .stderr(predicate::str::contains("--partial"));
    assert!(!holey.exists());
    bin()
        .arg("merge")
        .args([&four, &six_three_seeds])
        .arg("--out-dir")
        .arg(&holey)
        .arg("--partial")
        .assert()
        .success();
    let meta = read_json(&holey.join("quality.meta.json"));
    assert_eq!(meta["cells"]["grid"], 96, "{meta}");
    assert_eq!(meta["cells"]["shard"], 80, "{meta}");
    let union = [GRID, &["--widths", "4,6", "--seeds", "3"]].concat();
    bin()
        .args(&union)
        .arg("--resume")
        .arg("--out-dir")
        .arg(&holey)
        .assert()
        .success()
        .stderr(predicate::str::contains("96 cells (16 run now) of 96"));
    let fresh = dir.path().join("fresh-union");
    run_ok(&union, &fresh);
    assert_same_files(&fresh, &holey, &DETERMINISTIC);
}

#[test]
fn progress_is_printed_as_plain_lines_when_stderr_is_not_a_terminal() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    // Captured stderr is not a terminal: one plain line per tenth of the work at least,
    // and a last one at the end.
    let assert = bin()
        .args(GRID)
        .arg("--out-dir")
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    let progress: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains(" cells, ") && line.contains("% of the work"))
        .collect();
    assert!(progress.len() >= 5, "too few progress lines:\n{stderr}");
    assert!(
        progress
            .iter()
            .all(|line| line.starts_with("quality: ") && line.ends_with(" elapsed")),
        "{stderr}"
    );
    assert!(
        progress
            .last()
            .unwrap()
            .starts_with("quality: 32/32 cells, 100% of the work, done, "),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\r'),
        "a bar was drawn into a pipe:\n{stderr}"
    );
}

#[test]
fn the_results_table_is_printed_at_the_end_unless_quiet() {
    let dir = TempDir::new().unwrap();
    let args = [GRID, &["--depth", "2", "--activations", "tanh"]].concat();
    let assert = bin()
        .args(&args)
        .arg("--out-dir")
        .arg(dir.path().join("loud"))
        .assert()
        .success();
    let table = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(table.starts_with("normalized L1 error"), "{table}");
    for method in ["hesscale", "ggn", "ggn_mc:2", "hutchinson:2", "zero"] {
        assert!(
            table.lines().any(|line| line.starts_with(method)),
            "no row for {method}:\n{table}"
        );
    }
    let hesscale = table
        .lines()
        .find(|line| line.starts_with("hesscale "))
        .unwrap();
    assert!(
        hesscale.split_whitespace().skip(1).all(|v| v == "1.00"),
        "hesscale's normalized error is 1 by definition: {hesscale}"
    );
    bin()
        .args(&args)
        .arg("--quiet")
        .arg("--out-dir")
        .arg(dir.path().join("quiet"))
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
}

/// The data rows of a CSV file, split into fields.
fn rows(path: &Path) -> Vec<Vec<String>> {
    String::from_utf8(read(path))
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| line.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn timing_is_the_mean_wall_time_per_sample_not_per_batch() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    let args = [
        "quality",
        "--widths",
        "4",
        "--depth",
        "2",
        "--inputs",
        "3",
        "--outputs",
        "4",
        "--reduction",
        "mean,sum",
        "--seeds",
        "2",
        "--samples",
        "3",
        "--batch-size",
        "5",
        "--methods",
        "hesscale",
    ];
    run_ok(&args, &out);
    // Each cell times 3 batches of 5 samples.
    let cells = rows(&out.join("quality_timing_cells.csv"));
    assert_eq!(
        cells.len(),
        2 * 2 * 4,
        "2 reductions x 2 seeds x (gradient, linearization, exact, hesscale)"
    );
    // Columns: activation,loss,reduction,data,depth,width,batch_size,seed,method,samples,seconds.
    assert!(cells.iter().all(|row| row[9] == "15"), "{cells:?}");
    // The timing file pools seeds and reductions: 4 cells x 15 samples.
    // Columns: activation,loss,data,depth,width,batch_size,method,samples,seconds_per_sample.
    let timing = rows(&out.join("quality_timing.csv"));
    let subjects: Vec<&str> = timing.iter().map(|row| row[6].as_str()).collect();
    assert_eq!(subjects, ["gradient", "linearization", "exact", "hesscale"]);
    for row in &timing {
        let method = &row[6];
        assert_eq!(row[7], "60", "{row:?}");
        let total: f64 = cells
            .iter()
            .filter(|cell| &cell[8] == method)
            .map(|cell| cell[10].parse::<f64>().unwrap())
            .sum();
        let per_sample: f64 = row[8].parse().unwrap();
        assert!(
            (per_sample - total / 60.0).abs() <= 1e-12 * total,
            "{method}: {per_sample} vs {total} / 60"
        );
    }
}

#[test]
fn resume_refuses_when_one_appended_file_is_missing_and_keeps_the_other() {
    let dir = TempDir::new().unwrap();
    for (missing, kept) in [
        ("quality_timing_cells.csv", "quality_runs.csv"),
        ("quality_runs.csv", "quality_timing_cells.csv"),
    ] {
        let out = dir.path().join(missing);
        run_ok(GRID, &out);
        fs::remove_file(out.join(missing)).unwrap();
        let before = read(&out.join(kept));
        bin()
            .args(GRID)
            .args(["--resume", "--out-dir"])
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicate::str::starts_with("Error: --resume: "))
            .stderr(predicate::str::contains(format!("{missing}' is missing")))
            .stderr(predicate::str::contains("restore"))
            .stderr(predicate::str::contains("delete --out-dir"))
            .stderr(predicate::function(|s: &str| s.lines().count() == 1));
        assert_eq!(read(&out.join(kept)), before, "{kept} was changed");
        assert!(!out.join(missing).exists());
    }
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&read(path)).unwrap()
}

/// Write a metadata record, its digest recomputed (as the build it pretends to be would
/// have written it).
fn write_json(path: &Path, value: &serde_json::Value) {
    let mut value = value.clone();
    value["sha256"] = "".into();
    value["sha256"] = support::sha256(value.to_string().as_bytes()).into();
    fs::write(path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
}

/// Pretend the out-dir's sessions so far were all run by a build of `revision`.
fn record_revision(out: &Path, revision: &str) {
    let path = out.join("quality.meta.json");
    let mut meta = read_json(&path);
    meta["git_revision"] = revision.into();
    for session in meta["sessions"].as_array_mut().unwrap() {
        session["git_revision"] = revision.into();
    }
    write_json(&path, &meta);
}

#[test]
fn a_resume_by_another_build_is_recorded_and_warned_about() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    run_ok(GRID, &out);
    let this_build = read_json(&out.join("quality.meta.json"))["git_revision"].clone();
    interrupt_at(&out, read(&out.join("quality_runs.csv")).len() / 2);
    record_revision(&out, "0123456789ab");

    bin()
        .args(GRID)
        .args(["--resume", "--out-dir"])
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "warning: resuming a run last written by revision 0123456789ab with revision {}",
            this_build.as_str().unwrap()
        )));
    let meta = read_json(&out.join("quality.meta.json"));
    assert_eq!(
        meta["git_revision"], "0123456789ab",
        "the build that started the run stays recorded"
    );
    let sessions = meta["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0]["git_revision"], "0123456789ab");
    assert_eq!(sessions[1]["git_revision"], this_build);
    assert!(sessions[1]["tool"]
        .as_str()
        .unwrap()
        .starts_with("hesscale-cli "));

    // Resuming again with the same build as the last session: no warning.
    bin()
        .args(GRID)
        .args(["--resume", "--out-dir"])
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains("warning").not());
}

#[test]
fn merge_records_each_shards_revisions_and_warns_when_they_differ() {
    let dir = TempDir::new().unwrap();
    let shards = three_shards(dir.path(), &[]);
    let this_build = read_json(&shards[0].join("quality.meta.json"))["git_revision"].clone();
    record_revision(&shards[1], "0123456789ab");
    let out = dir.path().join("merged");
    merge(&[&shards[0], &shards[1], &shards[2]], &out)
        .success()
        .stderr(predicate::str::contains(
            "warning: merge: the inputs were written by different git revisions",
        ))
        .stderr(predicate::str::contains("0123456789ab"));
    let meta = read_json(&out.join("quality.meta.json"));
    let revisions: Vec<&serde_json::Value> = meta["merged_from"]
        .as_array()
        .unwrap()
        .iter()
        .map(|shard| &shard["git_revisions"])
        .collect();
    assert_eq!(
        revisions,
        [
            &serde_json::json!([this_build.clone()]),
            &serde_json::json!(["0123456789ab"]),
            &serde_json::json!([this_build]),
        ]
    );
    assert_eq!(
        meta["merged_from"][0]["sessions"].as_array().unwrap().len(),
        1
    );

    let again = dir.path().join("merged-again");
    record_revision(&shards[1], this_build.as_str().unwrap());
    merge(&[&shards[0], &shards[1], &shards[2]], &again)
        .success()
        .stderr(predicate::str::contains("warning").not());
}

/// The trimmed output of `git args…` in the repository, if git runs and succeeds.
fn git(args: &[&str]) -> Option<String> {
    let output = StdCommand::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8(output.stdout).unwrap().trim().to_string())
}

#[test]
fn the_recorded_revision_names_the_commit_and_marks_modified_sources_dirty() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    run_ok(
        &["quality", "--widths", "2", "--seeds", "1", "--samples", "1"],
        &out,
    );
    let meta = read_json(&out.join("quality.meta.json"));
    let revision = meta["git_revision"].as_str().unwrap();
    let Some(commit) = git(&["describe", "--always", "--abbrev=12"]) else {
        assert_eq!(revision, "unknown", "built without git");
        return;
    };
    assert_eq!(revision.trim_end_matches("-dirty"), commit);
    // The binary is rebuilt after any change to its sources, so modified sources now
    // mean it was built from a modified tree.
    let sources = ["src", "build.rs", "Cargo.toml", "Cargo.lock"];
    let modified = git(&[
        &["status", "--porcelain", "--untracked-files=no", "--"],
        &sources[..],
    ]
    .concat())
    .is_some_and(|status| !status.is_empty());
    if modified {
        assert!(revision.ends_with("-dirty"), "{revision}");
    }
}

#[test]
fn merge_writes_a_new_or_empty_out_dir_whole() {
    let dir = TempDir::new().unwrap();
    let shards = three_shards(dir.path(), &[]);
    let dirs = [&*shards[0], &*shards[1], &*shards[2]];
    let out = dir.path().join("merged");
    fs::create_dir(&out).unwrap();
    merge(&dirs, &out).success();
    let mut written: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "quality.ledger.csv",
            "quality.meta.json",
            "quality_runs.csv",
            "quality_summary.csv",
            "quality_timing.csv",
            "quality_timing_cells.csv",
            "quality_training.csv",
            "quality_training_summary.csv"
        ]
    );
    let mut siblings: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    siblings.sort();
    assert_eq!(
        siblings,
        ["merged", "s1", "s2", "s3"],
        "no staging directory is left"
    );

    // A directory holding anything else is refused before any work, and left as it was.
    let busy = dir.path().join("busy");
    fs::create_dir(&busy).unwrap();
    fs::write(busy.join("notes.txt"), "mine").unwrap();
    merge(&dirs, &busy)
        .code(2)
        .stderr(predicate::str::contains("is not empty"));
    assert_eq!(fs::read_dir(&busy).unwrap().count(), 1);
}

/// What `experiments/slurm/quality.sbatch` runs as array task `id` with the given
/// Slurm and user variables (the binary replaced by `echo`).
fn sbatch_command(id: &str, variables: &[(&str, &str)]) -> String {
    let mut command = StdCommand::new("bash");
    command
        .arg(repo_file("experiments/slurm/quality.sbatch"))
        .args(["--widths", "16"])
        .env("HESSCALE_BIN", "echo")
        .env("SLURM_ARRAY_TASK_ID", id);
    for name in ["SHARDS", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_COUNT"] {
        command.env_remove(name);
    }
    command.envs(variables.iter().copied());
    let output = command.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_slurm_script_takes_the_shard_count_from_the_array_or_shards() {
    // --array=1-8: task 3 of 8.
    let full = sbatch_command(
        "3",
        &[
            ("SLURM_ARRAY_TASK_MAX", "8"),
            ("SLURM_ARRAY_TASK_COUNT", "8"),
        ],
    );
    assert!(full.contains("--shard 3/8 "), "{full}");
    assert!(
        full.contains("--out-dir results/shards/shard-3 --resume"),
        "{full}"
    );
    // Task 3 resubmitted alone (--array=3) with SHARDS=8 is still shard 3/8.
    let again = sbatch_command(
        "3",
        &[
            ("SHARDS", "8"),
            ("SLURM_ARRAY_TASK_MAX", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "1"),
        ],
    );
    assert!(again.contains("--shard 3/8 "), "{again}");
}

#[test]
fn the_slurm_script_asks_for_more_memory_than_the_grid_check_allows() {
    let script = fs::read_to_string(repo_file("experiments/slurm/quality.sbatch")).unwrap();
    let mem = script
        .lines()
        .find_map(|line| line.strip_prefix("#SBATCH --mem="))
        .expect("a --mem line");
    let gib: f64 = mem.strip_suffix('G').expect("--mem in G").parse().unwrap();
    let allowed = hesscale::config::memory::MAX_MEMORY / (1024.0 * 1024.0 * 1024.0);
    assert!(
        gib > allowed,
        "--mem={mem} is not above the {allowed} GiB a grid may plan"
    );
}
