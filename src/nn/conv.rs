//! The convolution layer (SPEC §11): 2-D cross-correlation of a `C_in × H × W` image with
//! `C_out` filters of `k × k`, a stride s and zero padding p, plus a bias per filter, as
//! PyTorch's `nn.Conv2d`. Its parameters are the weight `[C_out, C_in, k, k]` (row-major)
//! and then the bias `[C_out]`.
//!
//! Everything goes through the *unfolded* input (im2col): per sample the `[K, P]` matrix
//! `U` of patches, `K = C_in·k·k` (row `q = (c·k + i)·k + j`), `P = H_out·W_out` output
//! positions (column `p = y·W_out + x`), `U[q, p] = x[c, y·s + i − p₀, x·s + j − p₀]` (zero
//! where that falls in the padding). With the weight as a `[C_out, K]` matrix the layer is
//! `Y = W U + b 1ᵀ`, `[C_out, P]`: exactly the sample's output row (channel-major, as
//! images are, `crate::nn::image`). So every rule is one matrix product per sample (or
//! per row of a row-stack) with an unfolding or its transpose, the *fold*
//! (`F(V)[idx(q, p)] += V[q, p]`, col2im), around it:
//!
//! * forward `Y = W U + b`; input Jacobian-transpose `Jᵀ G = F(Wᵀ G)`;
//! * gradient `∂L/∂W = Σ_n G_n U_nᵀ`, `∂L/∂b = Σ_n Σ_p G_n[·, p]`;
//! * forward tangent `Ẏ = W U̇ + Ẇ U + ḃ` with `U̇` the unfolded input tangent; backward
//!   tangent `F(Wᵀ Ġ + Ẇᵀ G)` (the layer is bilinear in W and x, so no second-order term
//!   of its own).
//!
//! Weights are shared between positions, so the outer-product identity of SPEC §1.1 does
//! not hold: the exact diagonal of `W[o, q]` is `Σ_n Σ_{p,p'} U_n[q,p] U_n[q,p'] M_n[(o,p),(o,p')]`
//! with `M_n` the Hessian w.r.t. the output, which the exact method gets from one
//! Hessian-vector product per parameter ([`LayerRules::unit_param_tangents`]).
//! HesScale's rule keeps only `p = p'`: `Σ_n Σ_p U_n[q,p]² d_n[o,p]`.

use std::borrow::Cow;
use std::ops::Range;

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, CowArray, Ix2};

use crate::error::{Error, Result};
use crate::nn::image::{Form, ImageShape, MAX_IMAGE_SIDE};
use crate::nn::layer::{LayerCache, LayerRules, Point};

/// A convolution of a `C_in × H × W` image with `filters` filters of `kernel × kernel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv {
    input: ImageShape,
    filters: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    output: ImageShape,
}

/// For offset `j` of the kernel along an axis of `size` input positions: the output
/// positions `o < outputs` whose input position `o·stride + j − padding` lies inside.
fn inside(size: usize, outputs: usize, stride: usize, padding: usize, j: usize) -> Range<usize> {
    let start = if padding > j {
        (padding - j).div_ceil(stride)
    } else {
        0
    };
    let end = if size + padding > j {
        ((size + padding - j - 1) / stride + 1).min(outputs)
    } else {
        0
    };
    start.min(end)..end
}

/// `array` as a row-major matrix (borrowed when it is one).
fn standard(array: &Array2<f64>) -> CowArray<'_, f64, Ix2> {
    array.as_standard_layout()
}

