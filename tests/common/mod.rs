//! Shared helpers of the integration tests: random problems, the three independent oracles
//! of the exact Hessian diagonal (SPEC §2.1), an oracle for the diagonal recursions of the
//! HesScale family, and distances between parameter-shaped tensors.
//!
//! Every oracle here is written from SPEC.md with scalar loops and small dense matrices; none
//! of them calls the method implementations in `hesscale::methods`.
#![allow(dead_code)] // each test binary uses its own subset of the helpers

use std::fmt;

use approx::abs_diff_eq;
use hesscale::nn::init::{init_mlp, sample_batch, Architecture};
use hesscale::nn::{
    Activation, Linearization, Loss, Mlp, OutputLoss, ParamLayout, Params, Problem, Reduction,
    Targets,
};
use hesscale::rng::{stream_rng, PROBLEM_STREAM};
use ndarray::{Array1, Array2};
use proptest::prelude::*;

pub const REDUCTIONS: [Reduction; 2] = [Reduction::Mean, Reduction::Sum];

// ---------------------------------------------------------------------------------------
// Random problems
// ---------------------------------------------------------------------------------------

/// Everything that determines a random problem, with a readable name for failure messages.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// Layer widths, input to output: `widths.len() − 1` Linear layers.
    pub widths: Vec<usize>,
    /// One activation per hidden layer (`widths.len() − 2` of them).
    pub activations: Vec<Activation>,
    pub loss: Loss,
    pub reduction: Reduction,
    pub batch: usize,
    pub seed: u64,
}

impl Case {
    /// A net `widths[0] → … → widths[last]` with the same activation after every hidden layer.
    pub fn new(
        widths: &[usize],
        activation: Activation,
        loss: Loss,
        reduction: Reduction,
        batch: usize,
        seed: u64,
    ) -> Self {
        Case {
            widths: widths.to_vec(),
            activations: vec![activation; widths.len().saturating_sub(2)],
            loss,
            reduction,
            batch,
            seed,
        }
    }

    /// The number of Linear layers.
    pub fn depth(&self) -> usize {
        self.widths.len() - 1
    }

    /// The problem: PyTorch-initialised weights and a protocol batch, both drawn from the
    /// problem stream of `(seed, cell 0)`; then the per-layer activations are set.
    pub fn problem(&self) -> Problem {
        let architecture = Architecture {
            inputs: self.widths[0],
            hidden: self.widths[1..self.widths.len() - 1].to_vec(),
            outputs: *self.widths.last().expect("at least two widths"),
            activation: Activation::Identity,
        };
        let mut rng = stream_rng(self.seed, 0, PROBLEM_STREAM);
        let drawn = init_mlp(&architecture, &mut rng).expect("valid architecture");
        let mlp = Mlp::from_linear(linear_layers(&drawn), self.activations.clone())
            .expect("the same layers with other activations");
        let (inputs, targets) = sample_batch(
            architecture.inputs,
            architecture.outputs,
            self.loss,
            self.batch,
            &mut rng,
        );
        Problem::new(mlp, self.loss, self.reduction, inputs, targets).expect("a valid problem")
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths: Vec<String> = self.widths.iter().map(ToString::to_string).collect();
        let activations: Vec<&str> = self.activations.iter().map(|a| a.name()).collect();
        write!(
            f,
            "[{} | {} | {}/{} | N={} | seed {}]",
            widths.join("→"),
            if activations.is_empty() {
                "no hidden layer".to_string()
            } else {
                activations.join(",")
            },
            self.loss,
            self.reduction,
            self.batch,
            self.seed
        )
    }
}

