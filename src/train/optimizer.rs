//! The optimizers of SPEC §9 and the step-size scaling rule, on the flat parameters.
//!
//! Every optimizer is one of two rules: `sgd`, or the Adam-style rule whose second moment
//! averages the square of either the gradient (`adam`) or a diagonal curvature estimate ĥ
//! (`adahessian`, `adaggnmc`, `adahesscale`, `adahesscale_gn`). The curvature always comes
//! from the method registry ([`Method`]); nothing here computes a diagonal. The scaling
//! rule shrinks any optimizer's update by one factor per step.
//!
//! Each rule is written once, as a function of one parameter, and applied by one loop over
//! the flat buffer of the parameters (`crate::nn::Params`): the state holds every
//! parameter's moments in vectors of the same layout (`W_1` row-major, `b_1`, `W_2`, …).
//! The loops are compiled for AVX-512 and AVX2+FMA as well as the baseline
//! (`multiversion`); each element's arithmetic is the same on all of them, and the one sum,
//! τ, fixes its order in the source, so the numbers do not depend on the machine.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use multiversion::multiversion;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::methods::{ggn_mc, hesscale, hutchinson, Method};
use crate::nn::kernels::LANES;
use crate::nn::{LossKind, ParamLayout, Params};

/// An optimizer of SPEC §9, by its command-line name (also in files and records).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Optimizer {
    /// `sgd`: `θ ← θ − α g`.
    Sgd,
    /// `adam`: the Adam-style rule on `g²`.
    Adam,
    /// `adahessian`: the Adam-style rule on `ĥ²`, ĥ from `hutchinson:1` (`|v ⊙ Hv|`).
    AdaHessian,
    /// `adaggnmc`: the Adam-style rule on `ĥ²`, ĥ from `ggn_mc:1`.
    AdaGgnMc,
    /// `adahesscale`: the Adam-style rule on `ĥ²`, ĥ from `hesscale`.
    AdaHesScale,
    /// `adahesscale_gn`: the Adam-style rule on `ĥ²`, ĥ from `hesscale_gn`.
    AdaHesScaleGn,
}

/// What an Adam-style second moment averages the square of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Squared {
    /// The gradient g (Adam).
    Gradient,
    /// A method's diagonal curvature estimate ĥ of the batch.
    Curvature(Method),
}

/// The rule an optimizer follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// `u = α g`.
    Sgd,
    /// The Adam-style rule, its second moment averaging the square of `Squared`.
    Adam(Squared),
}

impl Optimizer {
    /// Every optimizer, in the order of SPEC §9.
    pub const ALL: [Optimizer; 6] = [
        Optimizer::Sgd,
        Optimizer::Adam,
        Optimizer::AdaHessian,
        Optimizer::AdaGgnMc,
        Optimizer::AdaHesScale,
        Optimizer::AdaHesScaleGn,
    ];

    /// The name on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Optimizer::Sgd => "sgd",
            Optimizer::Adam => "adam",
            Optimizer::AdaHessian => "adahessian",
            Optimizer::AdaGgnMc => "adaggnmc",
            Optimizer::AdaHesScale => "adahesscale",
            Optimizer::AdaHesScaleGn => "adahesscale_gn",
        }
    }

    /// The optimizer's rule (SPEC §9): the Ada* optimizers are Adam with `g²` replaced by
    /// `ĥ²`, ĥ from `hutchinson:1` (a fresh Rademacher draw each step: AdaHessian with
    /// Hessian power 1), `ggn_mc:1`, `hesscale` or `hesscale_gn`.
    pub fn rule(self) -> Rule {
        let curvature = |def| Rule::Adam(Squared::Curvature(Method::of(def)));
        match self {
            Optimizer::Sgd => Rule::Sgd,
            Optimizer::Adam => Rule::Adam(Squared::Gradient),
            Optimizer::AdaHessian => curvature(&hutchinson::HUTCHINSON),
            Optimizer::AdaGgnMc => curvature(&ggn_mc::GGN_MC),
            Optimizer::AdaHesScale => curvature(&hesscale::HESSCALE),
            Optimizer::AdaHesScaleGn => curvature(&hesscale::HESSCALE_GN),
        }
    }

    /// The method whose diagonal the optimizer squares, if it uses one.
    pub fn curvature(self) -> Option<Method> {
        match self.rule() {
            Rule::Adam(Squared::Curvature(method)) => Some(method),
            Rule::Sgd | Rule::Adam(Squared::Gradient) => None,
        }
    }

    /// An error (one line, made from its method's declaration, [`Method::needs`]) if the
    /// optimizer's curvature method cannot run on a loss of `kind`.
    pub fn serves(self, kind: &impl LossKind) -> Result<()> {
        let unserved = self
            .curvature()
            .and_then(|method| Some((method, kind.unserved(method.needs())?)));
        match unserved {
            Some((method, (need, lack))) => Err(Error::input(format!(
                "{self} does not apply to {}: {}",
                lack.losses,
                lack.message(method, need)
            ))),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Optimizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl From<Optimizer> for String {
    fn from(optimizer: Optimizer) -> String {
        optimizer.name().to_string()
    }
}

impl TryFrom<String> for Optimizer {
    type Error = Error;

    fn try_from(name: String) -> Result<Self> {
        name.parse()
    }
}

impl FromStr for Optimizer {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        Optimizer::ALL
            .into_iter()
            .find(|optimizer| optimizer.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Optimizer::ALL.iter().map(|o| o.name()).collect();
                Error::input(format!(
                    "unknown optimizer '{text}' (expected one of: {})",
                    names.join(", ")
                ))
            })
    }
}

