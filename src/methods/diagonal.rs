//! A method's estimate in the form that is cheapest to keep, and the L1 distances between
//! two estimates without materialising what need not be.
//!
//! By SPEC §1.1 most methods only estimate, per sample, the curvature `D_n` at each
//! layer's pre-activations; the weight diagonal is then `Σ_n D_n ⊗ h_n²`. For one sample
//! that is the rank-one `D ⊗ h²`, so the L1 distance of two such weight diagonals is
//! `Σ_o |D_o − E_o| · Σ_i h_i²`: a sum over units instead of over weights. Where that
//! identity does not hold (several samples, or a method like Hutchinson's that estimates
//! every weight) the tensors are compared element by element.

use std::cell::OnceCell;

use ndarray::{Array1, Array2, ArrayView1, Axis, Zip};

use crate::nn::kernels;
use crate::nn::linear::summed_outer_products;
use crate::nn::{LayerParams, Linearization, ParamTensors};

/// The two Kronecker factors of a layer's KFAC diagonal: the weight diagonal is
/// `output ⊗ input`, the bias diagonal `output`.
#[derive(Clone, Debug, PartialEq)]
pub struct KroneckerFactors {
    /// `G_oo`, one per output unit.
    pub output: Array1<f64>,
    /// `A_ii`, one per input.
    pub input: Array1<f64>,
}

/// A Hessian-diagonal estimate of every weight and bias, one entry per Linear layer.
#[derive(Clone, Debug, PartialEq)]
pub enum Diagonal {
    /// Per-sample pre-activation curvature `D_l`, `[N, out_l]`: weights
    /// `Σ_n D_n[o] h_{n,i}²`, biases `Σ_n D_n[o]` (SPEC §1.1).
    PerSample(Vec<Array2<f64>>),
    /// Kronecker factors: weights `G_o A_i`, biases `G_o` (KFAC).
    Kronecker(Vec<KroneckerFactors>),
    /// The weight and bias diagonals themselves.
    Params(ParamTensors),
}

/// Per layer, the weight diagonal as `units ⊗ inputs` and the bias diagonal as `units`.
type RankOne<'a> = Vec<(ArrayView1<'a, f64>, ArrayView1<'a, f64>)>;

impl Diagonal {
    /// The weight and bias diagonals this estimate stands for.
    pub fn into_params(self, linearization: &Linearization) -> ParamTensors {
        match self {
            Diagonal::PerSample(diagonals) => diagonals
                .iter()
                .zip(linearization.squared_inputs())
                .map(|(diagonal, squared)| LayerParams {
                    weight: summed_outer_products(diagonal, squared),
                    bias: diagonal.sum_axis(Axis(0)),
                })
                .collect(),
            Diagonal::Kronecker(factors) => factors
                .into_iter()
                .map(|KroneckerFactors { output, input }| LayerParams {
                    weight: outer(output.view(), input.view()),
                    bias: output,
                })
                .collect(),
            Diagonal::Params(params) => params,
        }
    }

    /// True when every value is finite.
    pub fn is_finite(&self) -> bool {
        match self {
            Diagonal::PerSample(diagonals) => {
                diagonals.iter().all(|d| d.iter().all(|v| v.is_finite()))
            }
            Diagonal::Kronecker(factors) => factors
                .iter()
                .all(|f| f.output.iter().chain(&f.input).all(|v| v.is_finite())),
            Diagonal::Params(params) => params.iter().all(LayerParams::is_finite),
        }
    }

    /// Per layer `(units, inputs)` with weight diagonal `units ⊗ inputs` and bias diagonal
    /// `units`, when the estimate has that form: per-sample curvature of one sample
    /// (inputs `h²`) and Kronecker factors.
    fn rank_one<'a>(&'a self, linearization: &'a Linearization) -> Option<RankOne<'a>> {
        match self {
            Diagonal::PerSample(diagonals) if linearization.batch_size() == 1 => Some(
                diagonals
                    .iter()
                    .zip(linearization.squared_inputs())
                    .map(|(d, squared)| (d.row(0), squared.row(0)))
                    .collect(),
            ),
            Diagonal::Kronecker(factors) => Some(
                factors
                    .iter()
                    .map(|f| (f.output.view(), f.input.view()))
                    .collect(),
            ),
            _ => None,
        }
    }
}

