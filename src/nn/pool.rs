//! Pooling (SPEC §11): each channel of a `C × H × W` image cut into `k × k` windows with
//! stride k (PyTorch's `MaxPool2d(k)` and `AvgPool2d(k)`: no padding, the rows and columns
//! that do not fill a window dropped), each window replaced by its largest value or its
//! mean. The windows do not overlap, so an input value feeds one output at most. Neither
//! has parameters; both are piecewise linear, so neither has a second derivative of its
//! own (no residual term, no second-order term in a Hessian-vector product).
//!
//! * max: `y_o = x_{a(o)}` with `a(o)` the window's arg-max (the first largest value in
//!   the window's row-major order, as PyTorch), cached. `Jᵀ g` puts `g_o` at `a(o)`;
//!   `Jᵀ diag(d) J` is diagonal, `d_o` at `a(o)`, so HesScale drops nothing here.
//! * avg: `y_o = (1/k²) Σ_{i ∈ window(o)} x_i`. `Jᵀ g` puts `g_o/k²` at every value of the
//!   window; the diagonal of `Jᵀ diag(d) J` is `d_o/k⁴` there (the couplings within a
//!   window, also `d_o/k⁴`, are what HesScale drops).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::nn::image::{Form, ImageShape};
use crate::nn::layer::{LayerCache, LayerRules, Point};

/// Which value a window is replaced by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PoolKind {
    /// Its largest value.
    Max,
    /// Its mean.
    Avg,
}

impl PoolKind {
    /// The name in an architecture (`maxpool`, `avgpool`).
    pub fn name(self) -> &'static str {
        match self {
            PoolKind::Max => "maxpool",
            PoolKind::Avg => "avgpool",
        }
    }
}

