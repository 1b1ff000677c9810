//! The Hessian-diagonal methods of SPEC §2. Each method's file declares everything about
//! itself in one [`MethodDef`] (its name, whether it takes Monte-Carlo draws, what it
//! estimates, its cost class, its work and memory estimates, and its estimate from a
//! [`Linearization`], with what it needs of the loss); [`REGISTRY`] lists them, and
//! everything else (parsing, `list`, `all`, memory checks, the cost caps, which losses a
//! method serves) asks the registry. A method only composes the layer and loss rules of
//! `crate::nn`; a variant is a parameter (hesscale_gn is hesscale without the residual
//! term, bl89 is hesscale with another output seed).

pub mod cp;
pub mod diagonal;
pub mod exact;
pub mod ggn;
pub mod ggn_mc;
pub mod gnb;
pub mod grad_squared;
pub mod hesscale;
pub mod hutchinson;
pub mod kfac;
pub mod xdiag;
pub mod zero;

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::nn::{Linearization, LossKind, Need, Params, Problem, SquareRootFactor};
pub use diagonal::Diagonal;

/// Every method, in the order `list`, `all` and the output files use.
pub static REGISTRY: [&MethodDef; 14] = [
    &exact::EXACT,
    &hesscale::HESSCALE,
    &hesscale::HESSCALE_GN,
    &hesscale::BL89,
    &cp::CP,
    &ggn::GGN,
    &ggn_mc::GGN_MC,
    &gnb::GNB,
    &kfac::KFAC,
    &hutchinson::HUTCHINSON,
    &hutchinson::HUTCHINSON_SIGNED,
    &xdiag::XDIAG,
    &grad_squared::GRAD_SQUARED,
    &zero::ZERO,
];

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

/// Whether a method takes Monte-Carlo draws (`name:M`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Draws {
    /// Deterministic: no `:M`.
    None,
    /// Stochastic, `:M` draws (1 by default); `all` includes it with each of these counts
    /// (none: not in `all`).
    MonteCarlo { in_all: &'static [usize] },
    /// Stochastic, `:M` draws in pairs (M even, 2 by default); not in `all`.
    Paired,
}

impl Draws {
    /// The draws of `name` without `:M`.
    fn default_count(self) -> usize {
        match self {
            Draws::Paired => 2,
            Draws::None | Draws::MonteCarlo { .. } => 1,
        }
    }

    /// Whether `draws` is a count the method takes.
    fn allows(self, draws: usize) -> bool {
        match self {
            Draws::None => true,
            Draws::MonteCarlo { .. } => (1..=MAX_DRAWS).contains(&draws),
            Draws::Paired => (2..=MAX_DRAWS).contains(&draws) && draws.is_multiple_of(2),
        }
    }
}

/// A method's estimate from the shared linearization of a batch, drawing (if stochastic)
/// `draws` samples from the method's own random stream only. The variant is the method's
/// declaration of what it needs of the loss at the output beyond its value, gradient and
/// Hessian (every loss gives those): a loss that lacks it is refused with a one-line
/// error made from this declaration ([`Method::needs`], [`crate::nn::Lack`]).
#[derive(Clone, Copy, Debug)]
pub enum Estimate {
    /// Nothing more.
    FromLinearization(fn(&Linearization, usize, &mut ChaCha8Rng) -> Diagonal),
    /// A square-root factor of the output Hessian ([`Need::SquareRootFactor`]).
    WithSquareRootFactor(
        fn(&Linearization, &dyn SquareRootFactor, usize, &mut ChaCha8Rng) -> Diagonal,
    ),
}

impl Estimate {
    /// What the estimate needs of the loss beyond value, gradient and Hessian.
    pub fn needs(self) -> &'static [Need] {
        match self {
            Estimate::FromLinearization(_) => &[],
            Estimate::WithSquareRootFactor(_) => &[Need::SquareRootFactor],
        }
    }
}

