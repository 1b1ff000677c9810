//! Quality on trained networks (SPEC §8): a trained grid gives the same bytes at
//! any thread count and through shards and merge, training lowers the loss, and the exact
//! identities of SPEC §2.2 still hold on trained relu networks.

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use assert_cmd::Command;
use common::{assert_params_close, scaled};
use hesscale::data::Mnist;
use hesscale::methods::Method;
use hesscale::nn::init::{init_mlp, Architecture};
use hesscale::nn::{Activation, Loss, Problem, Reduction};
use hesscale::rng::{stream_id, stream_rng, PROBLEM_STREAM};
use hesscale::train::{batch, Optimizer, OptimizerConfig, Trainer, TrainerConfig};
use tempfile::TempDir;

/// A small trained grid: relu and tanh, 784 → 8,8 → 10 on the shipped subset, measured
/// untrained and after 40 steps.
const TRAINED: &[&str] = &[
    "quality",
    "--data",
    "mnist",
    "--activations",
    "relu,tanh",
    "--widths",
    "8",
    "--depths",
    "2",
    "--train-steps",
    "0,40",
    "--seeds",
    "2",
    "--samples",
    "3",
    "--methods",
    "hesscale,ggn,hutchinson:2",
    "--quiet",
];

fn quality(out: &Path, extra: &[&str]) {
    Command::cargo_bin("hesscale-cli")
        .unwrap()
        .args(TRAINED)
        .args(extra)
        .arg("--out-dir")
        .arg(out)
        .assert()
        .success();
}

/// The files of a run whose bytes do not depend on the machine's speed (the ledger holds
/// the digests of the timing rows too).
const DETERMINISTIC: [&str; 4] = [
    "quality_runs.csv",
    "quality_summary.csv",
    "quality_training.csv",
    "quality_training_summary.csv",
];

fn assert_same_files(a: &Path, b: &Path) {
    for file in DETERMINISTIC {
        assert_eq!(
            fs::read(a.join(file)).unwrap(),
            fs::read(b.join(file)).unwrap(),
            "{file} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn a_trained_grid_is_the_same_at_any_thread_count_through_shards_and_merge_and_on_resume() {
    let dir = TempDir::new().unwrap();
    let one = dir.path().join("one");
    let two = dir.path().join("two");
    quality(&one, &["--threads", "1"]);
    quality(&two, &["--threads", "2"]);
    assert_same_files(&one, &two);

    let shards: Vec<_> = (1..=3)
        .map(|i| {
            let out = dir.path().join(format!("shard{i}"));
            quality(&out, &["--threads", "1", "--shard", &format!("{i}/3")]);
            out
        })
        .collect();
    let merged = dir.path().join("merged");
    Command::cargo_bin("hesscale-cli")
        .unwrap()
        .arg("merge")
        .args(&shards)
        .arg("--out-dir")
        .arg(&merged)
        .assert()
        .success();
    assert_same_files(&one, &merged);

    // A run grown by a seed on resume: the first seed's trained cells are kept.
    let grown = dir.path().join("grown");
    quality(&grown, &["--seeds", "1"]);
    quality(&grown, &["--resume"]);
    assert_same_files(&one, &grown);
}

/// A row of `quality_training.csv`: the step, the training loss and the test loss.
type Recorded = (u64, f64, f64);

#[test]
fn training_lowers_the_loss_and_every_step_is_recorded() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("r");
    quality(&out, &[]);
    let mut reader = csv::Reader::from_path(out.join("quality_training.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        [
            "activation",
            "loss",
            "reduction",
            "data",
            "depth",
            "width",
            "seed",
            "step",
            "train_loss",
            "test_loss",
            "test_accuracy"
        ]
    );
    let mut runs: HashMap<(String, String), Vec<Recorded>> = HashMap::new();
    for record in reader.records() {
        let record = record.unwrap();
        assert_eq!(&record[3], "mnist");
        // Keyed by (activation, seed).
        runs.entry((record[0].to_string(), record[6].to_string()))
            .or_default()
            .push((
                record[7].parse().unwrap(),
                record[8].parse().unwrap(),
                record[9].parse().unwrap(),
            ));
    }
    assert_eq!(runs.len(), 4, "2 activations x 2 seeds");
    for (run, steps) in &runs {
        assert_eq!(steps.iter().map(|s| s.0).collect::<Vec<_>>(), [0, 40]);
        let (untrained, trained) = (steps[0], steps[1]);
        assert!(trained.1 < untrained.1, "{run:?}: train loss {steps:?}");
        assert!(trained.2 < untrained.2, "{run:?}: test loss {steps:?}");
    }
    // The errors are measured at both steps, and the training is timed.
    let summary = fs::read_to_string(out.join("quality_summary.csv")).unwrap();
    assert!(summary.contains("relu,cross_entropy,mean,mnist,2,8,784,10,6442,1,40,ggn,all,2,3,"));
    let timing = fs::read_to_string(out.join("quality_timing.csv")).unwrap();
    // 2 seeds x 40 steps x 32 images.
    assert!(timing.contains("relu,cross_entropy,mnist,2,8,1,training,2560,"));
}

#[test]
fn exact_equals_ggn_and_hesscale_equals_hesscale_gn_on_trained_relu_networks() {
    let mnist = Mnist::shipped().unwrap();
    let architecture = Architecture {
        inputs: 784,
        hidden: vec![16, 16],
        outputs: 10,
        activation: Activation::Relu,
    };
    for loss in [Loss::CrossEntropy, Loss::Mse] {
        let mut rng = stream_rng(3, 0, PROBLEM_STREAM);
        let mlp = init_mlp(&architecture, &mut rng).unwrap();
        let config = TrainerConfig {
            optimizer: OptimizerConfig::new(Optimizer::Adam, 1e-3),
            loss,
            batch_size: 32,
            seed: 3,
            cell: 0,
        };
        let mut trainer = Trainer::new(mlp, &mnist.train, &config).unwrap();
        for _ in 0..200 {
            trainer.step().unwrap();
        }
        let trained = trainer.into_model();
        for images in [vec![5], vec![0, 17, 400, 1999]] {
            let (inputs, targets) = batch(&mnist.test, loss, &images);
            let problem =
                Problem::new(trained.clone(), loss, Reduction::Mean, inputs, targets).unwrap();
            let estimate = |name: &str| {
                let method: Method = name.parse().unwrap();
                method.estimate(&problem, &mut stream_rng(0, 0, stream_id(name)))
            };
            let exact = estimate("exact");
            let context = format!("{loss} relu, trained 200 steps, images {images:?}");
            assert_params_close(
                format!("{context}: ggn"),
                &estimate("ggn"),
                &exact,
                scaled(1e-12, &exact),
            );
            let hesscale = estimate("hesscale");
            assert_params_close(
                format!("{context}: hesscale_gn"),
                &estimate("hesscale_gn"),
                &hesscale,
                scaled(1e-12, &hesscale),
            );
        }
    }
}
