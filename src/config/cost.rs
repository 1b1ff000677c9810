//! The checked configuration of `hesscale-cli cost` (SPEC §4): the sweeps and their
//! sizes become concrete networks, the methods are parsed, the size caps are decided and
//! the output folder is checked, all before any timing starts.

use std::fmt;
use std::str::FromStr;

use crate::cli::CostArgs;
use crate::config::memory::check_memory;
use crate::config::run::{RunOptions, MAX_THREADS};
use crate::config::sample::checked_arch;
use crate::config::shard::Shard;
use crate::config::{check_count, check_n_params, check_width, parse_list};
use crate::error::{Error, Result};
use crate::methods::Method;
use crate::nn::init::{Architecture, Network};
use crate::nn::work::model_bytes;
use crate::nn::{Activation, LayerRules, Loss};

/// The largest batch `cost` times.
pub const MAX_BATCH: usize = 100_000;
/// The most timed rounds (and warm-up rounds) per size.
pub const MAX_REPS: usize = 1_000_000;
/// The default `--max-work`: capped methods run only where one call is estimated at
/// no more than this many multiply-adds (see [`Method::work`]; up to about a second
/// per call on one core).
pub const DEFAULT_MAX_WORK: f64 = 2e9;

/// A family of networks that grows along one size (SPEC §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sweep {
    /// `64 → k × 512 tanh → 100`, mse; the size is k, the number of hidden layers.
    Depth,
    /// `64 → 256 tanh → out`, mse; the size is out, the output width.
    Outputs,
    /// `6 → w, w, w tanh → 10`, cross_entropy (the quality-study nets); the size is w.
    Width,
}

impl Sweep {
    /// Every sweep, in the order the output file uses.
    pub const ALL: [Sweep; 3] = [Sweep::Depth, Sweep::Outputs, Sweep::Width];

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Sweep::Depth => "depth",
            Sweep::Outputs => "outputs",
            Sweep::Width => "width",
        }
    }

    /// The sizes timed when `--sizes` is not given.
    pub fn default_sizes(self) -> Vec<usize> {
        match self {
            Sweep::Depth => vec![1, 2, 4, 8, 16],
            Sweep::Outputs => vec![256, 512, 1024, 2048, 4096],
            Sweep::Width => vec![16, 32, 64, 128, 256, 512],
        }
    }

    /// The network of this sweep at `size`. The depth sweep keeps biases (the paper's
    /// deep sweep had none).
    pub fn architecture(self, size: usize) -> Architecture {
        let (inputs, hidden, outputs) = match self {
            Sweep::Depth => (64, vec![512; size], 100),
            Sweep::Outputs => (64, vec![256], size),
            Sweep::Width => (6, vec![size; 3], 10),
        };
        Architecture {
            inputs,
            hidden,
            outputs,
            activation: Activation::Tanh,
        }
    }

    /// The loss of this sweep's networks.
    pub fn loss(self) -> Loss {
        match self {
            Sweep::Depth | Sweep::Outputs => Loss::Mse,
            Sweep::Width => Loss::CrossEntropy,
        }
    }
}

impl fmt::Display for Sweep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Sweep {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        Sweep::ALL
            .into_iter()
            .find(|sweep| sweep.name() == name)
            .ok_or_else(|| {
                Error::input(format!(
                    "unknown sweep '{name}' (expected one of: depth, outputs, width)"
                ))
            })
    }
}

/// One network of a sweep (or the `--arch` network), timed on one fixed batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CostCase {
    /// The sweep, `None` for the `--arch` network.
    pub sweep: Option<Sweep>,
    /// The sweep's size (k, out or w); 0 for the `--arch` network.
    pub size: usize,
    pub network: Network,
    pub loss: Loss,
    pub batch_size: usize,
}

