//! The Hessian-diagonal methods of SPEC §2, one file each, all behind [`Method`]. A method
//! only composes the layer rules of `crate::nn`; a variant is a parameter (hesscale_gn is
//! hesscale without the residual term, bl89 is hesscale with another output seed).

pub mod exact;
pub mod ggn;
pub mod ggn_mc;
pub mod gradient;
pub mod hesscale;
pub mod hutchinson;
pub mod kfac;

use std::fmt;
use std::str::FromStr;

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::nn::{ParamTensors, Problem};
use hesscale::{HesScaleOptions, OutputCurvature};

/// A method that estimates (or computes) the Hessian diagonal of a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// The exact diagonal by double backprop (SPEC §2.1).
    Exact,
    /// HesScale: exact output curvature, off-diagonals dropped, residual kept.
    HesScale,
    /// HesScale without the residual `φ'' ⊙ γ` term (a Gauss–Newton variant).
    HesScaleGn,
    /// Becker & LeCun 1989: HesScale with log-softmax treated as elementwise.
    Bl89,
    /// The exact diagonal of the generalized Gauss–Newton matrix.
    Ggn,
    /// Monte-Carlo GGN diagonal from `draws` square-root columns.
    GgnMc { draws: usize },
    /// Diagonal of the KFAC factors from `draws` Monte-Carlo columns.
    Kfac { draws: usize },
    /// AdaHessian's estimator: mean over `draws` Rademacher `v` of `|v ⊙ Hv|`.
    Hutchinson { draws: usize },
    /// The unbiased Hutchinson estimator: mean over `draws` of `v ⊙ Hv`.
    HutchinsonSigned { draws: usize },
    /// The squared gradient `g ⊙ g` (what Adam uses).
    GradSquared,
    /// Zero everywhere: a scale reference.
    Zero,
}

/// How a method's cost grows, for `list`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostClass {
    /// Free.
    None,
    /// About one backward pass, like the gradient.
    Backward,
    /// A backward pass per Monte-Carlo draw.
    BackwardPerDraw,
    /// A Hessian-vector product (two passes) per draw.
    HvpPerDraw,
    /// One backward pass per output unit (D square-root columns).
    BackwardPerOutput,
    /// One Hessian-vector product per unit of every layer: quadratic in the width.
    Quadratic,
}

/// One row of the method table that `list` prints, generated from [`Method`].
#[derive(Clone, Debug, Serialize)]
pub struct MethodInfo {
    /// The name as written on the command line (`:M` where it takes draws).
    pub name: &'static str,
    /// What the method computes.
    pub estimates: &'static str,
    /// How its cost grows.
    pub cost: CostClass,
    /// Whether it draws random numbers.
    pub stochastic: bool,
}

/// The most Monte-Carlo draws a method may take (`:M`).
pub const MAX_DRAWS: usize = 100_000;

/// Every method family, in the order `list`, `all` and the output files use.
const FAMILIES: [&str; 11] = [
    "exact",
    "hesscale",
    "hesscale_gn",
    "bl89",
    "ggn",
    "ggn_mc",
    "kfac",
    "hutchinson",
    "hutchinson_signed",
    "grad_squared",
    "zero",
];

impl Method {
    /// The methods `--methods all` stands for (SPEC §2 with the draws of the papers).
    pub fn all() -> Vec<Method> {
        vec![
            Method::Exact,
            Method::HesScale,
            Method::HesScaleGn,
            Method::Bl89,
            Method::Ggn,
            Method::GgnMc { draws: 1 },
            Method::GgnMc { draws: 50 },
            Method::Kfac { draws: 1 },
            Method::Kfac { draws: 50 },
            Method::Hutchinson { draws: 1 },
            Method::Hutchinson { draws: 50 },
            Method::HutchinsonSigned { draws: 1 },
            Method::GradSquared,
            Method::Zero,
        ]
    }

