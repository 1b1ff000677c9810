//! Elementwise activations φ with their first and second derivatives side by side
//! (SPEC §1). Each rule takes the pre-activation `a`; the derivatives are written in terms
//! of `h = φ(a)` where that is the usual form.

use std::fmt;
use std::str::FromStr;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::Error;

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
    /// tanh: 1 − h²; sigmoid: h(1 − h); relu: [a > 0]; leaky_relu: 1 or 0.01;
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

    /// φ'(a) for every element.
    pub fn first_derivatives(self, preacts: &Array2<f64>) -> Array2<f64> {
        preacts.mapv(|a| self.first_derivative(a))
    }

    /// φ''(a) for every element.
    pub fn second_derivatives(self, preacts: &Array2<f64>) -> Array2<f64> {
        preacts.mapv(|a| self.second_derivative(a))
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
