//! The model side of the problem: Linear layers, activations, losses, the MLP that chains
//! them, and the checked [`Problem`] (model + batch) every method works on. Each rule sits
//! next to its derivatives; the methods in `crate::methods` only compose them.

pub mod activation;
pub mod init;
pub mod kernels;
pub mod linear;
pub mod linearization;
pub mod loss;
pub mod policy;
pub mod problem;
pub mod work;

use ndarray::Array2;

pub use activation::Activation;
pub use linear::LayerParams;
pub use linearization::Linearization;
pub use loss::{
    Lack, Loss, LossKind, Need, OutputLoss, Reduction, SquareRootFactor, SupervisedLoss, Targets,
};
pub use policy::{Likelihood, Policy, PolicyLoss, PolicyTargets, Surrogate};
pub use problem::Problem;

/// Anything shaped like the MLP's parameters, one [`LayerParams`] per Linear layer:
/// gradients, Hessian diagonals and their estimates.
pub type ParamTensors = Vec<LayerParams>;

/// A multi-layer perceptron: `a_l = W_l h_{l−1} + b_l`, `h_l = φ_l(a_l)` for hidden
/// layers, and the output `z = a_L` with no activation (SPEC §1).
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    /// The Linear layers, input to output.
    pub layers: Vec<LayerParams>,
    /// One activation after each hidden layer: `activations.len() == layers.len() − 1`.
    pub activations: Vec<Activation>,
}

/// What a forward pass keeps for the backward passes.
#[derive(Clone, Debug)]
pub struct ForwardPass {
    /// `h_{l−1}`, the input of each layer l, shape [N, in_l]; `inputs[0] = x`.
    pub inputs: Vec<Array2<f64>>,
    /// `a_l`, the pre-activations of each layer, shape [N, out_l].
    pub preacts: Vec<Array2<f64>>,
}

impl ForwardPass {
    /// The network output `z = a_L`.
    pub fn output(&self) -> &Array2<f64> {
        self.preacts.last().expect("an MLP has at least one layer")
    }
}

/// What a backward pass of the gradient produces.
#[derive(Clone, Debug)]
pub struct BackwardPass {
    /// `δ_l = ∂L/∂a_l` for every layer, shape [N, out_l].
    pub preact_grads: Vec<Array2<f64>>,
    /// `γ_l = ∂L/∂h_l = δ_{l+1} W_{l+1}` for every hidden layer l (len = layers − 1).
    pub hidden_grads: Vec<Array2<f64>>,
}

impl Mlp {
    /// The number of Linear layers L.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// The input width.
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs()
    }

    /// The output width D.
    pub fn outputs(&self) -> usize {
        self.layers[self.depth() - 1].outputs()
    }

    /// The number of scalar parameters.
    pub fn n_params(&self) -> usize {
        self.layers.iter().map(LayerParams::len).sum()
    }

    /// Zeros shaped like the parameters.
    pub fn zeros_like_params(&self) -> ParamTensors {
        self.layers
            .iter()
            .map(|layer| LayerParams::zeros(layer.outputs(), layer.inputs()))
            .collect()
    }

    /// Forward pass over a batch `x` of shape [N, inputs]:
    /// `a_l = h_{l−1} W_lᵀ + b_l`, `h_l = φ_l(a_l)`.
    pub fn forward(&self, x: &Array2<f64>) -> ForwardPass {
        let mut inputs = Vec::with_capacity(self.depth());
        let mut preacts = Vec::with_capacity(self.depth());
        let mut hidden = x.clone();
        for (l, layer) in self.layers.iter().enumerate() {
            let preact = layer.forward(&hidden);
            inputs.push(hidden);
            hidden = match self.activations.get(l) {
                Some(activation) => activation.forward(&preact),
                None => Array2::zeros((0, 0)),
            };
            preacts.push(preact);
        }
        ForwardPass { inputs, preacts }
    }

    /// Backward pass of the gradient from `δ_L = ∂L/∂z`:
    /// `γ_{l−1} = δ_l W_l`, `δ_{l−1} = φ'(a_{l−1}) ⊙ γ_{l−1}`.
    pub fn backward(&self, pass: &ForwardPass, output_grad: Array2<f64>) -> BackwardPass {
        let depth = self.depth();
        let mut preact_grads = vec![output_grad];
        let mut hidden_grads = Vec::with_capacity(depth - 1);
        for l in (1..depth).rev() {
            let delta = preact_grads
                .last()
                .expect("seeded with the output gradient");
            let hidden_grad = self.layers[l].input_gradient(delta);
            let preact_grad =
                self.activations[l - 1].first_derivatives(&pass.preacts[l - 1]) * &hidden_grad;
            hidden_grads.push(hidden_grad);
            preact_grads.push(preact_grad);
        }
        preact_grads.reverse();
        hidden_grads.reverse();
        BackwardPass {
            preact_grads,
            hidden_grads,
        }
    }

    /// The parameter gradient of a forward/backward pair: `∂L/∂W_l = δ_lᵀ h_{l−1}`,
    /// `∂L/∂b_l = Σ_n δ_l`.
    pub fn param_gradient(&self, pass: &ForwardPass, backward: &BackwardPass) -> ParamTensors {
        backward
            .preact_grads
            .iter()
            .zip(&pass.inputs)
            .map(|(delta, inputs)| LayerParams::param_gradient(delta, inputs))
            .collect()
    }
}
