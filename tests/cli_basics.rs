//! The command line of `sample`, `diag`, `list` and `check`, every `--help`, the shell
//! completions and the man page: outputs, round trips, and a one-line error with the right
//! exit code for every kind of bad input.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn cli() -> Command {
    Command::cargo_bin("hesscale-cli").unwrap()
}

fn sample_problem(dir: &Path, extra: &[&str]) -> std::path::PathBuf {
    let path = dir.join("problem.json");
    cli()
        .args([
            "sample",
            "--hidden",
            "4,3",
            "--outputs",
            "3",
            "--batch-size",
            "2",
        ])
        .args(extra)
        .arg("--output")
        .arg(&path)
        .assert()
        .success();
    path
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn sample_is_deterministic_in_its_seed() {
    let first = cli()
        .args(["sample", "--seed", "5"])
        .output()
        .unwrap()
        .stdout;
    let again = cli()
        .args(["sample", "--seed", "5"])
        .output()
        .unwrap()
        .stdout;
    let other = cli()
        .args(["sample", "--seed", "6"])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(first, again);
    assert_ne!(first, other);
}

#[test]
fn sample_writes_the_requested_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_problem(dir.path(), &["--loss", "mse", "--reduction", "sum"]);
    let problem = read_json(&path);
    let layers = problem["layers"].as_array().unwrap();
    let shapes: Vec<(usize, usize)> = layers
        .iter()
        .map(|l| {
            let weight = l["weight"].as_array().unwrap();
            (weight.len(), weight[0].as_array().unwrap().len())
        })
        .collect();
    assert_eq!(shapes, vec![(4, 6), (3, 4), (3, 3)]);
    assert_eq!(problem["activations"], serde_json::json!(["tanh", "tanh"]));
    assert_eq!(problem["loss"], "mse");
    assert_eq!(problem["reduction"], "sum");
    assert_eq!(problem["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(problem["targets"][0].as_array().unwrap().len(), 3);
}

#[test]
fn diag_writes_every_method_with_parameter_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let problem = sample_problem(dir.path(), &[]);
    let out = dir.path().join("diag.json");
    cli()
        .args(["diag", "--methods", "all", "--problem"])
        .arg(&problem)
        .arg("--output")
        .arg(&out)
        .assert()
        .success();
    let diag = read_json(&out);
    let methods = diag["methods"].as_object().unwrap();
    let names: Vec<&str> = methods.keys().map(String::as_str).collect();
    // The names are written out here on purpose, independently of the library's list.
    assert_eq!(
        names,
        [
            "exact",
            "hesscale",
            "hesscale_gn",
            "bl89",
            "ggn",
            "ggn_mc:1",
            "ggn_mc:50",
            "kfac:1",
            "kfac:50",
            "hutchinson:1",
            "hutchinson:50",
            "hutchinson_signed:1",
            "hutchinson_signed:50",
            "grad_squared",
            "zero"
        ]
    );
    for (name, method) in methods {
        let layers = method["layers"].as_array().unwrap();
        let rows: Vec<usize> = layers
            .iter()
            .map(|l| l["weight"].as_array().unwrap().len())
            .collect();
        assert_eq!(rows, vec![4, 3, 3], "{name}");
        assert_eq!(layers[0]["bias"].as_array().unwrap().len(), 4, "{name}");
    }
}

#[test]
fn diagonals_are_bit_identical_after_a_round_trip_through_json() {
    let dir = tempfile::tempdir().unwrap();
    let problem = sample_problem(dir.path(), &["--activation", "softplus"]);
    // Write the problem back out through `diag`'s reader by re-reading it: the stored floats
    // must parse to the same bits, so a second `diag` run gives the same bytes.
    let run = || {
        cli()
            .args([
                "diag",
                "--methods",
                "exact,hesscale,ggn_mc:3",
                "--seed",
                "2",
                "--problem",
            ])
            .arg(&problem)
            .output()
            .unwrap()
            .stdout
    };
    let first = run();
    assert_eq!(first, run());
    let diag: Value = serde_json::from_slice(&first).unwrap();
    let value = diag["methods"]["exact"]["layers"][0]["weight"][0][0]
        .as_f64()
        .unwrap();
    let text = serde_json::to_string(&value).unwrap();
    assert_eq!(text.parse::<f64>().unwrap().to_bits(), value.to_bits());
}

#[test]
fn adding_a_method_does_not_change_another_methods_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let problem = sample_problem(dir.path(), &[]);
    let run = |methods: &str| -> Value {
        let out = cli()
            .args(["diag", "--methods", methods, "--problem"])
            .arg(&problem)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let alone = run("ggn_mc:5");
    let together = run("hutchinson:3,ggn_mc:5,kfac:2");
    assert_eq!(
        alone["methods"]["ggn_mc:5"],
        together["methods"]["ggn_mc:5"]
    );
}

#[test]
fn list_names_every_method_family() {
    let assert = cli().arg("list").assert().success();
    let text = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    for family in [
        "exact",
        "hesscale",
        "hesscale_gn",
        "bl89",
        "ggn",
        "ggn_mc:M",
        "kfac:M",
        "hutchinson:M",
        "hutchinson_signed:M",
        "cp:M",
        "gnb:M",
        "xdiag:M",
        "grad_squared",
        "zero",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(family)),
            "{family} missing"
        );
    }
    let json = cli().args(["list", "--json"]).output().unwrap().stdout;
    let table: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(table.as_array().unwrap().len(), 14);
}