/// `u ⊗ a`, shape `[u.len(), a.len()]`.
fn outer(u: ArrayView1<f64>, a: ArrayView1<f64>) -> Array2<f64> {
    let mut values = Vec::new();
    kernels::append_outer_product(&u.to_vec(), &a.to_vec(), &mut values);
    Array2::from_shape_vec((u.len(), a.len()), values).expect("rows x columns values")
}

/// `Σ|a − b|` in order.
fn l1(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
    Zip::from(&a)
        .and(&b)
        .fold(0.0, |sum, &x, &y| sum + (x - y).abs())
}

/// `Σ|x|` in order.
fn sum_abs(x: ArrayView1<f64>) -> f64 {
    x.fold(0.0, |sum, &v| sum + v.abs())
}

/// `Σ|x − y|` over two tensors of the same shape, in row-major order.
fn l1_params(x: &LayerParams, y: &LayerParams) -> [f64; 2] {
    let weight = Zip::from(&x.weight)
        .and(&y.weight)
        .fold(0.0, |sum, &a, &b| sum + (a - b).abs());
    [weight, l1(x.bias.view(), y.bias.view())]
}

/// The exact diagonal of a batch as the reference of error measurements: in its compact
/// form where it has one, and as parameter tensors made on first need otherwise.
pub struct Reference<'l, 'p> {
    diagonal: Diagonal,
    linearization: &'l Linearization<'p>,
    params: OnceCell<ParamTensors>,
}

impl<'l, 'p> Reference<'l, 'p> {
    /// The exact `diagonal` of the batch `linearization` describes.
    pub fn new(diagonal: Diagonal, linearization: &'l Linearization<'p>) -> Self {
        Reference {
            diagonal,
            linearization,
            params: OnceCell::new(),
        }
    }

    /// The reference itself.
    pub fn diagonal(&self) -> &Diagonal {
        &self.diagonal
    }

    fn params(&self) -> &ParamTensors {
        self.params
            .get_or_init(|| self.diagonal.clone().into_params(self.linearization))
    }

    /// `[Σ|weights|, Σ|biases|]` of every layer: for a rank-one form
    /// `Σ_o |u_o| · Σ_i a_i` (the `a_i` are squares, never negative).
    pub fn sum_abs(&self) -> Vec<[f64; 2]> {
        match self.diagonal.rank_one(self.linearization) {
            Some(layers) => layers
                .iter()
                .map(|(units, inputs)| {
                    let units = sum_abs(*units);
                    [units * inputs.sum(), units]
                })
                .collect(),
            None => self
                .params()
                .iter()
                .map(|layer| {
                    [
                        layer.weight.fold(0.0, |sum, &v| sum + v.abs()),
                        sum_abs(layer.bias.view()),
                    ]
                })
                .collect(),
        }
    }

