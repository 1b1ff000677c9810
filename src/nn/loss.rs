//! Losses at the network output `z` (SPEC §1), apart from what they are used for: the
//! [`OutputLoss`] trait says what every loss provides at the output (value, gradient,
//! Hessian: full, diagonal, as Hessian-vector products and through Jacobians), and the
//! [`SquareRootFactor`] trait what only some have (exact and sampled square-root factors of
//! the output Hessian). A method declares what it needs (`crate::methods::MethodDef`), and a
//! loss that cannot serve it says so in a one-line error made from that declaration
//! ([`Need`], [`Lack`]).
//!
//! The supervised losses here ([`Loss`], bound to a batch as [`SupervisedLoss`]) follow
//! PyTorch's reductions; every per-sample rule is multiplied by `scale`, the reduction
//! factor (mean: 1/N for cross_entropy and 1/(N·D) for mse; sum: 1). The policy losses of
//! the RL agents implement the same traits in `crate::nn::policy`.

use std::fmt;
use std::str::FromStr;

use ndarray::{s, Array1, Array2, ArrayView1, Zip};
use ndarray_rand::rand::Rng;
use ndarray_rand::rand_distr::StandardNormal;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A supervised loss between the output `z` (logits or predictions) and the targets, by
/// its name on the command line and in files.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// `ℓ = −log softmax(z)[y]`, targets are class indices.
    #[default]
    CrossEntropy,
    /// `ℓ = ‖z − y‖²`, targets are vectors of the output width.
    Mse,
}

/// How per-sample losses are combined, as PyTorch's `reduction=`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Reduction {
    /// Divide the sum by N (cross_entropy) or N·D (mse).
    #[default]
    Mean,
    /// Plain sum over samples (and outputs).
    Sum,
}

/// The targets of a supervised batch: class indices for cross_entropy, vectors for mse.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// One class index per sample.
    Classes(Vec<usize>),
    /// One target vector per sample, shape [N, D].
    Values(Array2<f64>),
}

impl Targets {
    /// The number of samples the targets describe.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(classes) => classes.len(),
            Targets::Values(values) => values.nrows(),
        }
    }

    /// True for a batch of no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Something beyond value, gradient and Hessian that a method may need of the loss at the
/// network's output, and that not every loss has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// A square-root factor `S` of the output Hessian, `S Sᵀ = ∇²_z ℓ` (exact or sampled):
    /// its columns are what ggn_mc and kfac propagate.
    SquareRootFactor,
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Need::SquareRootFactor => f.write_str("a square-root factor of the output Hessian"),
        }
    }
}

/// Why a kind of loss cannot serve a [`Need`]: which losses, and the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lack {
    /// The losses that lack it, as a sentence names them ("policy losses").
    pub losses: &'static str,
    /// Why they lack it.
    pub reason: &'static str,
}

impl Lack {
    /// The sentence of `who` (a method's name) needing `need` of a loss that lacks it.
    pub fn message(self, who: impl fmt::Display, need: Need) -> String {
        format!(
            "{who} needs {need}, which {} do not have ({})",
            self.losses, self.reason
        )
    }

    /// [`Lack::message`] as a one-line input error.
    pub fn error(self, who: impl fmt::Display, need: Need) -> Error {
        Error::input(self.message(who, need))
    }
}

/// A kind of loss: what it calls its targets, what it cannot provide, and the loss bound
/// to a batch's targets and reduction (checked against the batch and the output width).
pub trait LossKind: Clone + fmt::Debug {
    /// The targets of one batch.
    type Targets;
    /// The loss of one batch.
    type Bound: OutputLoss + Clone + fmt::Debug + PartialEq;

    /// The loss of a batch of `samples` samples on a network with `outputs` outputs, or an
    /// error naming what in the targets does not fit.
    fn bind(
        &self,
        reduction: Reduction,
        targets: Self::Targets,
        samples: usize,
        outputs: usize,
    ) -> Result<Self::Bound>;

    /// What this kind of loss cannot provide of `need`, if anything.
    fn lack(&self, need: Need) -> Option<Lack>;