/// Runs `args` (with `{dir}` replaced by a temporary folder holding a valid problem) and
/// expects a one-line `Error:` naming `needle`, exit code `code`, and no output file.
fn assert_fails(args: &[&str], code: i32, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    sample_problem(dir.path(), &[]);
    let dir_text = dir.path().to_str().unwrap();
    let args: Vec<String> = args.iter().map(|a| a.replace("{dir}", dir_text)).collect();
    let assert = cli().args(&args).assert().code(code);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.starts_with("Error: "), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    assert!(
        stderr.contains(needle),
        "{args:?}: '{stderr}' lacks '{needle}'"
    );
    assert!(
        !dir.path().join("out.json").exists(),
        "{args:?} left a file"
    );
}

#[test]
fn bad_inputs_give_one_line_errors_and_exit_code_2() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "zero hidden width",
            &["sample", "--hidden", "16,0", "-o", "{dir}/out.json"],
            "--hidden",
        ),
        (
            "huge width",
            &["sample", "--hidden", "100000000", "-o", "{dir}/out.json"],
            "--hidden",
        ),
        (
            "too many parameters",
            &["sample", "--hidden", "60000,60000", "-o", "{dir}/out.json"],
            "parameters",
        ),
        (
            "zero batch",
            &["sample", "--batch-size", "0", "-o", "{dir}/out.json"],
            "--batch-size",
        ),
        (
            "batch too large for memory",
            &[
                "sample",
                "--inputs",
                "65536",
                "--hidden",
                "",
                "--outputs",
                "1",
                "--batch-size",
                "100000",
                "-o",
                "{dir}/out.json",
            ],
            "GiB of memory",
        ),
        (
            "draws over the limit",
            &[
                "diag",
                "--problem",
                "{dir}/problem.json",
                "--methods",
                "ggn_mc:1000000000000",
                "-o",
                "{dir}/out.json",
            ],
            "between 1 and 100000",
        ),
        (
            "unknown activation",
            &["sample", "--activation", "swish", "-o", "{dir}/out.json"],
            "swish",
        ),
        (
            "unknown loss",
            &["sample", "--loss", "hinge", "-o", "{dir}/out.json"],
            "hinge",
        ),
        (
            "unknown reduction",
            &["sample", "--reduction", "max", "-o", "{dir}/out.json"],
            "max",
        ),
        (
            "unwritable output",
            &["sample", "-o", "{dir}/missing/out.json"],
            "missing/out.json",
        ),
        (
            "unknown method",
            &[
                "diag",
                "--problem",
                "{dir}/problem.json",
                "--methods",
                "exact,newton",
                "-o",
                "{dir}/out.json",
            ],
            "newton",
        ),
        (
            "zero draws",
            &[
                "diag",
                "--problem",
                "{dir}/problem.json",
                "--methods",
                "ggn_mc:0",
                "-o",
                "{dir}/out.json",
            ],
            "ggn_mc:0",
        ),
        (
            "draws on a deterministic method",
            &[
                "diag",
                "--problem",
                "{dir}/problem.json",
                "--methods",
                "hesscale:3",
                "-o",
                "{dir}/out.json",
            ],
            "hesscale",
        ),
        (
            "missing problem",
            &[
                "diag",
                "--problem",
                "{dir}/none.json",
                "-o",
                "{dir}/out.json",
            ],
            "none.json",
        ),
        (
            "negative tolerance",
            &[
                "check",
                "--baseline",
                "{dir}/problem.json",
                "{dir}/problem.json",
                "--rtol",
                "-1",
            ],
            "--rtol",
        ),
    ];
    for (name, args, needle) in cases {
        eprintln!("case: {name}");
        assert_fails(args, 2, needle);
    }
}