/// An estimate of one call's size from the layer widths (input to output), the batch size
/// and the draws: multiply-adds for [`MethodDef::work`], bytes for [`MethodDef::memory`].
pub type SizeFn = fn(&[usize], usize, usize) -> f64;

/// Everything a method declares about itself.
#[derive(Debug)]
pub struct MethodDef {
    /// The name on the command line and in files (without `:M`).
    pub name: &'static str,
    /// What the method computes, for `list`.
    pub estimates: &'static str,
    /// How its cost grows, for `list`.
    pub cost: CostClass,
    /// Whether it takes Monte-Carlo draws, and with which counts `all` includes it.
    pub draws: Draws,
    /// The estimate, and what it needs of the loss.
    pub estimate: Estimate,
    /// The estimated multiply-adds of one call on its own (forward pass included), the
    /// measure behind `cost --max-work`.
    pub work: SizeFn,
    /// The estimated peak bytes of one call on top of the model, its batch and its
    /// forward and backward passes ([`crate::nn::work::model_bytes`]).
    pub memory: SizeFn,
}

/// One row of the method table that `list` prints, generated from the registry.
#[derive(Clone, Debug, Serialize)]
pub struct MethodInfo {
    /// The name as written on the command line (`:M` where it takes draws).
    pub name: String,
    /// What the method computes.
    pub estimates: &'static str,
    /// How its cost grows.
    pub cost: CostClass,
    /// Whether it draws random numbers.
    pub stochastic: bool,
}

/// The most Monte-Carlo draws a method may take (`:M`).
pub const MAX_DRAWS: usize = 100_000;

/// A method with its number of draws: `hesscale`, `ggn_mc:50`.
#[derive(Clone, Copy)]
pub struct Method {
    def: &'static MethodDef,
    /// The Monte-Carlo draws M (1 for a deterministic method, where it is unused).
    draws: usize,
}

impl Method {
    /// The method `def` with `draws` Monte-Carlo draws (ignored by a deterministic method).
    /// Panics on a count the method does not take (0 or more than [`MAX_DRAWS`], odd for
    /// a paired method): parse names with [`str::parse`] to get an error instead.
    pub fn with_draws(def: &'static MethodDef, draws: usize) -> Method {
        match def.draws {
            Draws::None => Method { def, draws: 1 },
            Draws::MonteCarlo { .. } | Draws::Paired => {
                assert!(
                    def.draws.allows(draws),
                    "{}: {draws} draws is not a count it takes",
                    def.name
                );
                Method { def, draws }
            }
        }
    }

    /// A method with its default draws (one, two for a paired method).
    pub fn of(def: &'static MethodDef) -> Method {
        Method::with_draws(def, def.draws.default_count())
    }

    /// The exact diagonal, the reference of every study.
    pub fn exact() -> Method {
        Method::of(&exact::EXACT)
    }

    /// The methods `--methods all` stands for: every method of the registry, in order,
    /// with each draw count its definition lists (the draws of the papers).
    pub fn all() -> Vec<Method> {
        REGISTRY
            .iter()
            .flat_map(|&def| match def.draws {
                Draws::None => vec![Method::of(def)],
                Draws::MonteCarlo { in_all } => in_all
                    .iter()
                    .map(|&draws| Method::with_draws(def, draws))
                    .collect(),
                Draws::Paired => Vec::new(),
            })
            .collect()
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

    /// The method's definition.
    pub fn def(self) -> &'static MethodDef {
        self.def
    }

