//! The exact diagonal of the generalized Gauss–Newton matrix (SPEC §2):
//! `G_L = ∇²_z ℓ`, `G_{l−1} = Φ' W_lᵀ G_l W_l Φ'`. With an exact square-root factor
//! `G_L = S Sᵀ` (D columns per sample, [`crate::nn::Loss::sqrt_hessian_columns`]), every
//! `G_l = S_l S_lᵀ` where `S_l` is `S` backpropagated with Jacobians only, so
//! `diag(G_l) = Σ_c s_{l,c}²` without forming a D×D or width×width matrix.

use crate::nn::{sum_of_squares_per_sample, ParamTensors, Problem};

/// The exact GGN diagonal of every weight and bias.
pub fn ggn_diag(problem: &Problem) -> ParamTensors {
    let pass = problem.forward();
    let columns = problem
        .loss()
        .sqrt_hessian_columns(pass.output(), problem.reduction());
    let preact_diags: Vec<_> = problem
        .mlp()
        .backprop_rows(&pass, columns)
        .iter()
        .map(|stack| sum_of_squares_per_sample(stack, problem.batch_size()))
        .collect();
    problem.mlp().param_diag_from_preact(&pass, &preact_diags)
}
