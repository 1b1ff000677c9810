//! Supervised training on MNIST (SPEC §7–§9): minibatches drawn from the trainer's own
//! stream, a [`Learner`] stepping on each, and the evaluation of a model on a split.

use ndarray::{Array2, ArrayView1};
use ndarray_rand::rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::data::{Split, CLASSES, IMAGE_PIXELS};
use crate::error::{Error, Result};
use crate::nn::problem::check_model;
use crate::nn::{Loss, Mlp, Problem, Reduction, Targets};
use crate::rng::{stream_id, stream_rng};
use crate::train::learner::{Learner, StepOutcome};
use crate::train::optimizer::{Optimizer, OptimizerConfig, OptimizerState};

/// The stream a training run draws its minibatches from: `train/minibatches` in the
/// caller's (seed, cell) (SPEC §5, §8).
pub fn minibatch_stream(seed: u64, cell: u64) -> ChaCha8Rng {
    stream_rng(seed, cell, stream_id("train/minibatches"))
}

/// The network inputs and targets of the images `indices` of `split` (SPEC §7):
/// `x = byte / 255`; cross_entropy targets are the labels, mse targets one-hot vectors.
/// Panics if an index is out of range.
pub fn batch(split: &Split, loss: Loss, indices: &[usize]) -> (Array2<f64>, Targets) {
    let labels = indices.iter().map(|&i| split.label(i));
    let targets = match loss {
        Loss::CrossEntropy => Targets::Classes(labels.collect()),
        Loss::Mse => {
            let mut one_hot = Array2::zeros((indices.len(), CLASSES));
            for (mut row, label) in one_hot.rows_mut().into_iter().zip(labels) {
                row[label] = 1.0;
            }
            Targets::Values(one_hot)
        }
    };
    (split.inputs(indices), targets)
}

/// Everything a training run needs besides the model and the data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainerConfig {
    pub optimizer: OptimizerConfig,
    /// The loss, mean-reduced.
    pub loss: Loss,
    /// The images per minibatch.
    pub batch_size: usize,
    /// The base seed of every stream of the run.
    pub seed: u64,
    /// The cell of every stream of the run.
    pub cell: u64,
}

impl TrainerConfig {
    /// The training of SPEC §8: Adam (β1 0.9, β2 0.999, ε 1e-8) with step size 1e-3 and
    /// minibatches of 32, without step-size scaling.
    pub fn trained_network_protocol(loss: Loss, seed: u64, cell: u64) -> TrainerConfig {
        TrainerConfig {
            optimizer: OptimizerConfig::new(Optimizer::Adam, 1e-3),
            loss,
            batch_size: 32,
            seed,
            cell,
        }
    }
}

/// An MLP trained on a split of MNIST. Each step draws a minibatch of `batch_size` indices,
/// each uniform over the split and independent of the others (so an image may repeat), from
/// [`minibatch_stream`]`(seed, cell)`, and takes one [`Learner`] step on it.
#[derive(Clone, Debug)]
pub struct Trainer<'d> {
    learner: Learner,
    data: &'d Split,
    batch_size: usize,
    minibatches: ChaCha8Rng,
    /// The indices of the current minibatch (a buffer reused from step to step).
    indices: Vec<usize>,
}

