//! CNNs on the command line: `--arch` (SPEC §11) through `sample` and `diag`, the problem
//! file's `arch` round trip, and bad architectures as one-line errors with exit 2.

mod support;

use support::{bin, one_line_error};

const ARCH: &str = "1x6x6,conv:2k3p1,tanh,maxpool:2,conv:3k2s1,relu,avgpool:2,flatten,linear:4";

#[test]
fn a_cnn_problem_round_trips_through_sample_and_diag() {
    let dir = tempfile::tempdir().unwrap();
    let problem = dir.path().join("cnn.json");
    bin()
        .args([
            "sample",
            "--arch",
            ARCH,
            "--batch-size",
            "3",
            "--seed",
            "5",
            "-o",
        ])
        .arg(&problem)
        .assert()
        .success();
    let text = std::fs::read_to_string(&problem).unwrap();
    let stored: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Written in its canonical form (a stride of 1 is the default, so not written).
    assert_eq!(stored["arch"], ARCH.replace("k2s1", "k2"));
    assert!(stored.get("activations").is_none());
    // conv 2×1×3×3 + 2, conv 3×2×2×2 + 3, linear 4×3 + 4: weights as [out][fan_in].
    let widths: Vec<(usize, usize)> = stored["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["weight"].as_array().unwrap().len(),
                l["weight"][0].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(widths, [(2, 9), (3, 8), (4, 3)]);
    assert_eq!(stored["inputs"][0].as_array().unwrap().len(), 36);
    // Read back, the problem is the same: diag's exact diagonal of the file equals that
    // of the file written again from what was read (meta aside) by diag's own reader.
    let diag = dir.path().join("diag.json");
    bin()
        .args([
            "diag",
            "--methods",
            "exact,hesscale,hesscale_gn,bl89,ggn,ggn_mc:2,kfac:2,hutchinson:2,grad_squared,zero",
            "--problem",
        ])
        .arg(&problem)
        .arg("-o")
        .arg(&diag)
        .assert()
        .success();
    let diagonals: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&diag).unwrap()).unwrap();
    let exact = &diagonals["methods"]["exact"]["layers"];
    for (layer, (rows, columns)) in exact.as_array().unwrap().iter().zip(widths) {
        assert_eq!(layer["weight"].as_array().unwrap().len(), rows);
        assert_eq!(layer["weight"][0].as_array().unwrap().len(), columns);
    }
    // The same seed gives the same bytes.
    let again = dir.path().join("again.json");
    bin()
        .args([
            "sample",
            "--arch",
            ARCH,
            "--batch-size",
            "3",
            "--seed",
            "5",
            "-o",
        ])
        .arg(&again)
        .assert()
        .success();
    assert_eq!(std::fs::read(&again).unwrap(), text.as_bytes());
}

#[test]
fn bad_architectures_are_one_line_errors_with_exit_2() {
    for (arch, message) in [
        (
            "1x8x8,conv:0k3,flatten,linear:2",
            "Error: --arch: layer 1 'conv:0k3': filters must be between 1 and 65536, not 0",
        ),
        (
            "1x4x4,conv:2k5,flatten,linear:2",
            "a 5x5 kernel is larger than its 1x4x4 input",
        ),
        (
            "1x8x8,conv:2k3,relu,linear:10",
            "needs a flat input, but gets a 2x6x6 image (put flatten before it)",
        ),
        (
            "1x8x8,maxpool:3,maxpool:3,flatten,linear:2",
            "layer 2 'maxpool:3': a 3x3 window is larger than its 1x2x2 input",
        ),
        ("conv:2k3,flatten,linear:3", "does not say what it takes"),
        ("1x8x8,conv:2k3,flatten,softmax", "unknown layer 'softmax'"),
        ("1x8x8,conv:2k3", "the output is a 2x6x6 image"),
    ] {
        one_line_error(bin().args(["sample", "--arch", arch]).assert(), 2, message);
    }
}