impl Conv {
    /// A convolution of `input` images with `filters` filters of `kernel × kernel`, the
    /// given stride and zero padding, checked: at least one filter, a kernel and stride of
    /// at least 1, and a kernel no larger than the padded input.
    pub fn new(
        input: ImageShape,
        filters: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Result<Conv> {
        for (what, value) in [("filters", filters), ("kernel", kernel), ("stride", stride)] {
            if value == 0 || value > MAX_IMAGE_SIDE {
                return Err(Error::input(format!(
                    "{what} must be between 1 and {MAX_IMAGE_SIDE}, not {value}"
                )));
            }
        }
        if padding > MAX_IMAGE_SIDE {
            return Err(Error::input(format!(
                "padding must be at most {MAX_IMAGE_SIDE}, not {padding}"
            )));
        }
        let (height, width) = (input.height + 2 * padding, input.width + 2 * padding);
        if kernel > height || kernel > width {
            return Err(Error::input(format!(
                "a {kernel}x{kernel} kernel is larger than its {input} input{}",
                if padding > 0 {
                    format!(" padded to {height}x{width}")
                } else {
                    String::new()
                }
            )));
        }
        let output = ImageShape::new(
            filters,
            (height - kernel) / stride + 1,
            (width - kernel) / stride + 1,
        )?;
        Ok(Conv {
            input,
            filters,
            kernel,
            stride,
            padding,
            output,
        })
    }

    /// The input image's shape.
    pub fn input_shape(&self) -> ImageShape {
        self.input
    }

    /// The output image's shape, `C_out × H_out × W_out`.
    pub fn output_shape(&self) -> ImageShape {
        self.output
    }

    /// The number of filters `C_out`.
    pub fn filters(&self) -> usize {
        self.filters
    }

    /// The side k of the kernel.
    pub fn kernel(&self) -> usize {
        self.kernel
    }

    /// The stride.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The zero padding on each side.
    pub fn padding(&self) -> usize {
        self.padding
    }

    /// `K = C_in·k·k`, the values of one patch (a row of the weight matrix).
    fn patch(&self) -> usize {
        self.input.channels * self.kernel * self.kernel
    }

    /// `P = H_out·W_out`, the output positions.
    fn positions(&self) -> usize {
        self.output.pixels()
    }

    /// The number of weights, `C_out·K`.
    fn weights(&self) -> usize {
        self.filters * self.patch()
    }

    /// The weight as the `[C_out, K]` matrix of a flat buffer of the layer's parameters
    /// (or of a direction over them).
    fn weight<'a>(&self, params: &'a [f64]) -> ArrayView2<'a, f64> {
        ArrayView2::from_shape((self.filters, self.patch()), &params[..self.weights()])
            .expect("a convolution's parameters start with its weight")
    }

    /// The bias, `[C_out]`.
    fn bias<'a>(&self, params: &'a [f64]) -> &'a [f64] {
        &params[self.weights()..self.weights() + self.filters]
    }

    /// An output-shaped row as the `[C_out, P]` matrix it is.
    fn as_output<'a>(&self, row: &'a [f64]) -> ArrayView2<'a, f64> {
        ArrayView2::from_shape((self.filters, self.positions()), row).expect("an output row")
    }

    /// An output-shaped row to write, as `[C_out, P]`.
    fn as_output_mut<'a>(&self, row: &'a mut [f64]) -> ArrayViewMut2<'a, f64> {
        ArrayViewMut2::from_shape((self.filters, self.positions()), row).expect("an output row")
    }

    /// A `[K, P]` buffer as a matrix.
    fn as_columns<'a>(&self, columns: &'a [f64]) -> ArrayView2<'a, f64> {
        ArrayView2::from_shape((self.patch(), self.positions()), columns).expect("[K, P]")
    }

    /// A `[K, P]` buffer as a matrix to write.
    fn as_columns_mut<'a>(&self, columns: &'a mut [f64]) -> ArrayViewMut2<'a, f64> {
        ArrayViewMut2::from_shape((self.patch(), self.positions()), columns).expect("[K, P]")
    }

    /// The unfolding (im2col) of one image into `columns` (`[K, P]`, every value written:
    /// the patches' values, zero in the padding).
    pub fn unfold(&self, image: &[f64], columns: &mut [f64]) {
        self.each_line(|index, line, inside| {
            let line = &mut columns[line];
            line[..inside.start].fill(0.0);
            line[inside.end..].fill(0.0);
            match index {
                None => line[inside].fill(0.0),
                Some((start, 1)) => {
                    line[inside.clone()].copy_from_slice(&image[start..start + inside.len()]);
                }
                Some((start, stride)) => {
                    for (value, x) in line[inside.clone()].iter_mut().zip(0..) {
                        *value = image[start + x * stride];
                    }
                }
            }
        });
    }

    /// The fold (col2im), the transpose of [`Conv::unfold`]: each value of `columns`
    /// (`[K, P]`) added to the input value it was unfolded from (padding dropped).
    pub fn fold_add(&self, columns: &[f64], image: &mut [f64]) {
        self.each_line(|index, line, inside| {
            let Some((start, stride)) = index else {
                return;
            };
            let line = &columns[line][inside];
            for (x, &value) in line.iter().enumerate() {
                image[start + x * stride] += value;
            }
        });
    }

    /// For every line of the unfolding (patch row q, output row y): the range of the
    /// line in `[K, P]`, the output columns that fall inside the input, and for them the
    /// input index of the first and the step between them (`None` where the whole line
    /// is padding).
    fn each_line(&self, mut visit: impl FnMut(Option<(usize, usize)>, Range<usize>, Range<usize>)) {
        let (k, s, pad) = (self.kernel, self.stride, self.padding);
        let (height, width) = (self.input.height, self.input.width);
        let (rows, columns) = (self.output.height, self.output.width);
        for c in 0..self.input.channels {
            for i in 0..k {
                let rows_inside = inside(height, rows, s, pad, i);
                for j in 0..k {
                    let columns_inside = inside(width, columns, s, pad, j);
                    let q = (c * k + i) * k + j;
                    for y in 0..rows {
                        let line = (q * rows + y) * columns..(q * rows + y + 1) * columns;
                        let index =
                            (rows_inside.contains(&y) && !columns_inside.is_empty()).then(|| {
                                let row = y * s + i - pad;
                                let first = columns_inside.start * s + j - pad;
                                ((c * height + row) * width + first, s)
                            });
                        visit(index, line, columns_inside.clone());
                    }
                }
            }
        }
    }

    /// The unfolded inputs of the point: as cached, or unfolded afresh.
    fn columns<'a>(&self, at: &Point<'a>) -> Cow<'a, Array2<f64>> {
        match at.cache {
            LayerCache::Unfolded(columns) => Cow::Borrowed(columns),
            _ => Cow::Owned(self.unfold_batch(at.input)),
        }
    }

    /// Every sample's unfolding, `[N·K, P]`.
    fn unfold_batch(&self, input: &Array2<f64>) -> Array2<f64> {
        let input = standard(input);
        let (samples, patch, positions) = (input.nrows(), self.patch(), self.positions());
        let mut columns = Array2::zeros((samples * patch, positions));
        let values = columns.as_slice_mut().expect("fresh arrays are row-major");
        for (n, block) in values.chunks_exact_mut(patch * positions).enumerate() {
            self.unfold(input.row(n).as_slice().expect("row-major"), block);
        }
        columns
    }

    /// Sample n's `[K, P]` block of a batch's unfolding.
    fn block<'a>(&self, columns: &'a Array2<f64>, n: usize) -> ArrayView2<'a, f64> {
        let size = self.patch() * self.positions();
        let values = columns.as_slice().expect("unfoldings are row-major");
        self.as_columns(&values[n * size..(n + 1) * size])
    }

    /// `out = W · columns (+ b)`: one sample's output from its unfolding.
    fn apply(
        &self,
        weight: ArrayView2<f64>,
        bias: Option<&[f64]>,
        columns: &[f64],
        out: &mut [f64],
    ) {
        let mut product = self.as_output_mut(out);
        general_mat_mul(1.0, &weight, &self.as_columns(columns), 0.0, &mut product);
        if let Some(bias) = bias {
            for (mut channel, &b) in product.rows_mut().into_iter().zip(bias) {
                channel += b;
            }
        }
    }

    /// `image += F(Wᵀ · rows)` for one output-shaped row, through the `[K, P]` buffer
    /// `scratch`.
    fn transpose_add(
        &self,
        weight: ArrayView2<f64>,
        row: &[f64],
        scratch: &mut [f64],
        image: &mut [f64],
    ) {
        let mut columns = self.as_columns_mut(scratch);
        general_mat_mul(1.0, &weight.t(), &self.as_output(row), 0.0, &mut columns);
        self.fold_add(scratch, image);
    }

    /// `Σ_p rows[o, p]` of an output-shaped row, added to `sums` (one per channel).
    fn add_position_sums(&self, row: &[f64], sums: &mut [f64]) {
        for (sum, channel) in sums.iter_mut().zip(row.chunks_exact(self.positions())) {
            *sum += channel.iter().sum::<f64>();
        }
    }

    /// `weight ← row · blockᵀ + β·weight`: one sample's `[C_out, P] · [P, K]` product
    /// (an output-shaped row against an unfolding) into the `[C_out, K]` weight part of a
    /// parameter-shaped buffer.
    fn weight_product(&self, row: &[f64], block: ArrayView2<f64>, beta: f64, out: &mut [f64]) {
        let mut weight =
            ArrayViewMut2::from_shape((self.filters, self.patch()), &mut out[..self.weights()])
                .expect("[C_out, K]");
        general_mat_mul(1.0, &self.as_output(row), &block.t(), beta, &mut weight);
    }

    /// The bias part of a parameter-shaped buffer.
    fn bias_part<'a>(&self, out: &'a mut [f64]) -> &'a mut [f64] {
        &mut out[self.weights()..]
    }
}