/// The step size and the Adam-style constants (SPEC §9). `sgd` uses only `lr`, and `beta2`
/// when its steps are scaled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hyperparameters {
    /// The step size α.
    pub lr: f64,
    /// β1, the decay of the first moment.
    pub beta1: f64,
    /// β2, the decay of the second moment (and of the scaling's curvature average).
    pub beta2: f64,
    /// ε, added to `√v̂`.
    pub eps: f64,
}

impl Hyperparameters {
    /// The default β1.
    pub const BETA1: f64 = 0.9;
    /// The default β2.
    pub const BETA2: f64 = 0.999;
    /// The default ε.
    pub const EPS: f64 = 1e-8;

    /// Step size `lr` with the default β1, β2 and ε.
    pub fn with_lr(lr: f64) -> Self {
        Hyperparameters {
            lr,
            beta1: Self::BETA1,
            beta2: Self::BETA2,
            eps: Self::EPS,
        }
    }

    /// α finite and > 0, β1 and β2 in [0, 1), ε finite and ≥ 0.
    pub fn check(&self) -> Result<()> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::input(format!(
                "learning rate {} must be a finite number > 0",
                self.lr
            )));
        }
        for (name, beta) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return Err(Error::input(format!("{name} {beta} must be in [0, 1)")));
            }
        }
        if !(self.eps.is_finite() && self.eps >= 0.0) {
            return Err(Error::input(format!(
                "eps {} must be a finite number >= 0",
                self.eps
            )));
        }
        Ok(())
    }
}

/// The step-size scaling of SPEC §9 (ICML 2024), on top of any optimizer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scaling {
    /// Steps as the optimizer makes them.
    None,
    /// Steps shrunk so that the quadratic model with hesscale's averaged curvature predicts
    /// a change of at most `delta` ([`scaling_factor`]).
    HesScale {
        /// δ, the largest predicted change of a step.
        delta: f64,
    },
}

impl Scaling {
    /// The names on the command line.
    pub const NAMES: [&'static str; 2] = ["none", "hesscale"];

    /// The scaling called `name` with `delta` (which `none` ignores); δ must be finite and
    /// > 0.
    pub fn new(name: &str, delta: f64) -> Result<Scaling> {
        match name {
            "none" => Ok(Scaling::None),
            "hesscale" if delta.is_finite() && delta > 0.0 => Ok(Scaling::HesScale { delta }),
            "hesscale" => Err(Error::input(format!(
                "scaling delta {delta} must be a finite number > 0"
            ))),
            _ => Err(Error::input(format!(
                "unknown step-size scaling '{name}' (expected one of: {})",
                Scaling::NAMES.join(", ")
            ))),
        }
    }

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scaling::None => "none",
            Scaling::HesScale { .. } => "hesscale",
        }
    }

    /// The method whose diagonal the scaling averages: hesscale.
    pub fn method() -> Method {
        Method::of(&hesscale::HESSCALE)
    }
}

impl fmt::Display for Scaling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// An optimizer with its hyperparameters and step-size scaling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptimizerConfig {
    pub optimizer: Optimizer,
    pub hyperparameters: Hyperparameters,
    pub scaling: Scaling,
}

impl OptimizerConfig {
    /// `optimizer` with step size `lr`, the default constants and no scaling.
    pub fn new(optimizer: Optimizer, lr: f64) -> Self {
        OptimizerConfig {
            optimizer,
            hyperparameters: Hyperparameters::with_lr(lr),
            scaling: Scaling::None,
        }
    }

