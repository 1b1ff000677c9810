//! `ggn_mc:M` (SPEC §2): the Monte-Carlo GGN diagonal. M sampled square-root columns
//! `s_m` of the output Hessian (scaled so that `E[Σ_m s_m s_mᵀ] = ∇²_z ℓ`) are
//! backpropagated like a gradient, and `D_l = Σ_m s_{l,m}²` is unbiased for the GGN's
//! pre-activation diagonal.

use ndarray::{concatenate, Array2, Axis};
use rand_chacha::ChaCha8Rng;

use crate::methods::{CostClass, Diagonal, Draws, Estimate, MethodDef};
use crate::nn::work::{forward_work, padded_rows, weights, F64_BYTES};
use crate::nn::{LayerRules, Linearization, SquareRootFactor};

/// The Monte-Carlo GGN diagonal.
pub const GGN_MC: MethodDef = MethodDef {
    name: "ggn_mc",
    estimates: "GGN diagonal, unbiased Monte-Carlo estimate from M sampled square-root columns",
    cost: CostClass::BackwardPerDraw,
    draws: Draws::MonteCarlo { in_all: &[1, 50] },
    estimate: Estimate::WithSquareRootFactor(|linearization, factor, draws, rng| {
        Diagonal::PerSample(sampled_preact_diags(linearization, factor, draws, rng))
    }),
    work,
    memory,
};

/// The sampled GGN diagonal at the output of every layer with parameters (an MLP's
/// pre-activations) per sample,
/// `D_l = Σ_m s_{l,m}²` (`[N, out_l]`), from `draws` draws of `rng` only. With fewer draws
/// than outputs the M sampled columns are backpropagated themselves; otherwise each
/// column is one of D directions per sample, so the draws are summed into an estimate of
/// the output Hessian ([`SquareRootFactor::sample_output_curvature`]) and pushed through
/// the shared output Jacobians, which costs D columns however many draws there are. Both
/// ways draw the same numbers in the same order and agree up to rounding.
pub fn sampled_preact_diags(
    linearization: &Linearization,
    factor: &dyn SquareRootFactor,
    draws: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Array2<f64>> {
    if draws < linearization.mlp().outputs() {
        by_columns(linearization, factor, draws, rng)
    } else {
        by_output_jacobians(linearization, factor, draws, rng)
    }
}

/// Backpropagate the stack of sampled columns (row `m·N + n`: draw m of sample n) down
/// the backward walk with Jacobians only ([`crate::nn::LayerRules::backprop_rows`]; for an
/// MLP `s_{l−1} = φ'(a_{l−1}) ⊙ (s_l W_l)`), squaring and summing at the output of each
/// layer with parameters.
fn by_columns(
    linearization: &Linearization,
    factor: &dyn SquareRootFactor,
    draws: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Array2<f64>> {
    let samples = linearization.batch_size();
    let columns: Vec<Array2<f64>> = (0..draws)
        .map(|_| factor.sample_sqrt_hessian(linearization.output(), draws, rng))
        .collect();
    let views: Vec<_> = columns.iter().map(|c| c.view()).collect();
    let stack = concatenate(Axis(0), &views).expect("columns share the output width");
    let mut diags = vec![Array2::zeros((0, 0)); linearization.mlp().depth()];
    linearization.walk_backward(0..linearization.layers(), stack, |at, stack| {
        if let Some(slot) = at.slot() {
            diags[slot] = sum_of_squares_per_sample(&stack, samples);
        }
        at.has_below()
            .then(|| at.layer().backprop_rows(&at.point(), &stack))
    });
    diags
}

/// The sampled output curvature through the shared output Jacobians.
fn by_output_jacobians(
    linearization: &Linearization,
    factor: &dyn SquareRootFactor,
    draws: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Array2<f64>> {
    let curvature = factor.sample_output_curvature(linearization.output(), draws, rng);
    linearization
        .output_jacobians()
        .iter()
        .map(|jacobian| match jacobian {
            Some(jacobian) => curvature.diag_through(jacobian),
            None => curvature.diagonal(),
        })
        .collect()
}

/// `Σ_m S[m·N + n, o]²` for a stack of rows with `samples` = N: the per-sample diagonal
/// `diag(Σ_m s_m s_mᵀ)`, shape [N, w].
fn sum_of_squares_per_sample(stack: &Array2<f64>, samples: usize) -> Array2<f64> {
    let mut diag = Array2::zeros((samples, stack.ncols()));
    for (row, values) in stack.rows().into_iter().enumerate() {
        let mut target = diag.row_mut(row % samples);
        target.zip_mut_with(&values, |d, &s| *d += s * s);
    }
    diag
}

/// A forward pass and the columns: `⌈M·N⌉₈` rows (or D·N output-Jacobian rows when
/// M ≥ D) through every layer above the first; then the weight diagonal.
pub fn work(widths: &[usize], batch: usize, draws: usize) -> f64 {
    let outputs = *widths.last().expect("a network has an output");
    let rows = if draws < outputs {
        padded_rows(draws * batch)
    } else {
        (outputs * batch) as f64
    };
    forward_work(widths, batch) + rows * weights(&widths[1..]) + batch as f64 * weights(widths)
}

/// The stacks of columns, `3·min(M, D)·N·U` floats.
pub fn memory(widths: &[usize], batch: usize, draws: usize) -> f64 {
    let outputs = *widths.last().expect("a network has an output");
    let units: f64 = widths.iter().map(|&w| w as f64).sum();
    F64_BYTES * 3.0 * draws.min(outputs) as f64 * batch as f64 * units
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::init::{init_mlp, sample_batch, Architecture};
    use crate::nn::{Activation, Loss, Problem, Reduction};
    use crate::rng::stream_rng;

    fn problem(loss: Loss, batch: usize) -> Problem {
        let architecture = Architecture {
            inputs: 3,
            hidden: vec![5, 4],
            outputs: 3,
            activation: Activation::Tanh,
        };
        let mut rng = stream_rng(3, 1, 0);
        let mlp = init_mlp(&architecture, &mut rng).unwrap();
        let (inputs, targets) = sample_batch(3, 3, loss, batch, &mut rng);
        Problem::new(mlp, loss, Reduction::Mean, inputs, targets).unwrap()
    }

    /// The sampled columns and the sampled output curvature through the output
    /// Jacobians are two ways to the same estimate from the same draws.
    #[test]
    fn columns_and_output_jacobians_agree_on_the_same_draws() {
        for loss in Loss::ALL {
            for batch in [1, 3] {
                let problem = problem(loss, batch);
                let linearization = Linearization::new(&problem);
                for draws in [1, 2, 7] {
                    let factor = problem.loss();
                    let columns =
                        by_columns(&linearization, factor, draws, &mut stream_rng(1, 2, 3));
                    let jacobians = by_output_jacobians(
                        &linearization,
                        factor,
                        draws,
                        &mut stream_rng(1, 2, 3),
                    );
                    for (a, b) in columns.iter().zip(&jacobians) {
                        let scale = a.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
                        assert!(
                            a.abs_diff_eq(b, 1e-13 * scale.max(1e-300)),
                            "{loss} batch {batch} draws {draws}: {a} vs {b}"
                        );
                    }
                }
            }
        }
    }
}
