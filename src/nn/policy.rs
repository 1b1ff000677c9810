//! Policy-gradient losses at a network's output (ICML 2024, the RL application): a
//! surrogate `s` of the log-likelihood `f = log π(a | z)` of the action taken, per sample
//! `ℓ_n = s_n(f_n(z_n))`, reduced like cross_entropy (mean: `L = (1/N) Σ_n ℓ_n`).
//!
//! By the chain rule every output derivative follows from those of `f` and `s`:
//! `∇_z ℓ = s'(f) ∇f` and `∇²_z ℓ = s'(f) ∇²f + s''(f) ∇f ∇fᵀ`,
//! so each likelihood ([`Likelihood`]) states `f, ∇f, ∇²f` and each surrogate
//! ([`Surrogate`]) `s, s', s''`, side by side; the methods of `crate::methods` see only the
//! output derivatives, as for the supervised losses.
//!
//! Likelihoods (the paper's policies):
//! * Gaussian with separate mean and variance networks, one output per action dimension,
//!   `f = Σ_d −½ log(2π v_d) − (a_d − μ_d)² / (2 v_d)`. The mean network's loss holds the
//!   variances `v` fixed at the variance network's output ([`Likelihood::GaussianMean`]),
//!   the variance network's loss holds the means fixed ([`Likelihood::GaussianVariance`]):
//!   each network's gradient and Hessian are its blocks of the joint ones.
//!   The variance head ([`VarianceHead`]) maps the variance network's output to `v > 0`:
//!   `v = softplus(z)` (SPEC is silent; softplus grows only linearly) or `v = exp(z)` (the
//!   `Exponential` output of the ICML 2024 code's variance network).
//! * Softmax over discrete actions, `f = z_a − log Σ_c exp z_c` ([`Likelihood::Softmax`]).
//!
//! Surrogates, with the advantage `A` of the sample:
//! * A2C, `s = −A f`: `s' = −A`, `s'' = 0` (so `∇²_z ℓ = −A ∇²f`: the exact output
//!   diagonal of the head times the advantage).
//! * PPO's clipped surrogate, `s = −min(r A, clip(r, 1−ε, 1+ε) A)` with
//!   `r = exp(f − f_old)`: where the clip is inactive `s = −A r`, `s' = s'' = −A r`; where
//!   it is active (`A > 0, r > 1+ε` or `A < 0, r < 1−ε`) `s` is constant in z, `s' = s'' = 0`.
//!
//! Unlike cross_entropy's and mse's, these output Hessians are indefinite where an
//! advantage is negative: the Gauss–Newton diagonals (ggn, hesscale_gn) are not ≥ 0 on
//! them, and they have no square-root factor ([`Policy`] lacks [`Need::SquareRootFactor`]),
//! so the methods that need one (ggn_mc, kfac) refuse them with a one-line error.

use ndarray::{s, Array1, Array2, ArrayView1, Zip};

use crate::error::{Error, Result};
use crate::nn::loss::{
    check_count, softmax, Lack, LossKind, Need, OutputLoss, Reduction, SquareRootFactor,
};
use crate::nn::Activation;

/// The policy losses as a kind of loss: targets [`PolicyTargets`], bound as [`PolicyLoss`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policy;

/// What a policy loss lacks for a square-root factor, and why.
pub const NO_SQUARE_ROOT: Lack = Lack {
    losses: "policy losses",
    reason: "their output Hessian is indefinite where an advantage is negative",
};

impl LossKind for Policy {
    type Targets = PolicyTargets;
    type Bound = PolicyLoss;

    fn bind(
        &self,
        reduction: Reduction,
        targets: PolicyTargets,
        samples: usize,
        outputs: usize,
    ) -> Result<PolicyLoss> {
        check_count(targets.len(), samples)?;
        targets.check(outputs)?;
        Ok(PolicyLoss { reduction, targets })
    }

    fn lack(&self, need: Need) -> Option<Lack> {
        match need {
            Need::SquareRootFactor => Some(NO_SQUARE_ROOT),
        }
    }
}

/// A policy loss bound to a batch: its targets, reduced like cross_entropy (mean: 1/N).
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyLoss {
    reduction: Reduction,
    targets: PolicyTargets,
}

impl PolicyLoss {
    /// The targets of the batch.
    pub fn targets(&self) -> &PolicyTargets {
        &self.targets
    }