    /// The hyperparameters and δ are in range.
    pub fn check(&self) -> Result<()> {
        self.hyperparameters.check()?;
        if let Scaling::HesScale { delta } = self.scaling {
            Scaling::new("hesscale", delta)?;
        }
        Ok(())
    }

    /// The method whose diagonal the optimizer itself squares, if any.
    pub fn curvature(&self) -> Option<Method> {
        self.optimizer.curvature()
    }

    /// An error if the optimizer's curvature, or the scaling's, cannot run on a loss of
    /// `kind` (see [`Optimizer::serves`]).
    pub fn serves(&self, kind: &impl LossKind) -> Result<()> {
        self.optimizer.serves(kind)?;
        match self.scaling_curvature() {
            Some(method) => method
                .serves(kind)
                .map_err(|e| Error::input(format!("the {} scaling: {e}", self.scaling))),
            None => Ok(()),
        }
    }

    /// The method the scaling needs computed alongside: hesscale, unless the optimizer
    /// squares hesscale's diagonal itself, whose second moment `v = EMA_β2(ĥ²)` is then
    /// the scaling's average as it stands.
    pub fn scaling_curvature(&self) -> Option<Method> {
        match self.scaling {
            Scaling::None => None,
            Scaling::HesScale { .. } if self.scaling_uses_second_moment() => None,
            Scaling::HesScale { .. } => Some(Scaling::method()),
        }
    }

    /// Whether the scaling reads the optimizer's own second moment.
    fn scaling_uses_second_moment(&self) -> bool {
        self.curvature() == Some(Scaling::method())
    }
}

/// Exponential moving average, SPEC §9: `a ← β a + (1 − β) x`; the moments use it as
/// `m ← β1 m + (1−β1) g` and `v ← β2 v + (1−β2) x²`, the scaling as `EMA_β2(ĥ²)`.
#[inline(always)]
fn ema(average: f64, x: f64, beta: f64) -> f64 {
    beta * average + (1.0 - beta) * x
}

/// The constants of step t of the Adam-style rule, with the bias corrections folded in.
#[derive(Clone, Copy, Debug)]
struct AdamStep {
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// `α / (1 − β1^t)`.
    lr_over_correction1: f64,
    /// `1 / (1 − β2^t)`.
    inverse_correction2: f64,
}

impl AdamStep {
    fn new(hyperparameters: &Hyperparameters, t: u64) -> Self {
        let Hyperparameters {
            lr,
            beta1,
            beta2,
            eps,
        } = *hyperparameters;
        AdamStep {
            beta1,
            beta2,
            eps,
            lr_over_correction1: lr / (1.0 - beta1.powf(t as f64)),
            inverse_correction2: 1.0 / (1.0 - beta2.powf(t as f64)),
        }
    }
}

/// The Adam-style rule for one parameter at step t, SPEC §9: with gradient g and `x` the
/// value squared (g for Adam, ĥ for the Ada* optimizers),
/// `m ← β1 m + (1−β1) g`, `v ← β2 v + (1−β2) x²`, `m̂ = m/(1−β1^t)`, `v̂ = v/(1−β2^t)`,
/// and the update `u = α m̂/(√v̂ + ε)` (the step is `θ ← θ − u`). Computed as
/// `(α/(1−β1^t)) m / (√(v · 1/(1−β2^t)) + ε)`: one division and one square root per
/// parameter (the same up to rounding).
#[inline(always)]
fn adam_element(m: &mut f64, v: &mut f64, g: f64, x: f64, step: &AdamStep) -> f64 {
    *m = ema(*m, g, step.beta1);
    *v = ema(*v, x * x, step.beta2);
    step.lr_over_correction1 * *m / ((*v * step.inverse_correction2).sqrt() + step.eps)
}

/// SGD's update for one parameter, SPEC §9: `u = α g` (the step is `θ ← θ − u`).
#[inline(always)]
fn sgd_element(g: f64, lr: f64) -> f64 {
    lr * g
}

/// The step-size scaling factor, SPEC §9: the quadratic model with curvature Ĥ predicts a
/// change `τ = Σ_i Ĥ_i u_i²` for the update u, and the step
/// `θ ← θ − s·u` takes `s = min(1, √(2δ/τ))`, so that `½ s² τ ≤ δ` with equality whenever
/// the step is shrunk (s < 1); s = 1 for τ = 0, and NaN for a NaN τ.
pub fn scaling_factor(delta: f64, tau: f64) -> f64 {
    if tau.is_nan() {
        f64::NAN
    } else if tau == 0.0 {
        1.0
    } else {
        (2.0 * delta / tau).sqrt().min(1.0)
    }
}

