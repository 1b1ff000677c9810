//! HesScale and its variants (SPEC §2): one backward pass that carries, next to the
//! gradient `δ`, a diagonal curvature `d` with the off-diagonal terms dropped:
//! `d_{l−1} = φ'(a_{l−1})² ⊙ (d_l (W_l∘W_l)) + φ''(a_{l−1}) ⊙ γ_{l−1}`.
//! `hesscale_gn` switches the residual term off; `bl89` starts from the elementwise output
//! curvature. One implementation, three names.

use ndarray::Array2;

use crate::nn::{LayerParams, ParamTensors, Problem};

/// Where the curvature recursion starts at the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputCurvature {
    /// The exact diagonal of `∇²_z ℓ` (hesscale, hesscale_gn).
    Exact,
    /// BL89's seed: log-softmax treated as elementwise ([`crate::nn::Loss::elementwise_hessian_diag`]).
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
}

/// The HesScale-family estimate of the Hessian diagonal of every weight and bias:
/// forward, then one fused backward sweep per layer (`γ = δW` and `d(W∘W)` together, see
/// [`LayerParams::backprop_gradient_and_diag`]), and SPEC §1.1 per layer.
pub fn hessian_diag(problem: &Problem, options: HesScaleOptions) -> ParamTensors {
    let mlp = problem.mlp();
    let pass = problem.forward();
    let output = pass.output();
    let mut preact_grad = problem.output_gradient(&pass);
    let mut preact_diag = match options.output {
        OutputCurvature::Exact => problem.loss().hessian_diag(output, problem.reduction()),
        OutputCurvature::Elementwise => {
            problem
                .loss()
                .elementwise_hessian_diag(output, problem.targets(), problem.reduction())
        }
    };
    let mut diagonal = Vec::with_capacity(mlp.depth());
    for l in (0..mlp.depth()).rev() {
        diagonal.push(LayerParams::param_diag(&preact_diag, &pass.inputs[l]));
        if l == 0 {
            break;
        }
        let (hidden_grad, hidden_diag) =
            mlp.layers[l].backprop_gradient_and_diag(&preact_grad, &preact_diag);
        let activation = mlp.activations[l - 1];
        let preacts = &pass.preacts[l - 1];
        let slope = activation.first_derivatives(preacts);
        preact_diag = Array2::from_shape_fn(preacts.raw_dim(), |(n, i)| {
            let gauss_newton = slope[[n, i]] * slope[[n, i]] * hidden_diag[[n, i]];
            if options.residual {
                gauss_newton + activation.second_derivative(preacts[[n, i]]) * hidden_grad[[n, i]]
            } else {
                gauss_newton
            }
        });
        preact_grad = slope * &hidden_grad;
    }
    diagonal.reverse();
    diagonal
}