    /// The reduction factor: 1/N for the mean, 1 for the sum.
    fn scale_for(&self, outputs: &Array2<f64>) -> f64 {
        match self.reduction {
            Reduction::Mean => 1.0 / outputs.nrows() as f64,
            Reduction::Sum => 1.0,
        }
    }
}

impl OutputLoss for PolicyLoss {
    fn value(&self, outputs: &Array2<f64>) -> f64 {
        self.scale_for(outputs) * self.targets.value(outputs, 1.0)
    }

    fn gradient(&self, outputs: &Array2<f64>) -> Array2<f64> {
        self.targets.gradient(outputs, self.scale_for(outputs))
    }

    fn hessian_diag(&self, outputs: &Array2<f64>) -> Array2<f64> {
        self.targets.hessian_diag(outputs, self.scale_for(outputs))
    }

    fn hessian(&self, outputs: &Array2<f64>, sample: usize) -> Array2<f64> {
        self.targets
            .hessian(outputs, self.scale_for(outputs), sample)
    }

    fn hessian_vector_product(&self, outputs: &Array2<f64>, tangents: &Array2<f64>) -> Array2<f64> {
        self.targets
            .hessian_vector_product(outputs, self.scale_for(outputs), tangents)
    }

    fn gauss_newton_diag(&self, outputs: &Array2<f64>, jacobians: &Array2<f64>) -> Array2<f64> {
        self.targets
            .gauss_newton_diag(outputs, self.scale_for(outputs), jacobians)
    }

    fn square_root_factor(&self) -> std::result::Result<&dyn SquareRootFactor, Lack> {
        Err(NO_SQUARE_ROOT)
    }
}

/// The policy whose log-likelihood of the actions taken the loss is built on.
#[derive(Clone, Debug, PartialEq)]
pub enum Likelihood {
    /// The mean network of a Gaussian policy: `z = μ`, the variances `v` (`[N, D]`, > 0)
    /// fixed. `∂f/∂μ = (a − μ)/v`, `∂²f/∂μ² = −1/v`.
    GaussianMean {
        /// The actions taken, `[N, D]`.
        actions: Array2<f64>,
        /// The variance network's outputs `v = head(z_v)`, `[N, D]`.
        variances: Array2<f64>,
    },
    /// The variance network of a Gaussian policy: `v = head(z)`, the means fixed. With
    /// `q = (a − μ)²`: `∂f/∂v = (q − v)/(2v²)`, `∂²f/∂v² = (v − 2q)/(2v³)`, and through
    /// the head (`v'`, `v''` of [`VarianceHead::derivatives`]):
    /// `∂f/∂z = f_v v'`, `∂²f/∂z² = f_vv v'² + f_v v''`.
    GaussianVariance {
        /// The actions taken, `[N, D]`.
        actions: Array2<f64>,
        /// The mean network's outputs, `[N, D]`.
        means: Array2<f64>,
        /// How the network's output becomes the variance.
        head: VarianceHead,
    },
    /// A softmax policy over the outputs: `p = softmax(z)`, `∇f = e_a − p`,
    /// `∇²f = −(diag(p) − p pᵀ)`.
    Softmax {
        /// The action index taken, one per sample.
        actions: Vec<usize>,
    },
}

/// How a Gaussian policy's variance network turns its output `z` into the variance `v > 0`;
/// [`VarianceHead::name`] is its name for `Display`, `FromStr` and serde.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum VarianceHead {
    /// `v = softplus(z) = log(1 + eᶻ)`: `v' = σ(z)`, `v'' = σ(z)(1 − σ(z))`.
    #[default]
    Softplus,
    /// `v = exp(z)`: `v' = v'' = v` (the ICML 2024 code's `Exponential` activation).
    Exp,
}

impl VarianceHead {
    /// Every head, in the order of the names.
    pub const ALL: [VarianceHead; 2] = [VarianceHead::Softplus, VarianceHead::Exp];

