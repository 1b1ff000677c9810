//! Training on the shipped MNIST subset (SPEC §7–§9): the loss goes down, runs are
//! reproducible bit for bit, divergence is reported, and the evaluation agrees with
//! itself however it is batched.

use approx::assert_relative_eq;
use hesscale::data::{Mnist, Split};
use hesscale::nn::init::{init_mlp, Architecture};
use hesscale::nn::{Activation, Loss, Mlp, Targets};
use hesscale::rng::{stream_rng, PROBLEM_STREAM};
use hesscale::train::{
    batch, evaluate, Hyperparameters, Optimizer, OptimizerConfig, Scaling, StepOutcome, Trainer,
    TrainerConfig,
};

fn mnist() -> Mnist {
    Mnist::shipped().expect("the shipped subset reads")
}

/// A PyTorch-initialised 784 → `hidden` → 10 net.
fn mlp(hidden: &[usize], activation: Activation, seed: u64) -> Mlp {
    let architecture = Architecture {
        inputs: 784,
        hidden: hidden.to_vec(),
        outputs: 10,
        activation,
    };
    init_mlp(&architecture, &mut stream_rng(seed, 0, PROBLEM_STREAM)).expect("valid widths")
}

fn config(optimizer: OptimizerConfig, loss: Loss, seed: u64) -> TrainerConfig {
    TrainerConfig {
        optimizer,
        loss,
        batch_size: 32,
        seed,
        cell: 0,
    }
}

/// Step `steps` times, every step taken; the minibatch losses before each step.
fn train(trainer: &mut Trainer, steps: usize) -> Vec<f64> {
    (0..steps)
        .map(|_| match trainer.step().expect("a step") {
            StepOutcome::Taken { loss, .. } => loss,
            StepOutcome::Diverged { loss } => panic!("diverged with loss {loss}"),
        })
        .collect()
}

#[test]
fn the_trained_network_protocol_is_adam_at_1e_3_on_minibatches_of_32() {
    let config = TrainerConfig::trained_network_protocol(Loss::CrossEntropy, 3, 4);
    assert_eq!(config.optimizer.optimizer, Optimizer::Adam);
    assert_eq!(
        config.optimizer.hyperparameters,
        Hyperparameters::with_lr(1e-3)
    );
    assert_eq!(
        (
            Hyperparameters::BETA1,
            Hyperparameters::BETA2,
            Hyperparameters::EPS
        ),
        (0.9, 0.999, 1e-8)
    );
    assert_eq!(config.optimizer.scaling, Scaling::None);
    assert_eq!((config.batch_size, config.seed, config.cell), (32, 3, 4));
}

/// 200 Adam steps (lr 1e-3, batch 32) on a 784 → 32 → 10 tanh net take the training loss
/// from about ln 10 to well under half of it, and the accuracy from chance to most images.
#[test]
fn adam_lowers_the_training_loss_on_mnist() {
    let mnist = mnist();
    let indices: Vec<usize> = (0..1000).collect();
    let start = mlp(&[32], Activation::Tanh, 0);
    let before = evaluate(&start, Loss::CrossEntropy, &mnist.train, &indices).unwrap();
    let config = TrainerConfig::trained_network_protocol(Loss::CrossEntropy, 0, 0);
    let mut trainer = Trainer::new(start, &mnist.train, &config).unwrap();
    let losses = train(&mut trainer, 200);
    assert_eq!(trainer.steps_done(), 200);
    let after = evaluate(trainer.model(), Loss::CrossEntropy, &mnist.train, &indices).unwrap();
    assert!(before.loss > 2.0 && before.accuracy < 0.2, "{before:?}");
    assert!(after.loss < 0.5 * before.loss, "{before:?} -> {after:?}");
    assert!(after.accuracy > 0.8, "{after:?}");
    let mean = |losses: &[f64]| losses.iter().sum::<f64>() / losses.len() as f64;
    assert!(mean(&losses[180..]) < 0.5 * mean(&losses[..20]));
}

/// The same seeds give the same parameters bit for bit, through every stream a run has
/// (minibatches, Hutchinson's or ggn_mc's draws, hesscale for the scaling); another cell
/// gives other parameters.
#[test]
fn training_is_deterministic() {
    let mnist = mnist();
    for optimizer in [Optimizer::AdaHessian, Optimizer::AdaGgnMc] {
        let optimizer = OptimizerConfig {
            scaling: Scaling::HesScale { delta: 1e-3 },
            ..OptimizerConfig::new(optimizer, 1e-3)
        };
        let run = |cell| {
            let config = TrainerConfig {
                cell,
                ..config(optimizer, Loss::CrossEntropy, 5)
            };
            let mut trainer =
                Trainer::new(mlp(&[16], Activation::Relu, 1), &mnist.train, &config).unwrap();
            let losses = train(&mut trainer, 15);
            (losses, trainer.into_model())
        };
        let (first_losses, first) = run(0);
        let (second_losses, second) = run(0);
        assert_eq!(first_losses, second_losses);
        assert_eq!(first, second);
        assert_ne!(run(1).1, first);
    }
}

