//! Flatten (SPEC §11): an image `C × H × W` becomes the flat vector of its values in the
//! same order (PyTorch's `nn.Flatten`), so that Linear layers can follow. A sample's
//! values are one row of the batch either way, so the map is the identity on the values:
//! its Jacobian is the identity, every rule passes what it carries through unchanged. It
//! has no parameters.

use std::ops::Range;

use ndarray::Array2;

use crate::nn::image::{Form, ImageShape};
use crate::nn::layer::{LayerCache, LayerRules, Point};

/// The flattening of `input` images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flatten {
    pub input: ImageShape,
}

impl LayerRules for Flatten {
    fn inputs(&self) -> usize {
        self.input.len()
    }

    fn outputs(&self) -> usize {
        self.input.len()
    }

    /// Its input image.
    fn input_form(&self) -> Option<Form> {
        Some(Form::Image(self.input))
    }

    /// A flat vector of C·H·W, from its input image only.
    fn output_form(&self, input: Form) -> Result<Form, String> {
        match input {
            Form::Image(shape) if shape == self.input => Ok(Form::Flat(shape.len())),
            Form::Image(_) => Err(format!(
                "flatten needs {}, but gets {input}",
                Form::Image(self.input)
            )),
            Form::Flat(_) => Err(format!("flatten needs an image, but gets {input}")),
        }
    }

    /// None: flatten has no parameters.
    fn param_shapes(&self) -> Vec<(&'static str, Vec<usize>)> {
        Vec::new()
    }

    /// The same values.
    fn forward(&self, _params: &[f64], input: &Array2<f64>) -> Array2<f64> {
        input.clone()
    }

    /// Nothing.
    fn cache(&self, _input: &Array2<f64>, _output: &Array2<f64>) -> LayerCache {
        LayerCache::Nothing
    }

    /// The same rows.
    fn backprop_rows(&self, _at: &Point, rows: &Array2<f64>) -> Array2<f64> {
        rows.clone()
    }

    /// None: flatten has no parameters.
    fn param_gradient(&self, _at: &Point, _grad: &Array2<f64>, _out: &mut [f64]) {}

    /// The same gradient and curvature (the identity has no off-diagonal terms).
    fn backprop_diag(
        &self,
        _at: &Point,
        grad: &Array2<f64>,
        diag: &Array2<f64>,
        _residual: bool,
    ) -> (Array2<f64>, Array2<f64>) {
        (grad.clone(), diag.clone())
    }

    /// None: flatten has no parameters.
    fn param_diag(&self, _diag: &Array2<f64>, _squared_input: &Array2<f64>, _out: &mut [f64]) {}

    /// Vacuously: it has no parameters.
    fn diag_is_outer_product(&self) -> bool {
        true
    }

    /// None: flatten has no parameters.
    fn row_param_gradients(&self, _at: &Point, rows: &Array2<f64>) -> Array2<f64> {
        Array2::zeros((rows.nrows(), 0))
    }

    /// None: flatten has no parameters.
    fn unit_param_tangents(&self, _at: &Point, _params: Range<usize>) -> Array2<f64> {
        Array2::zeros((0, self.outputs()))
    }

    /// None: flatten has no parameters.
    fn kfac_diag(&self, _diag: &Array2<f64>, _squared_input: &Array2<f64>, _out: &mut [f64]) {}

    /// The same tangent.
    fn forward_tangent(
        &self,
        _at: &Point,
        input_tangent: Option<&Array2<f64>>,
        _param_tangents: &[&[f64]],
        rows: usize,
    ) -> Array2<f64> {
        match input_tangent {
            Some(tangent) => tangent.clone(),
            None => Array2::zeros((rows, self.outputs())),
        }
    }

    /// The same tangent (the identity has no second derivative).
    fn backprop_tangent(
        &self,
        _at: &Point,
        _grad: &Array2<f64>,
        grad_tangent: &Array2<f64>,
        _input_tangent: Option<&Array2<f64>>,
        _param_tangents: &[&[f64]],
    ) -> Array2<f64> {
        grad_tangent.clone()
    }

    /// None: flatten has no parameters.
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
