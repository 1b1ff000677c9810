//! The linearization of a problem at its weights and batch: everything the methods have in
//! common, computed once per batch and shared by every method that runs on it.
//!
//! * eagerly: the forward pass (`h_{l−1}`, `a_l`), and `φ'(a_l)`, `φ''(a_l)` of every
//!   hidden layer (from `a` and the value `h = φ(a)`, without evaluating φ again);
//! * on first use: the gradient's backward pass (`δ_l`, `γ_l`), the output Jacobians
//!   `J_l = ∂z/∂a_l` of every sample, and the squared layer inputs `h²`.
//!
//! A method on its own builds a linearization and pays only for the parts it uses; in a
//! study all methods share one, so the forward pass runs once per batch whatever the
//! number of methods. The time spent computing the parts on first use is added up
//! ([`Linearization::lazy_seconds`]), so a study can charge it to the shared work rather
//! than to the method that happened to ask first.

use std::cell::{Cell, OnceCell};
use std::time::Instant;

use ndarray::{s, Array2, ArrayView2, Axis};

use crate::nn::{BackwardPass, ForwardPass, Mlp, OutputLoss, Problem};

/// The shared per-batch quantities of one problem (see the module documentation).
pub struct Linearization<'p> {
    mlp: &'p Mlp,
    loss: &'p dyn OutputLoss,
    samples: usize,
    pass: ForwardPass,
    /// `φ'(a_l)` of each hidden layer l, `[N, out_l]`.
    slopes: Vec<Array2<f64>>,
    /// `φ''(a_l)` of each hidden layer l, `[N, out_l]`.
    curvatures: Vec<Array2<f64>>,
    backward: OnceCell<BackwardPass>,
    output_jacobians: OnceCell<Vec<Array2<f64>>>,
    squared_inputs: OnceCell<Vec<Array2<f64>>>,
    lazy_seconds: Cell<f64>,
}

impl<'p> Linearization<'p> {
    /// The forward pass of the problem's batch and the activation derivatives.
    pub fn new<L: OutputLoss>(problem: &'p Problem<L>) -> Self {
        let pass = problem.forward();
        let mlp = problem.mlp();
        let hidden = mlp.depth() - 1;
        let mut slopes = Vec::with_capacity(hidden);
        let mut curvatures = Vec::with_capacity(hidden);
        for l in 0..hidden {
            let activation = mlp.activations[l];
            let preacts = &pass.preacts[l];
            let values = &pass.inputs[l + 1];
            let mut slope = Array2::zeros(preacts.raw_dim());
            let mut curvature = Array2::zeros(preacts.raw_dim());
            ndarray::Zip::from(&mut slope)
                .and(&mut curvature)
                .and(preacts)
                .and(values)
                .for_each(|s, c, &a, &h| (*s, *c) = activation.derivatives(a, h));
            slopes.push(slope);
            curvatures.push(curvature);
        }
        Linearization {
            mlp,
            loss: problem.loss(),
            samples: problem.batch_size(),
            pass,
            slopes,
            curvatures,
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

    /// The number of Linear layers L.
    pub fn depth(&self) -> usize {
        self.pass.preacts.len()
    }

    /// The batch size N.
    pub fn batch_size(&self) -> usize {
        self.samples
    }

    /// The forward pass: the input `h_{l−1}` and pre-activation `a_l` of every layer.
    pub fn pass(&self) -> &ForwardPass {
        &self.pass
    }

    /// The network output `z = a_L`, `[N, D]`.
    pub fn output(&self) -> &Array2<f64> {
        self.pass.output()
    }

    /// `φ'(a_l)` of hidden layer l, `[N, out_l]`.
    pub fn slopes(&self, l: usize) -> &Array2<f64> {
        &self.slopes[l]
    }

    /// `φ''(a_l)` of hidden layer l, `[N, out_l]`.
    pub fn curvatures(&self, l: usize) -> &Array2<f64> {
        &self.curvatures[l]
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

    /// The gradient's backward pass (on first use): `δ_L = ∂L/∂z`,
    /// `γ_{l−1} = δ_l W_l`, `δ_{l−1} = φ'(a_{l−1}) ⊙ γ_{l−1}`.
    pub fn backward(&self) -> &BackwardPass {
        self.backward.get_or_init(|| {
            self.timed(|| {
                let mlp = self.mlp();
                let depth = self.depth();
                let mut preact_grads = vec![self.loss.gradient(self.output())];
                let mut hidden_grads = Vec::with_capacity(depth - 1);
                for l in (1..depth).rev() {
                    let delta = preact_grads
                        .last()
                        .expect("seeded with the output gradient");
                    let hidden_grad = mlp.layers[l].input_gradient(delta);
                    preact_grads.push(&self.slopes[l - 1] * &hidden_grad);
                    hidden_grads.push(hidden_grad);
                }
                preact_grads.reverse();
                hidden_grads.reverse();
                BackwardPass {
                    preact_grads,
                    hidden_grads,
                }
            })
        })
    }

    /// The output Jacobian of every sample with respect to the pre-activations of each
    /// layer below the output (on first use): entry l (for l < L − 1) is `[N·D, out_l]`,
    /// rows `n·D .. (n+1)·D` holding `J_{n,l} = ∂z_n/∂a_{n,l}`. From the top,
    /// `J_{L−2} = W_L diag(φ'(a_{L−2}))` and `J_{l−1} = J_l W_l diag(φ'(a_{l−1}))`: D rows
    /// per sample backpropagated with Jacobians only. The output layer's own Jacobian is
    /// the identity and is not stored.
    pub fn output_jacobians(&self) -> &[Array2<f64>] {
        self.output_jacobians.get_or_init(|| {
            self.timed(|| {
                let mlp = self.mlp();
                let depth = self.depth();
                let samples = self.batch_size();
                let outputs = mlp.outputs();
                let mut jacobians: Vec<Array2<f64>> = Vec::with_capacity(depth - 1);
                for l in (0..depth - 1).rev() {
                    let above = &mlp.layers[l + 1].weight;
                    let mut jacobian = match jacobians.last() {
                        None => {
                            let mut rows = Array2::zeros((samples * outputs, above.ncols()));
                            for n in 0..samples {
                                rows.slice_mut(s![n * outputs..(n + 1) * outputs, ..])
                                    .assign(above);
                            }
                            rows
                        }
                        Some(previous) => previous.dot(above),
                    };
                    scale_columns_per_sample(&mut jacobian, self.slopes[l].view(), outputs);
                    jacobians.push(jacobian);
                }
                jacobians.reverse();
                jacobians
            })
        })
    }

    /// `h²` elementwise for the input of every layer (on first use), `[N, in_l]`.
    pub fn squared_inputs(&self) -> &[Array2<f64>] {
        self.squared_inputs.get_or_init(|| {
            self.timed(|| {
                self.pass
                    .inputs
                    .iter()
                    .map(|inputs| inputs.mapv(|h| h * h))
                    .collect()
            })
        })
    }
}

/// Multiply the columns of each sample's block of rows (`rows_per_sample` rows, sample
/// after sample) by that sample's row of `scales`.
pub fn scale_columns_per_sample(
    rows: &mut Array2<f64>,
    scales: ArrayView2<f64>,
    rows_per_sample: usize,
) {
    for (mut block, scale) in rows
        .axis_chunks_iter_mut(Axis(0), rows_per_sample.max(1))
        .zip(scales.rows())
    {
        block *= &scale;
    }
}
