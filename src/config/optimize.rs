//! The checked configuration of `hesscale-cli optimize` (SPEC §9): the grid of training
//! runs (data sets, networks, optimizers, scalings, δ, step sizes, seeds), how long each
//! trains and how often it is evaluated, and how to run them.
//!
//! Every option comes from, in order of precedence: an explicit flag, the `--preset` JSON
//! file, the default. Each value is checked here, and an error names where the value came
//! from (`--lrs: …` or `preset 'p.json', key 'lrs': …`), so nothing bad reaches the study.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cli::OptimizeArgs;
use crate::config::grid::{self, Axis};
use crate::config::memory::check_memory;
use crate::config::preset::{
    self, count_option, distinct, list_option, numbers_option, size_axis, Origin, Whole,
};
use crate::config::quality::{MAX_BATCH, MAX_CELLS, MAX_DEPTH, MAX_SEEDS};
use crate::config::run::{PresetRun, RunOptions};
use crate::config::{check_n_params, check_nonempty, check_range, MAX_WIDTH};
use crate::data::{planned_bytes, DataSet, CLASSES, IMAGE_PIXELS};
use crate::error::{Error, Result};
use crate::methods::Method;
use crate::nn::init::{Architecture, Network};
use crate::nn::work::{model_bytes, parameters, F64_BYTES};
use crate::nn::{Activation, Arch, Loss};
use crate::train::{Hyperparameters, Optimizer, Scaling};

/// The most optimizer steps of one run.
pub const MAX_STEPS: usize = 10_000_000;

/// The default step sizes: five decades from 1e-4 to 1, the upper part of the paper's grid
/// (the full grid is `experiments/optimize-mnist-full.json`).
pub const DEFAULT_LRS: [f64; 5] = [1e-4, 1e-3, 1e-2, 1e-1, 1.0];

/// The default δ of the hesscale scaling, from a pilot on the shipped MNIST subset (500
/// steps, one seed, δ ∈ {1e-8, 1e-6, 1e-4, 1e-2, 1}): the δ with the best mean accuracy
/// of sgd, adam, adahessian and adahesscale at step sizes 0.1 and 1. 1e-6 learned a
/// little slower, 1e-2 and above no longer kept adam learning at those step sizes, and
/// the ICML 2024 paper's RL value 1e-8 shrank every step too far here.
pub const DEFAULT_DELTA: f64 = 1e-4;

/// What is computed: the grid of runs and how each trains. Two runs with equal grids write
/// the same `optimize_curves.csv` and `optimize_summary.csv` byte for byte. Recorded under
/// `config` in `optimize.meta.json` with these field names (and read back with them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizeGrid {
    /// The data sets, trained on their training part and evaluated on their test part.
    pub data: Vec<DataSet>,
    pub activations: Vec<Activation>,
    /// Numbers of hidden layers.
    pub depths: Vec<usize>,
    /// Hidden widths.
    pub widths: Vec<usize>,
    pub optimizers: Vec<Optimizer>,
    /// Step-size scalings by name ([`Scaling::NAMES`]).
    pub scalings: Vec<String>,
    /// The δ values of the `hesscale` scaling (runs without scaling have none).
    pub deltas: Vec<f64>,
    /// Step sizes α.
    pub lrs: Vec<f64>,
    /// Runs per grid point; the seed column runs 0..seeds.
    pub seeds: usize,
    /// The base seed of every random stream.
    pub seed: u64,
    /// Optimizer steps per run.
    pub steps: usize,
    /// Evaluate every this many steps (and after the last).
    pub eval_every: usize,
    /// Images per minibatch.
    pub batch_size: usize,
    /// The loss trained and evaluated (mean reduction): cross_entropy, as SPEC §8.
    pub loss: Loss,
    /// β1 of the Adam-style optimizers (SPEC §9 default 0.9).
    pub beta1: f64,
    /// β2 of the Adam-style optimizers and of the scaling's average (default 0.999).
    pub beta2: f64,
    /// ε of the Adam-style optimizers (default 1e-8).
    pub eps: f64,
    /// The one network of an `--arch` grid, input first (`crate::nn::arch`); its runs
    /// show depth = its layers with parameters − 1, width 0 and its first activation.
    /// `None` (not recorded) for the MLPs of the width and depth axes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
}

/// A checked `optimize` request.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizeSpec {
    pub grid: OptimizeGrid,
    pub run: RunOptions,
}