    /// The first of `needs` this kind of loss cannot serve, and why.
    fn unserved(&self, needs: &[Need]) -> Option<(Need, Lack)> {
        needs
            .iter()
            .find_map(|&need| self.lack(need).map(|lack| (need, lack)))
    }
}

/// What a loss bound to a batch provides at the network's output `z` (`[N, D]`, row n
/// for sample n): the reduced value, its gradient, and its Hessian `∇²_z ℓ` (block
/// diagonal over the samples) in every form a method uses. Row-stacks of tangents and
/// Jacobian rows follow the walk's convention: row r belongs to sample `r mod N`.
pub trait OutputLoss: fmt::Debug {
    /// The reduced loss `L`.
    fn value(&self, outputs: &Array2<f64>) -> f64;

    /// `∂L/∂z` per sample, `[N, D]`.
    fn gradient(&self, outputs: &Array2<f64>) -> Array2<f64>;

    /// The diagonal of `∇²_z ℓ` per sample, `[N, D]`.
    fn hessian_diag(&self, outputs: &Array2<f64>) -> Array2<f64>;

    /// The full `∇²_z ℓ` of sample `sample`, `[D, D]`.
    fn hessian(&self, outputs: &Array2<f64>, sample: usize) -> Array2<f64>;

    /// `∇²_z ℓ · v` for a stack of tangents, row r a direction for sample `r mod N`.
    fn hessian_vector_product(&self, outputs: &Array2<f64>, tangents: &Array2<f64>) -> Array2<f64>;

    /// For each sample n, the diagonal of `J_nᵀ ∇²_z ℓ_n J_n` (the Gauss–Newton curvature
    /// at a layer whose output Jacobian is `J_n`), from a stack of Jacobian rows (row
    /// `c·N + n` is row c of `J_n`, `[D·N, w]`); result `[N, w]`.
    fn gauss_newton_diag(&self, outputs: &Array2<f64>, jacobians: &Array2<f64>) -> Array2<f64>;

    /// BL89's output curvature (Becker & LeCun 1989, SPEC §2): the diagonal of `∇²_z ℓ`
    /// with the output nonlinearity treated as elementwise. The exact diagonal unless the
    /// loss says otherwise (cross_entropy does).
    fn elementwise_hessian_diag(&self, outputs: &Array2<f64>) -> Array2<f64> {
        self.hessian_diag(outputs)
    }

    /// The square-root factor of the output Hessian, or what the loss lacks for one.
    fn square_root_factor(&self) -> std::result::Result<&dyn SquareRootFactor, Lack>;
}

/// Square-root factors of the output Hessian, exact and sampled, for the losses that have
/// them (see [`Need::SquareRootFactor`]).
pub trait SquareRootFactor {
    /// An exact square-root factor of `∇²_z ℓ`, as a stack of rows: row `c·N + n` is column
    /// c of sample n's factor `S_n`, with `S_n S_nᵀ = ∇²_z ℓ_n`.
    fn sqrt_hessian_columns(&self, outputs: &Array2<f64>) -> Array2<f64>;

    /// One Monte-Carlo square-root column per sample, shape [N, D], for a total of
    /// `draws` columns: `E[Σ_m s_m s_mᵀ] = ∇²_z ℓ` (SPEC §2, ggn_mc).
    fn sample_sqrt_hessian(
        &self,
        outputs: &Array2<f64>,
        draws: usize,
        rng: &mut ChaCha8Rng,
    ) -> Array2<f64>;

    /// A Monte-Carlo estimate of `∇²_z ℓ` per sample from `draws` draws, for estimates
    /// that see only the sum of the draws' square-root columns' outer products. Draws
    /// exactly what [`SquareRootFactor::sample_sqrt_hessian`] draws, in the same order
    /// (draw by draw, sample by sample), so both give the same estimate up to rounding.
    fn sample_output_curvature(
        &self,
        outputs: &Array2<f64>,
        draws: usize,
        rng: &mut ChaCha8Rng,
    ) -> SampledCurvature;
}

