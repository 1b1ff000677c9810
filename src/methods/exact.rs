//! The exact Hessian diagonal (SPEC §2.1). By SPEC §1.1 it suffices to know, per sample,
//! the diagonal of the Hessian with respect to each layer's pre-activations. Unrolling
//! the recursion of SPEC §1.2, `M_l = Φ'_l W_{l+1}ᵀ M_{l+1} W_{l+1} Φ'_l + diag(r_l)` with
//! the residual `r_l = φ''(a_l) ⊙ γ_l`, gives for every hidden layer l
//!
//! `diag(M_l) = diag(J_{L,l}ᵀ ∇²_z ℓ J_{L,l}) + Σ_{l<k<L−1} diag(J_{k,l}ᵀ diag(r_k) J_{k,l}) + r_l`
//!
//! with the Jacobians `J_{k,l} = ∂a_k/∂a_l`. Three ways compute it, all exact:
//! Where a layer's parameters are shared between positions (a convolution, SPEC §11) the
//! identity of SPEC §1.1 does not hold and the diagonal of its output's Hessian is not
//! enough: there, one Hessian-vector product per parameter of the layer, seeded at its
//! output with the parameter's tangent `J_θ e_i` ([`crate::nn::LayerRules::unit_param_tangents`];
//! a convolution has few parameters), up the layers above, the loss's Hessian, and down
//! again gives `M_n J_θ e_i`, and the diagonal is `Σ_n ⟨J_θ e_i, M_n J_θ e_i⟩` (exact: the
//! output is linear in the parameters). The other layers of such a network keep the
//! per-unit tangents below.
//!
//! * [`Strategy::Tangents`], SPEC §2.1 as it stands and for any network: for each unit o of
//!   each layer with parameters, the Hessian-vector product with respect to that layer's
//!   output in the direction `e_o`, for all samples at once (the units' directions as the
//!   rows of one tangent stack): up the layers above with the forward-tangent walk, the
//!   loss's Hessian at the output, down again with the backward walk.
//! * and for a multi-layer perceptron two fast paths, of which each shape takes the one with
//!   fewer multiply-adds ([`Strategy::cheaper`]); each is tested against the first.
//!   [`Strategy::Jacobians`]: per sample, the Jacobians `J_{k,l}` layer by layer downwards
//!   (`J_{k,l} = J_{k,l+1} W_{l+1} Φ'_l`), and of each only the weighted column squares
//!   `Σ_j r_k[j] J_{k,l}[j,i]²`. The output Jacobians are shared with the GGN methods. One
//!   `w×w×w` product per pair of hidden layers at least two apart: cheapest for shallow nets.
//!   [`Strategy::DenseHessians`]: per sample, the dense `M_l` of SPEC §1.2 backpropagated
//!   (two `w×w×w` products per layer): cheapest for deep nets.

use ndarray::{Array1, Array2, Axis};
use rand_chacha::ChaCha8Rng;

use crate::methods::diagonal::LayerDiagonal;
use crate::methods::{CostClass, Diagonal, Draws, Estimate, MethodDef};
use crate::nn::kernels::{add_weighted_column_squares, dot};
use crate::nn::linearization::identity_rows;
use crate::nn::work::{gradient_work, weights, F64_BYTES};
use crate::nn::{LayerRules, Linearization, OutputLoss, Params, PlainMlp, Problem, Tangents};

/// The exact diagonal, the reference of every study.
pub const EXACT: MethodDef = MethodDef {
    name: "exact",
    estimates: "the exact Hessian diagonal (per-sample Jacobians or dense Hessians of the pre-activations, whichever costs less)",
    cost: CostClass::Quadratic,
    draws: Draws::None,
    estimate: Estimate::FromLinearization(estimate),
    work,
    memory,
};

fn estimate(linearization: &Linearization, _draws: usize, _rng: &mut ChaCha8Rng) -> Diagonal {
    exact_diagonal(linearization)
}

/// The exact diagonal: per-sample pre-activation diagonals where every layer's rule makes
/// them exact ([`preact_hessian_diags`]), one part per layer otherwise ([`layer_diags`]).
pub fn exact_diagonal(linearization: &Linearization) -> Diagonal {
    if linearization.mlp().diag_is_outer_product() {
        Diagonal::PerSample(preact_hessian_diags(linearization))
    } else {
        Diagonal::from_layers(linearization, layer_diags(linearization))
    }
}