impl CostCase {
    /// The sweep's name, or `arch` for the `--arch` network.
    pub fn sweep_name(&self) -> &'static str {
        self.sweep.map_or("arch", Sweep::name)
    }

    /// The number of hidden layers (of an architecture: its layers with parameters − 1).
    pub fn depth(&self) -> usize {
        match &self.network {
            Network::Mlp(architecture) => architecture.hidden.len(),
            Network::Arch(arch) => arch
                .layers()
                .map_or(0, |layers| {
                    layers.iter().filter(|l| l.param_count() > 0).count()
                })
                .saturating_sub(1),
        }
    }

    /// The hidden width (every hidden layer of a sweep has the same width; 0 for an
    /// architecture).
    pub fn width(&self) -> usize {
        match &self.network {
            Network::Mlp(architecture) => architecture.hidden.first().copied().unwrap_or(0),
            Network::Arch(_) => 0,
        }
    }

    /// The input width.
    pub fn inputs(&self) -> usize {
        self.network.widths()[0]
    }

    /// The output width.
    pub fn outputs(&self) -> usize {
        match &self.network {
            Network::Mlp(architecture) => architecture.outputs,
            Network::Arch(arch) => arch.outputs().unwrap_or(0),
        }
    }

    /// The number of scalar parameters.
    pub fn n_params(&self) -> usize {
        self.network.n_params()
    }

    /// A stable cell number for the case's random streams, e.g. of `depth:4` (of the
    /// `--arch` network, `arch:` and its text).
    pub fn cell(&self) -> u64 {
        match &self.network {
            Network::Arch(arch) => crate::rng::stream_id(&format!("arch:{arch}")),
            Network::Mlp(_) => {
                crate::rng::stream_id(&format!("{}:{}", self.sweep_name(), self.size))
            }
        }
    }
}

/// A checked `cost` request.
#[derive(Clone, Debug, PartialEq)]
pub struct CostSpec {
    /// The networks to time, sweep by sweep, size by size.
    pub cases: Vec<CostCase>,
    pub sweeps: Vec<Sweep>,
    /// The methods timed next to the gradient, in the order given.
    pub methods: Vec<Method>,
    pub batch_size: usize,
    pub reps: usize,
    pub warmup: usize,
    /// The cap of capped methods ([`Method::is_capped`]), in estimated multiply-adds per
    /// call ([`Method::work`]).
    pub max_work: f64,
    pub seed: u64,
    /// Threads (the cases run one after another on them), out-dir, resume or replace.
    pub run: RunOptions,
}

impl CostSpec {
    /// Why `method` is not timed on `case`, or `None` when it is.
    pub fn skip_reason(&self, case: &CostCase, method: Method) -> Option<String> {
        if !method.is_capped() {
            return None;
        }
        let work = method.work(&case.network.widths(), case.batch_size);
        (work > self.max_work).then(|| {
            format!(
                "size cap: about {work:.1e} multiply-adds per call > --max-work {:.1e}",
                self.max_work
            )
        })
    }
}

/// Parse `--max-work`: a positive number of multiply-adds, `inf` for no cap.
fn parse_max_work(text: &str) -> Result<f64> {
    let bad = || {
        Error::input(format!(
            "--max-work: '{text}' is not a positive number of multiply-adds (e.g. 2e9, or inf)"
        ))
    };
    let value: f64 = text.trim().parse().map_err(|_| bad())?;
    if value.is_nan() || value <= 0.0 {
        return Err(bad());
    }
    Ok(value)
}

/// Check `--warmup`: 0 (no warm-up) up to [`MAX_REPS`].
fn check_warmup(warmup: usize) -> Result<usize> {
    if warmup > MAX_REPS {
        Err(Error::input(format!(
            "--warmup: {warmup} is over the limit of {MAX_REPS}"
        )))
    } else {
        Ok(warmup)
    }
}

impl TryFrom<CostArgs> for CostSpec {
    type Error = Error;

