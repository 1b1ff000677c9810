//! What a layer of a network knows: its forward map, and every rule the methods compose,
//! each with its maths in its doc comment (SPEC §1–§2). The methods never look inside a
//! layer; they call these rules from the two walks of [`crate::nn::Linearization`] (one
//! backward, one forward-tangent), so a new kind of layer is one file implementing
//! [`LayerRules`] and one variant of [`crate::nn::Layer`].
//!
//! Conventions. A batch is row-major: row n of an input `x` (`[N, in]`) or output `y`
//! (`[N, out]`) is sample n. A *row-stack* carries several vectors per sample at one side
//! of a layer, `[M·N, width]`: row r belongs to sample `r mod N` (vector `⌊r/N⌋` of that
//! sample); the gradient is the stack of one vector per sample, ggn_mc's columns a stack of
//! M, the output Jacobians a stack of D. Every rule is per sample (samples never interact
//! inside a network), so a stack goes through a layer as a batch would.

use std::ops::Range;

use ndarray::Array2;

use crate::nn::image::Form;

/// What a layer keeps of the point it is linearized at, besides its input and output.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerCache {
    /// Nothing: the rules need only the input (a Linear layer).
    Nothing,
    /// An elementwise map's derivatives at its input `x`: `φ′(x)` and `φ″(x)`, `[N, w]`.
    Elementwise {
        first: Array2<f64>,
        second: Array2<f64>,
    },
    /// A convolution's unfolded input (im2col, `crate::nn::conv`): sample n's `[K, P]`
    /// block of patches at rows `n·K .. (n+1)·K`, `[N·K, P]`.
    Unfolded(Array2<f64>),
    /// A max-pooling's arg-max: for sample n and output o, at `n·out + o`, the index of
    /// the input value the output copies.
    ArgMax(Vec<usize>),
}

/// A layer at the point the network is linearized at.
#[derive(Clone, Copy, Debug)]
pub struct Point<'a> {
    /// The layer's parameters, in the order of its [`LayerRules::param_shapes`] (empty
    /// for a layer without parameters).
    pub params: &'a [f64],
    /// Its input `x` of the batch, `[N, in]`.
    pub input: &'a Array2<f64>,
    /// Its output `y` of the batch, `[N, out]`.
    pub output: &'a Array2<f64>,
    /// What it cached of them ([`LayerRules::cache`]).
    pub cache: &'a LayerCache,
}

/// The rules of one kind of layer `y = f(x; θ)`. Below, `J = ∂y/∂x` and `J_θ = ∂y/∂θ` per
/// sample; `g` is the gradient of the loss at the layer's output and `ġ` its tangent.
pub trait LayerRules {
    /// The input width (per sample).
    fn inputs(&self) -> usize;

    /// The output width (per sample).
    fn outputs(&self) -> usize;

    /// The form of input the layer requires (a flat vector or an image of its width), or
    /// `None` if it takes either (an elementwise map).
    fn input_form(&self) -> Option<Form>;

    /// The form of its output given that of its input, or why that input does not fit
    /// (one line, without the layer's position).
    fn output_form(&self, input: Form) -> Result<Form, String>;