/// [`sgd_element`] over every parameter.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
fn sgd_update(update: &mut [f64], gradient: &[f64], lr: f64) {
    for (u, &g) in update.iter_mut().zip(gradient) {
        *u = sgd_element(g, lr);
    }
}

/// [`sgd_update`] and the unscaled step in the same pass: `θ' = θ − u` written to
/// `proposed`, `θ` itself unchanged. Returns whether every `θ'` is finite.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
fn sgd_step(
    update: &mut [f64],
    proposed: &mut [f64],
    params: &[f64],
    gradient: &[f64],
    lr: f64,
) -> bool {
    let mut finite = true;
    for (((u, next), &theta), &g) in update.iter_mut().zip(proposed).zip(params).zip(gradient) {
        *u = sgd_element(g, lr);
        *next = theta - *u;
        finite &= next.is_finite();
    }
    finite
}

/// [`adam_element`] over every parameter.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
fn adam_update(
    update: &mut [f64],
    first: &mut [f64],
    second: &mut [f64],
    gradient: &[f64],
    squared: &[f64],
    step: &AdamStep,
) {
    for ((((u, m), v), &g), &x) in update
        .iter_mut()
        .zip(first)
        .zip(second)
        .zip(gradient)
        .zip(squared)
    {
        *u = adam_element(m, v, g, x, step);
    }
}

/// The update and step of the parameters, each computed from one parameter's values.
struct TensorStep<'a> {
    update: &'a mut [f64],
    first: &'a mut [f64],
    second: &'a mut [f64],
    /// `θ' = θ − u`, written.
    proposed: &'a mut [f64],
    /// `θ`, read.
    params: &'a [f64],
    gradient: &'a [f64],
    squared: &'a [f64],
}

/// [`adam_update`] and the unscaled step in the same pass: `θ' = θ − u` written to
/// `proposed`, `θ` itself unchanged. Returns whether every `θ'` is finite.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
fn adam_step(tensor: TensorStep<'_>, step: &AdamStep) -> bool {
    let mut finite = true;
    for ((((((u, m), v), next), &theta), &g), &x) in tensor
        .update
        .iter_mut()
        .zip(tensor.first)
        .zip(tensor.second)
        .zip(tensor.proposed)
        .zip(tensor.params)
        .zip(tensor.gradient)
        .zip(tensor.squared)
    {
        *u = adam_element(m, v, g, x, step);
        *next = theta - *u;
        finite &= next.is_finite();
    }
    finite
}

/// The scaling's average `a ← EMA_β2(ĥ²)` ([`ema`]) over every parameter.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
fn average_squares(average: &mut [f64], curvature: &[f64], beta2: f64) {
    for (a, &h) in average.iter_mut().zip(curvature) {
        *a = ema(*a, h * h, beta2);
    }
}

/// `τ = Σ_i Ĥ_i u_i²` over every parameter, SPEC §9, with `Ĥ = √(EMA_β2(ĥ²))` elementwise
/// from the average (no bias correction). The order is fixed: [`LANES`] running sums over
/// `i mod LANES`, added pairwise, then the tail in order (as [`crate::nn::kernels::dot`]).
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
fn predicted_change(average: &[f64], update: &[f64]) -> f64 {
    let term = |a: f64, u: f64| a.sqrt() * u * u;
    let mut sums = [0.0; LANES];
    let (a_chunks, u_chunks) = (average.chunks_exact(LANES), update.chunks_exact(LANES));
    let (a_tail, u_tail) = (a_chunks.remainder(), u_chunks.remainder());
    for (a, u) in a_chunks.zip(u_chunks) {
        for j in 0..LANES {
            sums[j] += term(a[j], u[j]);
        }
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for j in 0..width {
            sums[j] += sums[j + width];
        }
    }
    a_tail
        .iter()
        .zip(u_tail)
        .fold(sums[0], |tau, (&a, &u)| tau + term(a, u))
}

/// Whether `θ − s·u` is finite for every parameter.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
fn stays_finite(params: &[f64], update: &[f64], scale: f64) -> bool {
    params
        .iter()
        .zip(update)
        .fold(true, |finite, (&theta, &u)| {
            finite & (theta - scale * u).is_finite()
        })
}

/// The step `θ ← θ − s·u` over every parameter, SPEC §9.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
fn apply(params: &mut [f64], update: &[f64], scale: f64) {
    for (theta, &u) in params.iter_mut().zip(update) {
        *theta -= scale * u;
    }
}

/// The values of `params`, which must be in `layout`: what `what` is.
fn values_of<'a>(params: &'a Params, layout: &Arc<ParamLayout>, what: &str) -> &'a [f64] {
    assert!(
        params.layout() == layout,
        "{what} is not shaped like the parameters"
    );
    params.values()
}