/// The most values a stack of parameter tangents may hold at its widest layer (16 MiB):
/// a layer's parameters go through in chunks of that size.
const TANGENT_VALUES: usize = 1 << 21;

/// Every layer's exact part on any network: per-unit diagonals ([`unit_diag`]) where the
/// layer's rule makes them exact, the parameters' diagonal by one Hessian-vector product
/// per parameter ([`param_diag_by_tangents`]) elsewhere.
pub fn layer_diags(linearization: &Linearization) -> Vec<LayerDiagonal> {
    let layout = linearization.mlp().params().layout();
    layout
        .layers()
        .iter()
        .map(|slot| {
            let k = slot.layer;
            if linearization.mlp().layers()[k].diag_is_outer_product() {
                LayerDiagonal::PerSample(unit_diag(linearization, k))
            } else {
                LayerDiagonal::Values(param_diag_by_tangents(linearization, k))
            }
        })
        .collect()
}

/// `M_n t` for a stack of tangents `t` at the output of layer k (row r for sample
/// `r mod N`), `M_n` the per-sample Hessian of the loss w.r.t. that output: up the layers
/// above ([`Linearization::walk_forward_tangent`]), `∇²_z ℓ` at the output, and down to
/// k's output ([`Linearization::walk_backward`] with each layer's
/// [`crate::nn::LayerRules::backprop_tangent`]). Returns the walk's tangents (the seed at
/// `at(k + 1)`) and the products.
fn hessian_at_output(
    linearization: &Linearization,
    k: usize,
    seed: Array2<f64>,
) -> (Tangents, Array2<f64>) {
    let rows = seed.nrows();
    let tangents = linearization.walk_forward_tangent(k + 1, Some(seed), rows, &[]);
    let output_tangent = tangents.output().expect("the walk starts with a tangent");
    let seed = linearization
        .loss()
        .hessian_vector_product(linearization.output(), output_tangent);
    let products = linearization
        .walk_backward(k + 1..linearization.layers(), seed, |at, grad_tangent| {
            Some(at.layer().backprop_tangent(
                &at.point(),
                at.grad(),
                &grad_tangent,
                tangents.at(at.index()),
                &[],
            ))
        })
        .expect("every step goes on");
    (tangents, products)
}

/// The exact diagonal of the parameters of layer k, one Hessian-vector product per
/// parameter, in chunks: `Σ_n ⟨J_θ e_i, M_n J_θ e_i⟩`.
pub fn param_diag_by_tangents(linearization: &Linearization, k: usize) -> Vec<f64> {
    let at = linearization.at(k);
    let (layer, point) = (at.layer(), at.point());
    let samples = linearization.batch_size();
    let widest = (k..linearization.layers())
        .map(|j| linearization.pass().output_of(j).ncols())
        .max()
        .unwrap_or(1);
    let chunk = (TANGENT_VALUES / (samples * widest)).max(1);
    let count = layer.param_count();
    let mut diag = Vec::with_capacity(count);
    for start in (0..count).step_by(chunk) {
        let end = (start + chunk).min(count);
        let seed = layer.unit_param_tangents(&point, start..end);
        let (tangents, products) = hessian_at_output(linearization, k, seed);
        let seed = tangents.at(k + 1).expect("the walk keeps its seed");
        let pairs: Vec<f64> = seed
            .rows()
            .into_iter()
            .zip(products.rows())
            .map(|(t, p)| match (t.to_slice(), p.to_slice()) {
                (Some(t), Some(p)) => dot(t, p),
                _ => t.dot(&p),
            })
            .collect();
        diag.extend(
            pairs
                .chunks_exact(samples)
                .map(|per_sample| per_sample.iter().sum::<f64>()),
        );
    }
    diag
}

/// How the exact pre-activation diagonals are computed (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Per-sample Jacobians between hidden layers, downwards (a multi-layer perceptron).
    Jacobians,
    /// Per-sample dense Hessians of the pre-activations, backpropagated (a multi-layer
    /// perceptron).
    DenseHessians,
    /// One Hessian-vector product per unit through the two walks (any network).
    Tangents,
}

