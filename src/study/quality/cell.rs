//! One cell of the quality protocol (SPEC §3, §8): a network, `samples` batches visited
//! one at a time, every method on every batch with the same weights, and the per-seed
//! mean of each method's L1 error against the exact diagonal, per parameter tensor.
//!
//! A `random` cell measures its random network on random batches. A cell on a data set
//! trains its network on the training part and measures it at each listed step on the
//! same test images; one training run serves every step.
//!
//! Randomness (SPEC §5): the problem stream `stream_rng(seed, cell key, PROBLEM_STREAM)`
//! draws the network, then each random batch in order (or, on a data set, the indices of
//! the test images measured on); each method draws from its own stream
//! `stream_rng(seed, cell key, stream_id(method name))`, used over the samples and steps
//! in order; training draws from its own streams ([`crate::train`]).

use std::time::Instant;

use ndarray::Array2;
use ndarray_rand::rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::config::quality::QualityGrid;
use crate::data::Mnist;
use crate::error::{Error, Result};
use crate::methods::diagonal::Reference;
use crate::methods::{Diagonal, Method};
use crate::nn::init::sample_batch;
use crate::nn::{Linearization, Loss, Mlp, Problem, Reduction, Targets};
use crate::rng::{stream_id, stream_rng, PROBLEM_STREAM};
use crate::study::cost::gradient_ratios;
use crate::study::quality::Cell;
use crate::study::stats::median;
use crate::train::{batch, evaluate, StepOutcome, Trainer, TrainerConfig};

/// The timing subject of training (the optimizer's steps), in `quality_timing*.csv`; its
/// samples are the training images processed.
pub const TRAINING: &str = "training";

/// The timing row of a plain gradient (forward and backward pass), the unit of cost.
pub const GRADIENT: &str = "gradient";
/// The timing row of the work the methods share per batch: the forward pass with the
/// activation derivatives, and what is made on first use (the gradient's backward pass,
/// the output Jacobians, the squared inputs).
pub const LINEARIZATION: &str = "linearization";

/// The training images the training loss is measured on: the first this many of the
/// training part (all of it if smaller).
pub const TRAIN_LOSS_IMAGES: usize = 1000;

/// The rounds of a cell's cost measurement (per measured step): see [`Meter::measure`].
pub const COST_ROUNDS: usize = 15;

/// Per-seed means of one parameter tensor (a layer's weight or bias): `l1` is the mean
/// over samples of `Σ|exact − estimate|`, `sum_abs_exact` the mean of `Σ|exact|`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TensorError {
    pub l1: f64,
    pub sum_abs_exact: f64,
}

impl TensorError {
    /// The error of two tensors together (a layer's weight + bias, or a sum over layers).
    pub fn plus(self, other: TensorError) -> TensorError {
        TensorError {
            l1: self.l1 + other.l1,
            sum_abs_exact: self.sum_abs_exact + other.sum_abs_exact,
        }
    }
}

/// One method's per-seed errors: for each layer (input to output), `[weight, bias]`.
#[derive(Clone, Debug, PartialEq)]
pub struct MethodErrors {
    pub method: Method,
    pub layers: Vec<[TensorError; 2]>,
}

/// How far a trained network has learned: its mean loss on the first
/// [`TRAIN_LOSS_IMAGES`] training images and on the whole test part, and its test
/// accuracy.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Evaluation {
    pub train_loss: f64,
    pub test_loss: f64,
    pub test_accuracy: f64,
}

/// What a cell measured at one training step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepResult {
    /// Optimizer steps taken before measuring.
    pub step: usize,
    /// One entry per method of the grid, in its order.
    pub errors: Vec<MethodErrors>,
    /// The network's evaluation, on a data set (`None` for `random`).
    pub evaluation: Option<Evaluation>,
}

/// The wall time one timed subject (the gradient, the shared linearization, a method's
/// own work, or training) spent in a cell, and for the gradient and each method its cost
/// in gradients (backward-pass equivalents) measured as `cost` measures it.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    pub subject: String,
    pub seconds: f64,
    /// The median over the cell's cost rounds of the subject's time (forward pass and all
    /// its work, on its own) over the gradient's of the same round; 1 for the gradient,
    /// none for the linearization and training.
    pub backward_equivalents: Option<f64>,
}