/// The rows of a matrix as slices.
fn rows_of<'a>(matrix: &'a CowArray<'_, f64, Ix2>) -> impl Iterator<Item = &'a [f64]> {
    let width = matrix.ncols();
    matrix
        .as_slice()
        .expect("row-major")
        .chunks_exact(width.max(1))
        .take(matrix.nrows())
}

impl LayerRules for Conv {
    fn inputs(&self) -> usize {
        self.input.len()
    }

    fn outputs(&self) -> usize {
        self.output.len()
    }

    /// Its input image.
    fn input_form(&self) -> Option<Form> {
        Some(Form::Image(self.input))
    }

    /// Its output image, from its input image only.
    fn output_form(&self, input: Form) -> Result<Form, String> {
        if input == Form::Image(self.input) {
            Ok(Form::Image(self.output))
        } else {
            Err(format!(
                "conv needs {}, but gets {input}",
                Form::Image(self.input)
            ))
        }
    }

    fn param_shapes(&self) -> Vec<(&'static str, Vec<usize>)> {
        vec![
            (
                "weight",
                vec![self.filters, self.input.channels, self.kernel, self.kernel],
            ),
            ("bias", vec![self.filters]),
        ]
    }

    fn param_count(&self) -> usize {
        self.weights() + self.filters
    }

