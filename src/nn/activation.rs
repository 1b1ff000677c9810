//! Elementwise activations φ with their first and second derivatives side by side
//! (SPEC §1), and the activation layer's rules ([`ActivationLayer`]). Each rule takes the
//! pre-activation `a`; the derivatives are written in terms of `h = φ(a)` where that is
//! the usual form.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use ndarray::{Array2, Zip};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::nn::image::Form;
use crate::nn::layer::{LayerCache, LayerRules, Point};

/// Slope of `leaky_relu` for negative inputs (PyTorch's default).
pub const LEAKY_RELU_SLOPE: f64 = 0.01;

/// An elementwise activation function between two Linear layers.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    #[default]
    Tanh,
    Sigmoid,
    Relu,
    LeakyRelu,
    Elu,
    Softplus,
    Identity,
}

/// The logistic function σ(a) = 1 / (1 + e^(−a)), evaluated without overflow.
pub fn logistic(a: f64) -> f64 {
    if a >= 0.0 {
        1.0 / (1.0 + (-a).exp())
    } else {
        let e = a.exp();
        e / (1.0 + e)
    }
}

impl Activation {
    /// Every activation, in the order `list` and error messages show them.
    pub const ALL: [Activation; 7] = [
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Elu,
        Activation::Softplus,
        Activation::Identity,
    ];

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Relu => "relu",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Elu => "elu",
            Activation::Softplus => "softplus",
            Activation::Identity => "identity",
        }
    }

    /// φ(a).
    /// tanh; σ(a); max(a, 0); a or 0.01·a; a or eᵃ − 1 (a ≤ 0); max(a,0) + log1p(e^(−|a|)); a.
    pub fn value(self, a: f64) -> f64 {
        match self {
            Activation::Tanh => a.tanh(),
            Activation::Sigmoid => logistic(a),
            Activation::Relu => a.max(0.0),
            Activation::LeakyRelu => {
                if a > 0.0 {
                    a
                } else {
                    LEAKY_RELU_SLOPE * a
                }
            }
            Activation::Elu => {
                if a > 0.0 {
                    a
                } else {
                    a.exp_m1()
                }
            }
            Activation::Softplus => a.max(0.0) + (-a.abs()).exp().ln_1p(),
            Activation::Identity => a,
        }
    }

    /// φ'(a).
    /// tanh: 1 − h²; sigmoid: h(1 − h); relu: `[a > 0]`; leaky_relu: 1 or 0.01;
    /// elu: 1 or eᵃ (a ≤ 0); softplus: σ(a); identity: 1. At a = 0 the PyTorch conventions
    /// hold: relu' = 0, leaky_relu' = 0.01, elu takes the exponential branch (SPEC §1).
    pub fn first_derivative(self, a: f64) -> f64 {
        match self {
            Activation::Tanh => {
                let h = a.tanh();
                1.0 - h * h
            }
            Activation::Sigmoid => {
                let h = logistic(a);
                h * (1.0 - h)
            }
            Activation::Relu => {
                if a > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu => {
                if a > 0.0 {
                    1.0
                } else {
                    LEAKY_RELU_SLOPE
                }
            }
            Activation::Elu => {
                if a > 0.0 {
                    1.0
                } else {
                    a.exp()
                }
            }
            Activation::Softplus => logistic(a),
            Activation::Identity => 1.0,
        }
    }

    /// φ''(a).
    /// tanh: −2h(1 − h²); sigmoid: h(1 − h)(1 − 2h); relu, leaky_relu, identity: 0;
    /// elu: 0 or eᵃ (a ≤ 0); softplus: σ(a)(1 − σ(a)).
    pub fn second_derivative(self, a: f64) -> f64 {
        match self {
            Activation::Tanh => {
                let h = a.tanh();
                -2.0 * h * (1.0 - h * h)
            }
            Activation::Sigmoid => {
                let h = logistic(a);
                h * (1.0 - h) * (1.0 - 2.0 * h)
            }
            Activation::Relu | Activation::LeakyRelu | Activation::Identity => 0.0,
            Activation::Elu => {
                if a > 0.0 {
                    0.0
                } else {
                    a.exp()
                }
            }
            Activation::Softplus => {
                let s = logistic(a);
                s * (1.0 - s)
            }
        }
    }

    /// `(φ'(a), φ''(a))` given `a` and the value `h = φ(a)` the forward pass already
    /// computed, so that φ is not evaluated again: the same numbers as
    /// [`Activation::first_derivative`] and [`Activation::second_derivative`].
    pub fn derivatives(self, a: f64, h: f64) -> (f64, f64) {
        match self {
            Activation::Tanh => {
                let slope = 1.0 - h * h;
                (slope, -2.0 * h * slope)
            }
            Activation::Sigmoid => {
                let slope = h * (1.0 - h);
                (slope, slope * (1.0 - 2.0 * h))
            }
            Activation::Elu if a <= 0.0 => {
                let e = a.exp();
                (e, e)
            }
            Activation::Softplus => {
                let s = logistic(a);
                (s, s * (1.0 - s))
            }
            _ => (self.first_derivative(a), self.second_derivative(a)),
        }
    }

    /// φ applied to every element of a batch of pre-activations.
    pub fn forward(self, preacts: &Array2<f64>) -> Array2<f64> {
        preacts.mapv(|a| self.value(a))
    }
}