/// A supervised loss bound to a batch: its reduction and its targets, whose kind (class
/// indices or vectors) is the loss's (cross_entropy or mse).
#[derive(Clone, Debug, PartialEq)]
pub struct SupervisedLoss {
    reduction: Reduction,
    targets: Targets,
}

/// Row-wise softmax `p = exp(z − max z) / Σ exp(z − max z)`, stable for logits of any size.
pub fn softmax(logits: &Array2<f64>) -> Array2<f64> {
    let mut probs = logits.clone();
    for mut row in probs.rows_mut() {
        let max = row.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - max).exp());
        let total = row.sum();
        row.mapv_inplace(|v| v / total);
    }
    probs
}

/// `log Σ_c exp(z_c)` computed as `max z + log Σ exp(z − max z)`.
fn log_sum_exp(row: ArrayView1<f64>) -> f64 {
    let max = row.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    max + row.iter().map(|&v| (v - max).exp()).sum::<f64>().ln()
}

impl Loss {
    /// Every loss, in the order `list` and error messages show them.
    pub const ALL: [Loss; 2] = [Loss::CrossEntropy, Loss::Mse];

    /// What the loss is, for the command line's help.
    pub fn about(self) -> &'static str {
        match self {
            Loss::CrossEntropy => "`ℓ = −log softmax(z)[y]`, targets are class indices",
            Loss::Mse => "`ℓ = ‖z − y‖²`, targets are vectors of the output width",
        }
    }

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Loss::CrossEntropy => "cross_entropy",
            Loss::Mse => "mse",
        }
    }

    /// The reduction factor multiplying every per-sample term: mean gives 1/N for
    /// cross_entropy and 1/(N·D) for mse (like `torch.nn.MSELoss()`), sum gives 1.
    pub fn scale(self, reduction: Reduction, samples: usize, outputs: usize) -> f64 {
        match (reduction, self) {
            (Reduction::Sum, _) => 1.0,
            (Reduction::Mean, Loss::CrossEntropy) => 1.0 / samples as f64,
            (Reduction::Mean, Loss::Mse) => 1.0 / (samples * outputs) as f64,
        }
    }
}

impl LossKind for Loss {
    type Targets = Targets;
    type Bound = SupervisedLoss;

    /// One target per sample, of this loss's kind: class indices below `outputs` for
    /// cross_entropy, finite vectors of `outputs` values for mse.
    fn bind(
        &self,
        reduction: Reduction,
        targets: Targets,
        samples: usize,
        outputs: usize,
    ) -> Result<SupervisedLoss> {
        check_count(targets.len(), samples)?;
        match (&targets, self) {
            (Targets::Classes(classes), Loss::CrossEntropy) => {
                if let Some((n, &class)) = classes
                    .iter()
                    .enumerate()
                    .find(|(_, &class)| class >= outputs)
                {
                    return Err(Error::input(format!(
                        "targets[{n}]: class index {class} is out of range for {outputs} outputs"
                    )));
                }
            }
            (Targets::Values(values), Loss::Mse) => {
                if values.ncols() != outputs {
                    return Err(Error::input(format!(
                        "targets: rows have {} values but the model has {outputs} outputs",
                        values.ncols()
                    )));
                }
                crate::nn::params::check_finite(values, "targets")?;
            }
            (Targets::Classes(_), Loss::Mse) => {
                return Err(Error::input(
                    "targets: mse needs one target vector per sample, not class indices",
                ))
            }
            (Targets::Values(_), Loss::CrossEntropy) => {
                return Err(Error::input(
                    "targets: cross_entropy needs one class index per sample, not vectors",
                ))
            }
        }
        Ok(SupervisedLoss { reduction, targets })
    }

    /// Both supervised losses have everything: their output Hessians are positive
    /// semi-definite with closed-form square-root factors.
    fn lack(&self, _need: Need) -> Option<Lack> {
        None
    }
}

