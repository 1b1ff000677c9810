//! `grad_squared` (SPEC §2): the square of the reduced loss gradient, `g ⊙ g`, the
//! second-moment statistic Adam uses. Not a per-sample quantity: the batch gradient is
//! squared, so it scales with the square of the reduction factor (SPEC §2.2.7). For one
//! sample `g_W = δ hᵀ`, so `g_W² = δ² ⊗ h²`: the per-sample form with `D = δ²` (for layers
//! whose diagonal is such an outer product).

use rand_chacha::ChaCha8Rng;

use crate::methods::{CostClass, Diagonal, Draws, Estimate, MethodDef};
use crate::nn::work::{gradient_work, F64_BYTES};
use crate::nn::Linearization;

/// The squared gradient.
pub const GRAD_SQUARED: MethodDef = MethodDef {
    name: "grad_squared",
    estimates: "the squared gradient g * g (Adam's second moment)",
    cost: CostClass::Backward,
    draws: Draws::None,
    estimate: Estimate::FromLinearization(estimate),
    work: |widths, batch, _| gradient_work(widths, batch),
    memory: |widths, _, _| F64_BYTES * crate::nn::work::parameters(widths),
};

fn estimate(linearization: &Linearization, _draws: usize, _rng: &mut ChaCha8Rng) -> Diagonal {
    let mlp = linearization.mlp();
    if linearization.batch_size() == 1 && mlp.diag_is_outer_product() {
        let backward = linearization.backward();
        return Diagonal::PerSample(
            mlp.params()
                .layout()
                .layers()
                .iter()
                .map(|slot| backward.at_output(slot.layer).mapv(|d| d * d))
                .collect(),
        );
    }
    Diagonal::Params(linearization.param_gradient().map(|v| v * v))
}