    /// `softplus` or `exp`.
    pub fn name(self) -> &'static str {
        match self {
            VarianceHead::Softplus => "softplus",
            VarianceHead::Exp => "exp",
        }
    }

    /// What the head is, in one line.
    pub fn about(self) -> &'static str {
        match self {
            VarianceHead::Softplus => "v = softplus(z)",
            VarianceHead::Exp => "v = exp(z), the ICML 2024 code's",
        }
    }

    /// The variance `v` of an output `z`.
    pub fn variance(self, z: f64) -> f64 {
        match self {
            VarianceHead::Softplus => Activation::Softplus.value(z),
            VarianceHead::Exp => z.exp(),
        }
    }

    /// `(v, v', v'')` at `z`.
    pub fn derivatives(self, z: f64) -> (f64, f64, f64) {
        let v = self.variance(z);
        match self {
            VarianceHead::Softplus => {
                let (v1, v2) = Activation::Softplus.derivatives(z, v);
                (v, v1, v2)
            }
            VarianceHead::Exp => (v, v, v),
        }
    }

    /// True for the default head, softplus.
    pub fn is_softplus(&self) -> bool {
        *self == VarianceHead::Softplus
    }
}

impl std::fmt::Display for VarianceHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

impl std::str::FromStr for VarianceHead {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        VarianceHead::ALL
            .into_iter()
            .find(|head| head.name() == name)
            .ok_or_else(|| {
                Error::input(format!(
                    "unknown variance head '{name}' (expected one of: softplus, exp)"
                ))
            })
    }
}

impl serde::Serialize for VarianceHead {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for VarianceHead {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// The function of the log-likelihood that is minimised.
#[derive(Clone, Debug, PartialEq)]
pub enum Surrogate {
    /// A2C: `s = −A f`.
    AdvantageWeighted,
    /// PPO: `s = −min(r A, clip(r, 1−ε, 1+ε) A)`, `r = exp(f − f_old)`.
    Clipped {
        /// `f_old`, the log-likelihood of each action under the policy that collected it.
        old_log_probs: Array1<f64>,
        /// The clip range ε (0.2 in PPO).
        clip: f64,
    },
}

/// The per-sample data of a policy loss: the targets of [`Policy`].
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyTargets {
    /// The policy head and the actions taken.
    pub likelihood: Likelihood,
    /// The advantage of each sample.
    pub advantages: Array1<f64>,
    /// The surrogate of the log-likelihood.
    pub surrogate: Surrogate,
}

/// `∇²f` of one sample.
enum LogHessian {
    /// A diagonal (the Gaussian heads).
    Diagonal(Array1<f64>),
    /// `−(diag(p) − p pᵀ)`, given p (the softmax head).
    Softmax(Array1<f64>),
}

/// `f`, `∇f` and `∇²f` of one sample.
struct LogLikelihood {
    value: f64,
    gradient: Array1<f64>,
    hessian: LogHessian,
}

impl LogHessian {
    /// The diagonal of `∇²f`: `h`, or `−(p − p²)`.
    fn diag(&self) -> Array1<f64> {
        match self {
            LogHessian::Diagonal(h) => h.clone(),
            LogHessian::Softmax(p) => p.mapv(|p| p * p - p),
        }
    }

    /// The full `∇²f`, `[D, D]`.
    fn full(&self) -> Array2<f64> {
        match self {
            LogHessian::Diagonal(h) => Array2::from_diag(h),
            LogHessian::Softmax(p) => {
                let width = p.len();
                let mut full = Array2::from_shape_fn((width, width), |(i, j)| p[i] * p[j]);
                for c in 0..width {
                    full[[c, c]] -= p[c];
                }
                full
            }
        }
    }

    /// `∇²f · v`: `h ⊙ v`, or `−(p ⊙ v − p (pᵀv))`.
    fn times(&self, v: ArrayView1<f64>) -> Array1<f64> {
        match self {
            LogHessian::Diagonal(h) => h * &v,
            LogHessian::Softmax(p) => {
                let p_dot_v = p.dot(&v);
                Zip::from(p).and(v).map_collect(|&p, &v| p * (p_dot_v - v))
            }
        }
    }