impl<'d> Trainer<'d> {
    /// A trainer of `mlp` (784 inputs, 10 outputs) on `data`.
    pub fn new(mlp: Mlp, data: &'d Split, config: &TrainerConfig) -> Result<Trainer<'d>> {
        check_fit(&mlp, data)?;
        if config.batch_size == 0 {
            return Err(Error::input("batch size must be at least 1"));
        }
        Ok(Trainer {
            learner: Learner::new(mlp, config.loss, config.optimizer, config.seed, config.cell)?,
            data,
            batch_size: config.batch_size,
            minibatches: minibatch_stream(config.seed, config.cell),
            indices: Vec::with_capacity(config.batch_size),
        })
    }

    /// One step on the next minibatch. Errors once the run has diverged.
    /// MNIST's inputs are pixel bytes over 255, finite by construction, so they are not
    /// scanned for non-finite values.
    pub fn step(&mut self) -> Result<StepOutcome> {
        let len = self.data.len();
        self.indices.clear();
        self.indices
            .extend((0..self.batch_size).map(|_| self.minibatches.random_range(0..len)));
        let (inputs, targets) = batch(self.data, *self.learner.loss(), &self.indices);
        self.learner.step_on_finite_inputs(inputs, targets)
    }

    /// The number of steps taken.
    pub fn steps_done(&self) -> u64 {
        self.learner.steps_done()
    }

    /// The model as it stands.
    pub fn model(&self) -> &Mlp {
        self.learner.model()
    }

    /// The model, taken out of the trainer.
    pub fn into_model(self) -> Mlp {
        self.learner.into_model()
    }

    /// The optimizer's state.
    pub fn state(&self) -> &OptimizerState {
        self.learner.state()
    }

    /// Whether a step diverged (no more steps are taken).
    pub fn diverged(&self) -> bool {
        self.learner.diverged()
    }
}

/// A checked model with MNIST's widths (784 inputs, 10 outputs), and data to draw from.
fn check_fit(mlp: &Mlp, data: &Split) -> Result<()> {
    check_model(mlp)?;
    if (mlp.inputs(), mlp.outputs()) != (IMAGE_PIXELS, CLASSES) {
        return Err(Error::input(format!(
            "the model maps {} inputs to {} outputs, but MNIST has {IMAGE_PIXELS} pixels and {CLASSES} classes",
            mlp.inputs(),
            mlp.outputs()
        )));
    }
    if data.is_empty() {
        return Err(Error::input("the split has no images"));
    }
    Ok(())
}

/// A model's mean loss and accuracy on some images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// The mean-reduced loss over all the images (mse: divided by N·D).
    pub loss: f64,
    /// The fraction of images whose largest output (the first, on a tie) is their label.
    pub accuracy: f64,
}

/// The images evaluated per forward pass.
const EVALUATION_BATCH: usize = 256;

/// The mean loss and accuracy of `mlp` (784 inputs, 10 outputs) on the images `indices` of
/// `split`, in forward passes of up to 256 images.
pub fn evaluate(mlp: &Mlp, loss: Loss, split: &Split, indices: &[usize]) -> Result<Evaluation> {
    check_fit(mlp, split)?;
    if indices.is_empty() {
        return Err(Error::input("no images to evaluate on"));
    }
    if let Some(&i) = indices.iter().find(|&&i| i >= split.len()) {
        return Err(Error::input(format!(
            "image index {i} is out of range for a split of {} images",
            split.len()
        )));
    }
    let (mut total, mut correct) = (0.0, 0);
    let mut problem: Option<Problem> = None;
    for chunk in indices.chunks(EVALUATION_BATCH) {
        let (inputs, targets) = batch(split, loss, chunk);
        let current = match &problem {
            Some(problem) => problem.with_batch(inputs, targets)?,
            None => Problem::new(mlp.clone(), loss, Reduction::Sum, inputs, targets)?,
        };
        let pass = current.forward();
        total += current.loss_value(&pass);
        correct += pass
            .output()
            .rows()
            .into_iter()
            .zip(chunk)
            .filter(|(outputs, &i)| argmax(outputs.view()) == split.label(i))
            .count();
        problem = Some(current);
    }
    Ok(Evaluation {
        loss: total * loss.scale(Reduction::Mean, indices.len(), CLASSES),
        accuracy: correct as f64 / indices.len() as f64,
    })
}

/// The index of the largest value, the first on a tie.
fn argmax(values: ArrayView1<f64>) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |(best, max), (i, &v)| {
            if v > max {
                (i, v)
            } else {
                (best, max)
            }
        })
        .0
}