/// Random nets for property tests: 1–4 Linear layers, widths 1–12, one activation
/// everywhere, any loss and reduction, batch sizes in `batches`.
pub fn arb_case(batches: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Case> {
    arb_case_with(&Activation::ALL, &Loss::ALL, batches, 1..=4)
}

/// As [`arb_case`], restricted to the given activations, losses, batch sizes and depths
/// (numbers of Linear layers).
pub fn arb_case_with(
    activations: &[Activation],
    losses: &[Loss],
    batches: std::ops::RangeInclusive<usize>,
    depths: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = Case> {
    let widths = depths.prop_flat_map(|depth| proptest::collection::vec(1usize..=12, depth + 1));
    (
        widths,
        proptest::sample::select(activations.to_vec()),
        proptest::sample::select(losses.to_vec()),
        proptest::sample::select(REDUCTIONS.to_vec()),
        batches,
        any::<u64>(),
    )
        .prop_map(|(widths, activation, loss, reduction, batch, seed)| {
            Case::new(&widths, activation, loss, reduction, batch, seed)
        })
}

/// A copy of `problem` with other parameters (same layers, loss, reduction and batch).
pub fn with_params<L: OutputLoss + Clone>(problem: &Problem<L>, params: Params) -> Problem<L> {
    let mut mlp = problem.mlp().clone();
    *mlp.params_mut() = params;
    problem
        .with_mlp(mlp)
        .expect("same shapes as a valid problem")
}

/// An MLP's Linear layers as (weight, bias): the oracles' view of the model.
pub fn linear_layers(mlp: &Mlp) -> Vec<(Array2<f64>, Array1<f64>)> {
    let params = mlp.params();
    (0..mlp.depth())
        .map(|l| {
            (
                params.matrix(l, 0).to_owned(),
                params.vector(l, 1).to_owned(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Parameter-shaped values (one flat buffer, order W_1 row-major, b_1, W_2, b_2, …)
// ---------------------------------------------------------------------------------------

pub fn n_params(params: &Params) -> usize {
    params.len()
}

pub fn flatten(params: &Params) -> Vec<f64> {
    params.values().to_vec()
}

/// The scalar at flat index `index`.
pub fn param_mut(params: &mut Params, index: usize) -> &mut f64 {
    &mut params.values_mut()[index]
}

pub fn param(params: &Params, index: usize) -> f64 {
    params.values()[index]
}

/// Elementwise map of parameter-shaped values.
pub fn map_params(params: &Params, f: impl Fn(f64) -> f64) -> Params {
    params.map(f)
}

/// Elementwise combination of two parameter-shaped values of one layout.
pub fn zip_params(a: &Params, b: &Params, f: impl Fn(f64, f64) -> f64) -> Params {
    assert_eq!(a.layout(), b.layout(), "different shapes");
    a.zip_map(b, f)
}

/// The layers `layers` of parameter-shaped values, on their own (a copy).
pub fn select(params: &Params, layers: std::ops::Range<usize>) -> Params {
    let slots = &params.layout().layers()[layers];
    let layout = std::sync::Arc::new(ParamLayout::new(slots.iter().map(|slot| {
        let shapes = slot
            .tensors
            .iter()
            .map(|t| (t.name, t.shape.clone()))
            .collect();
        (slot.layer, shapes)
    })));
    let values = slots
        .iter()
        .flat_map(|slot| params.values()[slot.range.clone()].iter().copied())
        .collect();
    Params::from_values(&layout, values)
}

/// Layer `l`'s weight of parameter-shaped values.
pub fn weight(params: &Params, l: usize) -> ndarray::ArrayView2<'_, f64> {
    params.matrix(l, 0)
}

/// Layer `l`'s bias of parameter-shaped values.
pub fn bias(params: &Params, l: usize) -> ndarray::ArrayView1<'_, f64> {
    params.vector(l, 1)
}

/// Σ over all elements of |x|.
pub fn l1_norm(params: &Params) -> f64 {
    flatten(params).iter().map(|v| v.abs()).sum()
}

/// max over all elements of |x| (the scale tolerances are taken relative to).
pub fn max_abs(params: &Params) -> f64 {
    flatten(params).iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Σ over all elements of |a − b|.
pub fn l1_distance(a: &Params, b: &Params) -> f64 {
    l1_norm(&zip_params(a, b, |x, y| x - y))
}

/// max over all elements of |a − b|.
pub fn max_abs_distance(a: &Params, b: &Params) -> f64 {
    max_abs(&zip_params(a, b, |x, y| x - y))
}

/// Both have the same layer count and shapes, and every element of `actual` is within
/// `epsilon` of `expected` (`approx::abs_diff_eq!` per tensor). Panics naming the case,
/// the quantity, the tensor and the largest deviation.
pub fn assert_params_close(
    context: impl fmt::Display,
    actual: &Params,
    expected: &Params,
    epsilon: f64,
) {
    assert_eq!(
        actual.layers(),
        expected.layers(),
        "{context}: layer counts differ"
    );
    for l in 0..actual.layers() {
        for (t, name) in [(0, "W"), (1, "b")] {
            let (a, e) = (actual.vector_view(l, t), expected.vector_view(l, t));
            let shapes = |p: &Params| p.layout().layers()[l].tensors[t].shape.clone();
            assert_eq!(
                shapes(actual),
                shapes(expected),
                "{context}: {name}_{} shapes differ",
                l + 1
            );
            let deviation = (&a - &e).iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(
                abs_diff_eq!(a, e, epsilon = epsilon),
                "{context}: {name}_{} deviates by {deviation:e} > {epsilon:e}\nactual:   {:?}\nexpected: {:?}",
                l + 1,
                a.to_vec(),
                e.to_vec(),
            );
        }
    }
}

/// The tolerance `relative × max|reference|` (at least the smallest normal number).
pub fn scaled(relative: f64, reference: &Params) -> f64 {
    (relative * max_abs(reference)).max(f64::MIN_POSITIVE)
}

// ---------------------------------------------------------------------------------------
// Oracle (a): central finite differences of the analytic gradient
// ---------------------------------------------------------------------------------------

/// `∂L/∂θ_i` by central differences of the loss value: `(L(θ+εe_i) − L(θ−εe_i)) / 2ε`.
pub fn finite_difference_gradient<L: OutputLoss + Clone>(
    problem: &Problem<L>,
    epsilon: f64,
) -> Params {
    let layers = problem.mlp().params();
    let mut gradient = problem.mlp().zeros_like_params();
    let loss_at = |index: usize, step: f64| {
        let mut shifted = layers.clone();
        *param_mut(&mut shifted, index) += step;
        let shifted = with_params(problem, shifted);
        shifted.loss_value(&shifted.forward())
    };
    for index in 0..n_params(layers) {
        *param_mut(&mut gradient, index) =
            (loss_at(index, epsilon) - loss_at(index, -epsilon)) / (2.0 * epsilon);
    }
    gradient
}

/// Oracle (a): `H_ii = (g(θ+εe_i) − g(θ−εe_i))_i / 2ε` with the analytic gradient g.
pub fn finite_difference_diag<L: OutputLoss + Clone>(problem: &Problem<L>, epsilon: f64) -> Params {
    let layers = problem.mlp().params();
    let mut diag = problem.mlp().zeros_like_params();
    let gradient_at = |index: usize, step: f64| {
        let mut shifted = layers.clone();
        *param_mut(&mut shifted, index) += step;
        param(&with_params(problem, shifted).gradient(), index)
    };
    for index in 0..n_params(layers) {
        *param_mut(&mut diag, index) =
            (gradient_at(index, epsilon) - gradient_at(index, -epsilon)) / (2.0 * epsilon);
    }
    diag
}

/// `H v` by central differences of the analytic gradient along `v`.
pub fn finite_difference_hvp<L: OutputLoss + Clone>(
    problem: &Problem<L>,
    direction: &Params,
    epsilon: f64,
) -> Params {
    let layers = problem.mlp().params();
    let gradient_at = |step: f64| {
        let shifted = zip_params(layers, direction, |w, v| w + step * v);
        with_params(problem, shifted).gradient()
    };
    zip_params(
        &gradient_at(epsilon),
        &gradient_at(-epsilon),
        |plus, minus| (plus - minus) / (2.0 * epsilon),
    )
}

// ---------------------------------------------------------------------------------------
// Oracle (b): one Hessian-vector product per parameter
// ---------------------------------------------------------------------------------------

/// Oracle (b): `H_ii = (H e_i)_i`, one `Linearization::hessian_vector_product` per
/// parameter.
pub fn hvp_diag<L: OutputLoss>(problem: &Problem<L>) -> Params {
    let linearization = Linearization::new(problem);
    let mut diag = problem.mlp().zeros_like_params();
    for index in 0..n_params(&diag) {
        let mut unit = problem.mlp().zeros_like_params();
        *param_mut(&mut unit, index) = 1.0;
        let product = linearization.hessian_vector_product(&unit);
        *param_mut(&mut diag, index) = param(&product, index);
    }
    diag
}

// ---------------------------------------------------------------------------------------
// Oracle (c): the full-matrix recursion of SPEC §1.2, per sample
// ---------------------------------------------------------------------------------------

/// One sample's forward and backward quantities, computed here with vectors.
struct SampleTrace {
    /// `h_{l−1}`, the input of layer l.
    inputs: Vec<Array1<f64>>,
    /// `a_l`.
    preacts: Vec<Array1<f64>>,
}

fn trace_sample<L: OutputLoss>(problem: &Problem<L>, n: usize) -> SampleTrace {
    let mlp = problem.mlp();
    let activations = mlp.activations();
    let mut inputs = vec![problem.inputs().row(n).to_owned()];
    let mut preacts = Vec::new();
    for (l, (weight, bias)) in linear_layers(mlp).iter().enumerate() {
        let preact = weight.dot(&inputs[l]) + bias;
        if l + 1 < mlp.depth() {
            let activation = activations[l];
            inputs.push(preact.mapv(|a| activation.value(a)));
        }
        preacts.push(preact);
    }
    SampleTrace { inputs, preacts }
}

/// The batch output `z`, shape [N, D], from the per-sample traces.
fn outputs(traces: &[SampleTrace]) -> Array2<f64> {
    let width = traces[0].preacts.last().expect("a layer").len();
    Array2::from_shape_fn((traces.len(), width), |(n, c)| {
        traces[n].preacts.last().expect("a layer")[c]
    })
}

/// The exact Hessian diagonal and the GGN diagonal of oracle (c).
pub struct FullMatrixOracle {
    pub hessian: Params,
    pub ggn: Params,
    /// Per layer, per sample: the full pre-activation Hessian `M_{n,l}`.
    pub preact_hessians: Vec<Vec<Array2<f64>>>,
}

/// Every sample's own forward pass, the outputs `z` ([N, D]) and `∂L/∂z`: the start of
/// both per-sample oracles below.
fn trace_batch<L: OutputLoss>(
    problem: &Problem<L>,
) -> (Vec<SampleTrace>, Array2<f64>, Array2<f64>) {
    let traces: Vec<SampleTrace> = (0..problem.batch_size())
        .map(|n| trace_sample(problem, n))
        .collect();
    let z = outputs(&traces);
    let output_grad = problem.loss().gradient(&z);
    (traces, z, output_grad)
}

/// Oracle (c): per sample, `M_L = ∇²_z ℓ` (`Loss::hessian`),
/// `M_{l−1} = Φ' W_lᵀ M_l W_l Φ' + diag(φ''(a_{l−1}) ⊙ γ_{l−1})` with `γ_{l−1} = W_lᵀ δ_l`
/// computed here; the GGN `G` is the same recursion without the residual. Then SPEC §1.1:
/// `H[W_l]_{oi} = Σ_n h²_{n,l−1,i} M_{n,l}[o,o]`, `H[b_l]_o = Σ_n M_{n,l}[o,o]`.
pub fn full_matrix_oracle<L: OutputLoss>(problem: &Problem<L>) -> FullMatrixOracle {
    let mlp = problem.mlp();
    let depth = mlp.depth();
    let (traces, z, output_grad) = trace_batch(problem);
    let (layers, activations) = (linear_layers(mlp), mlp.activations());
    let mut hessian = mlp.zeros_like_params();
    let mut ggn = mlp.zeros_like_params();
    let mut preact_hessians = vec![Vec::new(); depth];
    for (n, trace) in traces.iter().enumerate() {
        let mut delta = output_grad.row(n).to_owned();
        let mut m = problem.loss().hessian(&z, n);
        let mut g = m.clone();
        for l in (0..depth).rev() {
            accumulate_diag(&mut hessian, l, &m, &trace.inputs[l]);
            accumulate_diag(&mut ggn, l, &g, &trace.inputs[l]);
            preact_hessians[l].push(m.clone());
            if l == 0 {
                break;
            }
            let weight = &layers[l].0;
            let activation = activations[l - 1];
            let a = &trace.preacts[l - 1];
            let slope = Array2::from_diag(&a.mapv(|a| activation.first_derivative(a)));
            let curvature = a.mapv(|a| activation.second_derivative(a));
            let gamma = weight.t().dot(&delta);
            let through =
                |matrix: &Array2<f64>| slope.dot(&weight.t()).dot(matrix).dot(weight).dot(&slope);
            m = through(&m) + Array2::from_diag(&(&curvature * &gamma));
            g = through(&g);
            delta = slope.dot(&gamma);
        }
    }
    FullMatrixOracle {
        hessian,
        ggn,
        preact_hessians,
    }
}

fn accumulate_diag(target: &mut Params, l: usize, matrix: &Array2<f64>, input: &Array1<f64>) {
    for o in 0..matrix.nrows() {
        let d = matrix[[o, o]];
        target.vector_mut(l, 1)[o] += d;
        for i in 0..input.len() {
            target.matrix_mut(l, 0)[[o, i]] += input[i] * input[i] * d;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Oracle for the diagonal recursions (hesscale, hesscale_gn, bl89), per sample, by loops
// ---------------------------------------------------------------------------------------

/// The output seed `d_L` of a diagonal recursion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seed {
    /// `diag(∇²_z ℓ)`, read off the full `Loss::hessian`.
    ExactDiagonal,
    /// BL89: cross_entropy `(p_y − p_y²)·scale` at c = y only; mse as ExactDiagonal.
    Elementwise,
}

/// SPEC §2: `d_{l−1} = φ'² ⊙ ((W_l∘W_l)ᵀ d_l) + [residual] φ'' ⊙ γ_{l−1}` per sample,
/// written with scalar loops, then SPEC §1.1.
pub fn diagonal_recursion_oracle(problem: &Problem, seed: Seed, residual: bool) -> Params {
    let mlp = problem.mlp();
    let depth = mlp.depth();
    let (layers, activations) = (linear_layers(mlp), mlp.activations());
    let (traces, z, output_grad) = trace_batch(problem);
    let mut diag = mlp.zeros_like_params();
    for (n, trace) in traces.iter().enumerate() {
        let full = problem.loss().hessian(&z, n);
        let mut d: Array1<f64> = full.diag().to_owned();
        if let (Seed::Elementwise, Targets::Classes(classes)) = (seed, problem.targets()) {
            let y = classes[n];
            d = Array1::zeros(d.len());
            let scale = problem
                .loss()
                .kind()
                .scale(problem.reduction(), z.nrows(), z.ncols());
            let p_y = {
                let row = z.row(n);
                let max = row.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                let total: f64 = row.iter().map(|v| (v - max).exp()).sum();
                (row[y] - max).exp() / total
            };
            d[y] = scale * (p_y - p_y * p_y);
        }
        let mut delta = output_grad.row(n).to_owned();
        for l in (0..depth).rev() {
            let input = &trace.inputs[l];
            for o in 0..d.len() {
                diag.vector_mut(l, 1)[o] += d[o];
                for i in 0..input.len() {
                    diag.matrix_mut(l, 0)[[o, i]] += input[i] * input[i] * d[o];
                }
            }
            if l == 0 {
                break;
            }
            let weight = &layers[l].0;
            let activation = activations[l - 1];
            let a = &trace.preacts[l - 1];
            let mut below = Array1::<f64>::zeros(a.len());
            let mut gamma = Array1::<f64>::zeros(a.len());
            for i in 0..a.len() {
                for o in 0..d.len() {
                    below[i] += weight[[o, i]] * weight[[o, i]] * d[o];
                    gamma[i] += weight[[o, i]] * delta[o];
                }
                let slope = activation.first_derivative(a[i]);
                below[i] *= slope * slope;
                if residual {
                    below[i] += activation.second_derivative(a[i]) * gamma[i];
                }
            }
            delta =
                Array1::from_shape_fn(a.len(), |i| activation.first_derivative(a[i]) * gamma[i]);
            d = below;
        }
    }
    diag
}

/// The inputs `h_{l−1}` of every layer for the whole batch, [N, in_l], from the oracle's
/// own forward pass.
pub fn layer_inputs<L: OutputLoss>(problem: &Problem<L>) -> Vec<Array2<f64>> {
    let traces: Vec<SampleTrace> = (0..problem.batch_size())
        .map(|n| trace_sample(problem, n))
        .collect();
    (0..problem.mlp().depth())
        .map(|l| {
            let width = traces[0].inputs[l].len();
            Array2::from_shape_fn((traces.len(), width), |(n, i)| traces[n].inputs[l][i])
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Methods
// ---------------------------------------------------------------------------------------

/// A method by its command-line name (`hesscale`, `ggn_mc:3`).
pub fn method(name: &str) -> hesscale::methods::Method {
    name.parse()
        .unwrap_or_else(|e| panic!("'{name}' is not a method: {e}"))
}

/// The four networks the statistical tests draw from: smooth activations, both losses and
/// both reductions, batches of 1 to 3.
pub fn statistical_nets() -> Vec<Case> {
    vec![
        Case::new(
            &[4, 8, 8, 5],
            Activation::Tanh,
            Loss::CrossEntropy,
            Reduction::Mean,
            1,
            21,
        ),
        Case::new(
            &[4, 8, 8, 5],
            Activation::Softplus,
            Loss::CrossEntropy,
            Reduction::Sum,
            3,
            22,
        ),
        Case::new(
            &[3, 6, 4],
            Activation::Sigmoid,
            Loss::Mse,
            Reduction::Mean,
            2,
            23,
        ),
        Case::new(
            &[3, 6, 6, 4],
            Activation::Elu,
            Loss::Mse,
            Reduction::Sum,
            1,
            24,
        ),
    ]
}
