//! Losses at the network output `z` (SPEC §1): value, gradient, Hessian (full, diagonal,
//! and as a Hessian-vector product) and Monte-Carlo square-root factors of the Hessian.
//! All follow PyTorch's reductions; every per-sample rule is multiplied by `scale`, the
//! reduction factor (mean: 1/N for cross_entropy and 1/(N·D) for mse; sum: 1).

use std::fmt;
use std::str::FromStr;

use ndarray::{s, Array1, Array2, ArrayView1, Zip};
use ndarray_rand::rand::Rng;
use ndarray_rand::rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::nn::policy::PolicyTargets;

/// The loss between the output `z` (logits or predictions) and the targets.
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
    /// A policy-gradient surrogate of a policy's log-likelihood (`crate::nn::policy`),
    /// targets are [`PolicyTargets`]. Made by the RL agents only: not a `--loss`, and not
    /// read from files.
    #[serde(skip_deserializing)]
    Policy,
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

/// The targets of a batch: class indices for cross_entropy, vectors for mse.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// One class index per sample.
    Classes(Vec<usize>),
    /// One target vector per sample, shape [N, D].
    Values(Array2<f64>),
    /// The actions, advantages and surrogate of a policy loss.
    Policy(Box<PolicyTargets>),
}

impl Targets {
    /// The number of samples the targets describe.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(classes) => classes.len(),
            Targets::Values(values) => values.nrows(),
            Targets::Policy(policy) => policy.len(),
        }
    }

    /// True for a batch of no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a loss's targets always match it.
const CHECKED: &str = "targets were checked against the loss when the problem was built";

