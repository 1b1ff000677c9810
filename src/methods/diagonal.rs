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

use ndarray::{Array1, Array2, ArrayView1, Zip};

use crate::nn::kernels;
use crate::nn::{LayerRules, Linearization, Params};

/// The two Kronecker factors of a layer's KFAC diagonal: the weight diagonal is
/// `output ⊗ input`, the bias diagonal `output`.
#[derive(Clone, Debug, PartialEq)]
pub struct KroneckerFactors {
    /// `G_oo`, one per output unit.
    pub output: Array1<f64>,
    /// `A_ii`, one per input.
    pub input: Array1<f64>,
}

/// A Hessian-diagonal estimate of every parameter, one entry per layer with parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Diagonal {
    /// Per-sample curvature `D` at the layer's output, `[N, out]`: the parameters'
    /// diagonal from it by the layer's rule (SPEC §1.1: weights `Σ_n D_n[o] h_{n,i}²`,
    /// biases `Σ_n D_n[o]`).
    PerSample(Vec<Array2<f64>>),
    /// Kronecker factors: weights `G_o A_i`, biases `G_o` (KFAC).
    Kronecker(Vec<KroneckerFactors>),
    /// The parameters' diagonal itself.
    Params(Params),
}

/// One layer's part of an estimate on a network where some layer's diagonal is not the
/// outer product of SPEC §1.1 (a convolution's): what the method has for that layer.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerDiagonal {
    /// Per-sample curvature `D` at the layer's output, `[N, out]`, made into the
    /// parameters' diagonal by the layer's rule ([`LayerRules::param_diag`]).
    PerSample(Array2<f64>),
    /// The layer's parameters' diagonal itself, in its parameter order.
    Values(Vec<f64>),
}

/// Per layer, the first tensor's diagonal (the weights) as `units ⊗ inputs` and the second
/// one's (the biases) as `units`.
type RankOne<'a> = Vec<(ArrayView1<'a, f64>, ArrayView1<'a, f64>)>;

impl Diagonal {
    /// The estimate made of one part per layer with parameters, in order (see
    /// [`LayerDiagonal`]), as the parameters' diagonal.
    pub fn from_layers(linearization: &Linearization, layers: Vec<LayerDiagonal>) -> Diagonal {
        let layout = linearization.mlp().params().layout();
        let mut values = Vec::with_capacity(layout.len());
        for ((part, squared), slot) in layers
            .into_iter()
            .zip(linearization.squared_inputs())
            .zip(layout.layers())
        {
            match part {
                LayerDiagonal::PerSample(diagonal) => {
                    let layer = &linearization.mlp().layers()[slot.layer];
                    layer.append_param_diag(&diagonal, squared, &mut values);
                }
                LayerDiagonal::Values(diagonal) => values.extend(diagonal),
            }
        }
        Diagonal::Params(Params::from_values(layout, values))
    }

    /// The parameters' diagonal this estimate stands for (a fresh buffer, each value
    /// written once where the layer allows: [`LayerRules::append_param_diag`]).
    pub fn into_params(self, linearization: &Linearization) -> Params {
        let layout = linearization.mlp().params().layout();
        let mut values = Vec::with_capacity(layout.len());
        match self {
            Diagonal::Params(params) => return params,
            Diagonal::PerSample(diagonals) => {
                for ((diagonal, squared), slot) in diagonals
                    .iter()
                    .zip(linearization.squared_inputs())
                    .zip(layout.layers())
                {
                    let layer = &linearization.mlp().layers()[slot.layer];
                    layer.append_param_diag(diagonal, squared, &mut values);
                }
            }
            Diagonal::Kronecker(factors) => {
                for KroneckerFactors { output, input } in &factors {
                    kernels::append_outer_product(&output.to_vec(), &input.to_vec(), &mut values);
                    values.extend(output);
                }
            }
        }
        Params::from_values(layout, values)
    }

