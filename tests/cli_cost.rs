//! `hesscale-cli cost` end to end: a tiny sweep writes cost.csv and cost.meta.json with
//! every method timed or reported skipped; bad flags fail with one line and exit code 2
//! before any work. No assertion looks at how long anything took.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

const HEADER: &str = "sweep,depth,width,inputs,outputs,batch_size,n_params,method,reps,median_seconds,ratio_to_gradient,median_seconds_with_gradient,ratio_with_gradient,skipped";

fn cost(out_dir: &Path) -> Command {
    let mut command = Command::cargo_bin("hesscale-cli").unwrap();
    command.arg("cost").arg("--out-dir").arg(out_dir);
    command
}

fn read_rows(path: &Path) -> (String, Vec<Vec<String>>) {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let rows = lines
        .map(|line| {
            csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(line.as_bytes())
                .records()
                .next()
                .unwrap()
                .unwrap()
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect();
    (header, rows)
}

/// `inputs → hidden… → outputs` parameter count.
fn n_params(widths: &[usize]) -> usize {
    widths.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
}

#[test]
fn a_tiny_width_sweep_times_every_method_or_reports_it_skipped() {
    let dir = tempfile::tempdir().unwrap();
    // Estimated multiply-adds per call with N = 2 (`config::cost::estimated_work`): at
    // w = 2, hutchinson:50 72640 and every other capped method under 4000; at w = 16, exact
    // 93696, ggn 29952, ggn_mc:50 and kfac:50 83712, hutchinson:50 1382400. A cap of 2e4
    // skips those; methods that cost about one backward pass are never capped.
    cost(dir.path())
        .args([
            "--sweep", "width", "--sizes", "2,16", "--reps", "3", "--warmup", "1",
        ])
        .args(["--batch-size", "2", "--max-work", "2e4"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "note: hutchinson:50 skipped on the width sweep at size 2",
        ))
        .stderr(predicate::str::contains(
            "note: exact skipped on the width sweep at size 16",
        ));
    let (header, rows) = read_rows(&dir.path().join("cost.csv"));
    assert_eq!(header, HEADER);
    // The names are written out here on purpose, independently of the library's list.
    let methods = [
        "gradient",
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
        "zero",
    ];
    assert_eq!(rows.len(), 2 * methods.len());
    let mut skipped = HashSet::new();
    for (index, row) in rows.iter().enumerate() {
        let w = if index < methods.len() { 2 } else { 16 };
        assert_eq!(row.len(), 14, "{row:?}");
        assert_eq!(row[7], methods[index % methods.len()]);
        let expected_key = ["width", "3", &w.to_string(), "6", "10", "2"];
        assert_eq!(&row[..6], expected_key, "{row:?}");
        assert_eq!(row[6], n_params(&[6, w, w, w, 10]).to_string());
        if row[13].is_empty() {
            assert_eq!(row[8], "3");
            let [seconds, ratio, seconds_with_gradient, ratio_with_gradient] =
                [9, 10, 11, 12].map(|i| row[i].parse::<f64>().unwrap());
            assert!(seconds > 0.0 && ratio > 0.0, "{row:?}");
            assert!(
                seconds_with_gradient > 0.0 && ratio_with_gradient > 0.0,
                "{row:?}"
            );
            if row[7] == "gradient" {
                assert_eq!((ratio, ratio_with_gradient), (1.0, 1.0));
                assert_eq!(seconds, seconds_with_gradient);
            }
        } else {
            assert_eq!(
                (row[8].as_str(), &row[9..13]),
                ("0", ["", "", "", ""].map(String::from).as_slice())
            );
            assert!(row[13].contains("size cap"), "{row:?}");
            skipped.insert((w, row[7].clone()));
        }
    }
    let expected: HashSet<(usize, String)> = [
        (2, "hutchinson:50"),
        (2, "hutchinson_signed:50"),
        (16, "hutchinson_signed:50"),
        (16, "exact"),
        (16, "ggn"),
        (16, "ggn_mc:50"),
        (16, "kfac:50"),
        (16, "hutchinson:50"),
    ]
    .into_iter()
    .map(|(w, m)| (w, m.to_string()))
    .collect();
    assert_eq!(skipped, expected);

    let meta: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("cost.meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["study"], "cost");
    assert_eq!(meta["config"]["reps"], 3);
    assert_eq!(meta["threads"], 1);
    assert_eq!(meta["config"]["sweeps"], serde_json::json!(["width"]));
    assert!(meta["machine"]["logical_cores"].as_u64().unwrap() >= 1);
    assert!(meta["tool"].as_str().unwrap().starts_with("hesscale-cli "));
    assert!(meta["started"].as_str().unwrap().ends_with('Z'));
    assert!(meta["elapsed_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(meta["config"]["networks"].as_array().unwrap().len(), 2);
}

#[test]
fn methods_can_be_chosen_and_the_results_are_not_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let mut command = cost(dir.path());
        command.args(["--sweep", "depth", "--sizes", "1", "--reps", "2"]);
        command.args(["--methods", "hesscale,gradient"]).args(extra);
        command.assert()
    };
    run(&[]).success();
    let (_, rows) = read_rows(&dir.path().join("cost.csv"));
    let names: Vec<&str> = rows.iter().map(|r| r[7].as_str()).collect();
    assert_eq!(names, ["gradient", "hesscale"]);
    assert_eq!(rows[0][6], n_params(&[64, 512, 100]).to_string());
    assert_eq!(rows[0][..6], ["depth", "1", "512", "64", "100", "1"]);

    let before = fs::read(dir.path().join("cost.csv")).unwrap();
    run(&[]).code(2).stderr(predicate::str::contains("--force"));
    assert_eq!(fs::read(dir.path().join("cost.csv")).unwrap(), before);
    run(&["--force"]).success();
    // A finished run resumed times nothing again and keeps its rows byte for byte.
    let timed = fs::read(dir.path().join("cost.csv")).unwrap();
    run(&["--resume"])
        .success()
        .stderr(predicate::str::contains("(0 timed now)"));
    assert_eq!(fs::read(dir.path().join("cost.csv")).unwrap(), timed);
}

#[test]
fn bad_flags_fail_with_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a_file");
    fs::write(&file, b"").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--sweep", "breadth"], "unknown sweep 'breadth'"),
        (&["--sweep", ""], "--sweep"),
        (&["--methods", "hesscale,newton"], "unknown method 'newton'"),
        (&["--methods", "ggn_mc:0"], "between 1 and"),
        (
            &["--sweep", "depth", "--sizes", "4,4"],
            "4 is given more than once",
        ),
        (
            &[
                "--sweep",
                "outputs",
                "--sizes",
                "65536",
                "--batch-size",
                "100000",
            ],
            "GiB of memory",
        ),
        (&["--reps", "0"], "--reps: a value of 0 is not allowed"),
        (
            &["--batch-size", "0"],
            "--batch-size: a value of 0 is not allowed",
        ),
        (&["--threads", "0"], "--threads"),
        (&["--sweep", "depth", "--sizes", "1,x"], "--sizes: 'x'"),
        (&["--sweep", "width", "--sizes", "0"], "--sizes"),
        (&["--sweep", "depth", "--sizes", ""], "--sizes"),
        (&["--sizes", "1,2"], "single sweep"),
        (&["--sweep", "depth", "--sizes", "100000"], "parameters"),
        (&["--max-work", "0"], "--max-work"),
        (&["--max-work", "lots"], "--max-work"),
    ];
    for (args, expected) in cases {
        let out = dir.path().join("out");
        let assert = cost(&out).args(*args).assert().code(2);
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        assert!(stderr.starts_with("Error: "), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: '{stderr}' lacks '{expected}'"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(!out.join("cost.csv").exists(), "{args:?}: no work was done");
    }
    // An out-dir that cannot be a folder (a file is in the way).
    cost(&file.join("sub"))
        .args(["--sweep", "depth", "--sizes", "1", "--reps", "1"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("Error: --out-dir"));
}