    /// `Y_n = W U_n + b` per sample.
    fn forward(&self, params: &[f64], input: &Array2<f64>) -> Array2<f64> {
        self.forward_cached(params, input).0
    }

    /// The unfolded input.
    fn cache(&self, input: &Array2<f64>, _output: &Array2<f64>) -> LayerCache {
        LayerCache::Unfolded(self.unfold_batch(input))
    }

    /// The input unfolded once, for the output and the cache.
    fn forward_cached(&self, params: &[f64], input: &Array2<f64>) -> (Array2<f64>, LayerCache) {
        let columns = self.unfold_batch(input);
        let mut output = Array2::zeros((input.nrows(), self.outputs()));
        let (weight, bias) = (self.weight(params), self.bias(params));
        let size = self.patch() * self.positions();
        let values = columns.as_slice().expect("fresh arrays are row-major");
        for (block, mut row) in values.chunks_exact(size).zip(output.rows_mut()) {
            let row = row.as_slice_mut().expect("fresh arrays are row-major");
            self.apply(weight, Some(bias), block, row);
        }
        (output, LayerCache::Unfolded(columns))
    }

    /// `Jᵀ g = F(Wᵀ G)` for every row.
    fn backprop_rows(&self, at: &Point, rows: &Array2<f64>) -> Array2<f64> {
        let rows = standard(rows);
        let weight = self.weight(at.params);
        let mut scratch = vec![0.0; self.patch() * self.positions()];
        let mut below = Array2::zeros((rows.nrows(), self.inputs()));
        for (row, mut out) in rows_of(&rows).zip(below.rows_mut()) {
            let out = out.as_slice_mut().expect("fresh arrays are row-major");
            self.transpose_add(weight, row, &mut scratch, out);
        }
        below
    }

    /// `∂L/∂W = Σ_n G_n U_nᵀ`, `∂L/∂b = Σ_n Σ_p G_n[·, p]`.
    fn param_gradient(&self, at: &Point, grad: &Array2<f64>, out: &mut [f64]) {
        let (grad, columns) = (standard(grad), self.columns(at));
        self.bias_part(out).fill(0.0);
        for (n, row) in rows_of(&grad).enumerate() {
            let beta = if n == 0 { 0.0 } else { 1.0 };
            self.weight_product(row, self.block(&columns, n), beta, out);
            self.add_position_sums(row, self.bias_part(out));
        }
    }