    /// `diag(Jᵀ ∇²f J)` for one sample's output Jacobian `J` (`[D, w]`): `Σ_c h_c J_ci²`,
    /// or `−Σ_c p_c (J_ci − u_i)²` with `u = pᵀJ`.
    fn through(&self, jacobian: ndarray::ArrayView2<f64>) -> Array1<f64> {
        let mut out = Array1::zeros(jacobian.ncols());
        match self {
            LogHessian::Diagonal(h) => {
                for (row, &hc) in jacobian.rows().into_iter().zip(h) {
                    Zip::from(&mut out)
                        .and(&row)
                        .for_each(|d, &j| *d += hc * j * j);
                }
            }
            LogHessian::Softmax(p) => {
                let mean = p.dot(&jacobian);
                for (row, &pc) in jacobian.rows().into_iter().zip(p) {
                    Zip::from(&mut out)
                        .and(&row)
                        .and(&mean)
                        .for_each(|d, &j, &u| *d -= pc * (j - u) * (j - u));
                }
            }
        }
        out
    }
}

/// An error naming `what` unless every value is finite.
fn finite<'a>(mut values: impl Iterator<Item = &'a f64>, what: &str) -> Result<()> {
    if values.all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Error::input(format!(
            "targets: {what} holds a non-finite value"
        )))
    }
}

/// The log-density of N(mean, variance) at `action`, `−½ log(2π v) − (a − μ)²/(2v)`.
fn gaussian_log_density(action: f64, mean: f64, variance: f64) -> f64 {
    let diff = action - mean;
    -0.5 * (2.0 * std::f64::consts::PI * variance).ln() - diff * diff / (2.0 * variance)
}

impl Likelihood {
    /// The number of samples.
    pub fn len(&self) -> usize {
        match self {
            Likelihood::GaussianMean { actions, .. }
            | Likelihood::GaussianVariance { actions, .. } => actions.nrows(),
            Likelihood::Softmax { actions } => actions.len(),
        }
    }

    /// True for no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `f`, `∇f`, `∇²f` of sample n at its output `z`.
    fn log_likelihood(&self, z: ArrayView1<f64>, n: usize) -> LogLikelihood {
        match self {
            Likelihood::GaussianMean { actions, variances } => {
                let (a, v) = (actions.row(n), variances.row(n));
                let value = Zip::from(&a)
                    .and(&z)
                    .and(&v)
                    .fold(0.0, |f, &a, &mu, &v| f + gaussian_log_density(a, mu, v));
                LogLikelihood {
                    value,
                    gradient: Zip::from(&a)
                        .and(&z)
                        .and(&v)
                        .map_collect(|&a, &mu, &v| (a - mu) / v),
                    hessian: LogHessian::Diagonal(v.mapv(|v| -1.0 / v)),
                }
            }
            Likelihood::GaussianVariance {
                actions,
                means,
                head,
            } => {
                let (a, mu) = (actions.row(n), means.row(n));
                let width = z.len();
                let (mut value, mut gradient, mut hessian) =
                    (0.0, Array1::zeros(width), Array1::zeros(width));
                for d in 0..width {
                    let (v, v1, v2) = head.derivatives(z[d]);
                    let q = (a[d] - mu[d]) * (a[d] - mu[d]);
                    let f_v = (q - v) / (2.0 * v * v);
                    let f_vv = (v - 2.0 * q) / (2.0 * v * v * v);
                    value += gaussian_log_density(a[d], mu[d], v);
                    gradient[d] = f_v * v1;
                    hessian[d] = f_vv * v1 * v1 + f_v * v2;
                }
                LogLikelihood {
                    value,
                    gradient,
                    hessian: LogHessian::Diagonal(hessian),
                }
            }
            Likelihood::Softmax { actions } => {
                let p = softmax(&z.to_owned().insert_axis(ndarray::Axis(0)))
                    .row(0)
                    .to_owned();
                let action = actions[n];
                let mut gradient = -&p;
                gradient[action] += 1.0;
                LogLikelihood {
                    value: p[action].ln(),
                    gradient,
                    hessian: LogHessian::Softmax(p),
                }
            }
        }
    }

    /// `log π(a_n | z_n)` of every sample (the variances or means the head holds fixed
    /// complete a Gaussian), `[N]`.
    pub fn log_probs(&self, outputs: &Array2<f64>) -> Array1<f64> {
        match self {
            // The stable log-softmax, not the log of a rounded probability.
            Likelihood::Softmax { actions } => outputs
                .rows()
                .into_iter()
                .zip(actions)
                .map(|(z, &a)| {
                    let max = z.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                    z[a] - max - z.iter().map(|&v| (v - max).exp()).sum::<f64>().ln()
                })
                .collect(),
            _ => (0..outputs.nrows())
                .map(|n| self.log_likelihood(outputs.row(n), n).value)
                .collect(),
        }
    }
}