/// Everything a finished cell contributes to the files.
#[derive(Clone, Debug, PartialEq)]
pub struct CellResult {
    pub cell: Cell,
    /// One entry per step measured at ([`QualityGrid::steps_of`]), in order.
    pub steps: Vec<StepResult>,
    /// One entry per timed subject ([`crate::study::quality::rows::timed_subjects`]).
    pub timings: Vec<Timing>,
}

/// Run one cell; `data` is the cell's data set, loaded (`None` for `random`). Draws the
/// network; for a data set, trains it to each listed step and measures it there on the
/// same test images; per batch, one shared linearization, then the exact diagonal and
/// every method on it, and each method's L1 error against the exact diagonal. Returns the
/// per-seed means at each step and the time of each timed subject.
///
/// Timing: per batch the plain gradient, the linearization and each method's own work
/// (its estimate, without the shared parts it was first to ask for, which count as the
/// linearization's) are timed separately, and the methods run in an order rotated by one
/// each batch, so that no method always runs right after the same other one. The order
/// changes nothing else: each method draws from its own stream.
pub fn run_cell(grid: &QualityGrid, cell: &Cell, data: Option<&Mnist>) -> Result<CellResult> {
    let stream_name = data.map(|mnist| mnist.digest.stream_name());
    let key = cell.stream_key(grid.batch_size, stream_name.as_deref());
    let network = grid.network(cell.activation, cell.depth, cell.width);
    let mut problem_rng = stream_rng(grid.seed, key, PROBLEM_STREAM);
    let mlp = network.init(&mut problem_rng)?;
    let mut meter = Meter::new(grid, cell, key);
    let (steps, training_seconds) = match (cell.data.data_set(), data) {
        (None, _) => {
            let errors = meter.measure(&mlp, |_| {
                sample_batch(
                    grid.inputs,
                    grid.outputs,
                    cell.loss,
                    grid.batch_size,
                    &mut problem_rng,
                )
            })?;
            let step = StepResult {
                step: 0,
                errors,
                evaluation: None,
            };
            (vec![step], None)
        }
        (Some(_), Some(mnist)) => {
            let (steps, seconds) =
                train_and_measure(grid, cell, key, mlp, mnist, problem_rng, &mut meter)?;
            (steps, Some(seconds))
        }
        (Some(set), None) => {
            return Err(Error::runtime(format!(
                "cell {}: data {set} was not loaded",
                cell.label()
            )))
        }
    };
    let mut timings = meter.timings();
    if let Some(seconds) = training_seconds.filter(|_| grid.steps_of(&cell.data).last() > Some(&0))
    {
        timings.push(Timing {
            subject: TRAINING.to_string(),
            seconds,
            backward_equivalents: None,
        });
    }
    Ok(CellResult {
        cell: cell.clone(),
        steps,
        timings,
    })
}

/// Train a cell's network on the training part of `mnist` and measure it at each listed
/// step on the same `batches × batch_size` test images, drawn uniformly (with
/// replacement) from the problem stream. Returns the results per step and the seconds
/// the optimizer's steps took.
fn train_and_measure(
    grid: &QualityGrid,
    cell: &Cell,
    key: u64,
    mlp: Mlp,
    mnist: &Mnist,
    mut problem_rng: ChaCha8Rng,
    meter: &mut Meter,
) -> Result<(Vec<StepResult>, f64)> {
    let samples = grid.batches * grid.batch_size;
    let images: Vec<usize> = (0..samples)
        .map(|_| problem_rng.random_range(0..mnist.test.len()))
        .collect();
    let train_images: Vec<usize> = (0..mnist.train.len().min(TRAIN_LOSS_IMAGES)).collect();
    let test_images: Vec<usize> = (0..mnist.test.len()).collect();
    let config = TrainerConfig {
        optimizer: grid.optimizer_config(),
        loss: cell.loss,
        batch_size: grid.train_batch_size,
        seed: grid.seed,
        cell: key,
    };
    let mut trainer = Trainer::new(mlp, &mnist.train, &config)?;
    let mut training_seconds = 0.0;
    let mut steps = Vec::new();
    for &step in grid.steps_of(&cell.data) {
        let start = Instant::now();
        while trainer.steps_done() < step as u64 {
            if let StepOutcome::Diverged { loss } = trainer.step()? {
                return Err(Error::runtime(format!(
                    "cell {}: training diverged at step {} (minibatch loss {loss}); try a smaller --lr",
                    cell.label(),
                    trainer.steps_done() + 1
                )));
            }
        }
        training_seconds += start.elapsed().as_secs_f64();
        let model = trainer.model();
        let train = evaluate(model, cell.loss, &mnist.train, &train_images)?;
        let test = evaluate(model, cell.loss, &mnist.test, &test_images)?;
        let errors = meter.measure(model, |b| {
            batch(
                &mnist.test,
                cell.loss,
                &images[b * grid.batch_size..(b + 1) * grid.batch_size],
            )
        })?;
        steps.push(StepResult {
            step,
            errors,
            evaluation: Some(Evaluation {
                train_loss: train.loss,
                test_loss: test.loss,
                test_accuracy: test.accuracy,
            }),
        });
    }
    Ok((steps, training_seconds))
}