/// sgd with a huge step size blows the mse loss up within a few steps: the run reports it
/// and stops, the parameters stay finite, and stepping on is an error, not a panic.
#[test]
fn a_diverging_run_is_reported() {
    let mnist = mnist();
    let config = config(OptimizerConfig::new(Optimizer::Sgd, 1e6), Loss::Mse, 2);
    let mut trainer = Trainer::new(mlp(&[16], Activation::Relu, 2), &mnist.train, &config).unwrap();
    let diverged_at = (1..=50)
        .find(|_| matches!(trainer.step().unwrap(), StepOutcome::Diverged { .. }))
        .expect("sgd at 1e6 diverges");
    assert!(trainer.diverged());
    assert_eq!(trainer.steps_done(), diverged_at - 1);
    assert!(trainer.model().params().is_finite());
    assert_eq!(trainer.step().unwrap_err().exit_code(), 1);
}

#[test]
fn a_model_or_batch_size_that_does_not_fit_is_an_input_error() {
    let mnist = mnist();
    let config = TrainerConfig::trained_network_protocol(Loss::CrossEntropy, 0, 0);
    let narrow = init_mlp(
        &Architecture {
            inputs: 10,
            hidden: vec![4],
            outputs: 10,
            activation: Activation::Tanh,
        },
        &mut stream_rng(0, 0, PROBLEM_STREAM),
    )
    .unwrap();
    let error = Trainer::new(narrow, &mnist.train, &config).unwrap_err();
    assert_eq!(error.exit_code(), 2);
    assert!(error.to_string().contains("784"), "{error}");
    let empty = TrainerConfig {
        batch_size: 0,
        ..config
    };
    let error = Trainer::new(mlp(&[4], Activation::Tanh, 0), &mnist.train, &empty).unwrap_err();
    assert_eq!(error.exit_code(), 2);
}

/// cross_entropy targets are the labels, mse targets one-hot rows (SPEC §7).
#[test]
fn batches_hold_the_images_and_their_targets() {
    let mnist = mnist();
    let indices = [5, 0, 5];
    let (inputs, classes) = batch(&mnist.test, Loss::CrossEntropy, &indices);
    assert_eq!(inputs, mnist.test.inputs(&indices));
    let labels: Vec<usize> = indices.iter().map(|&i| mnist.test.label(i)).collect();
    assert_eq!(classes, Targets::Classes(labels.clone()));
    let (_, Targets::Values(one_hot)) = batch(&mnist.test, Loss::Mse, &indices) else {
        panic!("mse targets are vectors");
    };
    assert_eq!(one_hot.dim(), (3, 10));
    for (row, label) in one_hot.rows().into_iter().zip(labels) {
        for (class, &value) in row.iter().enumerate() {
            assert_eq!(value, if class == label { 1.0 } else { 0.0 });
        }
    }
}

/// The mean of one-image evaluations: the evaluation in passes of 256 images must agree.
fn one_by_one(model: &Mlp, loss: Loss, split: &Split, indices: &[usize]) -> (f64, f64) {
    let (mut total, mut correct) = (0.0, 0.0);
    for &i in indices {
        let one = evaluate(model, loss, split, &[i]).unwrap();
        total += one.loss;
        correct += one.accuracy;
    }
    let n = indices.len() as f64;
    (total / n, correct / n)
}

#[test]
fn evaluation_does_not_depend_on_its_batching() {
    let mnist = mnist();
    let indices: Vec<usize> = (0..600).map(|i| (i * 37) % mnist.test.len()).collect();
    let config = TrainerConfig::trained_network_protocol(Loss::CrossEntropy, 0, 0);
    let mut trainer = Trainer::new(mlp(&[16], Activation::Tanh, 3), &mnist.test, &config).unwrap();
    train(&mut trainer, 30);
    for loss in [Loss::CrossEntropy, Loss::Mse] {
        let all = evaluate(trainer.model(), loss, &mnist.test, &indices).unwrap();
        let (mean_loss, accuracy) = one_by_one(trainer.model(), loss, &mnist.test, &indices);
        assert_relative_eq!(all.loss, mean_loss, max_relative = 1e-12);
        assert_relative_eq!(all.accuracy, accuracy, max_relative = 1e-12);
        assert!(all.accuracy > 0.1 && all.accuracy < 1.0, "{all:?}");
    }
    for bad in [vec![], vec![0, mnist.test.len()]] {
        let error = evaluate(trainer.model(), Loss::Mse, &mnist.test, &bad).unwrap_err();
        assert_eq!(error.exit_code(), 2);
    }
}