impl Surrogate {
    /// `(s, s', s'')` at the log-likelihood `f` of sample n with advantage `advantage`.
    fn derivatives(&self, f: f64, advantage: f64, n: usize) -> (f64, f64, f64) {
        match self {
            Surrogate::AdvantageWeighted => (-advantage * f, -advantage, 0.0),
            Surrogate::Clipped {
                old_log_probs,
                clip,
            } => {
                let ratio = (f - old_log_probs[n]).exp();
                let clipped = ratio.clamp(1.0 - clip, 1.0 + clip);
                if clipped * advantage < ratio * advantage {
                    (-clipped * advantage, 0.0, 0.0)
                } else {
                    let s = -ratio * advantage;
                    (s, s, s)
                }
            }
        }
    }
}

/// One sample's `f`, `∇f`, `∇²f` and `s, s', s''`.
struct SampleTerms {
    log_likelihood: LogLikelihood,
    value: f64,
    first: f64,
    second: f64,
}

impl PolicyTargets {
    /// The number of samples.
    pub fn len(&self) -> usize {
        self.likelihood.len()
    }

    /// True for no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Check the targets against a model of `outputs` outputs: one advantage (and old
    /// log-probability) per sample, actions and fixed heads of the output width, discrete
    /// actions in range, variances > 0, a clip range in (0, 1), every value finite.
    pub fn check(&self, outputs: usize) -> Result<()> {
        let samples = self.len();
        let shaped = |values: &Array2<f64>, what: &str| {
            if values.dim() != (samples, outputs) {
                return Err(Error::input(format!(
                    "targets: {what} has shape [{}, {}], not [{samples}, {outputs}]",
                    values.nrows(),
                    values.ncols()
                )));
            }
            finite(values.iter(), what)
        };
        match &self.likelihood {
            Likelihood::GaussianMean { actions, variances } => {
                shaped(actions, "actions")?;
                shaped(variances, "variances")?;
                if variances.iter().any(|&v| v <= 0.0) {
                    return Err(Error::input("targets: variances must be > 0"));
                }
            }
            Likelihood::GaussianVariance { actions, means, .. } => {
                shaped(actions, "actions")?;
                shaped(means, "means")?;
            }
            Likelihood::Softmax { actions } => {
                if let Some(&action) = actions.iter().find(|&&a| a >= outputs) {
                    return Err(Error::input(format!(
                        "targets: action {action} is out of range for {outputs} outputs"
                    )));
                }
            }
        }
        let per_sample = |values: &Array1<f64>, what: &str| {
            if values.len() != samples {
                return Err(Error::input(format!(
                    "targets: {} {what} for {samples} actions",
                    values.len()
                )));
            }
            finite(values.iter(), what)
        };
        per_sample(&self.advantages, "advantages")?;
        if let Surrogate::Clipped {
            old_log_probs,
            clip,
        } = &self.surrogate
        {
            per_sample(old_log_probs, "old log-probabilities")?;
            if !(*clip > 0.0 && *clip < 1.0) {
                return Err(Error::input(format!(
                    "targets: the clip range {clip} is not in (0, 1)"
                )));
            }
        }
        Ok(())
    }

    fn terms(&self, outputs: &Array2<f64>, n: usize) -> SampleTerms {
        let log_likelihood = self.likelihood.log_likelihood(outputs.row(n), n);
        let (value, first, second) =
            self.surrogate
                .derivatives(log_likelihood.value, self.advantages[n], n);
        SampleTerms {
            log_likelihood,
            value,
            first,
            second,
        }
    }

    /// `L = scale · Σ_n s(f_n)`.
    pub fn value(&self, outputs: &Array2<f64>, scale: f64) -> f64 {
        scale
            * (0..outputs.nrows())
                .map(|n| self.terms(outputs, n).value)
                .sum::<f64>()
    }

    /// `∂L/∂z = scale · s' ∇f` per sample, `[N, D]`.
    pub fn gradient(&self, outputs: &Array2<f64>, scale: f64) -> Array2<f64> {
        let mut grad = Array2::zeros(outputs.raw_dim());
        for (n, mut row) in grad.rows_mut().into_iter().enumerate() {
            let terms = self.terms(outputs, n);
            row.assign(&(&terms.log_likelihood.gradient * (scale * terms.first)));
        }
        grad
    }