/// Check a step size or δ given by `origin`: a finite number > 0.
fn check_positive(origin: impl std::fmt::Display, what: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Error::input(format!(
            "{origin}: {what} of {value} is not a finite number > 0"
        )))
    }
}

impl OptimizeGrid {
    /// The step-size scalings of the grid, in order: each `hesscale` once per δ.
    pub fn scaling_variants(&self) -> Vec<Scaling> {
        self.scalings
            .iter()
            .flat_map(|name| match name.as_str() {
                "none" => vec![Scaling::None],
                _ => self
                    .deltas
                    .iter()
                    .map(|&delta| Scaling::HesScale { delta })
                    .collect(),
            })
            .collect()
    }

    /// The grid's axes, in canonical order (the seed varying fastest): the scaling axis
    /// holds the [`OptimizeGrid::scaling_variants`].
    pub fn axes(&self) -> [Axis; 8] {
        [
            Axis::new(&["data"], self.data.len()),
            Axis::new(&["activations"], self.activations.len()),
            Axis::new(&["depths"], self.depths.len()),
            Axis::new(&["widths"], self.widths.len()),
            Axis::new(&["optimizers"], self.optimizers.len()),
            Axis::new(&["scalings", "deltas"], self.scaling_variants().len()),
            Axis::new(&["lrs"], self.lrs.len()),
            Axis::new(&["seeds"], self.seeds),
        ]
    }

    /// The number of cells (saturating).
    pub fn n_cells(&self) -> usize {
        grid::count(&self.axes())
    }

    /// The steps after which a run is evaluated: 0, `eval_every`, 2·`eval_every`, … and
    /// the last step.
    pub fn evaluation_steps(&self) -> Vec<usize> {
        let mut steps: Vec<usize> = (0..=self.steps).step_by(self.eval_every).collect();
        if steps.last() != Some(&self.steps) {
            steps.push(self.steps);
        }
        steps
    }

    /// The network of a grid point: the grid's `--arch`, or the MLP of the point.
    pub fn network(&self, activation: Activation, depth: usize, width: usize) -> Network {
        match &self.arch {
            Some(arch) => Network::Arch(arch.clone()),
            None => Network::Mlp(self.architecture(activation, depth, width)),
        }
    }

    /// The MLP of a grid point: 784 → width × depth → 10.
    pub fn architecture(&self, activation: Activation, depth: usize, width: usize) -> Architecture {
        Architecture {
            inputs: IMAGE_PIXELS,
            hidden: vec![width; depth],
            outputs: CLASSES,
            activation,
        }
    }

    /// The Adam-style constants with step size `lr`.
    pub fn hyperparameters(&self, lr: f64) -> Hyperparameters {
        Hyperparameters {
            lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
        }
    }

    /// Check every value against the limits the command line has (`origin` names where
    /// the grid came from): the grid of a preset, of the flags or of a recorded run is
    /// refused before anything is allocated for it.
    pub fn check(&self, origin: &str) -> Result<()> {
        let field = |key: &str| format!("{origin}{key}");
        check_nonempty(
            origin,
            &[
                ("data", self.data.is_empty()),
                ("activations", self.activations.is_empty()),
                ("optimizers", self.optimizers.is_empty()),
                ("scalings", self.scalings.is_empty()),
                ("deltas", self.deltas.is_empty()),
                ("lrs", self.lrs.is_empty()),
            ],
        )?;
        match &self.arch {
            Some(arch) => {
                let arch = arch.for_mnist(&field("arch"))?;
                let (activation, depth) = arch.grid_point();
                check_n_params(arch.n_params()?)?;
                if (&self.activations[..], &self.depths[..], &self.widths[..])
                    != (&[activation][..], &[depth][..], &[0][..])
                {
                    return Err(Error::input(format!(
                        "{}: the grid's activations, depths and widths must be those of '{arch}'",
                        field("arch")
                    )));
                }
            }
            None => {
                for &width in &self.widths {
                    check_range(field("widths"), "a width", width, MAX_WIDTH)?;
                }
                for &depth in &self.depths {
                    check_range(field("depths"), "a depth", depth, MAX_DEPTH)?;
                    for &width in &self.widths {
                        let architecture = self.architecture(Activation::Tanh, depth, width);
                        check_n_params(architecture.n_params())?;
                    }
                }
            }
        }
        for name in &self.scalings {
            Scaling::new(name, 1.0)
                .map_err(|e| Error::input(format!("{}: {e}", field("scalings"))))?;
        }
        for &delta in &self.deltas {
            check_positive(field("deltas"), "a delta", delta)?;
        }
        for &lr in &self.lrs {
            check_positive(field("lrs"), "a step size", lr)?;
        }
        self.hyperparameters(1.0)
            .check()
            .map_err(|e| Error::input(format!("{origin}{e}")))?;
        if self.loss != Loss::CrossEntropy {
            return Err(Error::input(format!(
                "{}: optimize trains with cross_entropy",
                field("loss")
            )));
        }
        check_range(field("seeds"), "a seed count", self.seeds, MAX_SEEDS)?;
        check_range(field("steps"), "a step count", self.steps, MAX_STEPS)?;
        check_range(
            field("eval_every"),
            "an evaluation interval",
            self.eval_every,
            MAX_STEPS,
        )?;
        check_range(
            field("batch_size"),
            "a batch size",
            self.batch_size,
            MAX_BATCH,
        )?;
        let cells = self.n_cells();
        if cells == 0 || cells > MAX_CELLS {
            return Err(Error::input(format!(
                "{origin}the grid has {cells} runs; it must have between 1 and {MAX_CELLS}"
            )));
        }
        Ok(())
    }

