//! Every reader of a file a user or a killed run can leave behind, fed arbitrary bytes
//! and damaged copies of real files: each gives a value or an input error, never a panic.
//! Presets of every study (arbitrary bytes, preset-like objects, every key with every kind
//! of JSON value); metadata records of every study, damaged as bytes, and damaged as
//! values with their digests recomputed (so the damage reaches the checks behind the
//! digests), then merged. `make test` runs 256 cases per reader; `make fuzz`
//! runs many more (`PROPTEST_CASES=20000`).

use std::fs;
use std::path::Path;

use hesscale::cli::{OptimizeArgs, QualityArgs, RlArgs, RunArgs};
use hesscale::config::optimize::OptimizeSpec;
use hesscale::config::quality::{QualityGrid, QualitySpec};
use hesscale::config::rl::RlSpec;
use hesscale::io::problem::problem_from_json;
use hesscale::io::table;
use hesscale::methods::Method;
use hesscale::nn::{Activation, Loss, Reduction};
use hesscale::study::cost::CostRow;
use hesscale::study::engine::read_finished;
use hesscale::study::engine::Study;
use hesscale::study::meta::Meta;
use hesscale::study::quality::rows::{RunRow, TimingCellRow};
use hesscale::study::quality::QualityStudy;
use proptest::prelude::*;

/// A study and the bytes of each file it wrote, by name.
type FinishedRun = (QualityStudy, Vec<(String, Vec<u8>)>);

/// A finished tiny quality run's files, written once per test process.
fn finished_run() -> &'static FinishedRun {
    static RUN: std::sync::OnceLock<FinishedRun> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let grid = QualityGrid {
            activations: vec![Activation::Tanh],
            losses: vec![Loss::Mse],
            reductions: vec![Reduction::Mean],
            depths: vec![1],
            widths: vec![2],
            inputs: 2,
            outputs: 2,
            batch_size: 1,
            batches: 2,
            seeds: 2,
            seed: 0,
            methods: vec![Method::exact(), "hesscale".parse().unwrap()],
            ..QualityGrid::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let study = QualityStudy::new(grid).unwrap();
        let options = hesscale::config::run::RunOptions {
            threads: 1,
            out_dir: dir.path().join("r"),
            resume: false,
            replace: false,
            shard: hesscale::config::shard::Shard::WHOLE,
            preset: None,
            quiet: true,
            yes: true,
        };
        hesscale::study::engine::run(&study, &options).unwrap();
        let files = [
            "quality.ledger.csv",
            "quality_runs.csv",
            "quality_timing_cells.csv",
            "quality.meta.json",
        ]
        .iter()
        .map(|name| {
            (
                name.to_string(),
                fs::read(options.out_dir.join(name)).unwrap(),
            )
        })
        .collect();
        (study, files)
    })
}

/// `bytes` with the byte at `at` (mod the length) replaced and the tail cut at `cut`.
fn damaged(bytes: &[u8], at: usize, value: u8, cut: usize) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    if !bytes.is_empty() {
        let i = at % bytes.len();
        bytes[i] = value;
        bytes.truncate(cut % (bytes.len() + 1));
    }
    bytes
}

fn write_all(dir: &Path, files: &[(String, Vec<u8>)]) {
    for (name, bytes) in files {
        fs::write(dir.join(name), bytes).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn problem_json_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = problem_from_json(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn problem_json_like_text_never_panics(text in r#"\{"layers": \[\{"weight": \[\[[0-9.,e-]{0,12}\]\], "bias": \[[0-9.,-]{0,6}\]\}\], "activations": \[\], "loss": "(mse|cross_entropy)", "inputs": \[\[[0-9.,-]{0,8}\]\], "targets": \[[0-9.,\[\]-]{0,8}\]\}"#) {
        let _ = problem_from_json(&text);
    }

    #[test]
    fn presets_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        fs::write(&path, &bytes).unwrap();
        let _ = QualitySpec::try_from(QualityArgs { run: RunArgs { preset: Some(path), ..RunArgs::default() }, ..QualityArgs::default() });
    }

    #[test]
    fn preset_like_objects_never_panic(text in r#"\{"(widths|seeds|samples|depth|methods|shard|out_dir|data|train_steps|optimizer|lr|train_batch_size)": (-?[0-9e.]{1,25}|"[a-z0-9:,/]{0,12}"|\[[0-9e., -]{0,12}\]|true|null)\}"#) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        fs::write(&path, text).unwrap();
        let _ = QualitySpec::try_from(QualityArgs { run: RunArgs { preset: Some(path), threads: Some(1), ..RunArgs::default() }, ..QualityArgs::default() });
    }

    #[test]
    fn metadata_records_never_panic(at in any::<usize>(), value in any::<u8>(), cut in any::<usize>()) {
        let (_, files) = finished_run();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quality.meta.json");
        fs::write(&path, damaged(&files[3].1, at, value, cut)).unwrap();
        if let Ok(meta) = Meta::read(&path) {
            let _ = QualityGrid::from_json(&meta.config);
        }
    }

    #[test]
    fn table_rows_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = table::parse::<RunRow>(&text, 2);
        let _ = table::parse::<TimingCellRow>(&text, 2);
        let _ = table::parse::<CostRow>(&text, 2);
    }

    #[test]
    fn damaged_results_directories_never_panic(
        file in 0usize..3,
        at in any::<usize>(),
        value in any::<u8>(),
        cut in any::<usize>(),
    ) {
        let (study, files) = finished_run();
        let dir = tempfile::tempdir().unwrap();
        let mut files = files.clone();
        files[file].1 = damaged(&files[file].1, at, value, cut);
        write_all(dir.path(), &files);
        let _ = read_finished(study, dir.path(), &study.grid_cells(), &Default::default(), &|_| false);
    }
}