    /// The diagonal of `∇²_z ℓ` per sample, `scale · (s' diag(∇²f) + s'' (∇f)²)`, `[N, D]`.
    pub fn hessian_diag(&self, outputs: &Array2<f64>, scale: f64) -> Array2<f64> {
        let mut diag = Array2::zeros(outputs.raw_dim());
        for (n, mut row) in diag.rows_mut().into_iter().enumerate() {
            let terms = self.terms(outputs, n);
            let g = &terms.log_likelihood.gradient;
            row.assign(
                &((terms.log_likelihood.hessian.diag() * terms.first + g * g * terms.second)
                    * scale),
            );
        }
        diag
    }

    /// The full `∇²_z ℓ` of sample `sample`, `scale · (s' ∇²f + s'' ∇f ∇fᵀ)`, `[D, D]`.
    pub fn hessian(&self, outputs: &Array2<f64>, scale: f64, sample: usize) -> Array2<f64> {
        let terms = self.terms(outputs, sample);
        let g = terms
            .log_likelihood
            .gradient
            .view()
            .insert_axis(ndarray::Axis(1));
        (terms.log_likelihood.hessian.full() * terms.first + g.dot(&g.t()) * terms.second) * scale
    }

    /// `∇²_z ℓ · v` for a stack of tangents (row r a direction for sample `r mod N`):
    /// `scale · (s' ∇²f v + s'' ∇f (∇fᵀv))`.
    pub fn hessian_vector_product(
        &self,
        outputs: &Array2<f64>,
        scale: f64,
        tangents: &Array2<f64>,
    ) -> Array2<f64> {
        let samples = outputs.nrows();
        let terms: Vec<SampleTerms> = (0..samples).map(|n| self.terms(outputs, n)).collect();
        let mut product = tangents.clone();
        for (r, mut row) in product.rows_mut().into_iter().enumerate() {
            let terms = &terms[r % samples];
            let g = &terms.log_likelihood.gradient;
            let along = g.dot(&row) * terms.second;
            let curved = terms.log_likelihood.hessian.times(row.view()) * terms.first;
            row.assign(&((curved + g * along) * scale));
        }
        product
    }

    /// For each sample n, `diag(J_nᵀ ∇²_z ℓ_n J_n)` from the stacked output Jacobians
    /// (row `c·N + n` holds row c of `J_n`, `[D·N, w]`), `[N, w]`:
    /// `scale · (s' diag(J_nᵀ ∇²f J_n) + s'' (∇fᵀ J_n)²)`.
    pub fn gauss_newton_diag(
        &self,
        outputs: &Array2<f64>,
        scale: f64,
        jacobians: &Array2<f64>,
    ) -> Array2<f64> {
        let samples = outputs.nrows();
        let mut diag = Array2::zeros((samples, jacobians.ncols()));
        for (n, mut out) in diag.rows_mut().into_iter().enumerate() {
            let terms = self.terms(outputs, n);
            let block = jacobians.slice(s![n..; samples, ..]);
            let projected = terms.log_likelihood.gradient.dot(&block);
            let curved = terms.log_likelihood.hessian.through(block);
            out.assign(
                &((curved * terms.first + projected.mapv(|u| u * u) * terms.second) * scale),
            );
        }
        diag
    }
}

#[cfg(test)]
mod tests {
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    use super::*;

    /// Every likelihood × surrogate on a batch of two samples with D = 2 outputs and
    /// advantages of both signs. Two PPO cases each: ratios `r = e^{±0.05}` (inside the
    /// clip) for sample 0; for sample 1 `r = e^{±0.5}`, the clip active in the first case
    /// (r moved the way the advantage pushes it) and inactive in the second.
    fn cases() -> Vec<(String, PolicyTargets, Array2<f64>)> {
        let outputs = array![[0.3, -0.7], [-0.2, 0.9]];
        let actions = array![[0.5, -1.1], [0.1, 1.4]];
        let likelihoods = [
            Likelihood::GaussianMean {
                actions: actions.clone(),
                variances: array![[0.8, 1.3], [0.4, 2.0]],
            },
            Likelihood::GaussianVariance {
                actions: actions.clone(),
                means: array![[0.2, -0.3], [0.6, 1.0]],
                head: VarianceHead::Softplus,
            },
            Likelihood::GaussianVariance {
                actions,
                means: array![[0.2, -0.3], [0.6, 1.0]],
                head: VarianceHead::Exp,
            },
            Likelihood::Softmax {
                actions: vec![1, 0],
            },
        ];
        let mut cases = Vec::new();
        for likelihood in likelihoods {
            for advantages in [array![1.3, -0.6], array![-0.9, 2.1]] {
                let log_probs = likelihood.log_probs(&outputs);
                let shift = 0.5 * f64::signum(advantages[1]);
                let surrogates = [
                    Surrogate::AdvantageWeighted,
                    Surrogate::Clipped {
                        old_log_probs: &log_probs - &array![0.05, shift],
                        clip: 0.2,
                    },
                    Surrogate::Clipped {
                        old_log_probs: &log_probs - &array![-0.05, -shift],
                        clip: 0.2,
                    },
                ];
                for surrogate in surrogates {
                    let targets = PolicyTargets {
                        likelihood: likelihood.clone(),
                        advantages: advantages.clone(),
                        surrogate,
                    };
                    targets.check(2).unwrap();
                    cases.push((format!("{targets:?}"), targets, outputs.clone()));
                }
            }
        }
        cases
    }

