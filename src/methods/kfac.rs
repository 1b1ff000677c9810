//! `kfac:M` (SPEC §2): the diagonal of the KFAC approximation `G ⊗ A` of each layer's
//! GGN block. `G = Σ_{m,n} s sᵀ` from the ggn_mc columns at the layer's pre-activations,
//! `A = (1/N) Σ_n h hᵀ` from its inputs; the weight diagonal is `G_oo · A_ii`, the bias
//! diagonal `G_oo`. For N = 1 this is exactly ggn_mc:M on the same draws.

use ndarray::Axis;
use rand_chacha::ChaCha8Rng;

use crate::methods::diagonal::KroneckerFactors;
use crate::methods::{ggn_mc, CostClass, Diagonal, Draws, Estimate, MethodDef};
use crate::nn::{Linearization, SquareRootFactor};

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
    Diagonal::Kronecker(
        ggn_mc::sampled_preact_diags(linearization, factor, draws, rng)
            .iter()
            .zip(linearization.squared_inputs())
            .map(|(diag, squared)| KroneckerFactors {
                output: diag.sum_axis(Axis(0)),
                input: squared.sum_axis(Axis(0)) / samples,
            })
            .collect(),
    )
}