    /// Parse a comma-separated list (`all` expands to [`Method::all`]), keeping the order
    /// given and dropping repeats.
    pub fn parse_list(list: &str) -> Result<Vec<Method>> {
        let mut methods = Vec::new();
        for name in list.split(',').map(str::trim) {
            let parsed = if name == "all" {
                Method::all()
            } else {
                vec![name.parse()?]
            };
            for method in parsed {
                if !methods.contains(&method) {
                    methods.push(method);
                }
            }
        }
        Ok(methods)
    }

    /// The family name, without `:M`.
    pub fn family(self) -> &'static str {
        match self {
            Method::Exact => "exact",
            Method::HesScale => "hesscale",
            Method::HesScaleGn => "hesscale_gn",
            Method::Bl89 => "bl89",
            Method::Ggn => "ggn",
            Method::GgnMc { .. } => "ggn_mc",
            Method::Kfac { .. } => "kfac",
            Method::Hutchinson { .. } => "hutchinson",
            Method::HutchinsonSigned { .. } => "hutchinson_signed",
            Method::GradSquared => "grad_squared",
            Method::Zero => "zero",
        }
    }

    /// The number of Monte-Carlo draws of a stochastic method.
    pub fn draws(self) -> Option<usize> {
        match self {
            Method::GgnMc { draws }
            | Method::Kfac { draws }
            | Method::Hutchinson { draws }
            | Method::HutchinsonSigned { draws } => Some(draws),
            _ => None,
        }
    }

    /// Whether the method draws random numbers.
    pub fn is_stochastic(self) -> bool {
        self.draws().is_some()
    }

    /// The method's row of the `list` table.
    pub fn info(self) -> MethodInfo {
        let (name, estimates, cost) = match self {
            Method::Exact => (
                "exact",
                "the exact Hessian diagonal, by one Hessian-vector product per unit (double backprop)",
                CostClass::Quadratic,
            ),
            Method::HesScale => (
                "hesscale",
                "Hessian diagonal: exact output curvature, off-diagonals dropped, residual kept",
                CostClass::Backward,
            ),
            Method::HesScaleGn => (
                "hesscale_gn",
                "GGN diagonal: hesscale without the residual term (>= 0)",
                CostClass::Backward,
            ),
            Method::Bl89 => (
                "bl89",
                "Hessian diagonal: hesscale with log-softmax treated as elementwise (Becker & LeCun 1989)",
                CostClass::Backward,
            ),
            Method::Ggn => (
                "ggn",
                "the exact diagonal of the generalized Gauss-Newton matrix (exact square-root factors backpropagated)",
                CostClass::BackwardPerOutput,
            ),
            Method::GgnMc { .. } => (
                "ggn_mc:M",
                "GGN diagonal, unbiased Monte-Carlo estimate from M sampled square-root columns",
                CostClass::BackwardPerDraw,
            ),
            Method::Kfac { .. } => (
                "kfac:M",
                "GGN diagonal: diagonal of the KFAC factors G_oo * A_ii from M Monte-Carlo columns",
                CostClass::BackwardPerDraw,
            ),
            Method::Hutchinson { .. } => (
                "hutchinson:M",
                "Hessian diagonal magnitude: AdaHessian's mean of |v * Hv| over M Rademacher v",
                CostClass::HvpPerDraw,
            ),
            Method::HutchinsonSigned { .. } => (
                "hutchinson_signed:M",
                "Hessian diagonal, unbiased: mean of v * Hv over M Rademacher v",
                CostClass::HvpPerDraw,
            ),
            Method::GradSquared => (
                "grad_squared",
                "the squared gradient g * g (Adam's second moment)",
                CostClass::Backward,
            ),
            Method::Zero => ("zero", "zero everywhere: a scale reference", CostClass::None),
        };
        MethodInfo {
            name,
            estimates,
            cost,
            stochastic: self.is_stochastic(),
        }
    }

    /// One row per family, in `list` order.
    pub fn catalogue() -> Vec<MethodInfo> {
        FAMILIES
            .iter()
            .map(|family| {
                let method: Method = if family_takes_draws(family) {
                    format!("{family}:1").parse()
                } else {
                    family.parse()
                }
                .expect("every family parses");
                method.info()
            })
            .collect()
    }

    /// The method's diagonal estimate for a whole batch, shaped like the parameters.
    /// Stochastic methods draw from `rng` only; the others ignore it.
    pub fn estimate(self, problem: &Problem, rng: &mut ChaCha8Rng) -> ParamTensors {
        match self {
            Method::Exact => exact::hessian_diag(problem),
            Method::HesScale => hesscale::hessian_diag(problem, HesScaleOptions::HESSCALE),
            Method::HesScaleGn => hesscale::hessian_diag(problem, HesScaleOptions::HESSCALE_GN),
            Method::Bl89 => hesscale::hessian_diag(
                problem,
                HesScaleOptions {
                    residual: true,
                    output: OutputCurvature::Elementwise,
                },
            ),
            Method::Ggn => ggn::ggn_diag(problem),
            Method::GgnMc { draws } => ggn_mc::ggn_diag_estimate(problem, draws, rng),
            Method::Kfac { draws } => kfac::kfac_diag(problem, draws, rng),
            Method::Hutchinson { draws } => hutchinson::hessian_diag_estimate(
                problem,
                draws,
                hutchinson::Estimator::AbsoluteValue,
                rng,
            ),
            Method::HutchinsonSigned { draws } => hutchinson::hessian_diag_estimate(
                problem,
                draws,
                hutchinson::Estimator::Signed,
                rng,
            ),
            Method::GradSquared => gradient::grad_squared(problem),
            Method::Zero => problem.mlp().zeros_like_params(),
        }
    }
}

