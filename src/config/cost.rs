//! The checked configuration of `hesscale-cli cost` (SPEC §4): the sweeps and their
//! sizes become concrete networks, the methods are parsed, the size caps are decided and
//! the output folder is checked, all before any timing starts.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::cli::CostArgs;
use crate::config::memory::{check_memory, method_bytes};
use crate::config::{check_count, check_n_params, check_width, parse_list};
use crate::error::{Error, Result};
use crate::io::cost_out::{COST_CSV, COST_META};
use crate::methods::Method;
use crate::nn::init::Architecture;
use crate::nn::{Activation, Loss};

/// The largest batch `cost` times.
pub const MAX_BATCH: usize = 100_000;
/// The most timed rounds (and warm-up rounds) per size.
pub const MAX_REPS: usize = 1_000_000;
/// The most worker threads.
pub const MAX_THREADS: usize = 1024;
/// The default `--max-work`: capped methods run only where one call is estimated at
/// no more than this many multiply-adds (see [`estimated_work`]; up to about a second
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

/// One network of a sweep, timed on one fixed batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CostCase {
    pub sweep: Sweep,
    /// The sweep's size (k, out or w).
    pub size: usize,
    pub architecture: Architecture,
    pub loss: Loss,
    pub batch_size: usize,
}

impl CostCase {
    /// The number of hidden layers.
    pub fn depth(&self) -> usize {
        self.architecture.hidden.len()
    }

    /// The hidden width (every hidden layer of a sweep has the same width).
    pub fn width(&self) -> usize {
        self.architecture.hidden.first().copied().unwrap_or(0)
    }

    /// The number of scalar parameters.
    pub fn n_params(&self) -> usize {
        self.architecture.n_params()
    }

    /// A stable cell number for the case's random streams, e.g. of `depth:4`.
    pub fn cell(&self) -> u64 {
        crate::rng::stream_id(&format!("{}:{}", self.sweep, self.size))
    }
}

/// Whether a method is subject to `--max-work`: the ones whose cost grows faster than a
/// gradient's (exact, ggn) and every method with more than one Monte-Carlo draw.
pub fn is_capped(method: Method) -> bool {
    matches!(method, Method::Exact | Method::Ggn) || method.draws().is_some_and(|m| m > 1)
}

/// The rows of a matrix product as the matrix kernel computes them: in panels of 8
/// (matrixmultiply's f64 kernels), so a product of 1 row costs as much as one of 8.
fn padded_rows(rows: usize) -> f64 {
    (rows.div_ceil(8) * 8) as f64
}

