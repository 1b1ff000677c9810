//! The Linear layer `a = h Wᵀ + b` (SPEC §1) with every rule the methods compose: forward,
//! gradient, forward tangent, and the three ways curvature passes through it. Batches are
//! row-major: row n of `h` is sample n, so `a = h Wᵀ + b` is `[N, out]`.

use ndarray::{Array1, Array2, ArrayView2, Axis};

/// `a · b`, for `a` a batch of rows (`h Wᵀ`, `δ W`). A single row (one sample) is
/// computed as `(bᵀ aᵀ)ᵀ`: the matrix kernel pads the rows of its result to panels of 8
/// and the columns to panels of 4, so the transposed product does half the wasted work,
/// and it packs `b` along its rows. Each element is the same chain of multiply-adds in the
/// same order either way, so the numbers are the same to the bit (tested below).
pub fn rows_times(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
    if a.nrows() == 1 {
        b.t().dot(&a.t()).reversed_axes()
    } else {
        a.dot(&b)
    }
}

/// `Σ_n left[n]ᵀ right[n]`, shape [left columns, right columns]: the outer products of
/// the rows of two batches, summed over the samples (`δᵀ h` and the like). A batch is one
/// matrix product; a single sample is a plain outer product written row by row, which
/// gives the same numbers (one rounding per element, zeros as +0 like the matrix
/// kernel's) without the matrix kernel's slow rank-1 writes into a row-major result.
pub fn summed_outer_products(left: &Array2<f64>, right: &Array2<f64>) -> Array2<f64> {
    if left.nrows() != 1 {
        return left.t().dot(right);
    }
    let (left, right) = (left.row(0), right.row(0));
    let mut values = Vec::with_capacity(left.len() * right.len());
    for &l in &left {
        values.extend(right.iter().map(|&r| 0.0 + l * r));
    }
    Array2::from_shape_vec((left.len(), right.len()), values).expect("the length is rows x columns")
}

/// A weight `[out, in]` and a bias `[out]`: one Linear layer's parameters, or anything
/// shaped like them (a gradient, a Hessian diagonal).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerParams {
    pub weight: Array2<f64>,
    pub bias: Array1<f64>,
}

impl LayerParams {
    /// A weight and bias of zeros for a layer with `inputs` inputs and `outputs` outputs.
    pub fn zeros(outputs: usize, inputs: usize) -> Self {
        LayerParams {
            weight: Array2::zeros((outputs, inputs)),
            bias: Array1::zeros(outputs),
        }
    }

    /// The layer's input width (columns of the weight).
    pub fn inputs(&self) -> usize {
        self.weight.ncols()
    }

    /// The layer's output width (rows of the weight).
    pub fn outputs(&self) -> usize {
        self.weight.nrows()
    }

    /// The number of scalar parameters: out·in + out.
    pub fn len(&self) -> usize {
        self.weight.len() + self.bias.len()
    }

    /// True for a layer of no parameters (never the case for a checked model).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when every weight and bias is a finite number (no NaN, no infinity).
    pub fn is_finite(&self) -> bool {
        self.weight.iter().chain(&self.bias).all(|v| v.is_finite())
    }

    /// Forward: `a = h Wᵀ + b`.
    pub fn forward(&self, inputs: &Array2<f64>) -> Array2<f64> {
        rows_times(inputs.view(), self.weight.t()) + &self.bias
    }

    /// Gradient with respect to the input: `γ = ∂L/∂h = δ W`.
    pub fn input_gradient(&self, preact_grad: &Array2<f64>) -> Array2<f64> {
        rows_times(preact_grad.view(), self.weight.view())
    }

    /// Gradient with respect to the parameters: `∂L/∂W = δᵀ h`, `∂L/∂b = Σ_n δ_n`.
    pub fn param_gradient(preact_grad: &Array2<f64>, inputs: &Array2<f64>) -> LayerParams {
        LayerParams {
            weight: summed_outer_products(preact_grad, inputs),
            bias: preact_grad.sum_axis(Axis(0)),
        }
    }

    /// Forward tangent (R-op) of the layer: `ȧ = ḣ Wᵀ + h Ẇᵀ + ḃ` for a tangent of the
    /// input `ḣ` and of the parameters `(Ẇ, ḃ)`.
    pub fn forward_tangent(
        &self,
        inputs: &Array2<f64>,
        input_tangent: &Array2<f64>,
        param_tangent: &LayerParams,
    ) -> Array2<f64> {
        rows_times(input_tangent.view(), self.weight.t())
            + rows_times(inputs.view(), param_tangent.weight.t())
            + &param_tangent.bias
    }

    /// Tangent (R-op) of the input gradient `γ = δ W`: `γ̇ = δ̇ W + δ Ẇ`, for the gradient
    /// `δ` at the pre-activations, its tangent `δ̇` and the parameters' tangent `Ẇ`.
    pub fn input_gradient_tangent(
        &self,
        preact_grad: &Array2<f64>,
        preact_grad_tangent: &Array2<f64>,
        param_tangent: &LayerParams,
    ) -> Array2<f64> {
        self.input_gradient(preact_grad_tangent)
            + rows_times(preact_grad.view(), param_tangent.weight.view())
    }

