//! The Linear layer `a = h Wᵀ + b` (SPEC §1) with every rule the methods compose
//! ([`LayerRules`]): forward, gradient, forward tangent, and curvature through it. Batches
//! are row-major: row n of `h` is sample n, so `a = h Wᵀ + b` is `[N, out]`. Its parameters
//! are the weight `W` `[out, in]` (row-major) and then the bias `b` `[out]`.

use std::borrow::Cow;
use std::ops::Range;

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis};

use crate::nn::image::Form;
use crate::nn::kernels;
use crate::nn::layer::{LayerCache, LayerRules, Point};

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
    bias: Option<ArrayView1<f64>>,
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
        Some(bias) => row_major(bias.insert_axis(Axis(0))),
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
pub fn summed_outer_products(left: ArrayView2<f64>, right: ArrayView2<f64>) -> Array2<f64> {
    let mut product = Array2::zeros((left.ncols(), right.ncols()));
    write_summed_outer_products(
        left,
        right,
        product.as_slice_mut().expect("fresh arrays are row-major"),
    );
    product
}

/// [`summed_outer_products`] written over `out` (row-major), the same numbers: the matrix
/// product into `out` directly, or for one sample the outer product row by row.
pub fn write_summed_outer_products(left: ArrayView2<f64>, right: ArrayView2<f64>, out: &mut [f64]) {
    let shape = (left.ncols(), right.ncols());
    if left.nrows() != 1 {
        let mut product = ArrayViewMut2::from_shape(shape, out).expect("one value per element");
        general_mat_mul(1.0, &left.t(), &right, 0.0, &mut product);
        return;
    }
    kernels::write_outer_product(&row_major(left), &row_major(right), out);
}

/// `Σ_n rows[n]`, written over `out`.
fn write_column_sums(rows: ArrayView2<f64>, out: &mut [f64]) {
    for (o, sum) in out.iter_mut().zip(rows.sum_axis(Axis(0))) {
        *o = sum;
    }
}

/// `(Σ_n left[n]ᵀ right[n], Σ_n left[n])` appended to `out`, the same numbers as
/// [`write_summed_outer_products`] and [`write_column_sums`]: for one sample each value
/// written once, row by row (a fresh buffer is not filled first).
fn append_outer_products_and_sums(
    left: ArrayView2<f64>,
    right: ArrayView2<f64>,
    out: &mut Vec<f64>,
) {
    let start = out.len();
    if left.nrows() == 1 {
        kernels::append_outer_product(&row_major(left), &row_major(right), out);
    } else {
        out.resize(start + left.ncols() * right.ncols(), 0.0);
        write_summed_outer_products(left, right, &mut out[start..]);
    }
    out.extend(left.sum_axis(Axis(0)));
}

/// A Linear layer `a = h Wᵀ + b` of `inputs` inputs and `outputs` outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Linear {
    pub inputs: usize,
    pub outputs: usize,
}

impl Linear {
    /// The weight `W` `[out, in]` in the layer's parameters.
    pub fn weight<'a>(&self, params: &'a [f64]) -> ArrayView2<'a, f64> {
        ArrayView2::from_shape((self.outputs, self.inputs), &params[..self.weights()])
            .expect("a Linear layer's parameters start with its weight")
    }

    /// The bias `b` `[out]` in the layer's parameters.
    pub fn bias<'a>(&self, params: &'a [f64]) -> ArrayView1<'a, f64> {
        ArrayView1::from(&params[self.weights()..])
    }

    /// The number of weights, out·in.
    fn weights(&self) -> usize {
        self.outputs * self.inputs
    }
}

impl LayerRules for Linear {
    fn inputs(&self) -> usize {
        self.inputs
    }

    fn outputs(&self) -> usize {
        self.outputs
    }

    /// A flat vector.
    fn input_form(&self) -> Option<Form> {
        Some(Form::Flat(self.inputs))
    }

    /// A flat vector of `outputs`, from a flat vector of `inputs` only.
    fn output_form(&self, input: Form) -> Result<Form, String> {
        match input {
            Form::Flat(width) if width == self.inputs => Ok(Form::Flat(self.outputs)),
            Form::Flat(width) => Err(format!(
                "linear takes {} inputs, but gets {width}",
                self.inputs
            )),
            Form::Image(shape) => Err(format!(
                "linear needs a flat input, but gets a {shape} image (put flatten before it)"
            )),
        }
    }

    fn param_shapes(&self) -> Vec<(&'static str, Vec<usize>)> {
        vec![
            ("weight", vec![self.outputs, self.inputs]),
            ("bias", vec![self.outputs]),
        ]
    }