    /// `g_in = F(Wᵀ G)` and `d_in = F((W∘W)ᵀ D)` per sample: the diagonal of
    /// `Jᵀ diag(d) J` exactly (an input value meets a given output position through one
    /// weight at most), the off-diagonal terms dropped; no residual (the layer is affine).
    fn backprop_diag(
        &self,
        at: &Point,
        grad: &Array2<f64>,
        diag: &Array2<f64>,
        _residual: bool,
    ) -> (Array2<f64>, Array2<f64>) {
        let squared: Vec<f64> = at.params[..self.weights()].iter().map(|w| w * w).collect();
        let squared_weights = Point {
            params: &squared,
            ..*at
        };
        (
            self.backprop_rows(at, grad),
            self.backprop_rows(&squared_weights, diag),
        )
    }

    /// HesScale's rule for a shared weight (SPEC §11): `Σ_n Σ_p U_n[q,p]² d_n[o,p]` for
    /// `W[o, q]` (the unfolding of the squared input is the square of the unfolding) and
    /// `Σ_n Σ_p d_n[o,p]` for `b[o]`. Exact when `d` is the diagonal of an `M_n` without
    /// couplings between positions; an approximation otherwise, whatever estimates `d`.
    fn param_diag(&self, diag: &Array2<f64>, squared_input: &Array2<f64>, out: &mut [f64]) {
        let (diag, squared) = (standard(diag), standard(squared_input));
        let mut scratch = vec![0.0; self.patch() * self.positions()];
        self.bias_part(out).fill(0.0);
        for (n, (row, input)) in rows_of(&diag).zip(rows_of(&squared)).enumerate() {
            self.unfold(input, &mut scratch);
            let beta = if n == 0 { 0.0 } else { 1.0 };
            self.weight_product(row, self.as_columns(&scratch), beta, out);
            self.add_position_sums(row, self.bias_part(out));
        }
    }

    /// Not an outer product: the weights are shared between positions.
    fn diag_is_outer_product(&self) -> bool {
        false
    }

    /// Row r (sample n): `S_r U_nᵀ` for the weight and `Σ_p S_r[·, p]` for the bias.
    fn row_param_gradients(&self, at: &Point, rows: &Array2<f64>) -> Array2<f64> {
        let (rows, columns) = (standard(rows), self.columns(at));
        let samples = at.input.nrows();
        let mut gradients = Array2::zeros((rows.nrows(), self.param_count()));
        for (r, (row, mut out)) in rows_of(&rows).zip(gradients.rows_mut()).enumerate() {
            let out = out.as_slice_mut().expect("fresh arrays are row-major");
            self.weight_product(row, self.block(&columns, r % samples), 0.0, out);
            self.add_position_sums(row, self.bias_part(out));
        }
        gradients
    }

    /// Weight `(o, q)`: channel o of the output is row q of `U_n`, the others zero;
    /// bias o: channel o is all ones.
    fn unit_param_tangents(&self, at: &Point, params: Range<usize>) -> Array2<f64> {
        let columns = self.columns(at);
        let (samples, positions) = (at.input.nrows(), self.positions());
        let mut tangents = Array2::zeros((params.len() * samples, self.outputs()));
        for (k, index) in params.enumerate() {
            for n in 0..samples {
                let mut row = tangents.row_mut(k * samples + n);
                let row = row.as_slice_mut().expect("fresh arrays are row-major");
                if index < self.weights() {
                    let (o, q) = (index / self.patch(), index % self.patch());
                    let block = self.block(&columns, n);
                    for (value, &u) in row[o * positions..(o + 1) * positions]
                        .iter_mut()
                        .zip(block.row(q))
                    {
                        *value = u;
                    }
                } else {
                    let o = index - self.weights();
                    row[o * positions..(o + 1) * positions].fill(1.0);
                }
            }
        }
        tangents
    }

