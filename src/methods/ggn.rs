//! The exact diagonal of the generalized Gauss–Newton matrix (SPEC §2):
//! `G_L = ∇²_z ℓ`, `G_{l−1} = Φ' W_lᵀ G_l W_l Φ'`, so `G_l = J_lᵀ ∇²_z ℓ J_l` with the
//! output Jacobian `J_l = ∂z/∂a_l`. Its diagonal comes from the shared output Jacobians
//! ([`Linearization::output_jacobians`], D rows per sample down the backward walk with
//! Jacobians only) and [`crate::nn::OutputLoss::gauss_newton_diag`], without forming a D×D or
//! width×width matrix.
//!
//! Where a layer shares its weights between positions (a convolution, SPEC §11), the
//! diagonal at its output is not enough: each output-Jacobian row is first mapped to the
//! parameters ([`crate::nn::LayerRules::row_param_gradients`], summing over the positions)
//! and the rows are combined there, `diag(J_θᵀ J_nᵀ ∇²_z ℓ J_n J_θ)` ("square after summing
//! over positions").

use ndarray::{Array2, Axis};
use rand_chacha::ChaCha8Rng;

use crate::methods::diagonal::LayerDiagonal;
use crate::methods::{CostClass, Diagonal, Draws, Estimate, MethodDef};
use crate::nn::linearization::identity_rows;
use crate::nn::work::{forward_work, weights, F64_BYTES};
use crate::nn::{LayerRules, Linearization, OutputLoss, Params, Problem};

/// The exact GGN diagonal.
pub const GGN: MethodDef = MethodDef {
    name: "ggn",
    estimates: "the exact diagonal of the generalized Gauss-Newton matrix (output Jacobians backpropagated)",
    cost: CostClass::BackwardPerOutput,
    draws: Draws::None,
    estimate: Estimate::FromLinearization(estimate),
    work,
    memory,
};

fn estimate(linearization: &Linearization, _draws: usize, _rng: &mut ChaCha8Rng) -> Diagonal {
    ggn_diagonal(linearization)
}

/// The exact GGN diagonal: per-sample pre-activation diagonals where every layer's rule
/// makes them exact, one part per layer otherwise.
fn ggn_diagonal(linearization: &Linearization) -> Diagonal {
    if linearization.mlp().diag_is_outer_product() {
        return Diagonal::PerSample(preact_ggn_diags(linearization));
    }
    let (loss, output) = (linearization.loss(), linearization.output());
    let (samples, outputs) = (linearization.batch_size(), linearization.mlp().outputs());
    let layout = linearization.mlp().params().layout();
    let parts = layout
        .layers()
        .iter()
        .zip(linearization.output_jacobians())
        .map(|(slot, jacobian)| {
            let at = linearization.at(slot.layer);
            if at.layer().diag_is_outer_product() {
                return LayerDiagonal::PerSample(match jacobian {
                    Some(jacobian) => loss.gauss_newton_diag(output, jacobian),
                    None => loss.hessian_diag(output),
                });
            }
            let identity;
            let rows = match jacobian {
                Some(jacobian) => jacobian,
                None => {
                    identity = identity_rows(samples, outputs);
                    &identity
                }
            };
            let params = at.layer().row_param_gradients(&at.point(), rows);
            LayerDiagonal::Values(
                loss.gauss_newton_diag(output, &params)
                    .sum_axis(Axis(0))
                    .to_vec(),
            )
        })
        .collect();
    Diagonal::from_layers(linearization, parts)
}

/// `diag(G_l)` per sample for every layer with parameters, `[N, out_l]`:
/// `diag(J_lᵀ ∇²_z ℓ J_l)` below the output, the diagonal of `∇²_z ℓ` at it.
pub fn preact_ggn_diags(linearization: &Linearization) -> Vec<Array2<f64>> {
    let (loss, output) = (linearization.loss(), linearization.output());
    linearization
        .output_jacobians()
        .iter()
        .map(|jacobian| match jacobian {
            Some(jacobian) => loss.gauss_newton_diag(output, jacobian),
            None => loss.hessian_diag(output),
        })
        .collect()
}

/// The exact GGN diagonal of every weight and bias of a problem.
pub fn ggn_diag<L: OutputLoss>(problem: &Problem<L>) -> Params {
    let linearization = Linearization::new(problem);
    ggn_diagonal(&linearization).into_params(&linearization)
}

/// A forward pass, the output Jacobians (`D·N` rows through every layer above the first)
/// and the weight diagonal.
fn work(widths: &[usize], batch: usize, _draws: usize) -> f64 {
    let outputs = *widths.last().expect("a network has an output") as f64;
    let samples = batch as f64;
    forward_work(widths, batch) + samples * (outputs * weights(&widths[1..]) + weights(widths))
}

/// The output Jacobians: `D·N·U` floats.
fn memory(widths: &[usize], batch: usize, _draws: usize) -> f64 {
    let outputs = *widths.last().expect("a network has an output") as f64;
    let units: f64 = widths.iter().map(|&w| w as f64).sum();
    F64_BYTES * outputs * batch as f64 * units
}