/// An activation as a layer of a network: φ elementwise on `width` units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActivationLayer {
    pub activation: Activation,
    pub width: usize,
}

impl ActivationLayer {
    /// `φ′(a)` and `φ″(a)` of the point: as the layer cached them, or made afresh for a
    /// point without them.
    fn derivatives<'a>(&self, at: &Point<'a>) -> (Cow<'a, Array2<f64>>, Cow<'a, Array2<f64>>) {
        match at.cache {
            LayerCache::Elementwise { first, second } => {
                (Cow::Borrowed(first), Cow::Borrowed(second))
            }
            _ => {
                let (first, second) = self.derivatives_of(at.input, at.output);
                (Cow::Owned(first), Cow::Owned(second))
            }
        }
    }

    /// `φ′(a)` and `φ″(a)` from `a` and the value `h = φ(a)` the forward pass computed
    /// ([`Activation::derivatives`]).
    fn derivatives_of(
        &self,
        input: &Array2<f64>,
        output: &Array2<f64>,
    ) -> (Array2<f64>, Array2<f64>) {
        let mut first = Array2::zeros(input.raw_dim());
        let mut second = Array2::zeros(input.raw_dim());
        Zip::from(&mut first)
            .and(&mut second)
            .and(input)
            .and(output)
            .for_each(|s, c, &a, &h| (*s, *c) = self.activation.derivatives(a, h));
        (first, second)
    }
}

/// `values[r] ⊙ per_sample[r mod N]` for a row-stack (N = rows of `per_sample`).
fn times_per_sample(values: &Array2<f64>, per_sample: &Array2<f64>) -> Array2<f64> {
    if values.nrows() == per_sample.nrows() {
        return per_sample * values;
    }
    let samples = per_sample.nrows();
    let mut product = values.clone();
    for (r, mut row) in product.rows_mut().into_iter().enumerate() {
        row *= &per_sample.row(r % samples);
    }
    product
}

impl LayerRules for ActivationLayer {
    fn inputs(&self) -> usize {
        self.width
    }

    fn outputs(&self) -> usize {
        self.width
    }

    /// Either: an elementwise map.
    fn input_form(&self) -> Option<Form> {
        None
    }

    /// The input's form (an image stays an image).
    fn output_form(&self, input: Form) -> Result<Form, String> {
        if input.len() == self.width {
            Ok(input)
        } else {
            Err(format!(
                "{} takes {} values, but gets {input}",
                self.activation, self.width
            ))
        }
    }

    /// None: an activation has no parameters.
    fn param_shapes(&self) -> Vec<(&'static str, Vec<usize>)> {
        Vec::new()
    }

    /// `h = φ(a)`.
    fn forward(&self, _params: &[f64], input: &Array2<f64>) -> Array2<f64> {
        self.activation.forward(input)
    }

    /// `φ′(a)` and `φ″(a)`.
    fn cache(&self, input: &Array2<f64>, output: &Array2<f64>) -> LayerCache {
        let (first, second) = self.derivatives_of(input, output);
        LayerCache::Elementwise { first, second }
    }

    /// `δ = φ′(a) ⊙ γ` for every row.
    fn backprop_rows(&self, at: &Point, rows: &Array2<f64>) -> Array2<f64> {
        times_per_sample(rows, &self.derivatives(at).0)
    }

    /// None: an activation has no parameters.
    fn param_gradient(&self, _at: &Point, _grad: &Array2<f64>, _out: &mut [f64]) {}