    /// The memory one worker needs for the largest network of the grid, in bytes: the
    /// model with a minibatch or an evaluation pass of 256 images, the optimizer's four
    /// parameter-sized vectors, and the largest curvature method's arrays.
    pub fn bytes_per_worker(&self) -> f64 {
        let methods: Vec<Method> = self
            .optimizers
            .iter()
            .filter_map(|o| o.curvature())
            .chain([Scaling::method()])
            .collect();
        let batch = self.batch_size.max(256);
        let mut largest: f64 = 0.0;
        for &depth in &self.depths {
            for &width in &self.widths {
                let widths = self.network(self.activations[0], depth, width).widths();
                let method = methods
                    .iter()
                    .map(|m| m.memory(&widths, self.batch_size))
                    .fold(0.0, f64::max);
                let state = 4.0 * F64_BYTES * parameters(&widths);
                largest = largest.max(model_bytes(&widths, batch) + state + method);
            }
        }
        largest
    }

    /// The grid as recorded under `config` in `optimize.meta.json`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a grid serialises")
    }

    /// A grid recorded by [`OptimizeGrid::to_json`], read back and checked against the
    /// same limits as the command line ([`OptimizeGrid::check`]).
    pub fn from_json(config: &Value) -> Result<OptimizeGrid> {
        let grid: OptimizeGrid = serde_json::from_value(config.clone())
            .map_err(|e| Error::input(format!("config: {e}")))?;
        grid.check("config: ")?;
        Ok(grid)
    }
}

/// A preset of `optimize`: any option but `--preset` and `--resume`, plus a description.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptimizePreset {
    /// Free text for the reader of the file.
    #[serde(rename = "description")]
    _description: Option<String>,
    optimizers: Option<Value>,
    #[serde(alias = "scalings")]
    scaling: Option<Value>,
    #[serde(alias = "deltas")]
    delta: Option<Value>,
    lrs: Option<Value>,
    seeds: Option<Whole>,
    seed: Option<Whole>,
    widths: Option<Value>,
    #[serde(alias = "depth")]
    depths: Option<Value>,
    activations: Option<Value>,
    arch: Option<String>,
    data: Option<Value>,
    steps: Option<Whole>,
    eval_every: Option<Whole>,
    batch_size: Option<Whole>,
    threads: Option<Whole>,
    out_dir: Option<PathBuf>,
    shard: Option<String>,
}

/// Positive finite numbers, each once: a step size or δ list.
fn positive_list(origin: &Origin, what: &str, values: Vec<f64>) -> Result<Vec<f64>> {
    let values = values
        .into_iter()
        .map(|v| check_positive(origin, what, v))
        .collect::<Result<Vec<_>>>()?;
    distinct(origin, values)
}

/// The optimizers named in a list (`all` for every one), each once.
fn optimizers(origin: &Origin, names: &[String]) -> Result<Vec<Optimizer>> {
    let mut list = Vec::new();
    for name in names {
        if name == "all" {
            list.extend(Optimizer::ALL);
        } else {
            list.push(
                name.parse()
                    .map_err(|e| Error::input(format!("{origin}: {e}")))?,
            );
        }
    }
    distinct(origin, list)
}