/// An error unless the targets number `given` for a batch of `samples` inputs.
pub fn check_count(given: usize, samples: usize) -> Result<()> {
    if given == samples {
        Ok(())
    } else {
        Err(Error::input(format!(
            "targets: {given} given for a batch of {samples} inputs"
        )))
    }
}

impl SupervisedLoss {
    /// The loss: cross_entropy for class indices, mse for vectors.
    pub fn kind(&self) -> Loss {
        match self.targets {
            Targets::Classes(_) => Loss::CrossEntropy,
            Targets::Values(_) => Loss::Mse,
        }
    }

    /// The name of the loss.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The reduction over the batch.
    pub fn reduction(&self) -> Reduction {
        self.reduction
    }

    /// The targets of the batch.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// The same loss and targets with the other reduction.
    pub fn with_reduction(&self, reduction: Reduction) -> SupervisedLoss {
        SupervisedLoss {
            reduction,
            targets: self.targets.clone(),
        }
    }

    /// The reduction factor for a batch of these outputs.
    fn scale_for(&self, outputs: &Array2<f64>) -> f64 {
        self.kind()
            .scale(self.reduction, outputs.nrows(), outputs.ncols())
    }
}

impl OutputLoss for SupervisedLoss {
    /// cross_entropy: `ℓ = logsumexp(z) − z_y`; mse: `ℓ = ‖z − y‖²`; `L = scale · Σ_n ℓ_n`.
    fn value(&self, outputs: &Array2<f64>) -> f64 {
        let scale = self.scale_for(outputs);
        let total: f64 = match &self.targets {
            Targets::Classes(classes) => outputs
                .rows()
                .into_iter()
                .zip(classes)
                .map(|(z, &y)| log_sum_exp(z) - z[y])
                .sum(),
            Targets::Values(values) => (outputs - values).mapv(|r| r * r).sum(),
        };
        scale * total
    }

    /// cross_entropy: `scale · (p − e_y)`; mse: `2·scale · (z − y)`.
    fn gradient(&self, outputs: &Array2<f64>) -> Array2<f64> {
        let scale = self.scale_for(outputs);
        match &self.targets {
            Targets::Classes(classes) => {
                let mut grad = softmax(outputs);
                for (mut row, &y) in grad.rows_mut().into_iter().zip(classes) {
                    row[y] -= 1.0;
                }
                grad * scale
            }
            Targets::Values(values) => (outputs - values) * (2.0 * scale),
        }
    }

    /// cross_entropy: `scale · (p − p²)`; mse: `2·scale`.
    fn hessian_diag(&self, outputs: &Array2<f64>) -> Array2<f64> {
        let scale = self.scale_for(outputs);
        match self.kind() {
            Loss::CrossEntropy => softmax(outputs).mapv(|p| scale * (p - p * p)),
            Loss::Mse => Array2::from_elem(outputs.raw_dim(), 2.0 * scale),
        }
    }

    /// cross_entropy: `scale · (diag(p) − p pᵀ)`; mse: `2·scale · I`.
    fn hessian(&self, outputs: &Array2<f64>, sample: usize) -> Array2<f64> {
        let scale = self.scale_for(outputs);
        let width = outputs.ncols();
        match self.kind() {
            Loss::CrossEntropy => {
                let probs = softmax(&outputs.slice(s![sample..sample + 1, ..]).to_owned());
                let p = probs.row(0);
                let mut hessian = Array2::from_shape_fn((width, width), |(i, j)| -p[i] * p[j]);
                for c in 0..width {
                    hessian[[c, c]] += p[c];
                }
                hessian * scale
            }
            Loss::Mse => Array2::eye(width) * (2.0 * scale),
        }
    }

    /// cross_entropy: `scale · (p ⊙ v − p (pᵀv))`; mse: `2·scale · v`.
    fn hessian_vector_product(&self, outputs: &Array2<f64>, tangents: &Array2<f64>) -> Array2<f64> {
        let scale = self.scale_for(outputs);
        match self.kind() {
            Loss::CrossEntropy => {
                let probs = softmax(outputs);
                let samples = outputs.nrows();
                let mut product = tangents.clone();
                for (r, mut row) in product.rows_mut().into_iter().enumerate() {
                    let p = probs.row(r % samples);
                    let p_dot_v = p.dot(&row);
                    Zip::from(&mut row)
                        .and(&p)
                        .for_each(|v, &pc| *v = scale * pc * (*v - p_dot_v));
                }
                product
            }
            Loss::Mse => tangents * (2.0 * scale),
        }
    }