/// An optimizer's state: its step count, its moments, the scaling's curvature average and
/// the update of the last step, each one value per parameter in the parameters' layout.
#[derive(Clone, Debug)]
pub struct OptimizerState {
    config: OptimizerConfig,
    steps: u64,
    /// The parameters' layout: what every buffer below is shaped like.
    layout: Arc<ParamLayout>,
    /// m of the Adam-style rule (empty for sgd).
    first: Vec<f64>,
    /// v of the Adam-style rule (empty for sgd).
    second: Vec<f64>,
    /// `EMA_β2(ĥ²)` of hesscale's diagonal for the scaling, when it is not `second` (empty
    /// otherwise).
    scaling_average: Vec<f64>,
    /// The update u of the last step (a buffer reused from step to step).
    update: Vec<f64>,
    /// Without the scaling: the parameters after a step, `θ − u`, computed in the update's
    /// pass before they are known to be finite, then swapped with the model's buffer (a
    /// buffer reused from step to step; empty with the scaling on).
    proposed: Vec<f64>,
}

impl OptimizerState {
    /// A fresh state (t = 0, moments zero) for parameters shaped like `params`.
    pub fn new(config: OptimizerConfig, params: &Params) -> Result<Self> {
        config.check()?;
        let len = params.len();
        let adam_style = matches!(config.optimizer.rule(), Rule::Adam(_));
        let zeros = |needed: bool| if needed { vec![0.0; len] } else { Vec::new() };
        Ok(OptimizerState {
            config,
            steps: 0,
            layout: Arc::clone(params.layout()),
            first: zeros(adam_style),
            second: zeros(adam_style),
            scaling_average: zeros(config.scaling_curvature().is_some()),
            update: zeros(true),
            proposed: zeros(config.scaling == Scaling::None),
        })
    }

    /// The optimizer, its hyperparameters and scaling.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// The number of steps made (t of the last step).
    pub fn steps_done(&self) -> u64 {
        self.steps
    }

    /// The scaling's curvature `Ĥ = √(EMA_β2(ĥ²))` after the last step, in parameter
    /// order; for adahesscale `√v` of its own second moment. `None` without scaling.
    pub fn scaling_curvature(&self) -> Option<Vec<f64>> {
        self.scaling_average()
            .map(|average| average.iter().map(|a| a.sqrt()).collect())
    }

    /// The average `EMA_β2(ĥ²)` the scaling reads, if it is on.
    fn scaling_average(&self) -> Option<&[f64]> {
        match self.config.scaling {
            Scaling::None => None,
            Scaling::HesScale { .. } if self.config.scaling_uses_second_moment() => {
                Some(&self.second)
            }
            Scaling::HesScale { .. } => Some(&self.scaling_average),
        }
    }

