//! The gradient of a problem, the unit of cost every method is compared with: through the
//! backward walk ([`Linearization::param_gradient`]), or for one sample of a multi-layer
//! perceptron by its own kernels (the fast path, tested bit for bit against the walk).

use crate::nn::kernels;
use crate::nn::linear::row_major;
use crate::nn::linearization::Linearization;
use crate::nn::loss::OutputLoss;
use crate::nn::network::PlainLayers;
use crate::nn::params::Params;
use crate::nn::problem::Problem;

impl<L: OutputLoss> Problem<L> {
    /// The gradient of the reduced loss with respect to every parameter (forward +
    /// backward): the unit of cost every method is compared with. Through the walk
    /// ([`Linearization::param_gradient`]), or, for one sample of a multi-layer
    /// perceptron, the fast path of [`Problem::gradient_of_one_sample`].
    pub fn gradient(&self) -> Params {
        match self.mlp().as_plain() {
            Some(plain) if self.batch_size() == 1 => self.gradient_of_one_sample(&plain),
            _ => Linearization::new(self).param_gradient(),
        }
    }

    /// The gradient of one sample of a multi-layer perceptron, the same numbers as the walk
    /// gives, without its arrays: down the layers `δ_{l−1} = φ'(a_{l−1}) ⊙ (W_lᵀ δ_l)` with
    /// one matrix–vector kernel per layer (φ' from `a` and `h`), then up the layers the
    /// flat gradient written once, in its layout's order: `∂L/∂W_l = δ_l h_{l−1}ᵀ`,
    /// `∂L/∂b_l = δ_l`. (Tested bit for bit against the walk.)
    pub fn gradient_of_one_sample(&self, plain: &PlainLayers) -> Params {
        let pass = self.forward();
        let depth = plain.linear.len();
        let mut deltas = vec![Vec::new(); depth];
        deltas[depth - 1] = self.output_gradient(&pass).into_iter().collect();
        for l in (1..depth).rev() {
            let (linear, params) = plain.linear[l];
            let mut below = vec![0.0; linear.inputs];
            kernels::add_transposed_product(
                &row_major(linear.weight(params)),
                &deltas[l],
                &mut below,
            );
            let activation = plain.activations[l - 1];
            let (preacts, hidden) = (pass.input_of(2 * l - 1).row(0), pass.input_of(2 * l).row(0));
            for ((g, &a), &h) in below.iter_mut().zip(preacts).zip(hidden) {
                *g *= activation.derivatives(a, h).0;
            }
            deltas[l - 1] = below;
        }
        let mut values = Vec::with_capacity(self.mlp().n_params());
        for (l, delta) in deltas.iter().enumerate() {
            kernels::append_outer_product(
                delta,
                &row_major(pass.input_of(2 * l).view()),
                &mut values,
            );
            // `∂L/∂b_l = Σ_n δ_l` of the one sample: `0 + δ_l`, as the walk's sum gives it.
            values.extend(delta.iter().map(|&d| 0.0 + d));
        }
        Params::from_values(self.mlp().params().layout(), values)
    }
}