/// Every method of a cell with its random stream, measured batch after batch, and the
/// seconds each timed subject took so far.
struct Meter<'g> {
    grid: &'g QualityGrid,
    /// The cell's, for error messages.
    label: String,
    loss: Loss,
    reduction: Reduction,
    /// [`QualityGrid::timed_methods`]: exact first unless listed, then the grid's.
    methods: Vec<Method>,
    rngs: Vec<ChaCha8Rng>,
    /// The position of exact in `methods`.
    exact_slot: usize,
    /// The position of each of the grid's methods in `methods`.
    slots: Vec<usize>,
    seconds: Seconds,
    /// Batches measured so far, over all steps: the rotation of the method order.
    batches_done: usize,
    /// Each method's cost rounds so far (its time over the gradient's), `methods` order.
    cost_ratios: Vec<Vec<f64>>,
    /// The stream the cost rounds' estimates draw from (their numbers are thrown away).
    cost_rng: ChaCha8Rng,
}

impl<'g> Meter<'g> {
    fn new(grid: &'g QualityGrid, cell: &Cell, key: u64) -> Meter<'g> {
        let methods = grid.timed_methods();
        let rngs = methods
            .iter()
            .map(|method| stream_rng(grid.seed, key, stream_id(&method.to_string())))
            .collect();
        let exact_slot = methods
            .iter()
            .position(|m| m.is_exact())
            .expect("exact is always timed");
        let slots = grid
            .methods
            .iter()
            .map(|method| {
                methods
                    .iter()
                    .position(|t| t == method)
                    .expect("every method is timed")
            })
            .collect();
        let seconds = Seconds {
            methods: vec![0.0; methods.len()],
            ..Seconds::default()
        };
        Meter {
            grid,
            label: cell.label(),
            loss: cell.loss,
            reduction: cell.reduction,
            rngs,
            exact_slot,
            slots,
            seconds,
            batches_done: 0,
            cost_ratios: vec![Vec::new(); methods.len()],
            cost_rng: stream_rng(grid.seed, key, stream_id("cost")),
            methods,
        }
    }

    /// Measure every method on the network `mlp` over the grid's `batches` batches
    /// (`next_batch(b)` gives batch `b`): the per-seed mean errors of each of the grid's
    /// methods. Then [`COST_ROUNDS`] rounds of the cost measurement on the first batch
    /// ([`gradient_ratios`]: each method on its own against the gradient, as `cost` times
    /// them), which change no estimate.
    fn measure(
        &mut self,
        mlp: &Mlp,
        mut next_batch: impl FnMut(usize) -> (Array2<f64>, Targets),
    ) -> Result<Vec<MethodErrors>> {
        let grid = self.grid;
        let depth = mlp.depth();
        let n_methods = self.methods.len();
        // Sums over batches: of Σ|exact| per tensor, and of Σ|exact − estimate| per method.
        let mut exact_sums = vec![[0.0; 2]; depth];
        let mut error_sums = vec![vec![[0.0; 2]; depth]; grid.methods.len()];
        let mut model: Option<Problem> = None;
        let mut estimates: Vec<Option<Diagonal>> = vec![None; n_methods];

        for batch in 0..grid.batches {
            let (inputs, targets) = next_batch(batch);
            let problem = match &model {
                Some(first) => first.with_batch(inputs, targets)?,
                None => Problem::new(mlp.clone(), self.loss, self.reduction, inputs, targets)?,
            };
            let start = Instant::now();
            std::hint::black_box(problem.gradient());
            self.seconds.gradient += start.elapsed().as_secs_f64();

            let start = Instant::now();
            let linearization = Linearization::new(&problem);
            self.seconds.linearization += start.elapsed().as_secs_f64();
            for offset in 0..n_methods {
                let slot = (self.batches_done + offset) % n_methods;
                let method = self.methods[slot];
                let lazy_before = linearization.lazy_seconds();
                let start = Instant::now();
                let estimate = method.estimate_from(&linearization, &mut self.rngs[slot])?;
                let took = start.elapsed().as_secs_f64();
                let lazy = linearization.lazy_seconds() - lazy_before;
                self.seconds.methods[slot] += took - lazy;
                if !estimate.is_finite() {
                    return Err(Error::runtime(format!(
                        "cell {}: method {method} produced a non-finite value at sample {batch}",
                        self.label
                    )));
                }
                estimates[slot] = Some(estimate);
            }
            self.batches_done += 1;
            let exact = estimates[self.exact_slot]
                .take()
                .expect("exact ran on this batch");
            let reference = Reference::new(exact, &linearization);
            for (sums, layer) in exact_sums.iter_mut().zip(reference.sum_abs()) {
                sums[0] += layer[0];
                sums[1] += layer[1];
            }
            for (m, &slot) in self.slots.iter().enumerate() {
                if slot == self.exact_slot {
                    continue; // the reference itself: error 0
                }
                let estimate = estimates[slot]
                    .take()
                    .expect("every method ran on this batch");
                for (sums, distances) in error_sums[m]
                    .iter_mut()
                    .zip(reference.l1_distances(&estimate))
                {
                    sums[0] += distances[0];
                    sums[1] += distances[1];
                }
            }
            self.seconds.linearization += linearization.lazy_seconds();
            drop(reference);
            drop(linearization);
            if model.is_none() {
                model = Some(problem);
            }
        }
        if let Some(problem) = &model {
            let rounds = gradient_ratios(problem, &self.methods, COST_ROUNDS, &mut self.cost_rng);
            for (ratios, more) in self.cost_ratios.iter_mut().zip(rounds) {
                ratios.extend(more);
            }
        }

        let n = grid.batches as f64;
        Ok(grid
            .methods
            .iter()
            .zip(&error_sums)
            .map(|(&method, sums)| MethodErrors {
                method,
                layers: sums
                    .iter()
                    .zip(&exact_sums)
                    .map(|(error, exact)| {
                        [0, 1].map(|p| TensorError {
                            l1: error[p] / n,
                            sum_abs_exact: exact[p] / n,
                        })
                    })
                    .collect(),
            })
            .collect())
    }

    /// The time of the gradient, the linearization and each method, in the order of
    /// [`QualityGrid::timed_subjects`].
    fn timings(&self) -> Vec<Timing> {
        let mut timings = vec![
            Timing {
                subject: GRADIENT.to_string(),
                seconds: self.seconds.gradient,
                backward_equivalents: Some(1.0),
            },
            Timing {
                subject: LINEARIZATION.to_string(),
                seconds: self.seconds.linearization,
                backward_equivalents: None,
            },
        ];
        timings.extend(
            self.methods
                .iter()
                .zip(&self.seconds.methods)
                .zip(&self.cost_ratios)
                .map(|((method, &seconds), ratios)| Timing {
                    subject: method.to_string(),
                    seconds,
                    backward_equivalents: (!ratios.is_empty()).then(|| median(ratios)),
                }),
        );
        timings
    }
}

/// The seconds a cell spent per timed subject.
#[derive(Default)]
struct Seconds {
    gradient: f64,
    linearization: f64,
    /// Each method's own work, in [`QualityGrid::timed_methods`] order.
    methods: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DataSet, DataSource};
    use crate::nn::Activation;
    use crate::train::Optimizer;