fn family_takes_draws(family: &str) -> bool {
    matches!(
        family,
        "ggn_mc" | "kfac" | "hutchinson" | "hutchinson_signed"
    )
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.draws() {
            Some(draws) => write!(f, "{}:{draws}", self.family()),
            None => f.write_str(self.family()),
        }
    }
}

impl FromStr for Method {
    type Err = Error;

    /// `name` or `name:M` with M ≥ 1 for the stochastic families (M defaults to 1).
    fn from_str(text: &str) -> Result<Self> {
        let unknown = || {
            Error::input(format!(
                "unknown method '{text}' (expected one of: {}; or all)",
                FAMILIES
                    .iter()
                    .map(|f| if family_takes_draws(f) {
                        format!("{f}[:M]")
                    } else {
                        f.to_string()
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        let (family, draws) = match text.split_once(':') {
            Some((family, count)) => {
                if !family_takes_draws(family) {
                    return Err(if FAMILIES.contains(&family) {
                        Error::input(format!(
                            "method '{family}' takes no ':M' sample count (got '{text}')"
                        ))
                    } else {
                        unknown()
                    });
                }
                let draws: usize = count.parse().map_err(|_| {
                    Error::input(format!(
                        "method '{text}': the sample count M must be a whole number >= 1"
                    ))
                })?;
                if draws == 0 || draws > MAX_DRAWS {
                    return Err(Error::input(format!(
                        "method '{text}': the sample count M must be between 1 and {MAX_DRAWS}"
                    )));
                }
                (family, draws)
            }
            None => (text, 1),
        };
        Ok(match family {
            "exact" => Method::Exact,
            "hesscale" => Method::HesScale,
            "hesscale_gn" => Method::HesScaleGn,
            "bl89" => Method::Bl89,
            "ggn" => Method::Ggn,
            "ggn_mc" => Method::GgnMc { draws },
            "kfac" => Method::Kfac { draws },
            "hutchinson" => Method::Hutchinson { draws },
            "hutchinson_signed" => Method::HutchinsonSigned { draws },
            "grad_squared" => Method::GradSquared,
            "zero" => Method::Zero,
            _ => return Err(unknown()),
        })
    }
}