    /// [`Diagonal::into_params`] written over `params` (of the network's layout): a buffer
    /// a training step reuses. An estimate that is already parameters is copied in, so its
    /// own buffer is freed at once and served again to the next step's estimate (keeping
    /// it instead, and freeing the previous one, made adahessian's steps 3% slower).
    pub fn write_params(self, linearization: &Linearization, params: &mut Params) {
        match self {
            Diagonal::PerSample(diagonals) => {
                let layout = linearization.mlp().params().layout();
                for (slot, (diagonal, squared)) in diagonals
                    .iter()
                    .zip(linearization.squared_inputs())
                    .enumerate()
                {
                    let layer = &linearization.mlp().layers()[layout.layers()[slot].layer];
                    layer.param_diag(diagonal, squared, params.layer_mut(slot));
                }
            }
            Diagonal::Kronecker(factors) => {
                for (slot, KroneckerFactors { output, input }) in factors.iter().enumerate() {
                    let (weight, bias) = params
                        .layer_mut(slot)
                        .split_at_mut(output.len() * input.len());
                    kernels::write_outer_product(&output.to_vec(), &input.to_vec(), weight);
                    bias.copy_from_slice(&output.to_vec());
                }
            }
            Diagonal::Params(values) => params.values_mut().copy_from_slice(values.values()),
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
            Diagonal::Params(params) => params.is_finite(),
        }
    }

    /// Per layer `(units, inputs)` with weight diagonal `units ⊗ inputs` and bias diagonal
    /// `units`, when the estimate has that form: per-sample curvature of one sample
    /// (inputs `h²`) of layers whose diagonal is that outer product, and Kronecker factors.
    fn rank_one<'a>(&'a self, linearization: &'a Linearization) -> Option<RankOne<'a>> {
        let outer = || linearization.mlp().diag_is_outer_product();
        match self {
            Diagonal::PerSample(diagonals) if linearization.batch_size() == 1 && outer() => Some(
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

/// `[Σ|x − y|]` over the first tensor (the weights) and over the second (the biases) of
/// layer `l` of two estimates of one layout, in the layout's order.
fn l1_params(x: &Params, y: &Params, l: usize) -> [f64; 2] {
    [0, 1].map(|t| l1(x.vector_view(l, t), y.vector_view(l, t)))
}

/// The exact diagonal of a batch as the reference of error measurements: in its compact
/// form where it has one, and as parameters made on first need otherwise.
pub struct Reference<'l, 'p> {
    diagonal: Diagonal,
    linearization: &'l Linearization<'p>,
    params: OnceCell<Params>,
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

    fn params(&self) -> &Params {
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
            None => {
                let params = self.params();
                (0..params.layers())
                    .map(|l| [0, 1].map(|t| sum_abs(params.vector_view(l, t))))
                    .collect()
            }
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
                    .enumerate()
                    .map(|(l, (e, inputs))| {
                        let weight = e
                            .iter()
                            .zip(params.tensor(l, 0).chunks(inputs.len().max(1)))
                            .map(|(&eo, row)| {
                                row.iter()
                                    .zip(inputs)
                                    .fold(0.0, |sum, (&x, &a)| sum + (eo * a - x).abs())
                            })
                            .fold(0.0, |sum, row| sum + row);
                        [weight, l1(*e, params.vector_view(l, 1))]
                    })
                    .collect(),
                _ => {
                    let estimate = estimate.clone().into_params(self.linearization);
                    let exact = self.params();
                    (0..exact.layers())
                        .map(|l| l1_params(exact, &estimate, l))
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

    /// The distances element by element, from the parameters.
    fn materialised(exact: &Params, estimate: &Params) -> Vec<[f64; 2]> {
        (0..exact.layers())
            .map(|l| l1_params(exact, estimate, l))
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
            let sums: Vec<[f64; 2]> = (0..exact_params.layers())
                .map(|l| [0, 1].map(|t| exact_params.tensor(l, t).iter().map(|v| v.abs()).sum()))
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