    const STEP: f64 = 1e-5;

    fn shifted(outputs: &Array2<f64>, n: usize, d: usize, by: f64) -> Array2<f64> {
        let mut shifted = outputs.clone();
        shifted[[n, d]] += by;
        shifted
    }

    #[test]
    fn gradients_equal_central_differences_of_the_value() {
        for (name, targets, z) in cases() {
            let grad = targets.gradient(&z, 0.5);
            for ((n, d), &g) in grad.indexed_iter() {
                let fd = (targets.value(&shifted(&z, n, d, STEP), 0.5)
                    - targets.value(&shifted(&z, n, d, -STEP), 0.5))
                    / (2.0 * STEP);
                assert_abs_diff_eq!(g, fd, epsilon = 1e-8);
                assert!(g.is_finite(), "{name}");
            }
        }
    }

    /// Each full Hessian column against central differences of the gradient (the clip's
    /// kink is 0.05 away in log-ratio, far beyond the step); the diagonal, the
    /// Hessian-vector products and the Jacobian form agree with the full matrix.
    #[test]
    fn hessians_equal_central_differences_of_the_gradient_and_every_form_agrees() {
        let mut active = 0;
        for (name, targets, z) in cases() {
            let diag = targets.hessian_diag(&z, 0.5);
            let tangents = array![[0.4, -1.2], [0.7, 0.3], [-2.0, 0.5], [1.0, 1.0]];
            let products = targets.hessian_vector_product(&z, 0.5, &tangents);
            let jacobians = array![
                [1.0, 0.5, -0.3],
                [0.2, -1.0, 0.8],
                [0.6, 0.1, 2.0],
                [-0.4, 0.9, 0.0]
            ];
            let through = targets.gauss_newton_diag(&z, 0.5, &jacobians);
            for n in 0..2 {
                let hessian = targets.hessian(&z, 0.5, n);
                if hessian.iter().all(|&h| h == 0.0) {
                    active += 1;
                }
                for d in 0..2 {
                    let column = (targets.gradient(&shifted(&z, n, d, STEP), 0.5)
                        - targets.gradient(&shifted(&z, n, d, -STEP), 0.5))
                        / (2.0 * STEP);
                    for c in 0..2 {
                        assert_abs_diff_eq!(hessian[[c, d]], column[[n, c]], epsilon = 1e-8);
                    }
                    assert_abs_diff_eq!(diag[[n, d]], hessian[[d, d]], epsilon = 1e-14);
                }
                for r in [n, n + 2] {
                    let want = hessian.dot(&tangents.row(r));
                    for c in 0..2 {
                        assert_abs_diff_eq!(products[[r, c]], want[c], epsilon = 1e-14);
                    }
                }
                let block = jacobians.slice(s![n..; 2, ..]);
                let want = block.t().dot(&hessian).dot(&block).diag().to_owned();
                for i in 0..3 {
                    assert_abs_diff_eq!(through[[n, i]], want[i], epsilon = 1e-13);
                }
            }
            assert!(diag.iter().all(|h| h.is_finite()), "{name}");
        }
        // One active clip per likelihood and advantage pair.
        assert_eq!(active, 8);
    }