impl Strategy {
    /// The multiply-adds per sample on a multi-layer perceptron with layer `widths` (input
    /// to output): the matrix products only (each also needs the gradient).
    pub fn work_per_sample(self, widths: &[usize]) -> f64 {
        let w = |i: usize| widths[i] as f64;
        let layers = widths.len() - 1;
        let outputs = w(layers);
        let mut total = 0.0;
        // Hidden layer l has width w(l + 1); the layer above it has weight [w(l+2), w(l+1)].
        for l in (0..layers.saturating_sub(1)).rev() {
            total += match self {
                Strategy::Jacobians => {
                    let below_output = if l + 2 < layers { outputs } else { 0.0 };
                    let hidden_above: f64 = (l + 3..layers).map(w).sum();
                    (below_output + hidden_above) * w(l + 2) * w(l + 1)
                }
                Strategy::DenseHessians => {
                    let lower = if l > 0 { w(l + 1) } else { 1.0 };
                    w(l + 2) * w(l + 2) * w(l + 1) + lower * w(l + 1) * w(l + 2)
                }
                Strategy::Tangents => {
                    let above: f64 = (l + 2..=layers).map(|k| w(k) * w(k - 1)).sum();
                    2.0 * w(l + 1) * above
                }
            };
        }
        total
    }

    /// The fast path with fewer multiply-adds for a multi-layer perceptron with layer
    /// `widths`.
    pub fn cheaper(widths: &[usize]) -> Strategy {
        let jacobians = Strategy::Jacobians.work_per_sample(widths);
        let dense = Strategy::DenseHessians.work_per_sample(widths);
        if jacobians <= dense {
            Strategy::Jacobians
        } else {
            Strategy::DenseHessians
        }
    }
}

/// `D_l`, the exact diagonal of the per-sample Hessian w.r.t. the output of every layer
/// with parameters (an MLP's pre-activations), `[N, out_l]` per layer: for a multi-layer
/// perceptron by the cheaper of its fast paths for the shape, for any other network
/// through the walks.
pub fn preact_hessian_diags(linearization: &Linearization) -> Vec<Array2<f64>> {
    let strategy = match linearization.plain() {
        Some(_) => Strategy::cheaper(&linearization.mlp().widths()),
        None => Strategy::Tangents,
    };
    preact_hessian_diags_by(linearization, strategy)
}

/// `D_l` by the given strategy (a fast path needs a multi-layer perceptron, and falls
/// back to [`Strategy::Tangents`] for another network).
pub fn preact_hessian_diags_by(
    linearization: &Linearization,
    strategy: Strategy,
) -> Vec<Array2<f64>> {
    let Some(plain) = linearization.plain() else {
        return by_tangents(linearization);
    };
    let output_diag = linearization.loss().hessian_diag(linearization.output());
    let hidden = plain.depth() - 1;
    let residuals: Vec<Array2<f64>> = (0..hidden)
        .map(|l| plain.curvatures(l) * plain.hidden_grad(l))
        .collect();
    let mut diags = match strategy {
        Strategy::Jacobians => by_jacobians(linearization, &plain, &residuals),
        Strategy::DenseHessians => by_dense_hessians(linearization, &plain, &residuals),
        Strategy::Tangents => return by_tangents(linearization),
    };
    diags.push(output_diag);
    diags
}

/// Every layer's diagonal by [`Strategy::Tangents`]: for the layer with parameters at
/// position k, the stack of unit tangents `e_o` at its output (row `o·N + n`: unit o of
/// sample n), up the layers above ([`Linearization::walk_forward_tangent`]), `∇²_z ℓ` at
/// the output, and down to k's output ([`Linearization::walk_backward`] with each layer's
/// [`crate::nn::LayerRules::backprop_tangent`]); then `D[n, o]` is row `o·N + n`'s
/// component o.
pub fn by_tangents(linearization: &Linearization) -> Vec<Array2<f64>> {
    let layout = linearization.mlp().params().layout();
    layout
        .layers()
        .iter()
        .map(|slot| unit_diag(linearization, slot.layer))
        .collect()
}

/// The diagonal `D_n` at the output of layer k by [`Strategy::Tangents`], `[N, out]`.
pub fn unit_diag(linearization: &Linearization, k: usize) -> Array2<f64> {
    let samples = linearization.batch_size();
    let width = linearization.pass().output_of(k).ncols();
    let (_, at_output) = hessian_at_output(linearization, k, identity_rows(samples, width));
    Array2::from_shape_fn((samples, width), |(n, o)| at_output[[o * samples + n, o]])
}