/// The estimated multiply-adds of one call of `method` (`None`: the gradient) on a
/// network with layer boundaries `widths` (input to output) and a batch of N = `batch`
/// samples, counting the matrix products that dominate, each as (rows rounded up to a
/// multiple of 8, see [`padded_rows`]) × (weights it passes). With `P = Σ_l in_l·out_l`,
/// `A_l` the weights of the layers above layer l and `F = 2·⌈N⌉₈·P` (forward and
/// gradient backward): one-backward methods and the gradient `F + N·P`; exact
/// `F + Σ_l 2·⌈out_l·N⌉₈·A_l + N·P` (a forward tangent and a reverse pass above l per
/// unit of l); ggn `F + ⌈D·N⌉₈·A_1 + N·P`; ggn_mc:M and kfac:M `F + ⌈M·N⌉₈·A_1 + N·P`;
/// hutchinson:M `F + M·(4·⌈N⌉₈·P + 2·N·P)` (per HVP four N-row products and two outer
/// products).
pub fn estimated_work(method: Option<Method>, widths: &[usize], batch: usize) -> f64 {
    let weights: Vec<f64> = widths
        .windows(2)
        .map(|w| w[0] as f64 * w[1] as f64)
        .collect();
    let above = |l: usize| -> f64 { weights[l + 1..].iter().sum() };
    let pass: f64 = weights.iter().sum();
    let samples = batch as f64;
    let outputs = *widths.last().expect("a network has an output");
    let base = 2.0 * padded_rows(batch) * pass + samples * pass;
    match method {
        None
        | Some(
            Method::HesScale
            | Method::HesScaleGn
            | Method::Bl89
            | Method::GradSquared
            | Method::Zero,
        ) => base,
        Some(Method::Exact) => {
            let tangents: f64 = (0..weights.len())
                .map(|l| 2.0 * padded_rows(widths[l + 1] * batch) * above(l))
                .sum();
            base + tangents
        }
        Some(Method::Ggn) => base + padded_rows(outputs * batch) * above(0),
        Some(Method::GgnMc { draws } | Method::Kfac { draws }) => {
            base + padded_rows(draws * batch) * above(0)
        }
        Some(Method::Hutchinson { draws } | Method::HutchinsonSigned { draws }) => {
            base - samples * pass
                + draws as f64 * (4.0 * padded_rows(batch) * pass + 2.0 * samples * pass)
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
    pub threads: usize,
    /// The cap of [`is_capped`] methods, in estimated multiply-adds per call.
    pub max_work: f64,
    pub seed: u64,
    pub out_dir: PathBuf,
    /// Leave the C allocator's settings alone (see `runner::cost::keep_freed_memory`).
    pub malloc_defaults: bool,
}

impl CostSpec {
    /// Why `method` is not timed on `case`, or `None` when it is.
    pub fn skip_reason(&self, case: &CostCase, method: Method) -> Option<String> {
        if !is_capped(method) {
            return None;
        }
        let work = estimated_work(Some(method), &case.architecture.widths(), case.batch_size);
        (work > self.max_work).then(|| {
            format!(
                "size cap: about {work:.1e} multiply-adds per call > --max-work {:.1e}",
                self.max_work
            )
        })
    }

    /// The path of the timings CSV.
    pub fn csv_path(&self) -> PathBuf {
        self.out_dir.join(COST_CSV)
    }

    /// The path of the metadata JSON.
    pub fn meta_path(&self) -> PathBuf {
        self.out_dir.join(COST_META)
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

/// Create the output folder if needed, refuse to replace results without `force`, and
/// check that a file can be written there.
fn check_out_dir(out_dir: &Path, force: bool) -> Result<()> {
    std::fs::create_dir_all(out_dir).map_err(|e| {
        Error::input(format!(
            "--out-dir: cannot create '{}': {e}",
            out_dir.display()
        ))
    })?;
    if !force {
        for name in [COST_CSV, COST_META] {
            let path = out_dir.join(name);
            if path.exists() {
                return Err(Error::input(format!(
                    "'{}' already exists (pass --force to replace it)",
                    path.display()
                )));
            }
        }
    }
    let probe = out_dir.join(format!(".cost.probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| {
            Error::input(format!(
                "--out-dir: cannot write in '{}': {e}",
                out_dir.display()
            ))
        })
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
                    sweep,
                    size,
                    architecture,
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
            threads: check_count("threads", args.threads, MAX_THREADS)?,
            max_work: parse_max_work(&args.max_work)?,
            seed: args.seed,
            out_dir: args.out_dir,
            malloc_defaults: args.malloc_defaults,
        };
        for case in &spec.cases {
            let widths = case.architecture.widths();
            let timed_methods = spec
                .methods
                .iter()
                .filter(|&&method| spec.skip_reason(case, method).is_none());
            let largest = timed_methods
                .map(|&method| method_bytes(Some(method), &widths, batch_size))
                .fold(0.0, f64::max);
            check_memory(
                method_bytes(None, &widths, batch_size) + largest,
                &format!("the {} sweep at size {}", case.sweep, case.size),
            )?;
        }
        check_out_dir(&spec.out_dir, args.force)?;
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_counted_in_panels_of_eight() {
        assert_eq!(padded_rows(1), 8.0);
        assert_eq!(padded_rows(8), 8.0);
        assert_eq!(padded_rows(9), 16.0);
    }

    #[test]
    fn work_estimates_follow_the_formulas() {
        // 2 → 3 → 4: weights 6 and 12, P = 18; N = 1.
        let widths = [2, 3, 4];
        let base = 2.0 * 8.0 * 18.0 + 18.0;
        assert_eq!(estimated_work(None, &widths, 1), base);
        assert_eq!(estimated_work(Some(Method::HesScale), &widths, 1), base);
        // exact: layer 0 (3 units) through the 12 weights above, layer 1 through none.
        assert_eq!(
            estimated_work(Some(Method::Exact), &widths, 1),
            base + 2.0 * 8.0 * 12.0
        );
        assert_eq!(
            estimated_work(Some(Method::Ggn), &widths, 1),
            base + 8.0 * 12.0
        );
        assert_eq!(
            estimated_work(Some(Method::GgnMc { draws: 50 }), &widths, 1),
            base + 56.0 * 12.0
        );
        assert_eq!(
            estimated_work(Some(Method::Hutchinson { draws: 2 }), &widths, 1),
            2.0 * 8.0 * 18.0 + 2.0 * (4.0 * 8.0 * 18.0 + 2.0 * 18.0)
        );
    }

    #[test]
    fn only_the_expensive_methods_are_capped() {
        for method in Method::all() {
            let expensive = matches!(method, Method::Exact | Method::Ggn)
                || method.draws().is_some_and(|m| m > 1);
            assert_eq!(is_capped(method), expensive, "{method}");
        }
    }

    #[test]
    fn the_default_cap_skips_exact_in_the_deep_nets_only() {
        let work = |sweep: Sweep, size: usize, method: Method| {
            estimated_work(Some(method), &sweep.architecture(size).widths(), 1)
        };
        assert!(work(Sweep::Depth, 4, Method::Exact) <= DEFAULT_MAX_WORK);
        assert!(work(Sweep::Depth, 8, Method::Exact) > DEFAULT_MAX_WORK);
        assert!(work(Sweep::Width, 512, Method::Exact) <= DEFAULT_MAX_WORK);
        assert!(work(Sweep::Outputs, 2048, Method::Ggn) <= DEFAULT_MAX_WORK);
    }

    #[test]
    fn sweeps_parse_by_name() {
        assert_eq!("outputs".parse::<Sweep>().unwrap(), Sweep::Outputs);
        let error = "breadth".parse::<Sweep>().unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("depth, outputs, width"));
    }
}