    /// `a = h Wᵀ + b`.
    fn forward(&self, params: &[f64], input: &Array2<f64>) -> Array2<f64> {
        affine(input.view(), self.weight(params), Some(self.bias(params)))
    }

    fn cache(&self, _input: &Array2<f64>, _output: &Array2<f64>) -> LayerCache {
        LayerCache::Nothing
    }

    fn param_count(&self) -> usize {
        self.weights() + self.outputs
    }

    /// `γ = δ W` for every row.
    fn backprop_rows(&self, at: &Point, rows: &Array2<f64>) -> Array2<f64> {
        times(rows.view(), self.weight(at.params))
    }

    /// `∂L/∂W = δᵀ h`, `∂L/∂b = Σ_n δ_n`.
    fn param_gradient(&self, at: &Point, grad: &Array2<f64>, out: &mut [f64]) {
        let (weight, bias) = out.split_at_mut(self.weights());
        write_summed_outer_products(grad.view(), at.input.view(), weight);
        write_column_sums(grad.view(), bias);
    }

    fn append_param_gradient(&self, at: &Point, grad: &Array2<f64>, out: &mut Vec<f64>) {
        append_outer_products_and_sums(grad.view(), at.input.view(), out);
    }

    /// In one sweep over `W` per sample, `γ = δ W` and `c = d (W∘W)`: the curvature with
    /// the off-diagonal terms of `Wᵀ diag(d) W` dropped (an affine map has no residual).
    fn backprop_diag(
        &self,
        at: &Point,
        grad: &Array2<f64>,
        diag: &Array2<f64>,
        _residual: bool,
    ) -> (Array2<f64>, Array2<f64>) {
        let samples = grad.nrows();
        let weight = row_major(self.weight(at.params));
        let mut input_grad = Array2::zeros((samples, self.inputs));
        let mut input_diag = Array2::zeros((samples, self.inputs));
        for n in 0..samples {
            kernels::add_transposed_and_squared_products(
                &weight,
                &row_major(grad.row(n).insert_axis(Axis(0))),
                &row_major(diag.row(n).insert_axis(Axis(0))),
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

    /// SPEC §1.1: `a` is affine in `W` and samples do not interact, so exactly
    /// `∂²L/∂W_oi² = Σ_n h_{n,i}² · D_n[o]` and `∂²L/∂b_o² = Σ_n D_n[o]`.
    fn param_diag(&self, diag: &Array2<f64>, squared_input: &Array2<f64>, out: &mut [f64]) {
        let (weight, bias) = out.split_at_mut(self.weights());
        write_summed_outer_products(diag.view(), squared_input.view(), weight);
        write_column_sums(diag.view(), bias);
    }

    fn append_param_diag(
        &self,
        diag: &Array2<f64>,
        squared_input: &Array2<f64>,
        out: &mut Vec<f64>,
    ) {
        append_outer_products_and_sums(diag.view(), squared_input.view(), out);
    }

    /// None: an affine map has no second-order term.
    fn residual_diag(&self, _at: &Point, _grad: &Array2<f64>) -> Option<Array2<f64>> {
        None
    }

    fn diag_is_outer_product(&self) -> bool {
        true
    }

    /// Row r (sample n): `∂a/∂W ᵀ s_r = s_r ⊗ h_n` and `∂a/∂b ᵀ s_r = s_r`.
    fn row_param_gradients(&self, at: &Point, rows: &Array2<f64>) -> Array2<f64> {
        let samples = at.input.nrows();
        let mut gradients = Array2::zeros((rows.nrows(), self.param_count()));
        for (r, (row, mut out)) in rows
            .rows()
            .into_iter()
            .zip(gradients.rows_mut())
            .enumerate()
        {
            let out = out.as_slice_mut().expect("fresh arrays are row-major");
            let (weight, bias) = out.split_at_mut(self.weights());
            let input = at.input.row(r % samples);
            for (chunk, &s) in weight.chunks_exact_mut(self.inputs).zip(&row) {
                for (w, &h) in chunk.iter_mut().zip(&input) {
                    *w = s * h;
                }
            }
            for (b, &s) in bias.iter_mut().zip(&row) {
                *b = s;
            }
        }
        gradients
    }

    /// Weight `(o, i)`: `h_n[i]` at output o, zero elsewhere; bias o: 1 at output o.
    fn unit_param_tangents(&self, at: &Point, params: Range<usize>) -> Array2<f64> {
        let samples = at.input.nrows();
        let mut tangents = Array2::zeros((params.len() * samples, self.outputs));
        for (k, index) in params.enumerate() {
            for n in 0..samples {
                let row = k * samples + n;
                if index < self.weights() {
                    let (o, i) = (index / self.inputs, index % self.inputs);
                    tangents[[row, o]] = at.input[[n, i]];
                } else {
                    tangents[[row, index - self.weights()]] = 1.0;
                }
            }
        }
        tangents
    }

    /// SPEC §2 (kfac): `G_oo = Σ_n d_n[o]`, `A_ii = (1/N) Σ_n h_{n,i}²`; weights
    /// `G_oo · A_ii`, biases `G_oo`.
    fn kfac_diag(&self, diag: &Array2<f64>, squared_input: &Array2<f64>, out: &mut [f64]) {
        let output = diag.sum_axis(Axis(0));
        let input = squared_input.sum_axis(Axis(0)) / squared_input.nrows() as f64;
        let (weight, bias) = out.split_at_mut(self.weights());
        kernels::write_outer_product(&output.to_vec(), &input.to_vec(), weight);
        bias.copy_from_slice(&output.to_vec());
    }

    /// `ȧ = ḣ Wᵀ + h Ẇ_mᵀ + ḃ_m` (direction m's rows).
    fn forward_tangent(
        &self,
        at: &Point,
        input_tangent: Option<&Array2<f64>>,
        param_tangents: &[&[f64]],
        rows: usize,
    ) -> Array2<f64> {
        let mut tangent = match input_tangent {
            Some(tangent) => affine(tangent.view(), self.weight(at.params), None),
            None => Array2::zeros((rows, self.outputs)),
        };
        let samples = at.input.nrows();
        for (m, direction) in param_tangents.iter().enumerate() {
            let own = affine(
                at.input.view(),
                self.weight(direction),
                Some(self.bias(direction)),
            );
            let mut block = tangent.slice_mut(s![m * samples..(m + 1) * samples, ..]);
            block += &own;
        }
        tangent
    }

    /// `γ̇ = δ̇ W + δ Ẇ_m` (direction m's rows).
    fn backprop_tangent(
        &self,
        at: &Point,
        grad: &Array2<f64>,
        grad_tangent: &Array2<f64>,
        _input_tangent: Option<&Array2<f64>>,
        param_tangents: &[&[f64]],
    ) -> Array2<f64> {
        let mut tangent = times(grad_tangent.view(), self.weight(at.params));
        let samples = grad.nrows();
        for (m, direction) in param_tangents.iter().enumerate() {
            let own = times(grad.view(), self.weight(direction));
            let mut block = tangent.slice_mut(s![m * samples..(m + 1) * samples, ..]);
            block += &own;
        }
        tangent
    }

    /// `(∂L/∂W)˙ = δ̇_mᵀ h + δᵀ ḣ_m`, `(∂L/∂b)˙ = Σ_n δ̇_m`.
    fn param_hessian_vector_product(
        &self,
        at: &Point,
        grad: &Array2<f64>,
        grad_tangent: &Array2<f64>,
        input_tangent: Option<&Array2<f64>>,
        out: &mut [&mut [f64]],
    ) {
        let samples = grad.nrows();
        for (m, out) in out.iter_mut().enumerate() {
            let rows = s![m * samples..(m + 1) * samples, ..];
            let (weight, bias) = out.split_at_mut(self.weights());
            write_summed_outer_products(grad_tangent.slice(rows), at.input.view(), weight);
            if let Some(tangent) = input_tangent {
                let second = summed_outer_products(grad.view(), tangent.slice(rows));
                for (w, &v) in weight.iter_mut().zip(&second) {
                    *w += v;
                }
            }
            write_column_sums(grad_tangent.slice(rows), bias);
        }
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
            let product = affine(a.view(), weight.view(), Some(bias.view()));
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
            &summed_outer_products(one_left.view(), one_right.view()),
            &one_left.t().dot(&one_right),
        );
        let left = array![[0.3, -0.0], [1.1, 2.0], [-0.7, 0.5]];
        let right = array![[1.0, -2.0, 0.0], [0.25, 0.0, -3.0], [4.0, 1.5, 0.5]];
        assert_same_bits(
            &summed_outer_products(left.view(), right.view()),
            &left.t().dot(&right),
        );
        // A single column on the right: the matrix kernel's product is column-major then.
        let column = array![[0.5], [-1.5], [2.0]];
        assert_same_bits(
            &summed_outer_products(left.view(), column.view()),
            &left.t().dot(&column),
        );
    }
}