#[test]
fn a_problem_file_whose_layers_do_not_fit_its_arch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let problem = dir.path().join("bad.json");
    std::fs::write(
        &problem,
        r#"{"arch": "1x3x3,conv:2k2,flatten,linear:2", "layers": [{"weight": [[1, 2, 3, 4]], "bias": [0]}, {"weight": [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8]], "bias": [0, 0]}], "loss": "cross_entropy", "inputs": [[1, 2, 3, 4, 5, 6, 7, 8, 9]], "targets": [1]}"#,
    )
    .unwrap();
    one_line_error(
        bin().args(["diag", "--problem"]).arg(&problem).assert(),
        2,
        "layers[0].weight: shape [1, 4] but the arch needs [2, 4]",
    );
}

#[test]
fn quality_measures_a_random_cnn_and_resumes_only_with_the_same_arch() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q");
    let run = |arch: &str, seeds: &str| {
        let mut command = bin();
        command
            .args([
                "quality",
                "--arch",
                arch,
                "--seeds",
                seeds,
                "--samples",
                "2",
                "--threads",
                "1",
            ])
            .args([
                "--batch-size",
                "2",
                "--methods",
                "hesscale,ggn,kfac:2",
                "--quiet",
                "--resume",
                "--out-dir",
            ])
            .arg(&out);
        command.assert()
    };
    let arch = "1x6x6,conv:3k3,relu,maxpool:2,flatten,linear:4";
    run(arch, "2").success();
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("quality.meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["config"]["arch"], arch);
    // conv 3×1×3×3 + 3, linear 4×12 + 4; relu: ggn is exact, conv layer included.
    let runs = std::fs::read_to_string(out.join("quality_runs.csv")).unwrap();
    let header: Vec<&str> = runs.lines().next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = runs
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert!(!rows.is_empty());
    for row in &rows {
        assert_eq!(row[column("n_params")], "82");
        assert_eq!(row[column("depth")], "1");
        assert_eq!(row[column("width")], "0");
        if row[column("method")] == "ggn" {
            let error: f64 = row[column("l1")].parse().unwrap();
            assert!(error < 1e-12, "ggn on a relu CNN: {error}");
        }
    }
    // Growing the run keeps the arch; another arch is refused.
    run(arch, "3").success();
    one_line_error(
        run("1x6x6,conv:3k3,relu,flatten,linear:4", "3"),
        2,
        "records another configuration (arch:",
    );
}

#[test]
fn quality_refuses_an_arch_that_does_not_fit_the_grid() {
    for (args, message) in [
        (
            &["--arch", "1x8x8,conv:2k3,flatten,linear:3", "--widths", "4"][..],
            "--arch replaces --widths",
        ),
        (
            &[
                "--arch",
                "1x8x8,conv:2k3,flatten,linear:10",
                "--data",
                "mnist",
            ][..],
            "takes a 1x8x8 image, but the data are a 1x28x28 image",
        ),
        (
            &["--arch", "conv:2k3,flatten,linear:3", "--data", "mnist"][..],
            "the network has 3 outputs, but MNIST has 10 classes",
        ),
        (
            &["--arch", "1x8x8,conv:2k9,flatten,linear:3"][..],
            "a 9x9 kernel is larger than its 1x8x8 input",
        ),
    ] {
        one_line_error(
            bin()
                .arg("quality")
                .args(args)
                .args(["--out-dir", "/nonexistent/q"])
                .assert(),
            2,
            message,
        );
    }
}

#[test]
fn cost_times_an_arch_next_to_its_gradient() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cost");
    bin()
        .args([
            "cost",
            "--arch",
            "1x8x8,conv:2k3,relu,maxpool:2,flatten,linear:3",
        ])
        .args([
            "--methods",
            "hesscale,exact",
            "--reps",
            "2",
            "--warmup",
            "0",
            "--out-dir",
        ])
        .arg(&out)
        .assert()
        .success();
    let csv = std::fs::read_to_string(out.join("cost.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{csv}");
    for (row, method) in rows.iter().zip(["gradient", "hesscale", "exact"]) {
        // sweep arch, depth 1, width 0, 64 inputs, 3 outputs, batch 1, 2·9+2 + 3·18+3 parameters.
        assert!(
            row.starts_with(&format!("arch,1,0,64,3,1,77,{method},2,")),
            "{row}"
        );
    }
    one_line_error(
        bin()
            .args(["cost", "--arch", "1x8x8,conv:2k3", "--out-dir"])
            .arg(dir.path().join("bad"))
            .assert(),
        2,
        "the output is a 2x6x6 image",
    );
}