/// A finished tiny run of each study (quality, optimize, rl): its out-dir, kept for the
/// whole test process.
fn finished_studies() -> &'static [(String, std::path::PathBuf)] {
    static RUNS: std::sync::OnceLock<(tempfile::TempDir, Vec<(String, std::path::PathBuf)>)> =
        std::sync::OnceLock::new();
    let (_, runs) = RUNS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let run = |threads| RunArgs {
            threads: Some(threads),
            quiet: true,
            yes: true,
            ..RunArgs::default()
        };
        let quality = dir.path().join("quality");
        let spec = QualitySpec::try_from(QualityArgs {
            widths: Some(vec![2]),
            depths: Some(vec![1]),
            seeds: Some(2),
            samples: Some(2),
            methods: Some("hesscale".into()),
            run: RunArgs {
                out_dir: Some(quality.clone()),
                ..run(1)
            },
            ..QualityArgs::default()
        })
        .unwrap();
        hesscale::study::engine::run(&QualityStudy::new(spec.grid).unwrap(), &spec.run).unwrap();
        let optimize = dir.path().join("optimize");
        let spec = OptimizeSpec::try_from(OptimizeArgs {
            optimizers: Some(vec!["adam".into()]),
            scaling: Some(vec!["none".into()]),
            lrs: Some(vec![1e-3]),
            seeds: Some(2),
            steps: Some(2),
            eval_every: Some(1),
            widths: Some(vec![2]),
            depths: Some(vec![1]),
            run: RunArgs {
                out_dir: Some(optimize.clone()),
                ..run(1)
            },
            ..OptimizeArgs::default()
        })
        .unwrap();
        let mut study = hesscale::study::optimize::OptimizeStudy::new(spec.grid);
        study.load_data().unwrap();
        hesscale::study::engine::run(&study, &spec.run).unwrap();
        let rl = dir.path().join("rl");
        let spec = RlSpec::try_from(RlArgs {
            envs: Some(vec!["pendulum".into()]),
            agents: Some(vec!["a2c".into()]),
            optimizers: Some(vec!["adam".into()]),
            scaling: Some(vec!["none".into()]),
            lrs: Some(vec![1e-3]),
            seeds: Some(2),
            steps: Some(200),
            run: RunArgs {
                out_dir: Some(rl.clone()),
                ..run(1)
            },
            ..RlArgs::default()
        })
        .unwrap();
        hesscale::study::engine::run(&hesscale::study::rl::RlStudy::new(spec.grid), &spec.run)
            .unwrap();
        let runs = vec![
            ("quality".to_string(), quality),
            ("optimize".to_string(), optimize),
            ("rl".to_string(), rl),
        ];
        (dir, runs)
    });
    runs
}

/// A JSON value for any key: every kind, including numbers at and past the limits.
fn arb_json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{json, Value};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(|v| json!(v)),
        any::<i64>().prop_map(|v| json!(v)),
        any::<f64>()
            .prop_map(|v| serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)),
        Just(json!(18446744073709551615u64)),
        Just(json!(1.8446744073709552e19)),
        "[a-z0-9:,/._ -]{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The keys of every study's presets.
const PRESET_KEYS: &[&str] = &[
    "description",
    "widths",
    "depths",
    "depth",
    "inputs",
    "outputs",
    "activations",
    "losses",
    "reductions",
    "batch_size",
    "samples",
    "seeds",
    "seed",
    "methods",
    "data",
    "train_steps",
    "optimizer",
    "lr",
    "train_batch_size",
    "threads",
    "out_dir",
    "shard",
    "optimizers",
    "scaling",
    "scalings",
    "delta",
    "deltas",
    "lrs",
    "steps",
    "eval_every",
    "envs",
    "agents",
];

