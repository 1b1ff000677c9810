//! One cell of the quality protocol (SPEC §3): a random MLP, `samples` batches visited
//! one at a time, every method on every batch with the same weights, and the per-seed
//! mean of each method's L1 error against the exact diagonal, per parameter tensor.
//!
//! Randomness (SPEC §5): the problem stream `stream_rng(seed, cell key, PROBLEM_STREAM)`
//! draws the network, then each batch in order; each method draws from its own stream
//! `stream_rng(seed, cell key, stream_id(method name))`, used over the samples in order.

use std::time::Instant;

use ndarray::{ArrayView, Dimension, Zip};
use rand_chacha::ChaCha8Rng;

use crate::config::quality::QualityGrid;
use crate::error::{Error, Result};
use crate::methods::Method;
use crate::nn::init::{init_mlp, sample_batch};
use crate::nn::{LayerParams, ParamTensors, Problem};
use crate::rng::{stream_id, stream_rng, PROBLEM_STREAM};
use crate::study::Cell;

/// The parameter tensors of one layer, in file order.
pub const PARAMS: [&str; 2] = ["weight", "bias"];

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

/// The wall time one method spent on all samples of a cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MethodTiming {
    pub method: Method,
    pub seconds: f64,
}

/// Everything a finished cell contributes to the files.
#[derive(Clone, Debug, PartialEq)]
pub struct CellResult {
    pub cell: Cell,
    /// One entry per method of the grid, in its order.
    pub errors: Vec<MethodErrors>,
    /// One entry per timed method ([`QualityGrid::timed_methods`]), in its order.
    pub timings: Vec<MethodTiming>,
}

/// `Σ|a − b|` over two tensors of the same shape, in row-major order.
fn l1_distance<D: Dimension>(a: ArrayView<f64, D>, b: ArrayView<f64, D>) -> f64 {
    Zip::from(a)
        .and(b)
        .fold(0.0, |sum, &x, &y| sum + (x - y).abs())
}

/// `Σ|a|`, in row-major order.
fn sum_abs<D: Dimension>(a: ArrayView<f64, D>) -> f64 {
    a.fold(0.0, |sum, &x| sum + x.abs())
}

/// `Σ|exact − estimate|` of each layer's `[weight, bias]`.
fn tensor_distances(exact: &ParamTensors, estimate: &ParamTensors) -> Vec<[f64; 2]> {
    exact
        .iter()
        .zip(estimate)
        .map(|(e, a)| {
            [
                l1_distance(e.weight.view(), a.weight.view()),
                l1_distance(e.bias.view(), a.bias.view()),
            ]
        })
        .collect()
}

/// Run `method` on `problem`, timed; a non-finite result is an error naming the cell.
fn timed_estimate(
    method: Method,
    problem: &Problem,
    rng: &mut ChaCha8Rng,
    cell: &Cell,
    sample: usize,
) -> Result<(ParamTensors, f64)> {
    let start = Instant::now();
    let diagonal = method.estimate(problem, rng);
    let seconds = start.elapsed().as_secs_f64();
    if !diagonal.iter().all(LayerParams::is_finite) {
        return Err(Error::runtime(format!(
            "cell {}: method {method} produced a non-finite value at sample {sample}",
            cell.label()
        )));
    }
    Ok((diagonal, seconds))
}

/// Run one cell: draw its network and batches, run the exact diagonal and every method
/// on every batch, and return the per-seed means and the time each method took.
pub fn run_cell(grid: &QualityGrid, cell: &Cell) -> Result<CellResult> {
    let key = cell.stream_key(grid.batch_size);
    let architecture = grid.architecture(cell.activation, cell.depth, cell.width);
    let mut problem_rng = stream_rng(grid.seed, key, PROBLEM_STREAM);
    let mlp = init_mlp(&architecture, &mut problem_rng)?;
    let timed = grid.timed_methods();
    let mut rngs: Vec<ChaCha8Rng> = timed
        .iter()
        .map(|method| stream_rng(grid.seed, key, stream_id(&method.to_string())))
        .collect();
    let mut seconds = vec![0.0; timed.len()];
    let exact_slot = timed
        .iter()
        .position(|&m| m == Method::Exact)
        .expect("exact is always timed");
    let slots: Vec<usize> = grid
        .methods
        .iter()
        .map(|method| {
            timed
                .iter()
                .position(|t| t == method)
                .expect("every method is timed")
        })
        .collect();
    let depth = mlp.depth();
    // Sums over samples: of Σ|exact| per tensor, and of Σ|exact − estimate| per method.
    let mut exact_sums = vec![[0.0; 2]; depth];
    let mut error_sums = vec![vec![[0.0; 2]; depth]; grid.methods.len()];

    for sample in 0..grid.samples {
        let (inputs, targets) = sample_batch(
            grid.inputs,
            grid.outputs,
            cell.loss,
            grid.batch_size,
            &mut problem_rng,
        );
        let problem = Problem::new(mlp.clone(), cell.loss, cell.reduction, inputs, targets)?;
        let (exact, exact_seconds) =
            timed_estimate(Method::Exact, &problem, &mut rngs[exact_slot], cell, sample)?;
        seconds[exact_slot] += exact_seconds;
        for (sums, layer) in exact_sums.iter_mut().zip(&exact) {
            sums[0] += sum_abs(layer.weight.view());
            sums[1] += sum_abs(layer.bias.view());
        }
        for (m, (&method, &slot)) in grid.methods.iter().zip(&slots).enumerate() {
            if method == Method::Exact {
                continue; // the reference itself: error 0, already timed
            }
            let (estimate, took) = timed_estimate(method, &problem, &mut rngs[slot], cell, sample)?;
            seconds[slot] += took;
            for (sums, distances) in error_sums[m]
                .iter_mut()
                .zip(tensor_distances(&exact, &estimate))
            {
                sums[0] += distances[0];
                sums[1] += distances[1];
            }
        }
    }

    let n = grid.samples as f64;
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
    let timings = timed
        .iter()
        .zip(&seconds)
        .map(|(&method, &seconds)| MethodTiming { method, seconds })
        .collect();
    Ok(CellResult {
        cell: *cell,
        errors,
        timings,
    })
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
            samples: 6,
            seeds: 1,
            seed: 9,
            methods,
        }
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
        let result = run_cell(&grid(vec![Method::Exact, Method::Zero]), &cell()).unwrap();
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
        let result = run_cell(&grid(vec![Method::HesScale]), &cell()).unwrap();
        let layers = &result.errors[0].layers;
        approx::assert_abs_diff_eq!(layers[2][0].l1, 0.0, epsilon = 1e-15);
        approx::assert_abs_diff_eq!(layers[2][1].l1, 0.0, epsilon = 1e-15);
        assert!(layers[0][0].l1 > 0.0);
        assert_eq!(result.timings[0].method, Method::Exact);
        assert_eq!(result.timings.len(), 2);
    }

    #[test]
    fn adding_a_method_changes_no_other_methods_numbers() {
        let alone = run_cell(&grid(vec![Method::GgnMc { draws: 1 }]), &cell()).unwrap();
        let with_others = run_cell(
            &grid(vec![
                Method::Hutchinson { draws: 2 },
                Method::GgnMc { draws: 1 },
            ]),
            &cell(),
        )
        .unwrap();
        assert_eq!(alone.errors[0], with_others.errors[1]);
    }
}