    fn grid(methods: Vec<Method>) -> QualityGrid {
        QualityGrid {
            depths: vec![2],
            widths: vec![5],
            inputs: 3,
            outputs: 4,
            batches: 6,
            seeds: 1,
            seed: 9,
            methods,
            ..QualityGrid::default()
        }
    }

    fn methods(names: &str) -> Vec<Method> {
        Method::parse_list(names).unwrap()
    }

    fn cell() -> Cell {
        Cell {
            activation: Activation::Tanh,
            loss: Loss::CrossEntropy,
            reduction: Reduction::Mean,
            data: DataSource::Random,
            depth: 2,
            width: 5,
            seed: 0,
        }
    }

    #[test]
    fn exact_has_zero_error_and_zero_has_error_sum_abs_exact() {
        let result = run_cell(&grid(methods("exact,zero")), &cell(), None).unwrap();
        let errors = &result.steps[0].errors;
        assert_eq!(errors[0].layers.len(), 3);
        for (exact, zero) in errors[0].layers.iter().zip(&errors[1].layers) {
            for p in 0..2 {
                assert_eq!(exact[p].l1, 0.0);
                assert_eq!(zero[p].l1, zero[p].sum_abs_exact);
                assert!(zero[p].sum_abs_exact > 0.0);
            }
        }
    }