    /// Step t + 1 from the batch's `gradient` and the diagonals the configuration asks for
    /// ([`OptimizerConfig::curvature`] as `curvature`, [`OptimizerConfig::scaling_curvature`]
    /// as `scaling_curvature`), all shaped like `params`: the optimizer's update u, the
    /// scaling factor s (1 without scaling), and `θ ← θ − s·u`. Without the scaling, `θ − u`
    /// is computed in the update's pass into a buffer of the state, which is then swapped
    /// with the values of `params` (the state keeps the old ones as the next step's
    /// buffer).
    ///
    /// Returns s, or `None` when a new parameter would not be finite (a non-finite update,
    /// curvature or overflow): the parameters are then left as they were, and the state,
    /// whose moments have moved, is spent.
    ///
    /// Panics if a diagonal the configuration asks for is missing, or if shapes differ.
    pub fn step(
        &mut self,
        params: &mut Params,
        gradient: &Params,
        curvature: Option<&Params>,
        scaling_curvature: Option<&Params>,
    ) -> Option<f64> {
        let unscaled = self.config.scaling == Scaling::None;
        let gradient = values_of(gradient, &self.layout, "the gradient");
        assert!(
            params.layout() == &self.layout,
            "the parameters are not shaped like the state"
        );
        self.steps += 1;
        let mut proposed_finite = true;
        match self.config.optimizer.rule() {
            Rule::Sgd => {
                let lr = self.config.hyperparameters.lr;
                if unscaled {
                    proposed_finite = sgd_step(
                        &mut self.update,
                        &mut self.proposed,
                        params.values(),
                        gradient,
                        lr,
                    );
                } else {
                    sgd_update(&mut self.update, gradient, lr);
                }
            }
            Rule::Adam(squared) => {
                let squared = match squared {
                    Squared::Gradient => gradient,
                    Squared::Curvature(method) => {
                        let diagonal = curvature.unwrap_or_else(|| {
                            panic!(
                                "{}: the step needs {method}'s diagonal",
                                self.config.optimizer
                            )
                        });
                        values_of(diagonal, &self.layout, "the curvature")
                    }
                };
                let step = AdamStep::new(&self.config.hyperparameters, self.steps);
                if unscaled {
                    let tensor = TensorStep {
                        update: &mut self.update,
                        first: &mut self.first,
                        second: &mut self.second,
                        proposed: &mut self.proposed,
                        params: params.values(),
                        gradient,
                        squared,
                    };
                    proposed_finite = adam_step(tensor, &step);
                } else {
                    adam_update(
                        &mut self.update,
                        &mut self.first,
                        &mut self.second,
                        gradient,
                        squared,
                        &step,
                    );
                }
            }
        }
        let scale = match self.config.scaling {
            Scaling::None => {
                if !proposed_finite {
                    return None;
                }
                params.swap_values(&mut self.proposed);
                return Some(1.0);
            }
            Scaling::HesScale { delta } => {
                if !self.config.scaling_uses_second_moment() {
                    let diagonal = scaling_curvature.unwrap_or_else(|| {
                        panic!(
                            "the step-size scaling needs {}'s diagonal",
                            Scaling::method()
                        )
                    });
                    let hesscale = values_of(diagonal, &self.layout, "the scaling's curvature");
                    let beta2 = self.config.hyperparameters.beta2;
                    average_squares(&mut self.scaling_average, hesscale, beta2);
                }
                let average = self.scaling_average().expect("the scaling is on");
                scaling_factor(delta, predicted_change(average, &self.update))
            }
        };
        if !stays_finite(params.values(), &self.update, scale) {
            return None;
        }
        apply(params.values_mut(), &self.update, scale);
        Some(scale)
    }
}

#[cfg(test)]
mod tests {
    use approx::assert_relative_eq;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_input_errors() {
        for optimizer in Optimizer::ALL {
            assert_eq!(
                optimizer.to_string().parse::<Optimizer>().unwrap(),
                optimizer
            );
        }
        let error = "adamw".parse::<Optimizer>().unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert_eq!(
            error.to_string(),
            "unknown optimizer 'adamw' (expected one of: sgd, adam, adahessian, adaggnmc, \
             adahesscale, adahesscale_gn)"
        );
        assert_eq!(
            format!("{:>6}|{:<5}|", Optimizer::Sgd, Scaling::None),
            "   sgd|none |"
        );
    }

    #[test]
    fn each_optimizer_squares_what_spec_9_says() {
        let curvature = |optimizer: Optimizer| optimizer.curvature().map(|m| m.to_string());
        assert_eq!(Optimizer::Sgd.rule(), Rule::Sgd);
        assert_eq!(Optimizer::Adam.rule(), Rule::Adam(Squared::Gradient));
        assert_eq!(
            curvature(Optimizer::AdaHessian).as_deref(),
            Some("hutchinson:1")
        );
        assert_eq!(curvature(Optimizer::AdaGgnMc).as_deref(), Some("ggn_mc:1"));
        assert_eq!(
            curvature(Optimizer::AdaHesScale).as_deref(),
            Some("hesscale")
        );
        assert_eq!(
            curvature(Optimizer::AdaHesScaleGn).as_deref(),
            Some("hesscale_gn")
        );
    }

    #[test]
    fn bad_hyperparameters_and_scalings_are_input_errors() {
        let defaults = Hyperparameters::with_lr(1e-3);
        for bad in [
            Hyperparameters {
                lr: 0.0,
                ..defaults
            },
            Hyperparameters {
                lr: f64::INFINITY,
                ..defaults
            },
            Hyperparameters {
                beta1: 1.0,
                ..defaults
            },
            Hyperparameters {
                beta2: -0.1,
                ..defaults
            },
            Hyperparameters {
                eps: f64::NAN,
                ..defaults
            },
        ] {
            assert_eq!(bad.check().unwrap_err().exit_code(), 2, "{bad:?}");
        }
        assert!(defaults.check().is_ok());
        assert_eq!(Scaling::new("none", f64::NAN).unwrap(), Scaling::None);
        assert_eq!(
            Scaling::new("hesscale", 1e-8).unwrap(),
            Scaling::HesScale { delta: 1e-8 }
        );
        for (name, delta) in [
            ("hesscale", 0.0),
            ("hesscale", f64::INFINITY),
            ("trust", 1.0),
        ] {
            assert_eq!(Scaling::new(name, delta).unwrap_err().exit_code(), 2);
        }
    }