impl fmt::Display for PoolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A pooling of `input` images over `kernel × kernel` windows with stride `kernel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool {
    kind: PoolKind,
    input: ImageShape,
    kernel: usize,
    output: ImageShape,
}

impl Pool {
    /// A pooling, checked: a window of at least 1 and no larger than the input.
    pub fn new(kind: PoolKind, input: ImageShape, kernel: usize) -> Result<Pool> {
        if kernel == 0 {
            return Err(Error::input("a pooling window must be at least 1"));
        }
        if kernel > input.height || kernel > input.width {
            return Err(Error::input(format!(
                "a {kernel}x{kernel} window is larger than its {input} input"
            )));
        }
        let output = ImageShape::new(input.channels, input.height / kernel, input.width / kernel)?;
        Ok(Pool {
            kind,
            input,
            kernel,
            output,
        })
    }

    /// Max or average.
    pub fn kind(&self) -> PoolKind {
        self.kind
    }

    /// The side k of a window.
    pub fn kernel(&self) -> usize {
        self.kernel
    }

    /// The input image's shape.
    pub fn input_shape(&self) -> ImageShape {
        self.input
    }

    /// The output image's shape, `C × ⌊H/k⌋ × ⌊W/k⌋`.
    pub fn output_shape(&self) -> ImageShape {
        self.output
    }

    /// For output o (channel, row, column), the input index of the first value of each
    /// of its window's k rows.
    fn window_rows(&self, o: usize) -> impl Iterator<Item = usize> {
        let (k, input, output) = (self.kernel, self.input, self.output);
        let (c, rest) = (o / output.pixels(), o % output.pixels());
        let (y, x) = (rest / output.width, rest % output.width);
        (0..k).map(move |i| (c * input.height + y * k + i) * input.width + x * k)
    }

    /// The arg-max of every output of one image.
    fn arg_max(&self, image: &[f64], out: &mut [usize]) {
        for (o, best) in out.iter_mut().enumerate() {
            let mut index = usize::MAX;
            let mut value = f64::NEG_INFINITY;
            for start in self.window_rows(o) {
                for (i, &v) in image[start..start + self.kernel].iter().enumerate() {
                    if index == usize::MAX || v > value {
                        (index, value) = (start + i, v);
                    }
                }
            }
            *best = index;
        }
    }

    /// Every sample's arg-max, `n·out + o`.
    fn arg_max_batch(&self, input: &Array2<f64>) -> Vec<usize> {
        let input = input.as_standard_layout();
        let mut indices = vec![0; input.nrows() * self.output.len()];
        for (row, out) in input
            .rows()
            .into_iter()
            .zip(indices.chunks_exact_mut(self.output.len()))
        {
            self.arg_max(row.as_slice().expect("row-major"), out);
        }
        indices
    }

    /// The arg-max of the point: as cached, or found afresh.
    fn arg_maxes<'a>(&self, at: &Point<'a>) -> Cow<'a, [usize]> {
        match at.cache {
            LayerCache::ArgMax(indices) => Cow::Borrowed(indices),
            _ => Cow::Owned(self.arg_max_batch(at.input)),
        }
    }

    /// `J x` for each row of `rows` (sample `r mod N`'s Jacobian): the arg-max value or
    /// the window's mean.
    fn apply(&self, at: &Point, rows: &Array2<f64>) -> Array2<f64> {
        let samples = at.input.nrows();
        let outputs = self.output.len();
        let mut out = Array2::zeros((rows.nrows(), outputs));
        match self.kind {
            PoolKind::Max => {
                let indices = self.arg_maxes(at);
                for (r, (row, mut out)) in rows.rows().into_iter().zip(out.rows_mut()).enumerate() {
                    let indices = &indices[(r % samples) * outputs..(r % samples + 1) * outputs];
                    for (value, &index) in out.iter_mut().zip(indices) {
                        *value = row[index];
                    }
                }
            }
            PoolKind::Avg => {
                let area = (self.kernel * self.kernel) as f64;
                let rows = rows.as_standard_layout();
                for (row, mut out) in rows.rows().into_iter().zip(out.rows_mut()) {
                    let row = row.as_slice().expect("row-major");
                    for (o, value) in out.iter_mut().enumerate() {
                        let sum: f64 = self
                            .window_rows(o)
                            .map(|start| row[start..start + self.kernel].iter().sum::<f64>())
                            .sum();
                        *value = sum / area;
                    }
                }
            }
        }
        out
    }

    /// `Jᵀ` applied to each row, the entries of `J` raised to the power `power` (1 for the
    /// Jacobian-transpose product, 2 for HesScale's squared Jacobian): the arg-max gets
    /// the output's value, or every value of the window gets it times `(1/k²)^power`.
    fn transpose(&self, at: &Point, rows: &Array2<f64>, power: i32) -> Array2<f64> {
        let samples = at.input.nrows();
        let outputs = self.output.len();
        let mut below = Array2::zeros((rows.nrows(), self.input.len()));
        match self.kind {
            PoolKind::Max => {
                let indices = self.arg_maxes(at);
                for (r, (row, mut out)) in rows.rows().into_iter().zip(below.rows_mut()).enumerate()
                {
                    let indices = &indices[(r % samples) * outputs..(r % samples + 1) * outputs];
                    for (&value, &index) in row.iter().zip(indices) {
                        out[index] = value;
                    }
                }
            }
            PoolKind::Avg => {
                let weight = (1.0 / (self.kernel * self.kernel) as f64).powi(power);
                for (row, mut out) in rows.rows().into_iter().zip(below.rows_mut()) {
                    for (o, &value) in row.iter().enumerate() {
                        for start in self.window_rows(o) {
                            for v in out.slice_mut(ndarray::s![start..start + self.kernel]) {
                                *v = value * weight;
                            }
                        }
                    }
                }
            }
        }
        below
    }
}

impl LayerRules for Pool {
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
                "{} needs {}, but gets {input}",
                self.kind,
                Form::Image(self.input)
            ))
        }
    }

    /// None: pooling has no parameters.
    fn param_shapes(&self) -> Vec<(&'static str, Vec<usize>)> {
        Vec::new()
    }

    /// Each window's largest value or mean.
    fn forward(&self, params: &[f64], input: &Array2<f64>) -> Array2<f64> {
        self.forward_cached(params, input).0
    }

    /// The arg-max of every window (max); nothing (avg).
    fn cache(&self, input: &Array2<f64>, _output: &Array2<f64>) -> LayerCache {
        match self.kind {
            PoolKind::Max => LayerCache::ArgMax(self.arg_max_batch(input)),
            PoolKind::Avg => LayerCache::Nothing,
        }
    }

    /// The arg-max found once, for the output and the cache.
    fn forward_cached(&self, _params: &[f64], input: &Array2<f64>) -> (Array2<f64>, LayerCache) {
        let cache = self.cache(input, input);
        let output = self.apply(
            &Point {
                params: &[],
                input,
                output: input,
                cache: &cache,
            },
            input,
        );
        (output, cache)
    }

    /// `Jᵀ g` for every row.
    fn backprop_rows(&self, at: &Point, rows: &Array2<f64>) -> Array2<f64> {
        self.transpose(at, rows, 1)
    }

    /// None: pooling has no parameters.
    fn param_gradient(&self, _at: &Point, _grad: &Array2<f64>, _out: &mut [f64]) {}

    /// `g_in = Jᵀ g`, `d_in = (J∘J)ᵀ d`: `d_o` at the arg-max (max: exact, `J` has one 1
    /// per row), `d_o/k⁴` over the window (avg: the couplings within a window dropped).
    fn backprop_diag(
        &self,
        at: &Point,
        grad: &Array2<f64>,
        diag: &Array2<f64>,
        _residual: bool,
    ) -> (Array2<f64>, Array2<f64>) {
        (self.transpose(at, grad, 1), self.transpose(at, diag, 2))
    }

    /// None: pooling has no parameters.
    fn param_diag(&self, _diag: &Array2<f64>, _squared_input: &Array2<f64>, _out: &mut [f64]) {}

    /// Vacuously: it has no parameters.
    fn diag_is_outer_product(&self) -> bool {
        true
    }

    /// None: pooling has no parameters.
    fn row_param_gradients(&self, _at: &Point, rows: &Array2<f64>) -> Array2<f64> {
        Array2::zeros((rows.nrows(), 0))
    }

    /// None: pooling has no parameters.
    fn unit_param_tangents(&self, _at: &Point, _params: Range<usize>) -> Array2<f64> {
        Array2::zeros((0, self.outputs()))
    }

    /// None: pooling has no parameters.
    fn kfac_diag(&self, _diag: &Array2<f64>, _squared_input: &Array2<f64>, _out: &mut [f64]) {}

    /// `ẏ = J ẋ`.
    fn forward_tangent(
        &self,
        at: &Point,
        input_tangent: Option<&Array2<f64>>,
        _param_tangents: &[&[f64]],
        rows: usize,
    ) -> Array2<f64> {
        match input_tangent {
            Some(tangent) => self.apply(at, tangent),
            None => Array2::zeros((rows, self.outputs())),
        }
    }

    /// `ġ_in = Jᵀ ġ` (piecewise linear: no term of its own).
    fn backprop_tangent(
        &self,
        at: &Point,
        _grad: &Array2<f64>,
        grad_tangent: &Array2<f64>,
        _input_tangent: Option<&Array2<f64>>,
        _param_tangents: &[&[f64]],
    ) -> Array2<f64> {
        self.transpose(at, grad_tangent, 1)
    }

    /// None: pooling has no parameters.
    fn param_hessian_vector_product(
        &self,
        _at: &Point,
        _grad: &Array2<f64>,
        _grad_tangent: &Array2<f64>,
        _input_tangent: Option<&Array2<f64>>,
        _out: &mut [&mut [f64]],
    ) {
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point<'a>(input: &'a Array2<f64>, cache: &'a LayerCache) -> Point<'a> {
        Point {
            params: &[],
            input,
            output: input,
            cache,
        }
    }

    #[test]
    fn windows_follow_pytorch() {
        let input = ImageShape::new(2, 5, 4).unwrap();
        let image = Array2::from_shape_fn((1, input.len()), |(_, i)| ((i * 7) % 11) as f64);
        for kind in [PoolKind::Max, PoolKind::Avg] {
            let pool = Pool::new(kind, input, 2).unwrap();
            assert_eq!(pool.output_shape().to_string(), "2x2x2");
            let (output, cache) = pool.forward_cached(&[], &image);
            // The windows by their definition: rows 2y, 2y+1 and columns 2x, 2x+1 of each
            // channel (row 4 is dropped).
            for c in 0..2 {
                for y in 0..2 {
                    for x in 0..2 {
                        let values: Vec<f64> = (0..2)
                            .flat_map(|i| (0..2).map(move |j| (i, j)))
                            .map(|(i, j)| image[[0, (c * 5 + 2 * y + i) * 4 + 2 * x + j]])
                            .collect();
                        let expected = match kind {
                            PoolKind::Max => values.iter().copied().fold(f64::MIN, f64::max),
                            PoolKind::Avg => values.iter().sum::<f64>() / 4.0,
                        };
                        assert_eq!(output[[0, (c * 2 + y) * 2 + x]], expected, "{kind}");
                    }
                }
            }
            // The transpose of J: ⟨J x, g⟩ = ⟨x, Jᵀ g⟩.
            let g = Array2::from_shape_fn((1, 8), |(_, o)| o as f64 - 3.5);
            let x = Array2::from_shape_fn((1, input.len()), |(_, i)| (i % 5) as f64 - 2.0);
            let at = point(&image, &cache);
            let left = (&pool.forward_tangent(&at, Some(&x), &[], 1) * &g).sum();
            let right = (&x * &pool.backprop_rows(&at, &g)).sum();
            assert_eq!(left, right, "{kind}");
        }
        assert_eq!(
            Pool::new(PoolKind::Max, input, 5).unwrap_err().to_string(),
            "a 5x5 window is larger than its 2x5x4 input"
        );
    }

    #[test]
    fn the_first_largest_value_wins_a_tie() {
        let input = ImageShape::new(1, 2, 2).unwrap();
        let pool = Pool::new(PoolKind::Max, input, 2).unwrap();
        let image = Array2::from_shape_vec((1, 4), vec![1.0, 3.0, 3.0, 2.0]).unwrap();
        assert_eq!(pool.cache(&image, &image), LayerCache::ArgMax(vec![1]));
    }
}
