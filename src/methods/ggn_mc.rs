//! `ggn_mc:M` (SPEC §2): the Monte-Carlo GGN diagonal. M sampled square-root columns
//! `s_m` of the output Hessian (scaled so that `E[Σ_m s_m s_mᵀ] = ∇²_z ℓ`) are
//! backpropagated like a gradient, and `D_l = Σ_m s_{l,m}²` is unbiased for the GGN's
//! pre-activation diagonal.
//!
//! Where a layer shares its weights between positions (a convolution, SPEC §11), each
//! column is mapped to the parameters first ([`LayerRules::row_param_gradients`], which
//! sums over the positions) and squared there: `Σ_m (J_θᵀ s_{l,m})²`, still unbiased for
//! the GGN's diagonal.

use ndarray::{concatenate, Array2, Axis};
use rand_chacha::ChaCha8Rng;

use crate::methods::diagonal::LayerDiagonal;
use crate::methods::{CostClass, Diagonal, Draws, Estimate, MethodDef};
use crate::nn::linearization::identity_rows;
use crate::nn::loss::SampledCurvature;
use crate::nn::work::{forward_work, padded_rows, weights, F64_BYTES};
use crate::nn::{LayerAt, LayerRules, Linearization, SquareRootFactor};

/// The Monte-Carlo GGN diagonal.
pub const GGN_MC: MethodDef = MethodDef {
    name: "ggn_mc",
    estimates: "GGN diagonal, unbiased Monte-Carlo estimate from M sampled square-root columns",
    cost: CostClass::BackwardPerDraw,
    draws: Draws::MonteCarlo { in_all: &[1, 50] },
    estimate: Estimate::WithSquareRootFactor(estimate),
    work,
    memory,
};

fn estimate(
    linearization: &Linearization,
    factor: &dyn SquareRootFactor,
    draws: usize,
    rng: &mut ChaCha8Rng,
) -> Diagonal {
    if linearization.mlp().diag_is_outer_product() {
        return Diagonal::PerSample(sampled_preact_diags(linearization, factor, draws, rng));
    }
    let samples = linearization.batch_size();
    let parts = if draws < linearization.mlp().outputs() {
        by_columns(linearization, factor, draws, rng, |at, stack| {
            if at.layer().diag_is_outer_product() {
                LayerDiagonal::PerSample(sum_of_squares_per_sample(stack, samples))
            } else {
                let params = at.layer().row_param_gradients(&at.point(), stack);
                LayerDiagonal::Values(params.mapv(|v| v * v).sum_axis(Axis(0)).to_vec())
            }
        })
    } else {
        by_output_jacobians(
            linearization,
            factor,
            draws,
            rng,
            |at, jacobian, curvature| {
                if at.layer().diag_is_outer_product() {
                    return LayerDiagonal::PerSample(per_unit(jacobian, curvature));
                }
                let identity;
                let rows = match jacobian {
                    Some(jacobian) => jacobian,
                    None => {
                        identity = identity_rows(samples, linearization.mlp().outputs());
                        &identity
                    }
                };
                let params = at.layer().row_param_gradients(&at.point(), rows);
                LayerDiagonal::Values(curvature.diag_through(&params).sum_axis(Axis(0)).to_vec())
            },
        )
    };
    Diagonal::from_layers(linearization, parts)
}

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
    let samples = linearization.batch_size();
    if draws < linearization.mlp().outputs() {
        by_columns(linearization, factor, draws, rng, |_, stack| {
            sum_of_squares_per_sample(stack, samples)
        })
    } else {
        by_output_jacobians(
            linearization,
            factor,
            draws,
            rng,
            |_, jacobian, curvature| per_unit(jacobian, curvature),
        )
    }
}

/// Backpropagate the stack of sampled columns (row `m·N + n`: draw m of sample n) down
/// the backward walk with Jacobians only ([`crate::nn::LayerRules::backprop_rows`]; for an
/// MLP `s_{l−1} = φ'(a_{l−1}) ⊙ (s_l W_l)`), keeping `keep` of the stack at the output of
/// each layer with parameters.
fn by_columns<T>(
    linearization: &Linearization,
    factor: &dyn SquareRootFactor,
    draws: usize,
    rng: &mut ChaCha8Rng,
    mut keep: impl FnMut(LayerAt, &Array2<f64>) -> T,
) -> Vec<T> {
    let columns: Vec<Array2<f64>> = (0..draws)
        .map(|_| factor.sample_sqrt_hessian(linearization.output(), draws, rng))
        .collect();
    let views: Vec<_> = columns.iter().map(|c| c.view()).collect();
    let stack = concatenate(Axis(0), &views).expect("columns share the output width");
    let mut kept: Vec<Option<T>> = (0..linearization.mlp().depth()).map(|_| None).collect();
    linearization.walk_backward(0..linearization.layers(), stack, |at, stack| {
        if let Some(slot) = at.slot() {
            kept[slot] = Some(keep(at, &stack));
        }
        at.has_below()
            .then(|| at.layer().backprop_rows(&at.point(), &stack))
    });
    kept.into_iter()
        .map(|part| part.expect("the walk visits every layer"))
        .collect()
}

/// The sampled output curvature through the shared output Jacobians: `keep` of each
/// layer with parameters, its Jacobian rows (`None` at the output, where they are the
/// identity) and the curvature.
fn by_output_jacobians<T>(
    linearization: &Linearization,
    factor: &dyn SquareRootFactor,
    draws: usize,
    rng: &mut ChaCha8Rng,
    mut keep: impl FnMut(LayerAt, Option<&Array2<f64>>, &SampledCurvature) -> T,
) -> Vec<T> {
    let curvature = factor.sample_output_curvature(linearization.output(), draws, rng);
    let layout = linearization.mlp().params().layout();
    layout
        .layers()
        .iter()
        .zip(linearization.output_jacobians())
        .map(|(slot, jacobian)| keep(linearization.at(slot.layer), jacobian.as_ref(), &curvature))
        .collect()
}

/// The sampled curvature's per-unit diagonal at a layer's output from its output
/// Jacobian rows (`None`: the output itself).
fn per_unit(jacobian: Option<&Array2<f64>>, curvature: &SampledCurvature) -> Array2<f64> {
    match jacobian {
        Some(jacobian) => curvature.diag_through(jacobian),
        None => curvature.diagonal(),
    }
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
                    let columns = by_columns(
                        &linearization,
                        factor,
                        draws,
                        &mut stream_rng(1, 2, 3),
                        |_, stack| sum_of_squares_per_sample(stack, batch),
                    );
                    let jacobians = by_output_jacobians(
                        &linearization,
                        factor,
                        draws,
                        &mut stream_rng(1, 2, 3),
                        |_, jacobian, curvature| per_unit(jacobian, curvature),
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