    /// cross_entropy: `scale · Σ_c p_c (J_ci − u_i)²` with `u = pᵀ J_n`, which is
    /// `scale · (Σ_c p_c J_ci² − u_i²)` (Σ p = 1) written as a sum of squares;
    /// mse: `2·scale · Σ_c J_ci²`.
    fn gauss_newton_diag(&self, outputs: &Array2<f64>, jacobians: &Array2<f64>) -> Array2<f64> {
        let scale = self.scale_for(outputs);
        let samples = outputs.nrows();
        let columns = jacobians.ncols();
        let mut diag = Array2::zeros((samples, columns));
        let probs = match self.kind() {
            Loss::CrossEntropy => Some(softmax(outputs)),
            Loss::Mse => None,
        };
        for (n, mut out) in diag.rows_mut().into_iter().enumerate() {
            let block = jacobians.slice(s![n..; samples, ..]);
            match &probs {
                Some(probs) => {
                    let p = probs.row(n);
                    let mut mean = Array1::<f64>::zeros(columns);
                    for (row, &pc) in block.rows().into_iter().zip(&p) {
                        mean.scaled_add(pc, &row);
                    }
                    for (row, &pc) in block.rows().into_iter().zip(&p) {
                        Zip::from(&mut out)
                            .and(&row)
                            .and(&mean)
                            .for_each(|d, &j, &u| *d += pc * (j - u) * (j - u));
                    }
                    out *= scale;
                }
                None => {
                    for row in block.rows() {
                        Zip::from(&mut out).and(&row).for_each(|d, &j| *d += j * j);
                    }
                    out *= 2.0 * scale;
                }
            }
        }
        diag
    }

    /// cross_entropy: `scale · (p_y − p_y²)` at c = y and 0 elsewhere (log-softmax treated
    /// as elementwise); mse: the exact diagonal.
    fn elementwise_hessian_diag(&self, outputs: &Array2<f64>) -> Array2<f64> {
        match &self.targets {
            Targets::Classes(classes) => {
                let scale = self.scale_for(outputs);
                let probs = softmax(outputs);
                let mut diag = Array2::zeros(outputs.raw_dim());
                for (n, &y) in classes.iter().enumerate() {
                    let p_y = probs[[n, y]];
                    diag[[n, y]] = scale * (p_y - p_y * p_y);
                }
                diag
            }
            Targets::Values(_) => self.hessian_diag(outputs),
        }
    }

    fn square_root_factor(&self) -> std::result::Result<&dyn SquareRootFactor, Lack> {
        Ok(self)
    }
}

impl SquareRootFactor for SupervisedLoss {
    /// cross_entropy: `s_c = √(scale·p_c) · (e_c − p)` (since Σ p = 1); mse: `√(2·scale) · e_c`.
    fn sqrt_hessian_columns(&self, outputs: &Array2<f64>) -> Array2<f64> {
        let scale = self.scale_for(outputs);
        let (samples, width) = outputs.dim();
        match self.kind() {
            Loss::CrossEntropy => {
                let probs = softmax(outputs);
                Array2::from_shape_fn((width * samples, width), |(row, k)| {
                    let (c, n) = (row / samples, row % samples);
                    let unit = if k == c { 1.0 } else { 0.0 };
                    (scale * probs[[n, c]]).sqrt() * (unit - probs[[n, k]])
                })
            }
            Loss::Mse => Array2::from_shape_fn((width * samples, width), |(row, k)| {
                if k == row / samples {
                    (2.0 * scale).sqrt()
                } else {
                    0.0
                }
            }),
        }
    }

