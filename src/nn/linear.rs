//! The Linear layer `a = h Wᵀ + b` (SPEC §1) with every rule the methods compose: forward,
//! gradient, forward tangent, and the three ways curvature passes through it. Batches are
//! row-major: row n of `h` is sample n, so `a = h Wᵀ + b` is `[N, out]`.

use std::borrow::Cow;

use ndarray::{Array1, Array2, ArrayView2, Axis};

use crate::nn::kernels;

/// `matrix` as one row-major slice (copied only if it is not stored that way).
pub fn row_major(matrix: ArrayView2<'_, f64>) -> Cow<'_, [f64]> {
    match matrix.to_slice() {
        Some(values) => Cow::Borrowed(values),
        None => Cow::Owned(matrix.as_standard_layout().iter().copied().collect()),
    }
}

/// `array` in row-major order (the matrix kernel may return a product column-major).
fn standard(array: Array2<f64>) -> Array2<f64> {
    if array.is_standard_layout() {
        array
    } else {
        array.as_standard_layout().into_owned()
    }
}

/// A one-row array.
fn one_row(values: Vec<f64>) -> Array2<f64> {
    Array2::from_shape_vec((1, values.len()), values).expect("one row of any length")
}

/// `x Wᵀ + b` for a batch `x` ([N, in]) and a weight-shaped `W` ([out, in]): `[N, out]`.
/// One sample is one matrix–vector product ([`kernels::affine`]); a batch is a matrix
/// product.
pub fn affine(
    x: ArrayView2<f64>,
    weight: ArrayView2<f64>,
    bias: Option<&Array1<f64>>,
) -> Array2<f64> {
    if x.nrows() != 1 {
        let product = standard(x.dot(&weight.t()));
        return match bias {
            Some(bias) => product + bias,
            None => product,
        };
    }
    let outputs = weight.nrows();
    let zeros;
    let bias = match bias {
        Some(bias) => row_major(bias.view().insert_axis(Axis(0))),
        None => {
            zeros = vec![0.0; outputs];
            Cow::Borrowed(zeros.as_slice())
        }
    };
    let mut out = vec![0.0; outputs];
    kernels::affine(&row_major(weight), &row_major(x), &bias, &mut out);
    one_row(out)
}

/// `d W` for a batch `d` ([N, out]) and a weight-shaped `W` ([out, in]): `[N, in]`. One
/// sample is [`kernels::add_transposed_product`]; a batch is a matrix product.
pub fn times(d: ArrayView2<f64>, weight: ArrayView2<f64>) -> Array2<f64> {
    if d.nrows() != 1 {
        return standard(d.dot(&weight));
    }
    let mut out = vec![0.0; weight.ncols()];
    kernels::add_transposed_product(&row_major(weight), &row_major(d), &mut out);
    one_row(out)
}

/// `Σ_n left[n]ᵀ right[n]`, shape [left columns, right columns]: the outer products of
/// the rows of two batches, summed over the samples (`δᵀ h` and the like). A batch is one
/// matrix product; a single sample is a plain outer product written row by row, which
/// gives the same numbers (one rounding per element, zeros as +0 like the matrix
/// kernel's).
pub fn summed_outer_products(left: &Array2<f64>, right: &Array2<f64>) -> Array2<f64> {
    if left.nrows() != 1 {
        return left.t().dot(right);
    }
    let (left, right) = (row_major(left.view()), row_major(right.view()));
    let mut values = Vec::new();
    kernels::append_outer_product(&left, &right, &mut values);
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
        affine(inputs.view(), self.weight.view(), Some(&self.bias))
    }

    /// Gradient with respect to the input: `γ = ∂L/∂h = δ W`.
    pub fn input_gradient(&self, preact_grad: &Array2<f64>) -> Array2<f64> {
        times(preact_grad.view(), self.weight.view())
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
        affine(input_tangent.view(), self.weight.view(), None)
            + affine(
                inputs.view(),
                param_tangent.weight.view(),
                Some(&param_tangent.bias),
            )
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
            + times(preact_grad.view(), param_tangent.weight.view())
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
    /// sweep over `W` per sample, `γ = δ W` and `c = d (W∘W)` (curvature with the
    /// off-diagonal terms of `Wᵀ diag(d) W` dropped). Returns `(γ, c)`.
    pub fn backprop_gradient_and_diag(
        &self,
        preact_grad: &Array2<f64>,
        preact_diag: &Array2<f64>,
    ) -> (Array2<f64>, Array2<f64>) {
        let samples = preact_grad.nrows();
        let weight = row_major(self.weight.view());
        let mut input_grad = Array2::zeros((samples, self.inputs()));
        let mut input_diag = Array2::zeros((samples, self.inputs()));
        for n in 0..samples {
            kernels::add_transposed_and_squared_products(
                &weight,
                &row_major(preact_grad.row(n).insert_axis(Axis(0))),
                &row_major(preact_diag.row(n).insert_axis(Axis(0))),
                input_grad
                    .row_mut(n)
                    .as_slice_mut()
                    .expect("fresh arrays are contiguous"),
                input_diag
                    .row_mut(n)
                    .as_slice_mut()
                    .expect("fresh arrays are contiguous"),
            );
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
    fn one_sample_products_agree_with_the_matrix_products() {
        let mut state = 1;
        for (rows, inner, columns) in [
            (1, 512, 512),
            (1, 600, 300),
            (1, 257, 9),
            (1, 5, 1),
            (3, 300, 7),
        ] {
            let a = filled(rows, inner, &mut state);
            let weight = filled(columns, inner, &mut state);
            let bias = filled(1, columns, &mut state).row(0).to_owned();
            let product = affine(a.view(), weight.view(), Some(&bias));
            assert!(product.is_standard_layout());
            let expected = a.dot(&weight.t()) + &bias;
            assert!(
                product.abs_diff_eq(&expected, 1e-12),
                "{rows}x{inner}x{columns}"
            );
            let d = filled(rows, columns, &mut state);
            assert!(times(d.view(), weight.view()).abs_diff_eq(&d.dot(&weight), 1e-12));
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
