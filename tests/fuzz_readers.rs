//! Every reader of a file a user or a killed run can leave behind, fed arbitrary bytes
//! and damaged copies of real files: each gives a value or an input error, never a panic.
//! `make test` runs 256 cases per reader; `make fuzz` runs many more
//! (`PROPTEST_CASES=20000`).

use std::fs;
use std::path::Path;

use hesscale::cli::{QualityArgs, RunArgs};
use hesscale::config::quality::{QualityGrid, QualitySpec};
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
        let _ = read_finished(study, dir.path(), &study.grid_cells());
    }
}