    /// `[Σ|exact − estimate|]` over the weights and over the biases of every layer. Two
    /// rank-one forms with the same inputs give `Σ_o |u_o − e_o| · Σ_i a_i`; a rank-one
    /// reference against full tensors is expanded row by row on the fly; anything else is
    /// compared element by element.
    pub fn l1_distances(&self, estimate: &Diagonal) -> Vec<[f64; 2]> {
        let reference = self.diagonal.rank_one(self.linearization);
        match (&reference, estimate.rank_one(self.linearization)) {
            (Some(exact), Some(other)) if same_inputs(exact, &other) => exact
                .iter()
                .zip(&other)
                .map(|((e, inputs), (u, _))| {
                    let units = l1(*e, *u);
                    [units * inputs.sum(), units]
                })
                .collect(),
            _ => match (&reference, estimate) {
                (Some(exact), Diagonal::Params(params)) => exact
                    .iter()
                    .zip(params)
                    .map(|((e, inputs), layer)| {
                        let weight = e
                            .iter()
                            .zip(layer.weight.rows())
                            .map(|(&eo, row)| {
                                row.iter()
                                    .zip(inputs)
                                    .fold(0.0, |sum, (&x, &a)| sum + (eo * a - x).abs())
                            })
                            .fold(0.0, |sum, row| sum + row);
                        [weight, l1(*e, layer.bias.view())]
                    })
                    .collect(),
                _ => {
                    let estimate = estimate.clone().into_params(self.linearization);
                    self.params()
                        .iter()
                        .zip(&estimate)
                        .map(|(x, y)| l1_params(x, y))
                        .collect()
                }
            },
        }
    }
}

/// Whether two rank-one forms share their inputs, layer by layer, value for value.
fn same_inputs(a: &RankOne, b: &RankOne) -> bool {
    a.iter().zip(b).all(|((_, x), (_, y))| x == y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::Method;
    use crate::nn::init::{init_mlp, sample_batch, Architecture};
    use crate::nn::{Activation, Loss, Problem, Reduction};
    use crate::rng::stream_rng;

    fn problem(batch: usize) -> Problem {
        let architecture = Architecture {
            inputs: 4,
            hidden: vec![7, 5],
            outputs: 3,
            activation: Activation::Tanh,
        };
        let mut rng = stream_rng(5, 0, 0);
        let mlp = init_mlp(&architecture, &mut rng).unwrap();
        let (inputs, targets) = sample_batch(4, 3, Loss::CrossEntropy, batch, &mut rng);
        Problem::new(mlp, Loss::CrossEntropy, Reduction::Mean, inputs, targets).unwrap()
    }

    /// The distances element by element, from the parameter tensors.
    fn materialised(exact: &ParamTensors, estimate: &ParamTensors) -> Vec<[f64; 2]> {
        exact
            .iter()
            .zip(estimate)
            .map(|(x, y)| l1_params(x, y))
            .collect()
    }

    /// For one sample the rank-one shortcut (and the row-by-row expansion against full
    /// tensors) gives the element-by-element distances; for a batch the general path is
    /// taken. Every form of estimate is tried.
    #[test]
    fn every_path_gives_the_element_by_element_distances() {
        for batch in [1, 3] {
            let problem = problem(batch);
            let linearization = Linearization::new(&problem);
            let exact = Method::exact()
                .estimate_from(&linearization, &mut stream_rng(0, 0, 1))
                .unwrap();
            let exact_params = exact.clone().into_params(&linearization);
            let reference = Reference::new(exact, &linearization);
            let sums: Vec<[f64; 2]> = exact_params
                .iter()
                .map(|l| {
                    [
                        l.weight.iter().map(|v| v.abs()).sum(),
                        l.bias.iter().map(|v| v.abs()).sum(),
                    ]
                })
                .collect();
            for (fast, slow) in reference.sum_abs().iter().zip(&sums) {
                for p in 0..2 {
                    approx::assert_relative_eq!(fast[p], slow[p], max_relative = 1e-13);
                }
            }
            for name in ["hesscale", "kfac:3", "hutchinson:2", "grad_squared", "zero"] {
                let method: Method = name.parse().unwrap();
                let estimate = method
                    .estimate_from(&linearization, &mut stream_rng(0, 0, 2))
                    .unwrap();
                let expected =
                    materialised(&exact_params, &estimate.clone().into_params(&linearization));
                for (fast, slow) in reference.l1_distances(&estimate).iter().zip(&expected) {
                    for p in 0..2 {
                        approx::assert_relative_eq!(fast[p], slow[p], max_relative = 1e-12);
                    }
                }
            }
        }
    }
}