    /// The family name, without `:M`.
    pub fn family(self) -> &'static str {
        self.def.name
    }

    /// The number of Monte-Carlo draws of a stochastic method.
    pub fn draws(self) -> Option<usize> {
        match self.def.draws {
            Draws::None => None,
            Draws::MonteCarlo { .. } | Draws::Paired => Some(self.draws),
        }
    }

    /// Whether the method draws random numbers.
    pub fn is_stochastic(self) -> bool {
        self.draws().is_some()
    }

    /// Whether this is the exact diagonal.
    pub fn is_exact(self) -> bool {
        self.def.name == exact::EXACT.name
    }

    /// The method's position in the registry (for ordering).
    fn rank(self) -> usize {
        REGISTRY
            .iter()
            .position(|def| def.name == self.def.name)
            .expect("every method comes from the registry")
    }

    /// Whether `cost --max-work` applies: the methods whose cost grows faster than a
    /// gradient's (exact, ggn) and every method with more than one draw.
    pub fn is_capped(self) -> bool {
        matches!(
            self.def.cost,
            CostClass::Quadratic | CostClass::BackwardPerOutput
        ) || self.draws().is_some_and(|m| m > 1)
    }

    /// The estimated multiply-adds of one call on a network with layer `widths` and
    /// `batch` samples (see [`MethodDef::work`]).
    pub fn work(self, widths: &[usize], batch: usize) -> f64 {
        (self.def.work)(widths, batch, self.draws)
    }

    /// The estimated peak bytes of one call on top of the model (see
    /// [`MethodDef::memory`]).
    pub fn memory(self, widths: &[usize], batch: usize) -> f64 {
        (self.def.memory)(widths, batch, self.draws)
    }

    /// The method's row of the `list` table (`name:M` for a stochastic method).
    pub fn info(self) -> MethodInfo {
        let stochastic = self.is_stochastic();
        MethodInfo {
            name: if stochastic {
                format!("{}:M", self.def.name)
            } else {
                self.def.name.to_string()
            },
            estimates: self.def.estimates,
            cost: self.def.cost,
            stochastic,
        }
    }

    /// One row per method of the registry, in `list` order.
    pub fn catalogue() -> Vec<MethodInfo> {
        REGISTRY.iter().map(|&def| Method::of(def).info()).collect()
    }

    /// What the method needs of the loss at the output beyond value, gradient and Hessian.
    pub fn needs(self) -> &'static [Need] {
        self.def.estimate.needs()
    }

    /// An error (one line, made from [`Method::needs`]) if the method cannot run on a loss
    /// of `kind`.
    pub fn serves(self, kind: &impl LossKind) -> Result<()> {
        match kind.unserved(self.needs()) {
            Some((need, lack)) => Err(lack.error(self, need)),
            None => Ok(()),
        }
    }

    /// The method's estimate from a shared linearization (see [`MethodDef::estimate`]).
    /// Stochastic methods draw from `rng` only; the others ignore it. An error if the
    /// loss lacks what the method needs.
    pub fn estimate_from(
        self,
        linearization: &Linearization,
        rng: &mut ChaCha8Rng,
    ) -> Result<Diagonal> {
        match self.def.estimate {
            Estimate::FromLinearization(estimate) => Ok(estimate(linearization, self.draws, rng)),
            Estimate::WithSquareRootFactor(estimate) => {
                match linearization.loss().square_root_factor() {
                    Ok(factor) => Ok(estimate(linearization, factor, self.draws, rng)),
                    Err(lack) => Err(lack.error(self, Need::SquareRootFactor)),
                }
            }
        }
    }

    /// The method's diagonal estimate for a whole batch of a supervised problem on its
    /// own, shaped like the parameters: a linearization of the problem, the estimate, and
    /// the parameter tensors it stands for. A supervised loss serves every method (it is
    /// its own square-root factor); for any other loss, see [`Method::estimate_from`].
    pub fn estimate(self, problem: &Problem, rng: &mut ChaCha8Rng) -> Params {
        let linearization = Linearization::new(problem);
        let diagonal = match self.def.estimate {
            Estimate::FromLinearization(estimate) => estimate(&linearization, self.draws, rng),
            Estimate::WithSquareRootFactor(estimate) => {
                estimate(&linearization, problem.loss(), self.draws, rng)
            }
        };
        diagonal.into_params(&linearization)
    }
}

impl PartialEq for Method {
    fn eq(&self, other: &Method) -> bool {
        self.def.name == other.def.name && self.draws == other.draws
    }
}

impl Eq for Method {}

impl Hash for Method {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.def.name.hash(state);
        self.draws.hash(state);
    }
}