    /// `δ = φ′ ⊙ γ` and `d = φ′² ⊙ c + φ″ ⊙ γ` (the residual term only with `residual`).
    fn backprop_diag(
        &self,
        at: &Point,
        grad: &Array2<f64>,
        diag: &Array2<f64>,
        residual: bool,
    ) -> (Array2<f64>, Array2<f64>) {
        let (first, second) = self.derivatives(at);
        let (first, second) = (first.as_ref(), second.as_ref());
        let mut below = Array2::zeros(diag.raw_dim());
        Zip::from(&mut below)
            .and(first)
            .and(diag)
            .and(second)
            .and(grad)
            .for_each(|d, &s, &c, &k, &g| {
                let gauss_newton = s * s * c;
                *d = if residual {
                    gauss_newton + k * g
                } else {
                    gauss_newton
                };
            });
        (first * grad, below)
    }

    /// None: an activation has no parameters.
    fn param_diag(&self, _diag: &Array2<f64>, _squared_input: &Array2<f64>, _out: &mut [f64]) {}

    /// `r = φ″(a) ⊙ γ`.
    fn residual_diag(&self, at: &Point, grad: &Array2<f64>) -> Option<Array2<f64>> {
        Some(self.derivatives(at).1.as_ref() * grad)
    }

    /// Vacuously: it has no parameters.
    fn diag_is_outer_product(&self) -> bool {
        true
    }

    /// None: an activation has no parameters.
    fn row_param_gradients(&self, _at: &Point, rows: &Array2<f64>) -> Array2<f64> {
        Array2::zeros((rows.nrows(), 0))
    }

    /// None: an activation has no parameters.
    fn unit_param_tangents(&self, _at: &Point, _params: Range<usize>) -> Array2<f64> {
        Array2::zeros((0, self.width))
    }

    /// None: an activation has no parameters.
    fn kfac_diag(&self, _diag: &Array2<f64>, _squared_input: &Array2<f64>, _out: &mut [f64]) {}

    /// `ḣ = φ′(a) ⊙ ȧ`.
    fn forward_tangent(
        &self,
        at: &Point,
        input_tangent: Option<&Array2<f64>>,
        _param_tangents: &[&[f64]],
        rows: usize,
    ) -> Array2<f64> {
        match input_tangent {
            Some(tangent) => times_per_sample(tangent, &self.derivatives(at).0),
            None => Array2::zeros((rows, self.width)),
        }
    }

    /// `δ̇ = φ′ ⊙ γ̇ + φ″ ⊙ ȧ ⊙ γ`.
    fn backprop_tangent(
        &self,
        at: &Point,
        grad: &Array2<f64>,
        grad_tangent: &Array2<f64>,
        input_tangent: Option<&Array2<f64>>,
        _param_tangents: &[&[f64]],
    ) -> Array2<f64> {
        let (first, second) = self.derivatives(at);
        let (first, second) = (first.as_ref(), second.as_ref());
        let Some(input_tangent) = input_tangent else {
            return times_per_sample(grad_tangent, first);
        };
        if grad_tangent.nrows() == grad.nrows() {
            return first * grad_tangent + second * input_tangent * grad;
        }
        let samples = grad.nrows();
        let mut below = grad_tangent.clone();
        for (r, (mut row, tangent)) in below
            .rows_mut()
            .into_iter()
            .zip(input_tangent.rows())
            .enumerate()
        {
            let n = r % samples;
            Zip::from(&mut row)
                .and(&first.row(n))
                .and(&second.row(n))
                .and(&tangent)
                .and(&grad.row(n))
                .for_each(|value, &s, &c, &t, &g| *value = s * *value + c * t * g);
        }
        below
    }

    /// None: an activation has no parameters.
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

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Activation {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        Activation::ALL
            .into_iter()
            .find(|activation| activation.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Activation::ALL.iter().map(|a| a.name()).collect();
                Error::input(format!(
                    "unknown activation '{name}' (expected one of: {})",
                    names.join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_from_the_value_are_the_derivatives_bit_for_bit() {
        let points = [-30.0, -2.5, -1.0, -1e-3, -0.0, 0.0, 1e-3, 0.7, 3.0, 40.0];
        for activation in Activation::ALL {
            for a in points {
                let (first, second) = activation.derivatives(a, activation.value(a));
                assert_eq!(
                    first.to_bits(),
                    activation.first_derivative(a).to_bits(),
                    "{activation} {a}"
                );
                assert_eq!(
                    second.to_bits(),
                    activation.second_derivative(a).to_bits(),
                    "{activation} {a}"
                );
            }
        }
    }
}
