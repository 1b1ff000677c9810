//! `kfac:M` (SPEC §2): the diagonal of the KFAC approximation `G ⊗ A` of each layer's
//! GGN block. `G = Σ_{m,n} s sᵀ` from the ggn_mc columns at the layer's pre-activations,
//! `A = (1/N) Σ_n h hᵀ` from its inputs; the weight diagonal is `G_oo · A_ii`, the bias
//! diagonal `G_oo`. For N = 1 this is exactly ggn_mc:M on the same draws.
//!
//! A convolution's is KFC's (Grosse & Martens 2016, SPEC §11): each layer's own rule
//! ([`crate::nn::LayerRules::kfac_diag`]) from the same per-sample diagonals; there the
//! identity with ggn_mc holds only for the other layers.

use ndarray::Axis;
use rand_chacha::ChaCha8Rng;

use crate::methods::diagonal::KroneckerFactors;
use crate::methods::{ggn_mc, CostClass, Diagonal, Draws, Estimate, MethodDef};
use crate::nn::{LayerRules, Linearization, SquareRootFactor};

/// The diagonal of the KFAC factors.
pub const KFAC: MethodDef = MethodDef {
    name: "kfac",
    estimates: "GGN diagonal: diagonal of the KFAC factors G_oo * A_ii from M Monte-Carlo columns",
    cost: CostClass::BackwardPerDraw,
    draws: Draws::MonteCarlo { in_all: &[1, 50] },
    estimate: Estimate::WithSquareRootFactor(estimate),
    work: ggn_mc::work,
    memory: ggn_mc::memory,
};

/// `G_oo = Σ_n D_n[o]` from the sampled per-sample diagonals of ggn_mc (its own draws),
/// `A_ii = (1/N) Σ_n h_{n,i}²`.
fn estimate(
    linearization: &Linearization,
    factor: &dyn SquareRootFactor,
    draws: usize,
    rng: &mut ChaCha8Rng,
) -> Diagonal {
    let samples = linearization.batch_size() as f64;
    let diags = ggn_mc::sampled_preact_diags(linearization, factor, draws, rng);
    if !linearization.mlp().diag_is_outer_product() {
        let mlp = linearization.mlp();
        let mut params = mlp.zeros_like_params();
        for (slot, (diag, squared)) in diags.iter().zip(linearization.squared_inputs()).enumerate()
        {
            let layer = &mlp.layers()[mlp.params().layout().layers()[slot].layer];
            layer.kfac_diag(diag, squared, params.layer_mut(slot));
        }
        return Diagonal::Params(params);
    }
    Diagonal::Kronecker(
        diags
            .iter()
            .zip(linearization.squared_inputs())
            .map(|(diag, squared)| KroneckerFactors {
                output: diag.sum_axis(Axis(0)),
                input: squared.sum_axis(Axis(0)) / samples,
            })
            .collect(),
    )
}