#[test]
fn bad_problem_files_name_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let valid = fs::read_to_string(sample_problem(dir.path(), &[])).unwrap();
    let cases = [
        (
            "malformed",
            "{\"layers\": [".to_string(),
            "invalid problem JSON",
        ),
        (
            "NaN literal",
            valid.replacen("\"inputs\":[[", "\"inputs\":[[NaN,", 1),
            "invalid problem JSON",
        ),
        (
            "class out of range",
            {
                let mut problem: Value = serde_json::from_str(&valid).unwrap();
                problem["targets"] = serde_json::json!([7, 0]);
                problem.to_string()
            },
            "class index 7",
        ),
        (
            "empty layers",
            r#"{"layers":[],"activations":[],"loss":"mse","inputs":[[1.0]],"targets":[[1.0]]}"#
                .to_string(),
            "layers",
        ),
    ];
    for (name, text, needle) in cases {
        let path = dir.path().join(format!("{}.json", name.replace(' ', "_")));
        fs::write(&path, text).unwrap();
        let assert = cli()
            .arg("diag")
            .arg("--problem")
            .arg(&path)
            .assert()
            .code(2);
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: {stderr}");
        assert!(
            stderr.contains(path.file_name().unwrap().to_str().unwrap()),
            "{name}: {stderr}"
        );
        assert!(
            stderr.contains(needle),
            "{name}: '{stderr}' lacks '{needle}'"
        );
    }
}

#[test]
fn an_exact_diagonal_too_large_for_memory_is_refused_before_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.json");
    cli()
        .args([
            "sample",
            "--inputs",
            "1",
            "--hidden",
            "65536",
            "--outputs",
            "1",
            "-o",
        ])
        .arg(&path)
        .assert()
        .success();
    let run = |methods: &str| {
        let mut command = cli();
        command
            .args(["diag", "--methods", methods, "--problem"])
            .arg(&path);
        command
    };
    run("exact").assert().code(2).stderr(
        predicate::str::contains("GiB of memory").and(predicate::str::contains("wide.json")),
    );
    run("hesscale").assert().success();
}

#[test]
fn overflowing_numbers_are_a_runtime_error_not_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    fs::write(
        &path,
        r#"{"layers":[{"weight":[[1e300]],"bias":[0.0]}],"activations":[],"loss":"mse","inputs":[[1e300]],"targets":[[0.0]]}"#,
    )
    .unwrap();
    cli()
        .args(["diag", "--methods", "grad_squared", "--problem"])
        .arg(&path)
        .arg("-o")
        .arg(dir.path().join("out.json"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("non-finite"));
    assert!(!dir.path().join("out.json").exists());
}

const SUMMARY_HEADER: &str = "activation,loss,reduction,data,depth,width,inputs,outputs,n_params,batch_size,step,method,layer,seeds,samples,mean_l1,se_l1,normalized_l1,ratio_mean,ratio_se,relative_l1";

fn write_summary(path: &Path, mean_l1: &str) {
    fs::write(
        path,
        format!(
            "{SUMMARY_HEADER}\ntanh,cross_entropy,mean,random,3,16,6,10,730,1,0,hesscale,all,5,50,{mean_l1},0.01,1,1,0,0.2\n\
             tanh,cross_entropy,mean,random,3,16,6,10,730,1,0,zero,all,5,50,2.5,0.1,,3.1,0.2,1\n"
        ),
    )
    .unwrap();
}