    /// `s = min(1, √(2δ/τ))`: where it binds, the predicted change of the scaled step is
    /// exactly δ, `½ s² τ = δ`; otherwise s = 1.
    #[test]
    fn the_scaling_factor_has_its_closed_form() {
        for (delta, tau) in [(1e-8, 3.0), (1e-4, 0.01075174404457249), (0.5, 7.5e3)] {
            let s = scaling_factor(delta, tau);
            assert!(s < 1.0);
            assert_relative_eq!(0.5 * s * s * tau, delta, max_relative = 1e-15);
        }
        for (delta, tau) in [(1.0, 2.0), (1e-8, 2e-8), (1e-8, 1e-300), (1e-8, 0.0)] {
            assert_eq!(scaling_factor(delta, tau), 1.0, "δ {delta}, τ {tau}");
        }
        assert_eq!(scaling_factor(1e-8, f64::INFINITY), 0.0);
        assert!(scaling_factor(1e-8, f64::NAN).is_nan());
    }

    /// The parameters of one Linear layer of `inputs` inputs and `outputs` outputs,
    /// filled with `values` (weight row-major, then bias).
    fn linear(inputs: usize, outputs: usize, values: &[f64]) -> Params {
        let layout = Arc::new(ParamLayout::new([(
            0,
            vec![("weight", vec![outputs, inputs]), ("bias", vec![outputs])],
        )]));
        Params::from_values(&layout, values.to_vec())
    }

    /// One layer 2 → 1 (three parameters) filled with `values`.
    fn layer(values: [f64; 3]) -> Params {
        linear(2, 1, &values)
    }

    /// The predicted change `Σ Ĥ u²` of the last step, recomputed from the state.
    fn tau(state: &OptimizerState) -> f64 {
        let curvature = state.scaling_curvature().expect("the scaling is on");
        curvature
            .iter()
            .zip(&state.update)
            .map(|(h, u)| h * u * u)
            .sum()
    }

    /// adahesscale keeps `v = EMA_β2(ĥ²)` of hesscale's diagonal: the scaling reads it as it
    /// stands and asks for no diagonal alongside, while adam's scaling keeps its own average
    /// of hesscale's diagonal. Fed the same hesscale diagonals, both see the same Ĥ.
    #[test]
    fn adahesscale_scales_with_its_own_second_moment() {
        let scaled = |optimizer| OptimizerConfig {
            scaling: Scaling::HesScale { delta: 1e-6 },
            ..OptimizerConfig::new(optimizer, 0.1)
        };
        assert_eq!(scaled(Optimizer::AdaHesScale).scaling_curvature(), None);
        assert_eq!(
            scaled(Optimizer::Adam).scaling_curvature(),
            Some(Scaling::method())
        );
        assert_eq!(
            scaled(Optimizer::AdaHesScaleGn).scaling_curvature(),
            Some(Scaling::method())
        );
        let start = layer([0.0; 3]);
        let mut own = OptimizerState::new(scaled(Optimizer::AdaHesScale), &start).unwrap();
        let mut alongside = OptimizerState::new(scaled(Optimizer::Adam), &start).unwrap();
        assert!(own.scaling_average.is_empty());
        let (mut a, mut b) = (start.clone(), start.clone());
        for (gradient, hesscale) in [
            ([0.3, -1.0, 2.0], [8.0, -0.5, 2.0]),
            ([0.1, 0.4, -2.0], [6.0, 0.25, 1.0]),
        ] {
            let (gradient, hesscale) = (layer(gradient), layer(hesscale));
            let s_own = own.step(&mut a, &gradient, Some(&hesscale), None).unwrap();
            alongside
                .step(&mut b, &gradient, None, Some(&hesscale))
                .unwrap();
            let root: Vec<f64> = own.second.iter().map(|v| v.sqrt()).collect();
            assert_eq!(own.scaling_curvature().unwrap(), root);
            assert_eq!(own.scaling_curvature(), alongside.scaling_curvature());
            assert!(s_own < 1.0);
            assert_relative_eq!(0.5 * s_own * s_own * tau(&own), 1e-6, max_relative = 1e-12);
        }
    }

    #[test]
    #[should_panic(expected = "the step-size scaling needs hesscale's diagonal")]
    fn a_missing_scaling_diagonal_is_a_bug_of_the_caller() {
        let config = OptimizerConfig {
            scaling: Scaling::HesScale { delta: 1e-6 },
            ..OptimizerConfig::new(Optimizer::Sgd, 0.1)
        };
        let mut params = layer([0.0; 3]);
        let mut state = OptimizerState::new(config, &params).unwrap();
        state.step(&mut params, &layer([1.0; 3]), None, None);
    }