impl PartialOrd for Method {
    fn partial_cmp(&self, other: &Method) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Method {
    /// Registry order, then the number of draws.
    fn cmp(&self, other: &Method) -> Ordering {
        (self.rank(), self.draws).cmp(&(other.rank(), other.draws))
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.draws() {
            Some(draws) => write!(f, "{}:{draws}", self.family()),
            None => f.write_str(self.family()),
        }
    }
}

impl fmt::Debug for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Written and read as its name (`ggn_mc:50`), as on the command line.
impl Serialize for Method {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Method {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Method, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for Method {
    type Err = Error;

    /// `name` or `name:M` with 1 ≤ M ≤ [`MAX_DRAWS`] for a stochastic method (M defaults
    /// to 1).
    fn from_str(text: &str) -> Result<Self> {
        let unknown = || {
            let names: Vec<String> = REGISTRY
                .iter()
                .map(|def| match def.draws {
                    Draws::None => def.name.to_string(),
                    Draws::MonteCarlo { .. } | Draws::Paired => format!("{}[:M]", def.name),
                })
                .collect();
            Error::input(format!(
                "unknown method '{text}' (expected one of: {}; or all)",
                names.join(", ")
            ))
        };
        let (name, count) = match text.split_once(':') {
            Some((name, count)) => (name, Some(count)),
            None => (text, None),
        };
        let def = REGISTRY
            .iter()
            .copied()
            .find(|def| def.name == name)
            .ok_or_else(unknown)?;
        let draws = match (def.draws, count) {
            (_, None) => def.draws.default_count(),
            (Draws::None, Some(_)) => {
                return Err(Error::input(format!(
                    "method '{name}' takes no ':M' sample count (got '{text}')"
                )))
            }
            (Draws::MonteCarlo { .. } | Draws::Paired, Some(count)) => {
                let draws: usize = count.parse().map_err(|_| {
                    Error::input(format!(
                        "method '{text}': the sample count M must be a whole number >= 1"
                    ))
                })?;
                if !def.draws.allows(draws) {
                    let range = match def.draws {
                        Draws::Paired => format!("an even number between 2 and {MAX_DRAWS}"),
                        _ => format!("between 1 and {MAX_DRAWS}"),
                    };
                    return Err(Error::input(format!(
                        "method '{text}': the sample count M must be {range}"
                    )));
                }
                draws
            }
        };
        Ok(Method::with_draws(def, draws))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_all_follows_the_registry() {
        for method in Method::all() {
            assert_eq!(method.to_string().parse::<Method>().unwrap(), method);
        }
        let names: Vec<String> = Method::all().iter().map(Method::to_string).collect();
        assert_eq!(names[0], "exact");
        assert!(names.contains(&"ggn_mc:50".to_string()));
        let mut sorted = Method::all();
        sorted.sort();
        assert_eq!(sorted, Method::all(), "all() is in registry order");
    }

    #[test]
    fn bad_names_and_counts_are_input_errors() {
        for bad in [
            "magic",
            "hesscale:2",
            "ggn_mc:0",
            "ggn_mc:x",
            "ggn_mc:100001",
            "cp:0",
            "gnb:-1",
            "xdiag:1",
            "xdiag:3",
            "xdiag:0",
            "xdiag:100002",
            "",
        ] {
            let error = bad.parse::<Method>().unwrap_err();
            assert_eq!(error.exit_code(), 2, "{bad}");
        }
        assert_eq!(
            Method::parse_list("hesscale,all,hesscale").unwrap(),
            Method::all()
                .into_iter()
                .filter(|m| m.family() == "hesscale")
                .chain(
                    Method::all()
                        .into_iter()
                        .filter(|m| m.family() != "hesscale")
                )
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_catalogue_has_one_row_per_registered_method() {
        let catalogue = Method::catalogue();
        assert_eq!(catalogue.len(), REGISTRY.len());
        assert_eq!(catalogue[6].name, "ggn_mc:M");
        assert!(catalogue[6].stochastic);
    }
}