    /// cross_entropy: ŷ ~ Categorical(p), `s = √scale · (p − e_ŷ) / √draws`;
    /// mse: ε ~ N(0, I), `s = √(2·scale) · ε / √draws`.
    fn sample_sqrt_hessian(
        &self,
        outputs: &Array2<f64>,
        draws: usize,
        rng: &mut ChaCha8Rng,
    ) -> Array2<f64> {
        let scale = self.scale_for(outputs);
        match self.kind() {
            Loss::CrossEntropy => {
                let factor = (scale / draws as f64).sqrt();
                let mut column = softmax(outputs);
                for mut row in column.rows_mut() {
                    let sampled = sample_categorical(row.view(), rng);
                    row[sampled] -= 1.0;
                    row.mapv_inplace(|v| factor * v);
                }
                column
            }
            Loss::Mse => {
                let factor = (2.0 * scale / draws as f64).sqrt();
                Array2::from_shape_simple_fn(outputs.raw_dim(), || {
                    factor * rng.sample::<f64, _>(StandardNormal)
                })
            }
        }
    }

    /// cross_entropy: the frequency `f_{n,c}` of each class among the draws of sample n,
    /// the estimate being `scale · Σ_c f_c (p − e_c)(p − e_c)ᵀ`; mse: per sample
    /// `C_n = (2·scale/M) Σ_m ε_m ε_mᵀ`, ε ~ N(0, I).
    fn sample_output_curvature(
        &self,
        outputs: &Array2<f64>,
        draws: usize,
        rng: &mut ChaCha8Rng,
    ) -> SampledCurvature {
        let scale = self.scale_for(outputs);
        let (samples, width) = outputs.dim();
        match self.kind() {
            Loss::CrossEntropy => {
                let probs = softmax(outputs);
                let mut counts = Array2::<f64>::zeros((samples, width));
                for _ in 0..draws {
                    for (n, p) in probs.rows().into_iter().enumerate() {
                        counts[[n, sample_categorical(p, rng)]] += 1.0;
                    }
                }
                SampledCurvature::Classes {
                    frequencies: counts / draws as f64,
                    probs,
                    scale,
                }
            }
            Loss::Mse => {
                let mut grams = vec![Array2::<f64>::zeros((width, width)); samples];
                for _ in 0..draws {
                    let noise: Array2<f64> = Array2::from_shape_simple_fn((samples, width), || {
                        rng.sample::<f64, _>(StandardNormal)
                    });
                    for (gram, eps) in grams.iter_mut().zip(noise.rows()) {
                        let column = eps.insert_axis(ndarray::Axis(1));
                        *gram += &column.dot(&column.t());
                    }
                }
                let factor = 2.0 * scale / draws as f64;
                for gram in &mut grams {
                    *gram *= factor;
                }
                SampledCurvature::Gaussian { grams }
            }
        }
    }
}

/// A Monte-Carlo estimate of the output Hessian of every sample of a batch (see
/// [`SquareRootFactor::sample_output_curvature`]).
#[derive(Clone, Debug, PartialEq)]
pub enum SampledCurvature {
    /// cross_entropy: `scale · Σ_c f_c (p − e_c)(p − e_c)ᵀ` per sample.
    Classes {
        /// The softmax `p` of each sample, `[N, D]`.
        probs: Array2<f64>,
        /// The frequency of each class among each sample's draws, `[N, D]`.
        frequencies: Array2<f64>,
        /// The reduction factor.
        scale: f64,
    },
    /// mse: the estimate `C_n` of each sample, `D×D`.
    Gaussian { grams: Vec<Array2<f64>> },
}

impl SampledCurvature {
    /// The diagonal of each sample's estimate, `[N, D]` (the output layer's curvature).
    /// cross_entropy: `scale · Σ_c f_c (p_i − [c = i])² = scale · ((p_i − f_i)² + f_i(1 − f_i))`
    /// (Σ f = 1), a sum of two non-negative terms.
    pub fn diagonal(&self) -> Array2<f64> {
        match self {
            SampledCurvature::Classes {
                probs,
                frequencies,
                scale,
            } => Zip::from(probs)
                .and(frequencies)
                .map_collect(|&p, &f| scale * ((p - f) * (p - f) + f * (1.0 - f))),
            SampledCurvature::Gaussian { grams } => {
                let width = grams.first().map_or(0, |g| g.nrows());
                Array2::from_shape_fn((grams.len(), width), |(n, i)| grams[n][[i, i]])
            }
        }
    }

