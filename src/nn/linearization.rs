//! The linearization of a problem at its weights and batch: everything the methods have in
//! common, computed once per batch and shared by every method that runs on it, and the two
//! walks over the layers that every method is written against.
//!
//! * eagerly: the forward pass (the value at every boundary between layers) and what each
//!   layer caches of its point (an activation's `φ′(a)` and `φ″(a)`, from `a` and the value
//!   `h = φ(a)`, without evaluating φ again);
//! * on first use: the gradient's backward pass (the gradient at every layer's output),
//!   the output Jacobians of every sample at the outputs of the layers with parameters,
//!   and the squares of their inputs.
//!
//! The walks: [`Linearization::walk_backward`] goes down the layers carrying whatever a
//! method propagates (gradient rows, square-root columns, diagonal curvature, Jacobian
//! rows, tangents of the gradient), each step made of the layer's rules
//! ([`crate::nn::LayerRules`]); [`Linearization::walk_forward_tangent`] goes up carrying
//! tangents (the R-op). A method's estimate is its steps and what it keeps on the way.
//!
//! A method on its own builds a linearization and pays only for the parts it uses; in a
//! study all methods share one, so the forward pass runs once per batch whatever the
//! number of methods. The time spent computing the parts on first use is added up
//! ([`Linearization::lazy_seconds`]), so a study can charge it to the shared work rather
//! than to the method that happened to ask first.

use std::cell::{Cell, OnceCell};
use std::ops::Range;
use std::time::Instant;

use ndarray::{Array2, ArrayView2};

use crate::nn::layer::{LayerCache, LayerRules, Point};
use crate::nn::network::{ForwardPass, Layer, Mlp};
use crate::nn::params::Params;
use crate::nn::problem::Problem;
use crate::nn::OutputLoss;

/// The shared per-batch quantities of one problem (see the module documentation).
pub struct Linearization<'p> {
    mlp: &'p Mlp,
    loss: &'p dyn OutputLoss,
    samples: usize,
    pass: ForwardPass,
    /// What each layer cached of its point.
    caches: Vec<LayerCache>,
    backward: OnceCell<BackwardPass>,
    output_jacobians: OnceCell<Vec<Option<Array2<f64>>>>,
    squared_inputs: OnceCell<Vec<Array2<f64>>>,
    lazy_seconds: Cell<f64>,
}

/// The identity as a row-stack of `width` rows per sample (row `c·N + n`: sample n's unit
/// vector `e_c`), `[width·N, width]`: the Jacobian of a layer's output w.r.t. itself.
pub fn identity_rows(samples: usize, width: usize) -> Array2<f64> {
    let mut identity = Array2::zeros((width * samples, width));
    for c in 0..width {
        for n in 0..samples {
            identity[[c * samples + n, c]] = 1.0;
        }
    }
    identity
}

/// What the gradient's backward pass produces: the gradient of the loss at every layer's
/// output, `[N, out_k]` (for an MLP, `δ_l = ∂L/∂a_l` at a Linear layer and
/// `γ_l = ∂L/∂h_l` at an activation).
#[derive(Clone, Debug)]
pub struct BackwardPass {
    grads: Vec<Array2<f64>>,
}

impl BackwardPass {
    /// The gradient at layer k's output.
    pub fn at_output(&self, k: usize) -> &Array2<f64> {
        &self.grads[k]
    }
}

/// One layer of a linearization, as a walk visits it.
#[derive(Clone, Copy)]
pub struct LayerAt<'a> {
    linearization: &'a Linearization<'a>,
    index: usize,
}

impl<'a> LayerAt<'a> {
    /// The layer's position in the network.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The layer.
    pub fn layer(&self) -> &'a Layer {
        &self.linearization.mlp.layers()[self.index]
    }

    /// Which of the layers with parameters it is, if it has any.
    pub fn slot(&self) -> Option<usize> {
        self.linearization.mlp.slot(self.index)
    }

    /// Whether a layer lies below it (whether anything needs what arrives at its input).
    pub fn has_below(&self) -> bool {
        self.index > 0
    }

    /// The layer at its point: parameters, input, output and cache.
    pub fn point(&self) -> Point<'a> {
        let linearization = self.linearization;
        Point {
            params: linearization.mlp.layer_params(self.index),
            input: linearization.pass.input_of(self.index),
            output: linearization.pass.output_of(self.index),
            cache: &linearization.caches[self.index],
        }
    }

    /// The gradient of the loss at its output (the gradient's backward pass, on first use).
    pub fn grad(&self) -> &'a Array2<f64> {
        self.linearization.backward().at_output(self.index)
    }
}

/// The tangents of a forward-tangent walk at the boundaries between layers it passed.
pub struct Tangents {
    /// The boundary the walk started from (the input of layer `from`).
    from: usize,
    /// From that boundary up to the output; `None` for a zero tangent.
    values: Vec<Option<Array2<f64>>>,
}

