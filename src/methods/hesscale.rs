//! HesScale and its variants (SPEC §2): one backward walk that carries, next to the
//! gradient `δ`, a diagonal curvature `d` with the off-diagonal terms dropped:
//! `d_{l−1} = φ'(a_{l−1})² ⊙ (d_l (W_l∘W_l)) + φ''(a_{l−1}) ⊙ γ_{l−1}` (each layer's half of
//! it is that layer's rule, [`crate::nn::LayerRules::backprop_diag`]).
//! `hesscale_gn` switches the residual term off; `bl89` starts from the elementwise output
//! curvature. One implementation, three names.

use ndarray::Array2;

use crate::methods::{CostClass, Diagonal, Draws, Estimate, MethodDef};
use crate::nn::work::{forward_work, weights, F64_BYTES};
use crate::nn::{LayerRules, Linearization};

/// HesScale: exact output curvature, off-diagonals dropped, residual kept.
pub const HESSCALE: MethodDef = MethodDef {
    name: "hesscale",
    estimates: "Hessian diagonal: exact output curvature, off-diagonals dropped, residual kept",
    cost: CostClass::Backward,
    draws: Draws::None,
    estimate: Estimate::FromLinearization(|linearization, _, _| {
        recursion(linearization, HesScaleOptions::HESSCALE)
    }),
    work,
    memory,
};

/// HesScale without the residual `φ'' ⊙ γ` term (a Gauss–Newton variant).
pub const HESSCALE_GN: MethodDef = MethodDef {
    name: "hesscale_gn",
    estimates: "GGN diagonal: hesscale without the residual term (>= 0)",
    cost: CostClass::Backward,
    draws: Draws::None,
    estimate: Estimate::FromLinearization(|linearization, _, _| {
        recursion(linearization, HesScaleOptions::HESSCALE_GN)
    }),
    work,
    memory,
};

/// Becker & LeCun 1989: HesScale with log-softmax treated as elementwise.
pub const BL89: MethodDef = MethodDef {
    name: "bl89",
    estimates:
        "Hessian diagonal: hesscale with log-softmax treated as elementwise (Becker & LeCun 1989)",
    cost: CostClass::Backward,
    draws: Draws::None,
    estimate: Estimate::FromLinearization(|linearization, _, _| {
        recursion(linearization, HesScaleOptions::BL89)
    }),
    work,
    memory,
};

/// Where the curvature recursion starts at the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputCurvature {
    /// The exact diagonal of `∇²_z ℓ` (hesscale, hesscale_gn).
    Exact,
    /// BL89's seed: log-softmax treated as elementwise
    /// ([`crate::nn::OutputLoss::elementwise_hessian_diag`]).
    Elementwise,
}

/// The switches that make hesscale, hesscale_gn and bl89 out of one recursion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HesScaleOptions {
    /// Keep the residual term `φ'' ⊙ γ` (false: the Gauss–Newton variant).
    pub residual: bool,
    /// The output seed `d_L`.
    pub output: OutputCurvature,
}

impl HesScaleOptions {
    /// hesscale: exact output seed, residual kept.
    pub const HESSCALE: HesScaleOptions = HesScaleOptions {
        residual: true,
        output: OutputCurvature::Exact,
    };
    /// hesscale_gn: exact output seed, residual dropped.
    pub const HESSCALE_GN: HesScaleOptions = HesScaleOptions {
        residual: false,
        output: OutputCurvature::Exact,
    };
    /// bl89: elementwise output seed, residual kept.
    pub const BL89: HesScaleOptions = HesScaleOptions {
        residual: true,
        output: OutputCurvature::Elementwise,
    };
}

/// The HesScale-family estimate of the per-sample curvature at the output of every layer
/// with parameters (an MLP's pre-activations): from the output seed, down the backward
/// walk carrying the gradient and the diagonal curvature together, each layer's
/// [`crate::nn::LayerRules::backprop_diag`] (through a Linear layer one fused sweep per
/// sample, `γ = δW` and `d(W∘W)` together, so the method reads each weight once below the
/// forward pass, as a gradient does).
pub fn recursion(linearization: &Linearization, options: HesScaleOptions) -> Diagonal {
    let loss = linearization.loss();
    let output = linearization.output();
    let grad = loss.gradient(output);
    let diag = match options.output {
        OutputCurvature::Exact => loss.hessian_diag(output),
        OutputCurvature::Elementwise => loss.elementwise_hessian_diag(output),
    };
    let mut diagonals = vec![Array2::zeros((0, 0)); linearization.mlp().depth()];
    linearization.walk_backward(
        0..linearization.layers(),
        (grad, diag),
        |at, (grad, diag)| {
            let below = at.has_below().then(|| {
                at.layer()
                    .backprop_diag(&at.point(), &grad, &diag, options.residual)
            });
            if let Some(slot) = at.slot() {
                diagonals[slot] = diag;
            }
            below
        },
    );
    Diagonal::PerSample(diagonals)
}

/// A forward pass, one fused backward sweep (two multiply-adds per weight and sample) and
/// the weight diagonal (`N·P`).
fn work(widths: &[usize], batch: usize, _draws: usize) -> f64 {
    forward_work(widths, batch) + 3.0 * batch as f64 * weights(widths)
}

/// The gradient and curvature of every layer, `4·N·U` floats.
fn memory(widths: &[usize], batch: usize, _draws: usize) -> f64 {
    let units: f64 = widths.iter().map(|&w| w as f64).sum();
    F64_BYTES * 4.0 * batch as f64 * units
}