    fn try_from(args: CostArgs) -> Result<Self> {
        let mut sweeps = Vec::new();
        for sweep in parse_list::<Sweep>("sweep", &args.sweep)? {
            if !sweeps.contains(&sweep) {
                sweeps.push(sweep);
            }
        }
        if sweeps.is_empty() {
            return Err(Error::input(
                "--sweep: give at least one of depth, outputs, width",
            ));
        }
        let sizes = match &args.sizes {
            None => None,
            Some(text) => {
                if sweeps.len() != 1 {
                    return Err(Error::input(format!(
                        "--sizes: applies to a single sweep, but --sweep names {}",
                        sweeps.len()
                    )));
                }
                let sizes = parse_list::<usize>("sizes", text)?;
                if sizes.is_empty() {
                    return Err(Error::input("--sizes: give at least one size"));
                }
                if let Some(repeated) = sizes
                    .iter()
                    .enumerate()
                    .find_map(|(i, size)| sizes[..i].contains(size).then_some(size))
                {
                    return Err(Error::input(format!(
                        "--sizes: {repeated} is given more than once"
                    )));
                }
                Some(sizes)
            }
        };
        // The gradient is always timed (it is the unit); naming it is allowed.
        let named: Vec<&str> = args
            .methods
            .split(',')
            .map(str::trim)
            .filter(|name| *name != "gradient")
            .collect();
        let methods = if named.is_empty() {
            Vec::new()
        } else {
            Method::parse_list(&named.join(","))
                .map_err(|e| Error::input(format!("--methods: {e}")))?
        };
        let batch_size = check_count("batch-size", args.batch_size, MAX_BATCH)?;
        let mut cases = Vec::new();
        if let Some(text) = &args.arch {
            let arch = checked_arch(text)?;
            sweeps.clear();
            cases.push(CostCase {
                sweep: None,
                size: 0,
                network: Network::Arch(arch),
                loss: Loss::CrossEntropy,
                batch_size,
            });
        }
        for &sweep in &sweeps {
            for size in sizes.clone().unwrap_or_else(|| sweep.default_sizes()) {
                let flag = "sizes";
                match sweep {
                    Sweep::Depth => check_count(flag, size, MAX_REPS)?,
                    Sweep::Outputs | Sweep::Width => check_width(flag, size)?,
                };
                let architecture = sweep.architecture(size);
                check_n_params(architecture.n_params())
                    .map_err(|e| Error::input(format!("--sizes: {sweep} {size}: {e}")))?;
                cases.push(CostCase {
                    sweep: Some(sweep),
                    size,
                    network: Network::Mlp(architecture),
                    loss: sweep.loss(),
                    batch_size,
                });
            }
        }
        let spec = CostSpec {
            cases,
            sweeps,
            methods,
            batch_size,
            reps: check_count("reps", args.reps, MAX_REPS)?,
            warmup: check_warmup(args.warmup)?,
            max_work: parse_max_work(&args.max_work)?,
            seed: args.seed,
            run: RunOptions {
                threads: check_count("threads", args.threads, MAX_THREADS)?,
                out_dir: args.out_dir,
                resume: args.resume,
                replace: args.force,
                shard: Shard::WHOLE,
                preset: None,
                quiet: true,
                yes: args.yes,
            },
        };
        for case in &spec.cases {
            let widths = case.network.widths();
            let timed_methods = spec
                .methods
                .iter()
                .filter(|&&method| spec.skip_reason(case, method).is_none());
            let largest = timed_methods
                .map(|&method| method.memory(&widths, batch_size))
                .fold(0.0, f64::max);
            check_memory(
                model_bytes(&widths, batch_size) + largest,
                &format!("the {} sweep at size {}", case.sweep_name(), case.size),
            )?;
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_expensive_methods_are_capped() {
        for method in Method::all() {
            let expensive =
                matches!(method.family(), "exact" | "ggn") || method.draws().is_some_and(|m| m > 1);
            assert_eq!(method.is_capped(), expensive, "{method}");
        }
    }

    #[test]
    fn the_default_cap_skips_exact_in_the_deep_nets_only() {
        let work = |sweep: Sweep, size: usize, method: &str| {
            let method: Method = method.parse().unwrap();
            method.work(&sweep.architecture(size).widths(), 1)
        };
        assert!(work(Sweep::Depth, 8, "exact") <= DEFAULT_MAX_WORK);
        assert!(work(Sweep::Depth, 16, "exact") > DEFAULT_MAX_WORK);
        assert!(work(Sweep::Width, 512, "exact") <= DEFAULT_MAX_WORK);
        assert!(work(Sweep::Outputs, 2048, "ggn") <= DEFAULT_MAX_WORK);
    }

    #[test]
    fn sweeps_parse_by_name() {
        assert_eq!("outputs".parse::<Sweep>().unwrap(), Sweep::Outputs);
        let error = "breadth".parse::<Sweep>().unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("depth, outputs, width"));
    }
}