    /// Its parameter tensors, named, with their shapes, in their order in the flat layout
    /// (`crate::nn::params`); none for a layer without parameters.
    fn param_shapes(&self) -> Vec<(&'static str, Vec<usize>)>;

    /// The forward map of a batch: `y = f(x; θ)`.
    fn forward(&self, params: &[f64], input: &Array2<f64>) -> Array2<f64>;

    /// What the backward rules need of the point besides its input and output.
    fn cache(&self, input: &Array2<f64>, output: &Array2<f64>) -> LayerCache;

    /// [`LayerRules::forward`] and [`LayerRules::cache`] together: the same output and
    /// cache, where a layer can share work between the two (a convolution unfolds its
    /// input once for both).
    fn forward_cached(&self, params: &[f64], input: &Array2<f64>) -> (Array2<f64>, LayerCache) {
        let output = self.forward(params, input);
        let cache = self.cache(input, &output);
        (output, cache)
    }

    /// A row-stack through the layer backwards: `Jᵀ` applied to each row (the gradient's
    /// step, and that of every quantity backpropagated "like a gradient").
    fn backprop_rows(&self, at: &Point, rows: &Array2<f64>) -> Array2<f64>;

    /// The number of its parameters.
    fn param_count(&self) -> usize {
        self.param_shapes()
            .iter()
            .map(|(_, shape)| shape.iter().product::<usize>())
            .sum()
    }

    /// The parameters' part of the gradient, `Σ_n J_θᵀ g_n`, written over `out` (the
    /// layer's slice of a flat buffer), for the gradient `g` at the output, `[N, out]`.
    fn param_gradient(&self, at: &Point, grad: &Array2<f64>, out: &mut [f64]);

    /// [`LayerRules::param_gradient`] appended to a flat buffer being built in layout
    /// order: the same numbers. By default the buffer is extended with zeros and written
    /// over; a layer may write each value once instead.
    fn append_param_gradient(&self, at: &Point, grad: &Array2<f64>, out: &mut Vec<f64>) {
        let start = out.len();
        out.resize(start + self.param_count(), 0.0);
        self.param_gradient(at, grad, &mut out[start..]);
    }

    /// HesScale's rule (SPEC §2): the gradient `g` and a per-sample diagonal curvature `d`
    /// at the output, to those at the input, the off-diagonal terms of `Jᵀ diag(d) J`
    /// dropped; with `residual`, the second-order term of the layer's own nonlinearity
    /// (`φ″ ⊙ g` for an activation) is added, without it the result is Gauss–Newton.
    /// Returns `(g_in, d_in)`.
    fn backprop_diag(
        &self,
        at: &Point,
        grad: &Array2<f64>,
        diag: &Array2<f64>,
        residual: bool,
    ) -> (Array2<f64>, Array2<f64>);

    /// The layer's own second-order term at its input for the gradient `g` at its output,
    /// `r = Σ_o g_o ∂²y_o/∂x²`, where it is diagonal (`φ″ ⊙ g` for an activation), per
    /// sample `[N, in]`; `None` where it vanishes (a layer affine in its input). The
    /// residual that curvature propagation factors into noise (SPEC §2.4). By default the
    /// residual part of [`LayerRules::backprop_diag`] (run with zero curvature).
    fn residual_diag(&self, at: &Point, grad: &Array2<f64>) -> Option<Array2<f64>> {
        let zero = Array2::zeros(grad.raw_dim());
        Some(self.backprop_diag(at, grad, &zero, true).1)
    }

    /// The parameters' Hessian diagonal from the per-sample diagonal `d` of the Hessian
    /// with respect to the layer's output (`[N, out]`) and the elementwise square of its
    /// input (`[N, in]`), written over `out`: exact where the output is affine in the
    /// parameters and samples do not interact (SPEC §1.1), whatever estimates `d`.
    fn param_diag(&self, diag: &Array2<f64>, squared_input: &Array2<f64>, out: &mut [f64]);

    /// [`LayerRules::param_diag`] appended to a flat buffer being built in layout order
    /// (see [`LayerRules::append_param_gradient`]).
    fn append_param_diag(
        &self,
        diag: &Array2<f64>,
        squared_input: &Array2<f64>,
        out: &mut Vec<f64>,
    ) {
        let start = out.len();
        out.resize(start + self.param_count(), 0.0);
        self.param_diag(diag, squared_input, &mut out[start..]);
    }

    /// Whether, for one sample, [`LayerRules::param_diag`] is the outer product of `d`
    /// and the squared input for the first tensor and `d` itself for the second (so an
    /// estimate can be kept and compared per unit instead of per parameter). Where this
    /// holds, [`LayerRules::param_diag`] is also exact (SPEC §1.1); where it does not (a
    /// convolution, whose weights are shared between positions, SPEC §11), the methods
    /// that need the exact diagonal, or a rule from square-root columns, use
    /// [`LayerRules::unit_param_tangents`] and [`LayerRules::row_param_gradients`].
    fn diag_is_outer_product(&self) -> bool;

    /// Each row's own parameter gradient, `J_θᵀ r` for every row r of a row-stack at the
    /// output (row r belongs to sample `r mod N`), not summed over the samples:
    /// `[rows, params]`, each row in the layer's parameter order. Squared and summed over
    /// square-root columns it is the GGN diagonal of the parameters ("square after
    /// summing over positions", SPEC §11).
    fn row_param_gradients(&self, at: &Point, rows: &Array2<f64>) -> Array2<f64>;

    /// The tangent of the output along each parameter of `params` (indices into the
    /// layer's own parameters), `J_θ e_i` per sample: row `(i − params.start)·N + n` is
    /// parameter i's for sample n, `[len·N, out]`. The exact diagonal of a parameter is
    /// `Σ_n ⟨J_θ e_i, M_n J_θ e_i⟩` with `M_n` the Hessian w.r.t. the output, because the
    /// output is linear in the parameters of every layer here.
    fn unit_param_tangents(&self, at: &Point, params: Range<usize>) -> Array2<f64>;

    /// The diagonal of the layer's KFAC approximation (SPEC §2, kfac; KFC for a
    /// convolution, SPEC §11) from the per-sample diagonal `d` of the sampled GGN at the
    /// output (`Σ_m s_m²`, `[N, out]`) and the squared input (`[N, in]`), written over
    /// `out`.
    fn kfac_diag(&self, diag: &Array2<f64>, squared_input: &Array2<f64>, out: &mut [f64]);

    /// The forward tangent (R-op) of the layer, `ẏ = J ẋ + J_θ θ̇`, for `rows` = M·N
    /// tangent rows: the input's tangent `ẋ` (`None`: zero) and one parameter tangent per
    /// direction m (`param_tangents[m]`, the layer's slice of a flat buffer; none: zero),
    /// direction m's rows being `m·N .. (m+1)·N`.
    fn forward_tangent(
        &self,
        at: &Point,
        input_tangent: Option<&Array2<f64>>,
        param_tangents: &[&[f64]],
        rows: usize,
    ) -> Array2<f64>;

    /// The tangent of the backward step, from `ġ` at the output (`[M·N, out]`) to `ġ` at
    /// the input: `ġ_x = Jᵀ ġ + (∂Jᵀ/∂x · ẋ + ∂Jᵀ/∂θ · θ̇) g`, with `g` the gradient at the
    /// output (`[N, out]`) and the tangents as in [`LayerRules::forward_tangent`].
    fn backprop_tangent(
        &self,
        at: &Point,
        grad: &Array2<f64>,
        grad_tangent: &Array2<f64>,
        input_tangent: Option<&Array2<f64>>,
        param_tangents: &[&[f64]],
    ) -> Array2<f64>;

    /// The parameters' block of the Hessian-vector product of each direction m, the
    /// tangent of [`LayerRules::param_gradient`], written over `out[m]`.
    fn param_hessian_vector_product(
        &self,
        at: &Point,
        grad: &Array2<f64>,
        grad_tangent: &Array2<f64>,
        input_tangent: Option<&Array2<f64>>,
        out: &mut [&mut [f64]],
    );
}