    /// A non-finite update leaves the parameters as they were.
    #[test]
    fn a_step_to_a_non_finite_parameter_is_refused() {
        let mut params = layer([1.0, 2.0, 3.0]);
        let config = OptimizerConfig::new(Optimizer::Sgd, 1e308);
        let mut state = OptimizerState::new(config, &params).unwrap();
        assert_eq!(
            state.step(&mut params, &layer([-2.0, 0.0, 0.0]), None, None),
            None
        );
        assert_eq!(params, layer([1.0, 2.0, 3.0]));
        let config = OptimizerConfig::new(Optimizer::AdaHesScale, 0.1);
        let mut state = OptimizerState::new(config, &params).unwrap();
        let nan = layer([f64::NAN, 1.0, 1.0]);
        assert_eq!(
            state.step(&mut params, &layer([1.0; 3]), Some(&nan), None),
            None
        );
        assert_eq!(params, layer([1.0, 2.0, 3.0]));
    }

    /// Without the scaling every optimizer's new parameters are exactly `θ − u`, step after
    /// step (the state's buffers swapped in and reused).
    #[test]
    fn an_unscaled_step_is_theta_minus_the_update() {
        let flat = |params: &Params| params.values().to_vec();
        for optimizer in Optimizer::ALL {
            let mut params = layer([0.5, -1.0, 2.0]);
            let config = OptimizerConfig::new(optimizer, 0.1);
            let mut state = OptimizerState::new(config, &params).unwrap();
            let curvature = layer([8.0, -0.5, 2.0]);
            for gradient in [[0.3, -1.0, 2.0], [0.1, 0.4, -2.0], [1.0, 0.0, -0.5]] {
                let before = flat(&params);
                let scale = state.step(&mut params, &layer(gradient), Some(&curvature), None);
                assert_eq!(scale, Some(1.0));
                let after = flat(&params);
                for ((a, b), u) in after.iter().zip(&before).zip(&state.update) {
                    assert_eq!(a.to_bits(), (b - u).to_bits(), "{optimizer}");
                }
            }
        }
    }

    /// A 2 → 3 layer (nine parameters) from nine values.
    fn tensors_from(values: &[f64]) -> Params {
        linear(2, 3, values)
    }

    fn values(len: usize) -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(prop_oneof![-1e3..1e3, -1e-3..1e-3, Just(0.0)], len..=len)
    }

    proptest! {
        /// Whatever the optimizer, gradients, curvatures and δ, the scaled step is the
        /// optimizer's own update times one s in [0, 1] — never larger in any parameter —
        /// with a predicted change `½ s² τ` of at most δ (δ exactly where it shrinks).
        #[test]
        fn scaling_never_enlarges_a_step(
            optimizer in prop::sample::select(Optimizer::ALL.to_vec()),
            delta_exponent in -12.0..0.0f64,
            steps in prop::collection::vec((values(9), values(9), values(9)), 1..4),
        ) {
            let delta = 10f64.powf(delta_exponent);
            let zeros = tensors_from(&[0.0; 9]);
            let plain = OptimizerConfig::new(optimizer, 0.1);
            let scaled = OptimizerConfig { scaling: Scaling::HesScale { delta }, ..plain };
            let mut plain = OptimizerState::new(plain, &zeros).unwrap();
            let mut scaled = OptimizerState::new(scaled, &zeros).unwrap();
            for (gradient, curvature, hesscale) in &steps {
                let (gradient, curvature) = (tensors_from(gradient), tensors_from(curvature));
                let hesscale = tensors_from(hesscale);
                let own = Some(&curvature);
                let (mut unscaled_step, mut scaled_step) = (zeros.clone(), zeros.clone());
                prop_assert_eq!(plain.step(&mut unscaled_step, &gradient, own, None), Some(1.0));
                let s = scaled
                    .step(&mut scaled_step, &gradient, own, Some(&hesscale))
                    .unwrap();
                prop_assert_eq!(&scaled.update, &plain.update);
                prop_assert!((0.0..=1.0).contains(&s));
                for (big, small) in unscaled_step.values().iter().zip(scaled_step.values()) {
                    prop_assert!(small.abs() <= big.abs());
                }
                let change = 0.5 * s * s * tau(&scaled);
                prop_assert!(change <= delta * (1.0 + 1e-12));
                if s < 1.0 {
                    prop_assert!((change - delta).abs() <= 1e-12 * delta);
                }
            }
        }
    }
}
