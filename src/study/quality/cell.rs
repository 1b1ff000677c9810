//! One cell of the quality protocol (SPEC §3): a random MLP, `samples` batches visited
//! one at a time, every method on every batch with the same weights, and the per-seed
//! mean of each method's L1 error against the exact diagonal, per parameter tensor.
//!
//! Randomness (SPEC §5): the problem stream `stream_rng(seed, cell key, PROBLEM_STREAM)`
//! draws the network, then each batch in order; each method draws from its own stream
//! `stream_rng(seed, cell key, stream_id(method name))`, used over the samples in order.

use std::time::Instant;

use rand_chacha::ChaCha8Rng;

use crate::config::quality::QualityGrid;
use crate::error::{Error, Result};
use crate::methods::diagonal::Reference;
use crate::methods::{Diagonal, Method};
use crate::nn::init::{init_mlp, sample_batch};
use crate::nn::{Linearization, Problem};
use crate::rng::{stream_id, stream_rng, PROBLEM_STREAM};
use crate::study::quality::Cell;

/// The timing row of a plain gradient (forward and backward pass), the unit of cost.
pub const GRADIENT: &str = "gradient";
/// The timing row of the work the methods share per batch: the forward pass with the
/// activation derivatives, and what is made on first use (the gradient's backward pass,
/// the output Jacobians, the squared inputs).
pub const LINEARIZATION: &str = "linearization";

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

/// The wall time one timed subject (the gradient, the shared linearization, or a
/// method's own work) spent on all samples of a cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    pub subject: String,
    pub seconds: f64,
}

/// Everything a finished cell contributes to the files.
#[derive(Clone, Debug, PartialEq)]
pub struct CellResult {
    pub cell: Cell,
    /// One entry per method of the grid, in its order.
    pub errors: Vec<MethodErrors>,
    /// One entry per timed subject ([`QualityGrid::timed_subjects`]), in its order.
    pub timings: Vec<Timing>,
}