/// Why ggn_mc and kfac do not take a policy loss.
const NO_FACTOR: &str = "a policy loss has no square-root factor of its output Hessian (it is \
    indefinite where an advantage is negative): ggn_mc and kfac do not apply";

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
            Loss::Policy => "a policy-gradient surrogate of a policy's log-likelihood",
        }
    }

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Loss::CrossEntropy => "cross_entropy",
            Loss::Mse => "mse",
            Loss::Policy => "policy",
        }
    }

    /// The reduction factor multiplying every per-sample term: mean gives 1/N for
    /// cross_entropy and policy and 1/(N·D) for mse (like `torch.nn.MSELoss()`), sum gives 1.
    pub fn scale(self, reduction: Reduction, samples: usize, outputs: usize) -> f64 {
        match (reduction, self) {
            (Reduction::Sum, _) => 1.0,
            (Reduction::Mean, Loss::CrossEntropy | Loss::Policy) => 1.0 / samples as f64,
            (Reduction::Mean, Loss::Mse) => 1.0 / (samples * outputs) as f64,
        }
    }

    fn scale_for(self, reduction: Reduction, outputs: &Array2<f64>) -> f64 {
        self.scale(reduction, outputs.nrows(), outputs.ncols())
    }

    /// The reduced loss `L = scale · Σ_n ℓ(z_n, y_n)`.
    /// cross_entropy: `ℓ = logsumexp(z) − z_y`; mse: `ℓ = ‖z − y‖²`.
    pub fn value(self, outputs: &Array2<f64>, targets: &Targets, reduction: Reduction) -> f64 {
        let scale = self.scale_for(reduction, outputs);
        let total: f64 = match (self, targets) {
            (Loss::CrossEntropy, Targets::Classes(classes)) => outputs
                .rows()
                .into_iter()
                .zip(classes)
                .map(|(z, &y)| log_sum_exp(z) - z[y])
                .sum(),
            (Loss::Mse, Targets::Values(values)) => (outputs - values).mapv(|r| r * r).sum(),
            (Loss::Policy, Targets::Policy(policy)) => policy.value(outputs, 1.0),
            _ => unreachable!("{CHECKED}"),
        };
        scale * total
    }

    /// `∂L/∂z` per sample, shape [N, D].
    /// cross_entropy: `scale · (p − e_y)`; mse: `2·scale · (z − y)`.
    pub fn gradient(
        self,
        outputs: &Array2<f64>,
        targets: &Targets,
        reduction: Reduction,
    ) -> Array2<f64> {
        let scale = self.scale_for(reduction, outputs);
        match (self, targets) {
            (Loss::CrossEntropy, Targets::Classes(classes)) => {
                let mut grad = softmax(outputs);
                for (mut row, &y) in grad.rows_mut().into_iter().zip(classes) {
                    row[y] -= 1.0;
                }
                grad * scale
            }
            (Loss::Mse, Targets::Values(values)) => (outputs - values) * (2.0 * scale),
            (Loss::Policy, Targets::Policy(policy)) => policy.gradient(outputs, scale),
            _ => unreachable!("{CHECKED}"),
        }
    }

    /// The diagonal of `∇²_z ℓ` per sample, shape [N, D].
    /// cross_entropy: `scale · (p − p²)`; mse: `2·scale`; policy: see
    /// [`PolicyTargets::hessian_diag`].
    pub fn hessian_diag(
        self,
        outputs: &Array2<f64>,
        targets: &Targets,
        reduction: Reduction,
    ) -> Array2<f64> {
        let scale = self.scale_for(reduction, outputs);
        match (self, targets) {
            (Loss::Policy, Targets::Policy(policy)) => policy.hessian_diag(outputs, scale),
            (Loss::CrossEntropy, _) => softmax(outputs).mapv(|p| scale * (p - p * p)),
            (Loss::Mse, _) => Array2::from_elem(outputs.raw_dim(), 2.0 * scale),
            (Loss::Policy, _) => unreachable!("{CHECKED}"),
        }
    }

    /// The full `∇²_z ℓ` of sample `sample`, shape [D, D].
    /// cross_entropy: `scale · (diag(p) − p pᵀ)`; mse: `2·scale · I`; policy: see
    /// [`PolicyTargets::hessian`].
    pub fn hessian(
        self,
        outputs: &Array2<f64>,
        targets: &Targets,
        reduction: Reduction,
        sample: usize,
    ) -> Array2<f64> {
        let scale = self.scale_for(reduction, outputs);
        let width = outputs.ncols();
        match (self, targets) {
            (Loss::Policy, Targets::Policy(policy)) => policy.hessian(outputs, scale, sample),
            (Loss::CrossEntropy, _) => {
                let probs = softmax(&outputs.slice(s![sample..sample + 1, ..]).to_owned());
                let p = probs.row(0);
                let mut hessian = Array2::from_shape_fn((width, width), |(i, j)| -p[i] * p[j]);
                for c in 0..width {
                    hessian[[c, c]] += p[c];
                }
                hessian * scale
            }
            (Loss::Mse, _) => Array2::eye(width) * (2.0 * scale),
            (Loss::Policy, _) => unreachable!("{CHECKED}"),
        }
    }

    /// `∇²_z ℓ · v` for a stack of tangents: row r of `tangents` is a direction for
    /// sample `r mod N` (N = rows of `outputs`), so many directions per sample go at once.
    /// cross_entropy: `scale · (p ⊙ v − p (pᵀv))`; mse: `2·scale · v`; policy: see
    /// [`PolicyTargets::hessian_vector_product`].
    pub fn hessian_vector_product(
        self,
        outputs: &Array2<f64>,
        targets: &Targets,
        reduction: Reduction,
        tangents: &Array2<f64>,
    ) -> Array2<f64> {
        let scale = self.scale_for(reduction, outputs);
        match (self, targets) {
            (Loss::Policy, Targets::Policy(policy)) => {
                policy.hessian_vector_product(outputs, scale, tangents)
            }
            (Loss::CrossEntropy, _) => {
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
            (Loss::Mse, _) => tangents * (2.0 * scale),
            (Loss::Policy, _) => unreachable!("{CHECKED}"),
        }
    }

    /// An exact square-root factor of `∇²_z ℓ`, as a stack of rows: row `c·N + n` is column
    /// c of sample n's factor `S_n`, with `S_n S_nᵀ = ∇²_z ℓ_n` (used by ggn).
    /// cross_entropy: `s_c = √(scale·p_c) · (e_c − p)` (since Σ p = 1); mse: `√(2·scale) · e_c`.
    pub fn sqrt_hessian_columns(self, outputs: &Array2<f64>, reduction: Reduction) -> Array2<f64> {
        let scale = self.scale_for(reduction, outputs);
        let (samples, width) = outputs.dim();
        match self {
            Loss::Policy => panic!("{NO_FACTOR}"),
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

    /// BL89's output curvature (Becker & LeCun 1989, SPEC §2): the diagonal of `∇²_z ℓ`
    /// when log-softmax is treated as an elementwise function. cross_entropy:
    /// `scale · (p_y − p_y²)` at c = y and 0 elsewhere; mse and policy: the exact diagonal.
    pub fn elementwise_hessian_diag(
        self,
        outputs: &Array2<f64>,
        targets: &Targets,
        reduction: Reduction,
    ) -> Array2<f64> {
        match (self, targets) {
            (Loss::CrossEntropy, Targets::Classes(classes)) => {
                let scale = self.scale_for(reduction, outputs);
                let probs = softmax(outputs);
                let mut diag = Array2::zeros(outputs.raw_dim());
                for (n, &y) in classes.iter().enumerate() {
                    let p_y = probs[[n, y]];
                    diag[[n, y]] = scale * (p_y - p_y * p_y);
                }
                diag
            }
            _ => self.hessian_diag(outputs, targets, reduction),
        }
    }

    /// One Monte-Carlo square-root column per sample, shape [N, D], for a total of
    /// `draws` columns: `E[Σ_m s_m s_mᵀ] = ∇²_z ℓ` (SPEC §2, ggn_mc).
    /// cross_entropy: ŷ ~ Categorical(p), `s = √scale · (p − e_ŷ) / √draws`;
    /// mse: ε ~ N(0, I), `s = √(2·scale) · ε / √draws`.
    pub fn sample_sqrt_hessian<R: Rng + ?Sized>(
        self,
        outputs: &Array2<f64>,
        reduction: Reduction,
        draws: usize,
        rng: &mut R,
    ) -> Array2<f64> {
        let scale = self.scale_for(reduction, outputs);
        match self {
            Loss::Policy => panic!("{NO_FACTOR}"),
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
}

impl Loss {
    /// For each sample n, the diagonal of `J_nᵀ ∇²_z ℓ_n J_n` (the Gauss–Newton curvature
    /// at a layer whose output Jacobian is `J_n`), from the stack `jacobians` whose rows
    /// `n·D .. (n+1)·D` hold `J_n` (`[N·D, w]`); result `[N, w]`.
    /// cross_entropy: `scale · Σ_c p_c (J_ci − u_i)²` with `u = pᵀ J_n`, which is
    /// `scale · (Σ_c p_c J_ci² − u_i²)` (Σ p = 1) written as a sum of squares;
    /// mse: `2·scale · Σ_c J_ci²`; policy: see [`PolicyTargets::gauss_newton_diag`].
    pub fn gauss_newton_diag(
        self,
        outputs: &Array2<f64>,
        targets: &Targets,
        reduction: Reduction,
        jacobians: &Array2<f64>,
    ) -> Array2<f64> {
        let scale = self.scale_for(reduction, outputs);
        let (samples, width) = outputs.dim();
        let columns = jacobians.ncols();
        let mut diag = Array2::zeros((samples, columns));
        let probs = match (self, targets) {
            (Loss::Policy, Targets::Policy(policy)) => {
                return policy.gauss_newton_diag(outputs, scale, jacobians)
            }
            (Loss::CrossEntropy, _) => Some(softmax(outputs)),
            (Loss::Mse, _) => None,
            (Loss::Policy, _) => unreachable!("{CHECKED}"),
        };
        for (n, mut out) in diag.rows_mut().into_iter().enumerate() {
            let block = jacobians.slice(s![n * width..(n + 1) * width, ..]);
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

    /// A Monte-Carlo estimate of `∇²_z ℓ` per sample from `draws` draws, for estimates
    /// that see only the sum of the draws' square-root columns' outer products (ggn_mc:M
    /// and kfac:M with M ≥ D). Draws exactly what [`Loss::sample_sqrt_hessian`] draws, in
    /// the same order (draw by draw, sample by sample), so both give the same estimate up
    /// to rounding. cross_entropy: the frequency `f_{n,c}` of each class among the draws
    /// of sample n, the estimate being `scale · Σ_c f_c (p − e_c)(p − e_c)ᵀ`; mse: per
    /// sample `C_n = (2·scale/M) Σ_m ε_m ε_mᵀ`, ε ~ N(0, I).
    pub fn sample_output_curvature<R: Rng + ?Sized>(
        self,
        outputs: &Array2<f64>,
        reduction: Reduction,
        draws: usize,
        rng: &mut R,
    ) -> SampledCurvature {
        let scale = self.scale_for(reduction, outputs);
        let (samples, width) = outputs.dim();
        match self {
            Loss::Policy => panic!("{NO_FACTOR}"),
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
/// [`Loss::sample_output_curvature`]).
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
    /// as in [`Loss::gauss_newton_diag`], `[N, w]`. cross_entropy:
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
                let (samples, width) = probs.dim();
                let mut diag = Array2::zeros((samples, columns));
                for (n, mut out) in diag.rows_mut().into_iter().enumerate() {
                    let block = jacobians.slice(s![n * width..(n + 1) * width, ..]);
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
                let width = grams.first().map_or(0, |g| g.nrows());
                let mut diag = Array2::zeros((grams.len(), columns));
                for (n, mut out) in diag.rows_mut().into_iter().enumerate() {
                    let block = jacobians.slice(s![n * width..(n + 1) * width, ..]);
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