/// The hidden layers' diagonals by [`Strategy::Jacobians`].
fn by_jacobians(
    linearization: &Linearization,
    plain: &PlainMlp,
    residuals: &[Array2<f64>],
) -> Vec<Array2<f64>> {
    let hidden = residuals.len();
    let output_terms: Vec<Array2<f64>> = linearization
        .output_jacobians()
        .iter()
        .flatten()
        .map(|jacobian| {
            linearization
                .loss()
                .gauss_newton_diag(linearization.output(), jacobian)
        })
        .collect();
    let mut diags = output_terms;
    for n in 0..linearization.batch_size() {
        // `jacobians[j]` is J_{l+1+j, l} for the current hidden layer l.
        let mut jacobians: Vec<Array2<f64>> = Vec::with_capacity(hidden);
        for l in (0..hidden).rev() {
            if l + 1 < hidden {
                let step = &plain.weight(l + 1) * &plain.slopes(l).row(n);
                let mut next = Vec::with_capacity(jacobians.len() + 1);
                next.extend(jacobians.iter().map(|j: &Array2<f64>| j.dot(&step)));
                next.insert(0, step);
                jacobians = next;
            }
            let mut diag = diags[l].row_mut(n);
            let out = diag.as_slice_mut().expect("fresh arrays are contiguous");
            for (j, jacobian) in jacobians.iter().enumerate() {
                let weights = residuals[l + 1 + j].row(n);
                add_weighted_column_squares(
                    jacobian.as_slice().expect("products are contiguous"),
                    weights.as_slice().expect("contiguous rows"),
                    out,
                );
            }
            for (d, &r) in out.iter_mut().zip(residuals[l].row(n)) {
                *d += r;
            }
        }
    }
    diags
}

/// The hidden layers' diagonals by [`Strategy::DenseHessians`].
fn by_dense_hessians(
    linearization: &Linearization,
    plain: &PlainMlp,
    residuals: &[Array2<f64>],
) -> Vec<Array2<f64>> {
    let samples = linearization.batch_size();
    let mut diags: Vec<Array2<f64>> = (0..residuals.len())
        .map(|l| Array2::zeros(residuals[l].raw_dim()))
        .collect();
    for n in 0..samples {
        let mut hessian = linearization.loss().hessian(linearization.output(), n);
        for l in (0..residuals.len()).rev() {
            let weight = plain.weight(l + 1);
            let above = hessian.dot(&weight);
            let slope = plain.slopes(l).row(n);
            let residual = residuals[l].row(n);
            let mut diag = diags[l].row_mut(n);
            if l > 0 {
                let mut below = weight.t().dot(&above);
                below *= &slope;
                below *= &slope.insert_axis(Axis(1));
                for (i, &r) in residual.iter().enumerate() {
                    below[[i, i]] += r;
                }
                diag.assign(&below.diag());
                hessian = below;
            } else {
                let columns: Array1<f64> = (&weight * &above).sum_axis(Axis(0));
                for (((d, &c), &s), &r) in diag.iter_mut().zip(&columns).zip(slope).zip(residual) {
                    *d = s * c * s + r;
                }
            }
        }
    }
    diags
}

/// The exact Hessian diagonal of every weight and bias of a problem (SPEC §1.1 applied to
/// [`preact_hessian_diags`], or on a network with a convolution, [`layer_diags`]).
pub fn hessian_diag<L: OutputLoss>(problem: &Problem<L>) -> Params {
    let linearization = Linearization::new(problem);
    exact_diagonal(&linearization).into_params(&linearization)
}

/// The gradient, per sample the cheaper strategy's products (and for
/// [`Strategy::Jacobians`] the output Jacobians, `D` rows through every layer above the
/// first), then the weight diagonal (`N·P`).
fn work(widths: &[usize], batch: usize, _draws: usize) -> f64 {
    let samples = batch as f64;
    let strategy = Strategy::cheaper(widths);
    let output_jacobians = match strategy {
        Strategy::Jacobians => {
            *widths.last().expect("a network has an output") as f64 * weights(&widths[1..])
        }
        Strategy::DenseHessians | Strategy::Tangents => 0.0,
    };
    gradient_work(widths, batch)
        + samples * (output_jacobians + strategy.work_per_sample(widths) + weights(widths))
}

/// The output Jacobians (`D·N·U` floats) and, per sample, the largest set of Jacobians
/// (or two dense Hessians) alive at once.
fn memory(widths: &[usize], batch: usize, _draws: usize) -> f64 {
    let samples = batch as f64;
    let outputs = *widths.last().expect("a network has an output") as f64;
    let units: f64 = widths.iter().map(|&w| w as f64).sum();
    let largest = widths.iter().copied().max().unwrap_or(1) as f64;
    let per_sample = 3.0 * largest * units;
    F64_BYTES * (outputs * samples * units + per_sample + samples * units)
}
