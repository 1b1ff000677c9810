//! `kfac:M` (SPEC §2): the diagonal of the KFAC approximation `G ⊗ A` of each layer's
//! GGN block. `G = Σ_{m,n} s sᵀ` from the ggn_mc columns at the layer's pre-activations,
//! `A = (1/N) Σ_n h hᵀ` from its inputs; the weight diagonal is `G_oo · A_ii`, the bias
//! diagonal `G_oo`. For N = 1 this is exactly ggn_mc:M on the same draws.

use ndarray::Axis;
use rand_chacha::ChaCha8Rng;

use crate::methods::ggn_mc::sampled_preact_columns;
use crate::nn::{LayerParams, ParamTensors, Problem};

/// The kfac:M estimate of every weight and bias diagonal.
pub fn kfac_diag(problem: &Problem, draws: usize, rng: &mut ChaCha8Rng) -> ParamTensors {
    let pass = problem.forward();
    let samples = problem.batch_size() as f64;
    sampled_preact_columns(problem, &pass, draws, rng)
        .iter()
        .zip(&pass.inputs)
        .map(|(columns, inputs)| {
            let output_factor = columns.mapv(|s| s * s).sum_axis(Axis(0));
            let input_factor = inputs.mapv(|h| h * h).sum_axis(Axis(0)) / samples;
            let weight = output_factor
                .view()
                .insert_axis(Axis(1))
                .dot(&input_factor.view().insert_axis(Axis(0)));
            LayerParams {
                weight,
                bias: output_factor,
            }
        })
        .collect()
}