    /// KFC (Grosse & Martens 2016; SPEC §11), with its homogeneous coordinate for the
    /// bias: `Ω = (1/N) Σ_n Σ_p u_p u_pᵀ` over the unfolded input's columns and
    /// `Γ = (1/P) Σ_n Σ_p d_n[·, p]` (the sampled GGN of the output, spatially
    /// uncorrelated and homogeneous), so weights `Γ_oo · Ω_qq` with
    /// `Ω_qq = (1/N) Σ_n Σ_p U_n[q,p]²`, and biases `Γ_oo · Ω_11 = Γ_oo · P`, i.e.
    /// `Σ_n Σ_p d_n[o, p]`.
    fn kfac_diag(&self, diag: &Array2<f64>, squared_input: &Array2<f64>, out: &mut [f64]) {
        let (diag, squared) = (standard(diag), standard(squared_input));
        let (patch, positions) = (self.patch(), self.positions());
        let mut sums = vec![0.0; self.filters];
        for row in rows_of(&diag) {
            self.add_position_sums(row, &mut sums);
        }
        let mut input = vec![0.0; patch];
        let mut scratch = vec![0.0; patch * positions];
        for row in rows_of(&squared) {
            self.unfold(row, &mut scratch);
            for (a, line) in input.iter_mut().zip(scratch.chunks_exact(positions)) {
                *a += line.iter().sum::<f64>();
            }
        }
        let samples = squared.nrows() as f64;
        let (weight, bias) = out.split_at_mut(self.weights());
        for (chunk, &sum) in weight.chunks_exact_mut(patch).zip(&sums) {
            let gamma = sum / positions as f64;
            for (w, &a) in chunk.iter_mut().zip(&input) {
                *w = gamma * (a / samples);
            }
        }
        bias.copy_from_slice(&sums);
    }

    /// `Ẏ = W U̇ + Ẇ_m U + ḃ_m` (direction m's rows), `U̇` the unfolded input tangent.
    fn forward_tangent(
        &self,
        at: &Point,
        input_tangent: Option<&Array2<f64>>,
        param_tangents: &[&[f64]],
        rows: usize,
    ) -> Array2<f64> {
        let mut tangent = Array2::zeros((rows, self.outputs()));
        let mut scratch = vec![0.0; self.patch() * self.positions()];
        if let Some(input_tangent) = input_tangent {
            let input_tangent = standard(input_tangent);
            let weight = self.weight(at.params);
            for (row, mut out) in rows_of(&input_tangent).zip(tangent.rows_mut()) {
                self.unfold(row, &mut scratch);
                let out = out.as_slice_mut().expect("fresh arrays are row-major");
                self.apply(weight, None, &scratch, out);
            }
        }
        let columns = self.columns(at);
        let samples = at.input.nrows();
        let mut own = vec![0.0; self.outputs()];
        for (m, direction) in param_tangents.iter().enumerate() {
            let (weight, bias) = (self.weight(direction), self.bias(direction));
            for n in 0..samples {
                let block = self.block(&columns, n);
                let mut product = self.as_output_mut(&mut own);
                general_mat_mul(1.0, &weight, &block, 0.0, &mut product);
                for (mut channel, &b) in product.rows_mut().into_iter().zip(bias) {
                    channel += b;
                }
                let mut row = tangent.row_mut(m * samples + n);
                for (value, &o) in row.iter_mut().zip(&own) {
                    *value += o;
                }
            }
        }
        tangent
    }

    /// `ġ_in = F(Wᵀ Ġ + Ẇ_mᵀ G)` (direction m's rows).
    fn backprop_tangent(
        &self,
        at: &Point,
        grad: &Array2<f64>,
        grad_tangent: &Array2<f64>,
        _input_tangent: Option<&Array2<f64>>,
        param_tangents: &[&[f64]],
    ) -> Array2<f64> {
        let mut tangent = self.backprop_rows(at, grad_tangent);
        let grad = standard(grad);
        let samples = grad.nrows();
        let mut scratch = vec![0.0; self.patch() * self.positions()];
        for (m, direction) in param_tangents.iter().enumerate() {
            let weight = self.weight(direction);
            for (n, row) in rows_of(&grad).enumerate() {
                let mut out = tangent.row_mut(m * samples + n);
                let out = out.as_slice_mut().expect("fresh arrays are row-major");
                self.transpose_add(weight, row, &mut scratch, out);
            }
        }
        tangent
    }