impl Tangents {
    /// The tangent at boundary k (the input of layer k; the output for k = layers), `None`
    /// where it is zero or below the start.
    pub fn at(&self, k: usize) -> Option<&Array2<f64>> {
        k.checked_sub(self.from)
            .and_then(|i| self.values.get(i))
            .and_then(Option::as_ref)
    }

    /// The tangent of the network's output.
    pub fn output(&self) -> Option<&Array2<f64>> {
        self.values.last().and_then(Option::as_ref)
    }
}

/// A multi-layer perceptron's view of a linearization (Linear and activation layers
/// alternating), indexed as SPEC §1 does: Linear layer l = 0..L, hidden layer l = 0..L−1.
/// What the fast paths of the methods read.
pub struct PlainMlp<'a> {
    linearization: &'a Linearization<'a>,
    weights: Vec<ArrayView2<'a, f64>>,
    slopes: Vec<&'a Array2<f64>>,
    curvatures: Vec<&'a Array2<f64>>,
}

impl<'a> PlainMlp<'a> {
    /// The number of Linear layers L.
    pub fn depth(&self) -> usize {
        self.weights.len()
    }

    /// `W_l`, `[out_l, in_l]`.
    pub fn weight(&self, l: usize) -> ArrayView2<'a, f64> {
        self.weights[l]
    }

    /// `φ'(a_l)` of hidden layer l, `[N, out_l]`.
    pub fn slopes(&self, l: usize) -> &'a Array2<f64> {
        self.slopes[l]
    }

    /// `φ''(a_l)` of hidden layer l, `[N, out_l]`.
    pub fn curvatures(&self, l: usize) -> &'a Array2<f64> {
        self.curvatures[l]
    }

    /// `h_{l−1}`, the input of Linear layer l, `[N, in_l]`.
    pub fn input(&self, l: usize) -> &'a Array2<f64> {
        self.linearization.pass.input_of(2 * l)
    }

    /// `δ_l = ∂L/∂a_l`, `[N, out_l]`.
    pub fn preact_grad(&self, l: usize) -> &'a Array2<f64> {
        self.linearization.backward().at_output(2 * l)
    }

    /// `γ_l = ∂L/∂h_l` of hidden layer l, `[N, out_l]`.
    pub fn hidden_grad(&self, l: usize) -> &'a Array2<f64> {
        self.linearization.backward().at_output(2 * l + 1)
    }
}

impl<'p> Linearization<'p> {
    /// The forward pass of the problem's batch and what every layer caches of its point.
    pub fn new<L: OutputLoss>(problem: &'p Problem<L>) -> Self {
        let (pass, caches) = problem.mlp().forward_cached(problem.inputs());
        Self::from_parts(problem, pass, caches)
    }

    /// As [`Linearization::new`], with the forward pass already computed: `pass` must be
    /// the problem's own, `problem.forward()` (a caller that needed the outputs first,
    /// such as an agent whose targets hold another network's outputs, does not pay for it
    /// twice); each layer's cache is made from its input and output in the pass.
    pub fn with_pass<L: OutputLoss>(problem: &'p Problem<L>, pass: ForwardPass) -> Self {
        let caches = problem
            .mlp()
            .layers()
            .iter()
            .enumerate()
            .map(|(k, layer)| layer.cache(pass.input_of(k), pass.output_of(k)))
            .collect();
        Self::from_parts(problem, pass, caches)
    }

    fn from_parts<L: OutputLoss>(
        problem: &'p Problem<L>,
        pass: ForwardPass,
        caches: Vec<LayerCache>,
    ) -> Self {
        Linearization {
            mlp: problem.mlp(),
            loss: problem.loss(),
            samples: problem.batch_size(),
            pass,
            caches,
            backward: OnceCell::new(),
            output_jacobians: OnceCell::new(),
            squared_inputs: OnceCell::new(),
            lazy_seconds: Cell::new(0.0),
        }
    }