impl TryFrom<OptimizeArgs> for OptimizeSpec {
    type Error = Error;

    fn try_from(args: OptimizeArgs) -> Result<Self> {
        let preset: OptimizePreset = match &args.run.preset {
            Some(path) => preset::read(path)?,
            None => OptimizePreset::default(),
        };
        let path = args.run.preset.as_deref();
        // What --arch replaces, given by a flag or the preset.
        let architecture_given = [
            ("widths", args.widths.is_some() || preset.widths.is_some()),
            ("depths", args.depths.is_some() || preset.depths.is_some()),
            (
                "activations",
                args.activations.is_some() || preset.activations.is_some(),
            ),
        ];

        let (names, origin) = list_option(
            args.optimizers,
            "optimizers",
            preset.optimizers.as_ref(),
            path,
            "optimizers",
            vec!["all".to_string()],
        )?;
        let optimizers = optimizers(&origin, &names)?;
        let (scalings, origin) = list_option(
            args.scaling,
            "scaling",
            preset.scaling.as_ref(),
            path,
            "scaling",
            Scaling::NAMES.map(String::from).to_vec(),
        )?;
        for name in &scalings {
            Scaling::new(name, 1.0).map_err(|e| Error::input(format!("{origin}: {e}")))?;
        }
        let scalings = distinct(&origin, scalings)?;
        let (deltas, origin) = numbers_option(
            args.delta,
            "delta",
            preset.delta.as_ref(),
            path,
            "delta",
            vec![DEFAULT_DELTA],
        )?;
        let deltas = positive_list(&origin, "a delta", deltas)?;
        let (lrs, origin) = numbers_option(
            args.lrs,
            "lrs",
            preset.lrs.as_ref(),
            path,
            "lrs",
            DEFAULT_LRS.to_vec(),
        )?;
        let lrs = positive_list(&origin, "a step size", lrs)?;
        let widths = size_axis(
            args.widths,
            "widths",
            preset.widths.as_ref(),
            path,
            vec![64],
            ("a width", MAX_WIDTH),
        )?;
        let depths = size_axis(
            args.depths,
            "depths",
            preset.depths.as_ref(),
            path,
            vec![3],
            ("a depth", MAX_DEPTH),
        )?;
        let (activations, origin) = list_option(
            args.activations,
            "activations",
            preset.activations.as_ref(),
            path,
            "activations",
            vec![Activation::Tanh],
        )?;
        let activations = distinct(&origin, activations)?;
        let (names, origin) = list_option(
            args.data,
            "data",
            preset.data.as_ref(),
            path,
            "data",
            vec!["mnist".to_string()],
        )?;
        let data = names
            .iter()
            .map(|name| {
                name.parse::<DataSet>()
                    .map_err(|e| Error::input(format!("{origin}: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let data = distinct(&origin, data)?;

        let (seeds, origin) = count_option(args.seeds, "seeds", preset.seeds, path, "seeds", 3);
        let seeds = check_range(&origin, "a seed count", seeds, MAX_SEEDS)?;
        let seed = args
            .seed
            .or(preset.seed.map(|Whole(seed)| seed))
            .unwrap_or(0);
        let (steps, origin) = count_option(args.steps, "steps", preset.steps, path, "steps", 1000);
        let steps = check_range(&origin, "a step count", steps, MAX_STEPS)?;
        let (eval_every, origin) = count_option(
            args.eval_every,
            "eval-every",
            preset.eval_every,
            path,
            "eval_every",
            100,
        );
        let eval_every = check_range(&origin, "an evaluation interval", eval_every, MAX_STEPS)?;
        let (batch, origin) = count_option(
            args.batch_size,
            "batch-size",
            preset.batch_size,
            path,
            "batch_size",
            32,
        );
        let batch_size = check_range(&origin, "a batch size", batch, MAX_BATCH)?;
        let arch = match args.arch.map(|text| (text, Origin::flag("arch"))).or(preset
            .arch
            .clone()
            .zip(path)
            .map(|(text, path)| (text, Origin::preset(path, "arch"))))
        {
            Some((text, origin)) => {
                if let Some((name, _)) = architecture_given.iter().find(|(_, given)| *given) {
                    return Err(Error::input(format!(
                        "{origin}: --arch replaces --{name} (the architecture says it); give one or the other"
                    )));
                }
                let arch: Arch = text.parse().map_err(|e: Error| {
                    Error::input(format!(
                        "{origin}: {}",
                        e.to_string().trim_start_matches("--arch: ")
                    ))
                })?;
                Some(arch.for_mnist(&origin.to_string())?)
            }
            None => None,
        };
        let (activations, depths, widths) = match &arch {
            Some(arch) => {
                let (activation, depth) = arch.grid_point();
                (vec![activation], vec![depth], vec![0])
            }
            None => (activations, depths, widths),
        };
        let grid = OptimizeGrid {
            arch,
            data,
            activations,
            depths,
            widths,
            optimizers,
            scalings,
            deltas,
            lrs,
            seeds,
            seed,
            steps,
            eval_every,
            batch_size,
            loss: Loss::CrossEntropy,
            beta1: Hyperparameters::BETA1,
            beta2: Hyperparameters::BETA2,
            eps: Hyperparameters::EPS,
        };
        grid.check("")?;
        let run = RunOptions::from_args(
            args.run,
            PresetRun {
                threads: preset.threads,
                out_dir: preset.out_dir,
                shard: preset.shard,
            },
            grid.n_cells(),
        )?;
        let threads = run.threads;
        // The data sets' sizes come from their files' headers, which are checked on the
        // way: a missing file or an empty split is refused here, before any work.
        let data = planned_bytes(&grid.data)? as f64;
        check_memory(
            grid.bytes_per_worker() * threads as f64 + data,
            &format!(
                "the grid ({threads} threads and {:.2} GiB of data sets; use smaller --widths, \
                 fewer --threads or smaller data sets)",
                data / (1u64 << 30) as f64
            ),
        )?;
        Ok(OptimizeSpec { grid, run })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::RunArgs;

    fn spec(args: OptimizeArgs) -> Result<OptimizeSpec> {
        OptimizeSpec::try_from(args)
    }

    #[test]
    fn defaults_cover_every_optimizer_with_and_without_scaling() {
        let spec = spec(OptimizeArgs {
            run: RunArgs {
                threads: Some(2),
                ..RunArgs::default()
            },
            ..OptimizeArgs::default()
        })
        .unwrap();
        let grid = &spec.grid;
        assert_eq!(grid.optimizers, Optimizer::ALL.to_vec());
        assert_eq!(grid.scalings, ["none", "hesscale"]);
        assert_eq!(grid.deltas, [DEFAULT_DELTA]);
        assert_eq!(grid.lrs, DEFAULT_LRS);
        assert_eq!(grid.data, [DataSet::Mnist]);
        assert_eq!(
            (grid.widths.as_slice(), grid.depths.as_slice()),
            (&[64][..], &[3][..])
        );
        assert_eq!(grid.activations, [Activation::Tanh]);
        assert_eq!(
            (grid.seeds, grid.steps, grid.eval_every, grid.batch_size),
            (3, 1000, 100, 32)
        );
        assert_eq!(grid.scaling_variants().len(), 2);
        assert_eq!(grid.n_cells(), 6 * 2 * 5 * 3);
        assert_eq!(spec.run.out_dir, PathBuf::from("results"));
    }

    #[test]
    fn each_delta_is_a_scaled_variant_and_the_schedule_ends_at_the_last_step() {
        let spec = spec(OptimizeArgs {
            scaling: Some(vec!["hesscale".into(), "none".into()]),
            delta: Some(vec![1e-8, 1e-2]),
            steps: Some(250),
            ..OptimizeArgs::default()
        })
        .unwrap();
        assert_eq!(
            spec.grid.scaling_variants(),
            [
                Scaling::HesScale { delta: 1e-8 },
                Scaling::HesScale { delta: 1e-2 },
                Scaling::None
            ]
        );
        assert_eq!(spec.grid.evaluation_steps(), [0, 100, 200, 250]);
        let grid = OptimizeGrid {
            eval_every: 50,
            ..spec.grid.clone()
        };
        assert_eq!(grid.evaluation_steps(), [0, 50, 100, 150, 200, 250]);
    }

    #[test]
    fn the_grid_round_trips_through_its_json_record() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/data/mnist");
        let grid = spec(OptimizeArgs {
            data: Some(vec!["mnist".into(), format!("mnist:{dir}")]),
            ..OptimizeArgs::default()
        })
        .unwrap()
        .grid;
        let json = grid.to_json();
        assert_eq!(json["optimizers"][2], "adahessian");
        assert_eq!(json["data"][1], format!("mnist:{dir}"));
        assert_eq!(json["lrs"][0], 1e-4);
        assert_eq!(OptimizeGrid::from_json(&json).unwrap(), grid);
        let mut bad = json.clone();
        bad["lrs"] = serde_json::json!([0.0]);
        assert!(OptimizeGrid::from_json(&bad).is_err());
        let mut bad = json.clone();
        bad["optimizers"] = serde_json::json!(["adamw"]);
        assert!(OptimizeGrid::from_json(&bad).is_err());
    }

    #[test]
    fn bad_values_name_the_flag() {
        let cases = [
            (
                OptimizeArgs {
                    optimizers: Some(vec!["adamw".into()]),
                    ..OptimizeArgs::default()
                },
                "--optimizers: unknown optimizer 'adamw'",
            ),
            (
                OptimizeArgs {
                    optimizers: Some(vec!["sgd".into(), "sgd".into()]),
                    ..OptimizeArgs::default()
                },
                "--optimizers: sgd is listed twice",
            ),
            (
                OptimizeArgs {
                    scaling: Some(vec!["trust".into()]),
                    ..OptimizeArgs::default()
                },
                "--scaling: unknown step-size scaling 'trust'",
            ),
            (
                OptimizeArgs {
                    lrs: Some(vec![1e-3, -1.0]),
                    ..OptimizeArgs::default()
                },
                "--lrs: a step size of -1 is not a finite number > 0",
            ),
            (
                OptimizeArgs {
                    delta: Some(vec![f64::INFINITY]),
                    ..OptimizeArgs::default()
                },
                "--delta: a delta of inf",
            ),
            (
                OptimizeArgs {
                    data: Some(vec!["random".into()]),
                    ..OptimizeArgs::default()
                },
                "--data: unknown data set 'random'",
            ),
            (
                OptimizeArgs {
                    eval_every: Some(0),
                    ..OptimizeArgs::default()
                },
                "--eval-every: an evaluation interval of 0",
            ),
            (
                OptimizeArgs {
                    steps: Some(0),
                    ..OptimizeArgs::default()
                },
                "--steps: a step count of 0",
            ),
            (
                OptimizeArgs {
                    run: RunArgs {
                        shard: Some("100/91".into()),
                        ..RunArgs::default()
                    },
                    ..OptimizeArgs::default()
                },
                "--shard: '100/91'",
            ),
        ];
        for (args, expected) in cases {
            let message = spec(args).unwrap_err().to_string();
            assert!(message.contains(expected), "'{message}' lacks '{expected}'");
        }
    }

    #[test]
    fn flags_override_the_preset_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(
            &path,
            r#"{"lrs": [3e-6, "1e-2", 1], "delta": 1e-8, "optimizers": "adam,sgd", "depths": [1],
                "seeds": 2.0, "steps": 50, "description": "x"}"#,
        )
        .unwrap();
        let spec = spec(OptimizeArgs {
            seeds: Some(4),
            run: RunArgs {
                preset: Some(path.clone()),
                ..RunArgs::default()
            },
            ..OptimizeArgs::default()
        })
        .unwrap();
        let grid = &spec.grid;
        assert_eq!(grid.lrs, [3e-6, 1e-2, 1.0]);
        assert_eq!(grid.deltas, [1e-8]);
        assert_eq!(grid.optimizers, [Optimizer::Adam, Optimizer::Sgd]);
        assert_eq!((grid.depths[0], grid.seeds, grid.steps), (1, 4, 50));
        let error = spec_with_preset(r#"{"lrs": [1e-3, 0]}"#);
        assert!(error.contains("key 'lrs': a step size of 0"), "{error}");
        let error = spec_with_preset(r#"{"lr": 1}"#);
        assert!(error.contains("unknown field `lr`"), "{error}");
    }

    fn spec_with_preset(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, text).unwrap();
        spec(OptimizeArgs {
            run: RunArgs {
                preset: Some(path),
                ..RunArgs::default()
            },
            ..OptimizeArgs::default()
        })
        .unwrap_err()
        .to_string()
    }
}
