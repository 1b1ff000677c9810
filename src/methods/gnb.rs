//! `gnb:M` (SPEC §2.4): Sophia's Gauss–Newton–Bartlett estimator (Liu et al., 2023).
//!
//! Per draw, labels are sampled from the model (cross_entropy: `ŷ_n ~ Categorical(p_n)`;
//! mse: the Gaussian `N(z_n, ½ I)` whose negative log-likelihood is `‖z − y‖²`) and ONE
//! gradient `ĝ` of the reduced loss over the whole batch is taken at those labels. With
//! `c` the reduction factor, `∇_z L` at the sampled labels is `√c · u_n` for a sampled
//! square-root column `u_n` of the output Hessian (`E[u uᵀ] = ∇²_z ℓ_n`, mean zero;
//! [`SquareRootFactor::sample_sqrt_hessian`], the columns ggn_mc draws), so
//! `ĝ = √c Σ_n J_nᵀ u_n` and
//!
//! `ĝ ⊙ ĝ / c = (Σ_n J_nᵀ u_n)^{⊙2}`, `E[·] = diag(Σ_n J_nᵀ ∇²_z ℓ_n J_n)`,
//!
//! the GGN diagonal, since the samples' draws are independent with mean zero (for the
//! mean reduction of cross_entropy the factor `1/c` is Sophia's batch size N). The
//! estimate averages M draws; it is ≥ 0. One backward per draw at any batch size (the M
//! draws go down the backward walk as one row-stack, row `m·N + n`); at N = 1 it is
//! ggn_mc:M's estimate from the same draws.

use ndarray::{s, Array2};
use rand_chacha::ChaCha8Rng;

use crate::methods::{CostClass, Diagonal, Draws, Estimate, MethodDef};
use crate::nn::work::{forward_work, padded_rows, units, weights, F64_BYTES};
use crate::nn::{LayerRules, Linearization, Params, SquareRootFactor};

/// Sophia's Gauss–Newton–Bartlett estimator.
pub const GNB: MethodDef = MethodDef {
    name: "gnb",
    estimates: "GGN diagonal, unbiased: Sophia's Gauss-Newton-Bartlett, squared batch gradient at sampled labels, M draws",
    cost: CostClass::BackwardPerDraw,
    draws: Draws::MonteCarlo { in_all: &[] },
    estimate: Estimate::WithSquareRootFactor(|linearization, factor, draws, rng| {
        Diagonal::Params(estimate(linearization, factor, draws, rng))
    }),
    work,
    memory,
};

/// `(1/M) Σ_m (Σ_n J_nᵀ u_{m,n})^{⊙2}` over all parameters, from `draws` draws of `rng`
/// only (draw by draw, sample by sample, as ggn_mc draws its columns).
pub fn estimate(
    linearization: &Linearization,
    factor: &dyn SquareRootFactor,
    draws: usize,
    rng: &mut ChaCha8Rng,
) -> Params {
    let samples = linearization.batch_size();
    let output = linearization.output();
    let mut stack = Array2::zeros((draws * samples, output.ncols()));
    for m in 0..draws {
        let column = factor.sample_sqrt_hessian(output, 1, rng);
        stack
            .slice_mut(s![m * samples..(m + 1) * samples, ..])
            .assign(&column);
    }
    let mlp = linearization.mlp();
    let mut sum = mlp.zeros_like_params();
    let mut gradient = vec![0.0; sum.values().len()];
    linearization.walk_backward(0..linearization.layers(), stack, |at, stack| {
        if let Some(slot) = at.slot() {
            let point = at.point();
            let block = &mut gradient[..sum.layer(slot).len()];
            for m in 0..draws {
                let rows = stack
                    .slice(s![m * samples..(m + 1) * samples, ..])
                    .to_owned();
                at.layer().param_gradient(&point, &rows, block);
                for (total, &g) in sum.layer_mut(slot).iter_mut().zip(block.iter()) {
                    *total += g * g;
                }
            }
        }
        at.has_below()
            .then(|| at.layer().backprop_rows(&at.point(), &stack))
    });
    let mean = 1.0 / draws as f64;
    sum.values_mut().iter_mut().for_each(|v| *v *= mean);
    sum
}

/// A forward pass, `M·N` rows through every layer above the first, and M weight
/// gradients of N samples.
pub fn work(widths: &[usize], batch: usize, draws: usize) -> f64 {
    forward_work(widths, batch)
        + padded_rows(draws * batch) * weights(&widths[1..])
        + (draws * batch) as f64 * weights(widths)
}

/// The stack of sampled columns, `3·M·N·U` floats.
pub fn memory(widths: &[usize], batch: usize, draws: usize) -> f64 {
    F64_BYTES * 3.0 * (draws * batch) as f64 * units(widths)
}
