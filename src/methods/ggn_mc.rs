//! `ggn_mc:M` (SPEC §2): the Monte-Carlo GGN diagonal. M sampled square-root columns
//! `s_m` of the output Hessian ([`crate::nn::Loss::sample_sqrt_hessian`], scaled so that
//! `E[Σ_m s_m s_mᵀ] = ∇²_z ℓ`) are backpropagated like a gradient, and
//! `D_l = Σ_m s_{l,m}²` is unbiased for the GGN's pre-activation diagonal.

use ndarray::{concatenate, Array2, Axis};
use rand_chacha::ChaCha8Rng;

use crate::nn::{sum_of_squares_per_sample, ForwardPass, ParamTensors, Problem};

/// The sampled columns backpropagated to every layer's pre-activations: per layer a
/// stack with row `m·N + n` for draw m of sample n. Draws are taken in order m = 1..M,
/// samples n = 1..N within a draw, from `rng` only.
pub fn sampled_preact_columns(
    problem: &Problem,
    pass: &ForwardPass,
    draws: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Array2<f64>> {
    let columns: Vec<Array2<f64>> = (0..draws)
        .map(|_| {
            problem
                .loss()
                .sample_sqrt_hessian(pass.output(), problem.reduction(), draws, rng)
        })
        .collect();
    let views: Vec<_> = columns.iter().map(|c| c.view()).collect();
    let output_rows = concatenate(Axis(0), &views).expect("columns share the output width");
    problem.mlp().backprop_rows(pass, output_rows)
}

/// The ggn_mc:M estimate of every weight and bias diagonal.
pub fn ggn_diag_estimate(problem: &Problem, draws: usize, rng: &mut ChaCha8Rng) -> ParamTensors {
    let pass = problem.forward();
    let preact_diags: Vec<_> = sampled_preact_columns(problem, &pass, draws, rng)
        .iter()
        .map(|stack| sum_of_squares_per_sample(stack, problem.batch_size()))
        .collect();
    problem.mlp().param_diag_from_preact(&pass, &preact_diags)
}