/// Run one cell: draw its network and batches; per batch, one shared linearization, then
/// the exact diagonal and every method on it, and each method's L1 error against the
/// exact diagonal. Returns the per-seed means and the time of each timed subject.
///
/// Timing: per batch the plain gradient, the linearization and each method's own work
/// (its estimate, without the shared parts it was first to ask for, which count as the
/// linearization's) are timed separately, and the methods run in an order rotated by one
/// each batch, so that no method always runs right after the same other one. The order
/// changes nothing else: each method draws from its own stream.
pub fn run_cell(grid: &QualityGrid, cell: &Cell) -> Result<CellResult> {
    let key = cell.stream_key(grid.batch_size);
    let architecture = grid.architecture(cell.activation, cell.depth, cell.width);
    let mut problem_rng = stream_rng(grid.seed, key, PROBLEM_STREAM);
    let mlp = init_mlp(&architecture, &mut problem_rng)?;
    let methods = grid.timed_methods();
    let mut rngs: Vec<ChaCha8Rng> = methods
        .iter()
        .map(|method| stream_rng(grid.seed, key, stream_id(&method.to_string())))
        .collect();
    let exact_slot = methods
        .iter()
        .position(|m| m.is_exact())
        .expect("exact is always timed");
    let slots: Vec<usize> = grid
        .methods
        .iter()
        .map(|method| {
            methods
                .iter()
                .position(|t| t == method)
                .expect("every method is timed")
        })
        .collect();
    let depth = mlp.depth();
    let mut seconds = Seconds {
        methods: vec![0.0; methods.len()],
        ..Seconds::default()
    };
    // Sums over batches: of Σ|exact| per tensor, and of Σ|exact − estimate| per method.
    let mut exact_sums = vec![[0.0; 2]; depth];
    let mut error_sums = vec![vec![[0.0; 2]; depth]; grid.methods.len()];
    let mut model: Option<Problem> = None;
    let mut estimates: Vec<Option<Diagonal>> = vec![None; methods.len()];

    for batch in 0..grid.batches {
        let (inputs, targets) = sample_batch(
            grid.inputs,
            grid.outputs,
            cell.loss,
            grid.batch_size,
            &mut problem_rng,
        );
        let problem = match &model {
            Some(first) => first.with_batch(inputs, targets)?,
            None => Problem::new(mlp.clone(), cell.loss, cell.reduction, inputs, targets)?,
        };
        let start = Instant::now();
        std::hint::black_box(problem.gradient());
        seconds.gradient += start.elapsed().as_secs_f64();

        let start = Instant::now();
        let linearization = Linearization::new(&problem);
        seconds.linearization += start.elapsed().as_secs_f64();
        for offset in 0..methods.len() {
            let slot = (batch + offset) % methods.len();
            let method = methods[slot];
            let lazy_before = linearization.lazy_seconds();
            let start = Instant::now();
            let estimate = method.estimate_from(&linearization, &mut rngs[slot]);
            let took = start.elapsed().as_secs_f64();
            let lazy = linearization.lazy_seconds() - lazy_before;
            seconds.methods[slot] += took - lazy;
            if !estimate.is_finite() {
                return Err(Error::runtime(format!(
                    "cell {}: method {method} produced a non-finite value at sample {batch}",
                    cell.label()
                )));
            }
            estimates[slot] = Some(estimate);
        }
        let exact = estimates[exact_slot]
            .take()
            .expect("exact ran on this batch");
        let reference = Reference::new(exact, &linearization);
        for (sums, layer) in exact_sums.iter_mut().zip(reference.sum_abs()) {
            sums[0] += layer[0];
            sums[1] += layer[1];
        }
        for (m, &slot) in slots.iter().enumerate() {
            if slot == exact_slot {
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
        seconds.linearization += linearization.lazy_seconds();
        drop(reference);
        drop(linearization);
        if model.is_none() {
            model = Some(problem);
        }
    }

    let n = grid.batches as f64;
    let errors = grid
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
        .collect();
    let mut timings = vec![
        Timing {
            subject: GRADIENT.to_string(),
            seconds: seconds.gradient,
        },
        Timing {
            subject: LINEARIZATION.to_string(),
            seconds: seconds.linearization,
        },
    ];
    timings.extend(
        methods
            .iter()
            .zip(&seconds.methods)
            .map(|(method, &seconds)| Timing {
                subject: method.to_string(),
                seconds,
            }),
    );
    Ok(CellResult {
        cell: *cell,
        errors,
        timings,
    })
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
    use crate::nn::{Activation, Loss, Reduction};

    fn grid(methods: Vec<Method>) -> QualityGrid {
        QualityGrid {
            activations: vec![Activation::Tanh],
            losses: vec![Loss::CrossEntropy],
            reductions: vec![Reduction::Mean],
            depths: vec![2],
            widths: vec![5],
            inputs: 3,
            outputs: 4,
            batch_size: 1,
            batches: 6,
            seeds: 1,
            seed: 9,
            methods,
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
            depth: 2,
            width: 5,
            seed: 0,
        }
    }

    #[test]
    fn exact_has_zero_error_and_zero_has_error_sum_abs_exact() {
        let result = run_cell(&grid(methods("exact,zero")), &cell()).unwrap();
        assert_eq!(result.errors[0].layers.len(), 3);
        for (exact, zero) in result.errors[0].layers.iter().zip(&result.errors[1].layers) {
            for p in 0..2 {
                assert_eq!(exact[p].l1, 0.0);
                assert_eq!(zero[p].l1, zero[p].sum_abs_exact);
                assert!(zero[p].sum_abs_exact > 0.0);
            }
        }
    }

    #[test]
    fn hesscale_is_exact_in_the_last_layer_only() {
        let result = run_cell(&grid(methods("hesscale")), &cell()).unwrap();
        let layers = &result.errors[0].layers;
        approx::assert_abs_diff_eq!(layers[2][0].l1, 0.0, epsilon = 1e-15);
        approx::assert_abs_diff_eq!(layers[2][1].l1, 0.0, epsilon = 1e-15);
        assert!(layers[0][0].l1 > 0.0);
        let subjects: Vec<&str> = result.timings.iter().map(|t| t.subject.as_str()).collect();
        assert_eq!(subjects, ["gradient", "linearization", "exact", "hesscale"]);
    }

    #[test]
    fn adding_a_method_changes_no_other_methods_numbers() {
        let alone = run_cell(&grid(methods("ggn_mc:1")), &cell()).unwrap();
        let with_others = run_cell(&grid(methods("hutchinson:2,ggn_mc:1")), &cell()).unwrap();
        assert_eq!(alone.errors[0], with_others.errors[1]);
    }
}
