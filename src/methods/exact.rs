//! The exact Hessian diagonal by double backprop (SPEC §2.1). For each layer l, the
//! diagonal `D_l[n, o] = ∂²L/∂a_{n,l,o}²` comes from one Hessian-vector product with
//! respect to the pre-activations `a_l` in direction `e_o`; all units of the layer (and all
//! samples) are pushed through together as one stack of tangents, so every step is a
//! matrix product. The identity of SPEC §1.1 then gives the parameter diagonals.

use ndarray::Array2;

use crate::nn::{tile_rows, ForwardPass, ParamTensors, Problem};

/// `D_l`, the exact diagonal of the per-sample Hessian w.r.t. every layer's
/// pre-activations, shape [N, out_l] per layer.
///
/// Tangent rows are indexed `o·N + n` (direction `e_o` of sample n). From `ȧ_l = e_o`:
/// forward `ȧ_k = (φ'(a_{k−1}) ⊙ ȧ_{k−1}) W_kᵀ` up to the output; `δ̇_L = ∇²_z ℓ · ȧ_L`;
/// back down `δ̇_{k−1} = φ'(a_{k−1}) ⊙ (δ̇_k W_k) + φ''(a_{k−1}) ⊙ γ_{k−1} ⊙ ȧ_{k−1}`; and
/// `D_l[n, o] = δ̇_l[o·N + n, o]`.
pub fn preact_hessian_diags(problem: &Problem, pass: &ForwardPass) -> Vec<Array2<f64>> {
    let mlp = problem.mlp();
    let backward = problem.backward(pass);
    let depth = mlp.depth();
    let samples = problem.batch_size();
    // Per hidden layer k: φ'(a_k) and the residual factor φ''(a_k) ⊙ γ_k.
    let slopes: Vec<Array2<f64>> = (0..depth - 1)
        .map(|k| mlp.activations[k].first_derivatives(&pass.preacts[k]))
        .collect();
    let residuals: Vec<Array2<f64>> = (0..depth - 1)
        .map(|k| {
            mlp.activations[k].second_derivatives(&pass.preacts[k]) * &backward.hidden_grads[k]
        })
        .collect();

    (0..depth)
        .map(|l| {
            let units = mlp.layers[l].outputs();
            let mut unit_tangent = Array2::zeros((units * samples, units));
            for o in 0..units {
                for n in 0..samples {
                    unit_tangent[[o * samples + n, o]] = 1.0;
                }
            }
            let mut preact_tangents = vec![unit_tangent];
            for k in l + 1..depth {
                let below = preact_tangents.last().expect("seeded with e_o");
                let hidden_tangent = below * &tile_rows(&slopes[k - 1], units);
                preact_tangents.push(hidden_tangent.dot(&mlp.layers[k].weight.t()));
            }
            let output_tangent = preact_tangents.pop().expect("seeded with e_o");
            let mut grad_tangent = problem.loss().hessian_vector_product(
                pass.output(),
                problem.reduction(),
                &output_tangent,
            );
            for k in (l + 1..depth).rev() {
                let hidden_grad_tangent = mlp.layers[k].input_gradient(&grad_tangent);
                let below = preact_tangents
                    .pop()
                    .expect("one tangent per layer below k");
                grad_tangent = hidden_grad_tangent * &tile_rows(&slopes[k - 1], units)
                    + below * &tile_rows(&residuals[k - 1], units);
            }
            Array2::from_shape_fn((samples, units), |(n, o)| {
                grad_tangent[[o * samples + n, o]]
            })
        })
        .collect()
}

/// The exact Hessian diagonal of every weight and bias (SPEC §1.1 applied to
/// [`preact_hessian_diags`]).
pub fn hessian_diag(problem: &Problem) -> ParamTensors {
    let pass = problem.forward();
    problem
        .mlp()
        .param_diag_from_preact(&pass, &preact_hessian_diags(problem, &pass))
}