    /// The model.
    pub fn mlp(&self) -> &'p Mlp {
        self.mlp
    }

    /// The loss at the output, bound to the batch.
    pub fn loss(&self) -> &'p dyn OutputLoss {
        self.loss
    }

    /// The number of layers.
    pub fn layers(&self) -> usize {
        self.mlp.layers().len()
    }

    /// The batch size N.
    pub fn batch_size(&self) -> usize {
        self.samples
    }

    /// The forward pass.
    pub fn pass(&self) -> &ForwardPass {
        &self.pass
    }

    /// The network output `z`, `[N, D]`.
    pub fn output(&self) -> &Array2<f64> {
        self.pass.output()
    }

    /// Layer k at its point.
    pub fn at(&self, k: usize) -> LayerAt<'_> {
        LayerAt {
            linearization: self,
            index: k,
        }
    }

    /// The multi-layer perceptron's view of the linearization, if the network is one.
    pub fn plain(&self) -> Option<PlainMlp<'_>> {
        let plain = self.mlp.as_plain()?;
        let mut slopes = Vec::with_capacity(plain.activations.len());
        let mut curvatures = Vec::with_capacity(plain.activations.len());
        for l in 0..plain.activations.len() {
            match &self.caches[2 * l + 1] {
                LayerCache::Elementwise { first, second } => {
                    slopes.push(first);
                    curvatures.push(second);
                }
                _ => return None,
            }
        }
        Some(PlainMlp {
            linearization: self,
            weights: plain
                .linear
                .iter()
                .map(|(linear, params)| linear.weight(params))
                .collect(),
            slopes,
            curvatures,
        })
    }

    /// Seconds spent so far computing the parts made on first use.
    pub fn lazy_seconds(&self) -> f64 {
        self.lazy_seconds.get()
    }

    /// Run `compute` for a part made on first use, adding its time to the lazy total.
    fn timed<T>(&self, compute: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let value = compute();
        self.lazy_seconds
            .set(self.lazy_seconds.get() + start.elapsed().as_secs_f64());
        value
    }

    /// The backward walk: the layers of `layers` from the top down, `step` called at each
    /// with what arrives at the layer's output and returning what leaves at its input
    /// (`None` ends the walk, which a step does where nothing needs its input:
    /// [`LayerAt::has_below`]). Returns what arrives at the input of the lowest layer of
    /// `layers`, if the walk got there.
    pub fn walk_backward<C>(
        &self,
        layers: Range<usize>,
        seed: C,
        mut step: impl FnMut(LayerAt<'_>, C) -> Option<C>,
    ) -> Option<C> {
        let mut carried = seed;
        for k in layers.rev() {
            carried = step(self.at(k), carried)?;
        }
        Some(carried)
    }

    /// The forward-tangent walk (the R-op): from the tangent `seed` at the input of layer
    /// `from` (`None`: zero) up to the output, each layer's [`LayerRules::forward_tangent`]
    /// with the parameters' tangents of `directions` (one per direction, rows `m·N ..`;
    /// none for tangents of the values alone), `rows` = M·N rows per tangent.
    pub fn walk_forward_tangent(
        &self,
        from: usize,
        seed: Option<Array2<f64>>,
        rows: usize,
        directions: &[&Params],
    ) -> Tangents {
        let mut values = Vec::with_capacity(self.layers() + 1 - from);
        values.push(seed);
        for k in from..self.layers() {
            let at = self.at(k);
            let param_tangents = self.param_tangents(k, directions);
            let below = values.last().and_then(Option::as_ref);
            let tangent = at
                .layer()
                .forward_tangent(&at.point(), below, &param_tangents, rows);
            values.push(Some(tangent));
        }
        Tangents { from, values }
    }

    /// Layer k's slice of each direction's parameter tangent (none for a layer without
    /// parameters).
    fn param_tangents<'d>(&self, k: usize, directions: &[&'d Params]) -> Vec<&'d [f64]> {
        match self.mlp.slot(k) {
            Some(slot) => directions.iter().map(|d| d.layer(slot)).collect(),
            None => Vec::new(),
        }
    }

    /// The gradient's backward pass (on first use): from `∂L/∂z`, each layer's
    /// [`LayerRules::backprop_rows`] (for an MLP `γ_{l−1} = δ_l W_l`,
    /// `δ_{l−1} = φ'(a_{l−1}) ⊙ γ_{l−1}`), the gradient kept at every layer's output.
    pub fn backward(&self) -> &BackwardPass {
        self.backward.get_or_init(|| {
            self.timed(|| {
                let mut grads = vec![Array2::zeros((0, 0)); self.layers()];
                let seed = self.loss.gradient(self.output());
                self.walk_backward(0..self.layers(), seed, |at, grad| {
                    let below = at
                        .has_below()
                        .then(|| at.layer().backprop_rows(&at.point(), &grad));
                    grads[at.index()] = grad;
                    below
                });
                BackwardPass { grads }
            })
        })
    }

    /// The gradient of the reduced loss with respect to every parameter: each layer's
    /// [`LayerRules::param_gradient`] from the gradient at its output.
    pub fn param_gradient(&self) -> Params {
        let backward = self.backward();
        let layout = self.mlp.params().layout();
        let mut values = Vec::with_capacity(layout.len());
        for slot in layout.layers() {
            let at = self.at(slot.layer);
            at.layer().append_param_gradient(
                &at.point(),
                backward.at_output(slot.layer),
                &mut values,
            );
        }
        Params::from_values(layout, values)
    }

    /// [`Linearization::param_gradient`] written over `gradient` (of the network's layout).
    pub fn write_param_gradient(&self, gradient: &mut Params) {
        let backward = self.backward();
        for (slot, layer) in self.mlp.params().layout().layers().iter().enumerate() {
            let at = self.at(layer.layer);
            at.layer().param_gradient(
                &at.point(),
                backward.at_output(layer.layer),
                gradient.layer_mut(slot),
            );
        }
    }

    /// The output Jacobian of every sample at the output of each layer with parameters
    /// (on first use): entry `slot` is `[D·N, out]`, row `c·N + n` holding row c of
    /// `J_n = ∂z_n/∂y_n` (a row-stack of D rows per sample), backpropagated from the
    /// identity at the output with Jacobians only ([`LayerRules::backprop_rows`]); `None`
    /// for the layer whose output is the network's (its Jacobian is the identity).
    pub fn output_jacobians(&self) -> &[Option<Array2<f64>>] {
        self.output_jacobians.get_or_init(|| {
            self.timed(|| {
                let identity = identity_rows(self.samples, self.mlp.outputs());
                let top = self.layers() - 1;
                let mut jacobians = vec![None; self.mlp.depth()];
                self.walk_backward(0..self.layers(), identity, |at, rows| {
                    let below = at
                        .has_below()
                        .then(|| at.layer().backprop_rows(&at.point(), &rows));
                    if let (Some(slot), false) = (at.slot(), at.index() == top) {
                        jacobians[slot] = Some(rows);
                    }
                    below
                });
                jacobians
            })
        })
    }

    /// The elementwise square of the input of every layer with parameters (on first use),
    /// `[N, in]`.
    pub fn squared_inputs(&self) -> &[Array2<f64>] {
        self.squared_inputs.get_or_init(|| {
            self.timed(|| {
                self.mlp
                    .params()
                    .layout()
                    .layers()
                    .iter()
                    .map(|slot| self.pass.input_of(slot.layer).mapv(|h| h * h))
                    .collect()
            })
        })
    }

    /// The Hessian-vector products `H v` of the reduced loss with respect to all
    /// parameters (Pearlmutter's R-op), one per direction `v` (shaped like the
    /// parameters), all through the same two walks: the forward tangents
    /// ([`Linearization::walk_forward_tangent`], `ȧ_l = ḣ_{l−1} W_lᵀ + h_{l−1} Ẇ_lᵀ + ḃ_l`,
    /// `ḣ_l = φ'(a_l) ⊙ ȧ_l` for an MLP), then `δ̇_L = ∇²_z ℓ · ȧ_L` at the output and back
    /// down ([`Linearization::walk_backward`]): each layer's parameter block
    /// ([`LayerRules::param_hessian_vector_product`], `(Hv)_{W_l} = δ̇_lᵀ h_{l−1} + δ_lᵀ ḣ_{l−1}`,
    /// `(Hv)_{b_l} = Σ_n δ̇_l`) and its step down ([`LayerRules::backprop_tangent`],
    /// `γ̇_{l−1} = δ̇_l W_l + δ_l Ẇ_l`, `δ̇_{l−1} = φ' ⊙ γ̇_{l−1} + φ'' ⊙ ȧ_{l−1} ⊙ γ_{l−1}`).
    pub fn hessian_vector_products(&self, directions: &[&Params]) -> Vec<Params> {
        let rows = directions.len() * self.samples;
        let tangents = self.walk_forward_tangent(0, None, rows, directions);
        let mut products: Vec<Params> = directions
            .iter()
            .map(|_| self.mlp.zeros_like_params())
            .collect();
        let output_tangent = tangents.output().expect("a network has a layer");
        let seed = self
            .loss
            .hessian_vector_product(self.output(), output_tangent);
        self.walk_backward(0..self.layers(), seed, |at, grad_tangent| {
            let (point, grad) = (at.point(), at.grad());
            let input_tangent = tangents.at(at.index());
            if let Some(slot) = at.slot() {
                let mut blocks: Vec<&mut [f64]> =
                    products.iter_mut().map(|p| p.layer_mut(slot)).collect();
                at.layer().param_hessian_vector_product(
                    &point,
                    grad,
                    &grad_tangent,
                    input_tangent,
                    &mut blocks,
                );
            }
            at.has_below().then(|| {
                at.layer().backprop_tangent(
                    &point,
                    grad,
                    &grad_tangent,
                    input_tangent,
                    &self.param_tangents(at.index(), directions),
                )
            })
        });
        products
    }

    /// The Hessian-vector product of one direction (see
    /// [`Linearization::hessian_vector_products`]).
    pub fn hessian_vector_product(&self, direction: &Params) -> Params {
        self.hessian_vector_products(&[direction])
            .pop()
            .expect("one product per direction")
    }
}