    #[test]
    fn hesscale_is_exact_in_the_last_layer_only() {
        let result = run_cell(&grid(methods("hesscale")), &cell(), None).unwrap();
        let layers = &result.steps[0].errors[0].layers;
        approx::assert_abs_diff_eq!(layers[2][0].l1, 0.0, epsilon = 1e-15);
        approx::assert_abs_diff_eq!(layers[2][1].l1, 0.0, epsilon = 1e-15);
        assert!(layers[0][0].l1 > 0.0);
        let subjects: Vec<&str> = result.timings.iter().map(|t| t.subject.as_str()).collect();
        assert_eq!(subjects, ["gradient", "linearization", "exact", "hesscale"]);
    }

    #[test]
    fn adding_a_method_changes_no_other_methods_numbers() {
        let alone = run_cell(&grid(methods("ggn_mc:1")), &cell(), None).unwrap();
        let with_others = run_cell(&grid(methods("hutchinson:2,ggn_mc:1")), &cell(), None).unwrap();
        assert_eq!(alone.steps[0].errors[0], with_others.steps[0].errors[1]);
    }

    /// A small grid on the shipped MNIST subset, measured at `steps`.
    fn trained_grid(steps: Vec<usize>, methods_: &str) -> QualityGrid {
        QualityGrid {
            activations: vec![Activation::Relu],
            data: vec![DataSource::Set(DataSet::Mnist)],
            depths: vec![2],
            widths: vec![8],
            inputs: 784,
            outputs: 10,
            batches: 4,
            seeds: 1,
            methods: methods(methods_),
            train_steps: steps,
            optimizer: Optimizer::Adam,
            lr: 1e-3,
            train_batch_size: 16,
            ..QualityGrid::default()
        }
    }

    fn trained_cell() -> Cell {
        Cell {
            activation: Activation::Relu,
            data: DataSource::Set(DataSet::Mnist),
            depth: 2,
            width: 8,
            ..cell()
        }
    }

    #[test]
    fn one_training_run_serves_every_step_and_the_first_steps_do_not_depend_on_later_ones() {
        let mnist = Mnist::shipped().unwrap();
        let both = run_cell(
            &trained_grid(vec![0, 30], "hesscale,ggn"),
            &trained_cell(),
            Some(&mnist),
        )
        .unwrap();
        let first = run_cell(
            &trained_grid(vec![0], "hesscale,ggn"),
            &trained_cell(),
            Some(&mnist),
        )
        .unwrap();
        let last = run_cell(
            &trained_grid(vec![30], "hesscale,ggn"),
            &trained_cell(),
            Some(&mnist),
        )
        .unwrap();
        assert_eq!(both.steps.len(), 2);
        assert_eq!(both.steps[0], first.steps[0]);
        assert_eq!(both.steps[1], last.steps[0]);
        let subjects: Vec<&str> = both.timings.iter().map(|t| t.subject.as_str()).collect();
        assert_eq!(
            subjects,
            [
                "gradient",
                "linearization",
                "exact",
                "hesscale",
                "ggn",
                "training"
            ]
        );
        let untrained = both.steps[0].evaluation.unwrap();
        let trained = both.steps[1].evaluation.unwrap();
        assert!(
            trained.train_loss < untrained.train_loss,
            "{trained:?} {untrained:?}"
        );
    }

    #[test]
    fn a_data_set_cell_without_its_data_is_an_error_not_a_panic() {
        let error =
            run_cell(&trained_grid(vec![0], "hesscale"), &trained_cell(), None).unwrap_err();
        assert!(error.to_string().contains("was not loaded"), "{error}");
    }

    #[test]
    fn a_diverging_training_run_is_an_error_that_says_so() {
        let mnist = Mnist::shipped().unwrap();
        let grid = QualityGrid {
            optimizer: Optimizer::Sgd,
            lr: 1e300,
            ..trained_grid(vec![0, 50], "hesscale")
        };
        let error = run_cell(&grid, &trained_cell(), Some(&mnist)).unwrap_err();
        assert!(
            error.to_string().contains("training diverged at step"),
            "{error}"
        );
    }
}