    /// For each sample n, the diagonal of `J_nᵀ C_n J_n` for the output Jacobians stacked
    /// as in [`OutputLoss::gauss_newton_diag`], `[N, w]`. cross_entropy:
    /// `scale · Σ_c f_c (J_ci − u_i)²` with `u = pᵀ J_n` (only the classes drawn);
    /// mse: `Σ_c J_ci (C_n J_n)_ci`.
    pub fn diag_through(&self, jacobians: &Array2<f64>) -> Array2<f64> {
        let columns = jacobians.ncols();
        match self {
            SampledCurvature::Classes {
                probs,
                frequencies,
                scale,
            } => {
                let samples = probs.nrows();
                let mut diag = Array2::zeros((samples, columns));
                for (n, mut out) in diag.rows_mut().into_iter().enumerate() {
                    let block = jacobians.slice(s![n..; samples, ..]);
                    let mut mean = Array1::<f64>::zeros(columns);
                    for (row, &pc) in block.rows().into_iter().zip(probs.row(n)) {
                        mean.scaled_add(pc, &row);
                    }
                    for (row, &fc) in block.rows().into_iter().zip(frequencies.row(n)) {
                        if fc > 0.0 {
                            Zip::from(&mut out)
                                .and(&row)
                                .and(&mean)
                                .for_each(|d, &j, &u| *d += fc * (j - u) * (j - u));
                        }
                    }
                    out *= *scale;
                }
                diag
            }
            SampledCurvature::Gaussian { grams } => {
                let samples = grams.len();
                let mut diag = Array2::zeros((samples, columns));
                for (n, mut out) in diag.rows_mut().into_iter().enumerate() {
                    let block = jacobians.slice(s![n..; samples, ..]);
                    let weighted = grams[n].dot(&block);
                    for (row, weighted_row) in block.rows().into_iter().zip(weighted.rows()) {
                        Zip::from(&mut out)
                            .and(&row)
                            .and(&weighted_row)
                            .for_each(|d, &j, &cj| *d += j * cj);
                    }
                }
                diag
            }
        }
    }
}

/// Draw a class index from the probabilities `probs` by inverting the cumulative sum.
pub fn sample_categorical<R: Rng + ?Sized>(probs: ArrayView1<f64>, rng: &mut R) -> usize {
    let u: f64 = rng.random();
    let mut cumulative = 0.0;
    for (c, &p) in probs.iter().enumerate() {
        cumulative += p;
        if u < cumulative {
            return c;
        }
    }
    probs.len() - 1
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Loss {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        Loss::ALL
            .into_iter()
            .find(|loss| loss.name() == name)
            .ok_or_else(|| {
                Error::input(format!(
                    "unknown loss '{name}' (expected one of: cross_entropy, mse)"
                ))
            })
    }
}

impl Reduction {
    /// Both reductions, in the order `list` and error messages show them.
    pub const ALL: [Reduction; 2] = [Reduction::Mean, Reduction::Sum];

    /// What the reduction does, for the command line's help.
    pub fn about(self) -> &'static str {
        match self {
            Reduction::Mean => "Divide the sum by N (cross_entropy) or N·D (mse)",
            Reduction::Sum => "Plain sum over samples (and outputs)",
        }
    }

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Reduction::Mean => "mean",
            Reduction::Sum => "sum",
        }
    }
}

impl fmt::Display for Reduction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Reduction {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        match name {
            "mean" => Ok(Reduction::Mean),
            "sum" => Ok(Reduction::Sum),
            _ => Err(Error::input(format!(
                "unknown reduction '{name}' (expected one of: mean, sum)"
            ))),
        }
    }
}