    /// Tangent (R-op) of the parameter gradient: `(∂L/∂W)˙ = δ̇ᵀ h + δᵀ ḣ`,
    /// `(∂L/∂b)˙ = Σ_n δ̇_n` — a block of the Hessian-vector product.
    pub fn param_gradient_tangent(
        preact_grad: &Array2<f64>,
        preact_grad_tangent: &Array2<f64>,
        inputs: &Array2<f64>,
        input_tangent: &Array2<f64>,
    ) -> LayerParams {
        let mut tangent = LayerParams::param_gradient(preact_grad_tangent, inputs);
        tangent.weight += &summed_outer_products(preact_grad, input_tangent);
        tangent
    }

    /// SPEC §1.1: `a` is affine in `W` and samples do not interact, so exactly
    /// `∂²L/∂W_oi² = Σ_n h_{n,i}² · D_n[o]` and `∂²L/∂b_o² = Σ_n D_n[o]`, where `D_n` is
    /// (an estimate of) the diagonal of the per-sample Hessian w.r.t. the pre-activations.
    pub fn param_diag(preact_diag: &Array2<f64>, inputs: &Array2<f64>) -> LayerParams {
        let inputs_squared = inputs.mapv(|h| h * h);
        LayerParams {
            weight: summed_outer_products(preact_diag, &inputs_squared),
            bias: preact_diag.sum_axis(Axis(0)),
        }
    }

    /// The HesScale pass through the layer, fused with the gradient's (SPEC §2): in one
    /// sweep over `W`, `γ = δ W` and `c = d (W∘W)` (curvature with the off-diagonal terms
    /// of `Wᵀ diag(d) W` dropped). Returns `(γ, c)`.
    pub fn backprop_gradient_and_diag(
        &self,
        preact_grad: &Array2<f64>,
        preact_diag: &Array2<f64>,
    ) -> (Array2<f64>, Array2<f64>) {
        let samples = preact_grad.nrows();
        let weight = self.weight.as_standard_layout();
        let mut input_grad = Array2::zeros((samples, self.inputs()));
        let mut input_diag = Array2::zeros((samples, self.inputs()));
        for n in 0..samples {
            let mut grad_row = input_grad.row_mut(n);
            let grad_out = grad_row
                .as_slice_mut()
                .expect("fresh arrays are contiguous");
            let mut diag_row = input_diag.row_mut(n);
            let diag_out = diag_row
                .as_slice_mut()
                .expect("fresh arrays are contiguous");
            for (o, weight_row) in weight.rows().into_iter().enumerate() {
                let weight_row = weight_row.to_slice().expect("standard layout rows");
                let delta = preact_grad[[n, o]];
                let curvature = preact_diag[[n, o]];
                for ((g, c), &w) in grad_out.iter_mut().zip(diag_out.iter_mut()).zip(weight_row) {
                    *g += delta * w;
                    *c += curvature * w * w;
                }
            }
        }
        (input_grad, input_diag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// The same bits as the matrix product, signed zeros included.
    fn assert_same_bits(actual: &Array2<f64>, expected: &Array2<f64>) {
        assert_eq!(actual.dim(), expected.dim());
        for (a, e) in actual.iter().zip(expected) {
            assert_eq!(a.to_bits(), e.to_bits(), "{a} vs {e}");
        }
    }

    /// Values in [−0.5, 0.5) from a fixed linear congruential sequence.
    fn filled(rows: usize, columns: usize, state: &mut u64) -> Array2<f64> {
        Array2::from_shape_simple_fn((rows, columns), || {
            *state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (*state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        })
    }

    #[test]
    fn rows_times_matches_the_matrix_product_bit_for_bit() {
        let mut state = 1;
        // Inner sizes below and above the kernel's blocks of 256.
        for (rows, inner, columns) in [
            (1, 512, 512),
            (1, 600, 300),
            (1, 257, 9),
            (1, 5, 1),
            (3, 300, 7),
        ] {
            let a = filled(rows, inner, &mut state);
            let weight = filled(columns, inner, &mut state);
            let square = filled(inner, columns, &mut state);
            let product = rows_times(a.view(), weight.t());
            assert!(product.is_standard_layout());
            assert_same_bits(&product, &a.dot(&weight.t()));
            assert_same_bits(&rows_times(a.view(), square.view()), &a.dot(&square));
        }
    }

    #[test]
    fn summed_outer_products_match_the_matrix_product_bit_for_bit() {
        let one_left = array![[0.3, -0.0, 0.0, -1.7, 1e-300]];
        let one_right = array![[-2.5, 0.0, -0.0, 0.1, 1e300, 3.0, -1e-300]];
        assert_same_bits(
            &summed_outer_products(&one_left, &one_right),
            &one_left.t().dot(&one_right),
        );
        let left = array![[0.3, -0.0], [1.1, 2.0], [-0.7, 0.5]];
        let right = array![[1.0, -2.0, 0.0], [0.25, 0.0, -3.0], [4.0, 1.5, 0.5]];
        assert_same_bits(&summed_outer_products(&left, &right), &left.t().dot(&right));
    }
}