/// Check `preset` as each study's preset: a spec or an input error, never a panic.
fn every_study_reads(path: &std::path::Path) {
    let run = RunArgs {
        preset: Some(path.to_path_buf()),
        threads: Some(1),
        ..RunArgs::default()
    };
    let _ = QualitySpec::try_from(QualityArgs {
        run: clone_run(&run),
        ..QualityArgs::default()
    });
    let _ = OptimizeSpec::try_from(OptimizeArgs {
        run: clone_run(&run),
        ..OptimizeArgs::default()
    });
    let _ = RlSpec::try_from(RlArgs {
        run: clone_run(&run),
        ..RlArgs::default()
    });
}

/// The run options of `run` that a spec reads (RunArgs is not Clone).
fn clone_run(run: &RunArgs) -> RunArgs {
    RunArgs {
        preset: run.preset.clone(),
        threads: run.threads,
        ..RunArgs::default()
    }
}

/// Set the value at a random place of `value` (a leaf or a whole key) to `new`, or remove
/// a key, choosing by `at`.
fn damage_value(value: &mut serde_json::Value, at: usize, new: serde_json::Value, remove: bool) {
    let mut paths: Vec<Vec<String>> = Vec::new();
    fn walk(value: &serde_json::Value, path: Vec<String>, paths: &mut Vec<Vec<String>>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    let mut next = path.clone();
                    next.push(key.clone());
                    paths.push(next.clone());
                    walk(inner, next, paths);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    let mut next = path.clone();
                    next.push(i.to_string());
                    paths.push(next.clone());
                    walk(inner, next, paths);
                }
            }
            _ => {}
        }
    }
    walk(value, Vec::new(), &mut paths);
    let Some(path) = paths.get(at % paths.len().max(1)) else {
        return;
    };
    let (last, parents) = path.split_last().unwrap();
    let mut target = value;
    for key in parents {
        target = match target {
            serde_json::Value::Object(map) => map.get_mut(key).unwrap(),
            serde_json::Value::Array(items) => &mut items[key.parse::<usize>().unwrap()],
            _ => return,
        };
    }
    match target {
        serde_json::Value::Object(map) if remove => {
            map.shift_remove(last);
        }
        serde_json::Value::Object(map) => {
            map.insert(last.clone(), new);
        }
        serde_json::Value::Array(items) => items[last.parse::<usize>().unwrap()] = new,
        _ => {}
    }
}

/// Copy a study's out-dir.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn every_studys_presets_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        fs::write(&path, &bytes).unwrap();
        every_study_reads(&path);
    }

    #[test]
    fn every_preset_key_with_any_value_never_panics(
        keys in proptest::collection::vec((proptest::sample::select(PRESET_KEYS), arb_json_value()), 0..4)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        let object: serde_json::Map<String, serde_json::Value> =
            keys.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        fs::write(&path, serde_json::Value::Object(object).to_string()).unwrap();
        every_study_reads(&path);
    }

    #[test]
    fn damaged_metadata_of_every_study_never_panics_resume_or_merge(
        study in 0usize..3,
        at in any::<usize>(),
        new in arb_json_value(),
        remove in any::<bool>(),
        bytes_at in any::<usize>(),
        byte in any::<u8>(),
        as_bytes in any::<bool>(),
    ) {
        let (name, source) = &finished_studies()[study];
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("in");
        copy_dir(source, &out);
        let path = out.join(format!("{name}.meta.json"));
        let text = fs::read(&path).unwrap();
        if as_bytes {
            fs::write(&path, damaged(&text, bytes_at, byte, usize::MAX)).unwrap();
        } else {
            let mut value: serde_json::Value = serde_json::from_slice(&text).unwrap();
            damage_value(&mut value, at, new, remove);
            // Reseal, so that the damage reaches the checks behind the digests.
            if value.get("config").is_some() {
                value["config_sha256"] = serde_json::json!(sha256(value["config"].to_string().as_bytes()));
            }
            if value.is_object() {
                value["sha256"] = serde_json::json!("");
                value["sha256"] = serde_json::json!(sha256(value.to_string().as_bytes()));
            }
            fs::write(&path, value.to_string()).unwrap();
        }
        if let Ok(meta) = Meta::read(&path) {
            let _ = QualityGrid::from_json(&meta.config);
            let _ = hesscale::config::optimize::OptimizeGrid::from_json(&meta.config);
            let _ = hesscale::config::rl::RlGrid::from_json(&meta.config);
        }
        let _ = hesscale::study::merge_dirs(name, std::slice::from_ref(&out), &dir.path().join("m"), true);
        let _ = hesscale::study::merge_dirs(name, &[out.clone(), source.clone()], &dir.path().join("m2"), false);
    }
}

/// The SHA-256 of some bytes, in hex.
fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