    /// `(∂L/∂W)˙ = Σ_n Ġ_{m,n} U_nᵀ + G_n U̇_{m,n}ᵀ`, `(∂L/∂b)˙ = Σ_n Σ_p Ġ_{m,n}`.
    fn param_hessian_vector_product(
        &self,
        at: &Point,
        grad: &Array2<f64>,
        grad_tangent: &Array2<f64>,
        input_tangent: Option<&Array2<f64>>,
        out: &mut [&mut [f64]],
    ) {
        let (grad, grad_tangent) = (standard(grad), standard(grad_tangent));
        let input_tangent = input_tangent.map(standard);
        let columns = self.columns(at);
        let samples = grad.nrows();
        let mut scratch = vec![0.0; self.patch() * self.positions()];
        for (m, out) in out.iter_mut().enumerate() {
            self.bias_part(out).fill(0.0);
            let rows = rows_of(&grad_tangent).skip(m * samples).take(samples);
            for (n, row) in rows.enumerate() {
                let beta = if n == 0 { 0.0 } else { 1.0 };
                self.weight_product(row, self.block(&columns, n), beta, out);
                self.add_position_sums(row, self.bias_part(out));
            }
            if let Some(input_tangent) = &input_tangent {
                let tangents = rows_of(input_tangent).skip(m * samples);
                for (row, tangent) in rows_of(&grad).zip(tangents) {
                    self.unfold(tangent, &mut scratch);
                    self.weight_product(row, self.as_columns(&scratch), 1.0, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unfolding by its definition, value by value.
    fn unfolded_by_definition(conv: &Conv, image: &[f64]) -> Vec<f64> {
        let (k, s, pad) = (conv.kernel, conv.stride, conv.padding as isize);
        let (input, output) = (conv.input, conv.output);
        let mut columns = Vec::new();
        for c in 0..input.channels {
            for i in 0..k {
                for j in 0..k {
                    for y in 0..output.height {
                        for x in 0..output.width {
                            let row = (y * s + i) as isize - pad;
                            let column = (x * s + j) as isize - pad;
                            let inside = (0..input.height as isize).contains(&row)
                                && (0..input.width as isize).contains(&column);
                            columns.push(if inside {
                                image[(c * input.height + row as usize) * input.width
                                    + column as usize]
                            } else {
                                0.0
                            });
                        }
                    }
                }
            }
        }
        columns
    }

    #[test]
    fn unfolding_and_folding_are_transposes_of_the_definition() {
        for (shape, filters, kernel, stride, padding) in [
            ((1, 5, 5), 2, 3, 1, 0),
            ((2, 6, 7), 3, 3, 2, 1),
            ((3, 4, 4), 1, 2, 3, 2),
            ((1, 3, 3), 1, 5, 1, 1),
            ((2, 5, 4), 2, 1, 2, 0),
        ] {
            let input = ImageShape::new(shape.0, shape.1, shape.2).unwrap();
            let conv = Conv::new(input, filters, kernel, stride, padding).unwrap();
            let image: Vec<f64> = (0..input.len()).map(|v| v as f64 + 1.0).collect();
            let mut columns = vec![f64::NAN; conv.patch() * conv.positions()];
            conv.unfold(&image, &mut columns);
            let expected = unfolded_by_definition(&conv, &image);
            assert_eq!(columns, expected, "{input} k{kernel} s{stride} p{padding}");
            // ⟨unfold(x), v⟩ = ⟨x, fold(v)⟩ for any v.
            let v: Vec<f64> = (0..columns.len()).map(|i| (i % 7) as f64 - 3.0).collect();
            let mut folded = vec![0.0; input.len()];
            conv.fold_add(&v, &mut folded);
            let left: f64 = columns.iter().zip(&v).map(|(a, b)| a * b).sum();
            let right: f64 = image.iter().zip(&folded).map(|(a, b)| a * b).sum();
            assert_eq!(left, right, "{input} k{kernel} s{stride} p{padding}");
        }
    }

    #[test]
    fn output_sizes_follow_pytorch_and_bad_shapes_are_refused() {
        let input = ImageShape::new(1, 28, 28).unwrap();
        let conv = Conv::new(input, 8, 3, 1, 0).unwrap();
        assert_eq!(conv.output_shape().to_string(), "8x26x26");
        let conv = Conv::new(input, 4, 5, 2, 2).unwrap();
        assert_eq!(conv.output_shape().to_string(), "4x14x14");
        assert_eq!(
            Conv::new(input, 4, 29, 1, 0).unwrap_err().to_string(),
            "a 29x29 kernel is larger than its 1x28x28 input"
        );
        assert_eq!(
            Conv::new(input, 4, 31, 1, 1).unwrap_err().to_string(),
            "a 31x31 kernel is larger than its 1x28x28 input padded to 30x30"
        );
        assert_eq!(
            Conv::new(input, 0, 3, 1, 0).unwrap_err().to_string(),
            "filters must be between 1 and 65536, not 0"
        );
    }
}