    /// The values by hand: a Gaussian of variance 1 at its mean has log-density
    /// `−½ log 2π`; a uniform softmax over two actions has `log ½`; A2C is `−A f`;
    /// PPO at r = 1 is `−A`, and clipped at `r = e^0.5 > 1.2` with A > 0 it is `−1.2 A`.
    #[test]
    fn values_by_hand() {
        let half_log_two_pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        let mean = Likelihood::GaussianMean {
            actions: array![[0.5]],
            variances: array![[1.0]],
        };
        assert_abs_diff_eq!(mean.log_probs(&array![[0.5]])[0], -half_log_two_pi);
        // softplus(z) = 1 at z = ln(e − 1); exp(z) = 1 at z = 0.
        for (head, z) in [
            (VarianceHead::Softplus, (std::f64::consts::E - 1.0).ln()),
            (VarianceHead::Exp, 0.0),
        ] {
            let variance = Likelihood::GaussianVariance {
                actions: array![[0.5]],
                means: array![[0.5]],
                head,
            };
            assert_abs_diff_eq!(
                variance.log_probs(&array![[z]])[0],
                -half_log_two_pi,
                epsilon = 1e-15
            );
        }
        let uniform = Likelihood::Softmax { actions: vec![1] };
        let f = 0.5f64.ln();
        assert_abs_diff_eq!(uniform.log_probs(&array![[3.0, 3.0]])[0], f);
        let targets = |surrogate| PolicyTargets {
            likelihood: uniform.clone(),
            advantages: array![2.0],
            surrogate,
        };
        let z = array![[3.0, 3.0]];
        assert_abs_diff_eq!(
            targets(Surrogate::AdvantageWeighted).value(&z, 1.0),
            -2.0 * f
        );
        let ppo = |old: f64| {
            targets(Surrogate::Clipped {
                old_log_probs: array![old],
                clip: 0.2,
            })
            .value(&z, 1.0)
        };
        assert_abs_diff_eq!(ppo(f), -2.0, epsilon = 1e-15);
        assert_abs_diff_eq!(ppo(f - 0.5), -2.4, epsilon = 1e-15);
    }

    /// Each head's `v'` and `v''` equal central differences of `v` and `v'`; by hand,
    /// `softplus(0) = ln 2` and `exp(1) = e`; names round-trip and unknown ones are refused.
    #[test]
    fn variance_heads_by_hand_and_by_differences() {
        for head in VarianceHead::ALL {
            assert_eq!(head.to_string().parse::<VarianceHead>().unwrap(), head);
            for z in [-3.0, -0.4, 0.0, 0.7, 2.5] {
                let (v, v1, v2) = head.derivatives(z);
                assert_eq!(v, head.variance(z));
                let fd1 = (head.variance(z + STEP) - head.variance(z - STEP)) / (2.0 * STEP);
                let fd2 =
                    (head.derivatives(z + STEP).1 - head.derivatives(z - STEP).1) / (2.0 * STEP);
                assert_abs_diff_eq!(v1, fd1, epsilon = 1e-9);
                assert_abs_diff_eq!(v2, fd2, epsilon = 1e-9);
            }
        }
        assert_abs_diff_eq!(
            VarianceHead::Softplus.variance(0.0),
            2f64.ln(),
            epsilon = 1e-16
        );
        assert_eq!(VarianceHead::Exp.variance(1.0), std::f64::consts::E);
        assert_eq!(
            "softmax".parse::<VarianceHead>().unwrap_err().to_string(),
            "unknown variance head 'softmax' (expected one of: softplus, exp)"
        );
    }

    #[test]
    fn bad_targets_are_named() {
        let targets = PolicyTargets {
            likelihood: Likelihood::Softmax {
                actions: vec![0, 3],
            },
            advantages: array![1.0, 2.0],
            surrogate: Surrogate::AdvantageWeighted,
        };
        assert_eq!(
            targets.check(3).unwrap_err().to_string(),
            "targets: action 3 is out of range for 3 outputs"
        );
        let short = PolicyTargets {
            advantages: array![1.0],
            ..targets.clone()
        };
        assert_eq!(
            short.check(4).unwrap_err().to_string(),
            "targets: 1 advantages for 2 actions"
        );
        let variances = PolicyTargets {
            likelihood: Likelihood::GaussianMean {
                actions: array![[0.0], [1.0]],
                variances: array![[1.0], [0.0]],
            },
            ..targets
        };
        assert_eq!(
            variances.check(1).unwrap_err().to_string(),
            "targets: variances must be > 0"
        );
    }
}