#[test]
fn check_exit_codes_follow_what_moved() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.csv");
    let same = dir.path().join("same.csv");
    let nudged = dir.path().join("nudged.csv");
    let no_column = dir.path().join("no_column.csv");
    write_summary(&baseline, "0.125");
    write_summary(&same, "0.125");
    write_summary(&nudged, &(0.125 * (1.0 + 1e-6)).to_string());
    fs::write(
        &no_column,
        fs::read_to_string(&baseline)
            .unwrap()
            .replace(",relative_l1", ""),
    )
    .unwrap();
    let check = |current: &Path| {
        let mut command = cli();
        command
            .arg("check")
            .arg("--baseline")
            .arg(&baseline)
            .arg(current);
        command
    };
    check(&same)
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("OK"));
    check(&nudged)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("mean_l1").and(predicate::str::contains("hesscale")));
    check(&no_column)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Error:"));
    check(&dir.path().join("missing.csv"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.csv"));
    let mut loose = check(&nudged);
    loose.args(["--rtol", "1e-5"]).assert().code(0);
}

/// The subcommands a user can ask `--help` of.
const SUBCOMMANDS: &[&str] = &[
    "sample",
    "diag",
    "list",
    "check",
    "quality",
    "optimize",
    "rl",
    "merge",
    "cost",
    "completions",
    "man",
];

#[test]
fn every_subcommand_help_has_an_example_and_cites_no_file_outside_the_repository() {
    for subcommand in SUBCOMMANDS {
        let output = cli().args([subcommand, "--help"]).output().unwrap();
        assert!(output.status.success(), "{subcommand} --help failed");
        let help = String::from_utf8(output.stdout).unwrap();
        assert!(
            help.contains("Example"),
            "{subcommand} --help shows no example:\n{help}"
        );
        assert!(
            !help.contains("SPEC"),
            "{subcommand} --help cites SPEC, a file users do not have:\n{help}"
        );
    }
}

#[test]
fn completions_cover_every_subcommand_in_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = cli().args(["completions", shell]).output().unwrap();
        assert!(output.status.success(), "completions {shell} failed");
        let script = String::from_utf8(output.stdout).unwrap();
        for subcommand in SUBCOMMANDS {
            assert!(
                script.contains(subcommand),
                "the {shell} completions do not know {subcommand}"
            );
        }
        assert!(script.contains("widths"), "{shell}: no quality flags");
    }
    assert_fails(&["completions", "tcsh"], 2, "invalid value 'tcsh'");
}

/// What bash offers for `words` (the last one being completed), with the script sourced.
fn bash_completes(script: &Path, words: &[&str]) -> Vec<String> {
    let words_list = words.join(" ");
    let last = words.last().unwrap();
    let previous = words[words.len() - 2];
    let program = format!(
        "source {}; COMP_WORDS=({words_list}); COMP_CWORD={}; \
         _hesscale__cli hesscale-cli '{last}' '{previous}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        words.len() - 1
    );
    let output = std::process::Command::new("bash")
        .args(["-c", &program])
        .output()
        .expect("bash runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_the_options_of_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("hesscale-cli.bash");
    let output = cli().args(["completions", "bash"]).output().unwrap();
    fs::write(&script, output.stdout).unwrap();

    assert_eq!(
        bash_completes(&script, &["hesscale-cli", "qual"]),
        ["quality"]
    );
    assert_eq!(
        bash_completes(&script, &["hesscale-cli", "quality", "--wid"]),
        ["--widths"]
    );
    assert_eq!(
        bash_completes(&script, &["hesscale-cli", "optimize", "--optim"]),
        ["--optimizers"]
    );
    assert_eq!(
        bash_completes(&script, &["hesscale-cli", "merge", "--out-d"]),
        ["--out-dir"]
    );
}

#[test]
fn the_man_page_is_roff_naming_every_subcommand() {
    let output = cli().arg("man").output().unwrap();
    assert!(output.status.success());
    let page = String::from_utf8(output.stdout).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH hesscale-cli"),
        "{page}"
    );
    for subcommand in SUBCOMMANDS {
        assert!(
            page.contains(subcommand),
            "the man page does not name {subcommand}"
        );
    }
}

#[test]
fn every_page_the_man_page_refers_to_exists() {
    let output = cli().arg("man").output().unwrap();
    let page = String::from_utf8(output.stdout).unwrap();
    for subcommand in SUBCOMMANDS {
        let reference = format!("hesscale\\-cli\\-{subcommand}(1)");
        assert!(page.contains(&reference), "no {reference} in:\n{page}");
        let output = cli().args(["man", subcommand]).output().unwrap();
        assert!(output.status.success(), "man {subcommand} failed");
        let sub_page = String::from_utf8(output.stdout).unwrap();
        assert!(
            sub_page.contains(&format!(".TH hesscale-cli-{subcommand} 1")),
            "the page of {subcommand} is not titled hesscale-cli-{subcommand}(1):\n{sub_page}"
        );
    }
    let quality = cli().args(["man", "quality"]).output().unwrap();
    let quality = String::from_utf8(quality.stdout).unwrap();
    assert!(quality.contains("widths"), "{quality}");
    assert_fails(
        &["man", "qualty"],
        2,
        "man: no subcommand 'qualty' (one of:",
    );
}
