//! The checked configuration of `hesscale-cli rl` (the ICML 2024 RL study): the grid of agent runs
//! (tasks, agents, optimizers, scalings, step sizes, seeds), how many environment steps
//! each takes, and how to run them. Values come from an explicit flag, the `--preset` JSON
//! file, or the default, in that order; an error names where the value came from.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cli::RlArgs;
use crate::config::grid::{self, Axis};
use crate::config::preset::{
    self, count_option, distinct, list_option, numbers_option, Origin, Whole,
};
use crate::config::quality::{MAX_CELLS, MAX_SEEDS};
use crate::config::run::{PresetRun, RunOptions};
use crate::config::{check_nonempty, check_range};
use crate::envs::Task;
use crate::error::{Error, Result};
use crate::nn::{Policy, VarianceHead};
use crate::rl::AgentKind;
use crate::train::{Hyperparameters, Optimizer, Scaling};

/// The most environment steps of one run.
pub const MAX_STEPS: usize = 100_000_000;

/// The default step sizes: the middle of the paper's RL grid.
pub const DEFAULT_LRS: [f64; 3] = [1e-4, 1e-3, 1e-2];

/// The δ of the hesscale scaling in the ICML 2024 RL runs (SPEC §9).
pub const DEFAULT_DELTA: f64 = 1e-8;

/// The ε of the Adam-style optimizers in the ICML 2024 RL runs (SPEC §9).
pub const DEFAULT_EPS: f64 = 1e-5;

/// The optimizers of the paper's RL study, the default of `--optimizers`.
pub const DEFAULT_OPTIMIZERS: [Optimizer; 4] = [
    Optimizer::Adam,
    Optimizer::AdaHessian,
    Optimizer::AdaHesScale,
    Optimizer::AdaHesScaleGn,
];

/// What is computed: the grid of runs. Two runs with equal grids write the same
/// `rl_curves.csv`, `rl_runs.csv` and `rl_summary.csv` byte for byte. Recorded under
/// `config` in `rl.meta.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RlGrid {
    pub envs: Vec<Task>,
    pub agents: Vec<AgentKind>,
    pub optimizers: Vec<Optimizer>,
    /// Step-size scalings by name ([`Scaling::NAMES`]).
    pub scalings: Vec<String>,
    /// δ of the `hesscale` scaling.
    pub delta: f64,
    /// Step sizes α, of every network's optimizer.
    pub lrs: Vec<f64>,
    /// Runs per grid point; the seed column runs 0..seeds.
    pub seeds: usize,
    /// The base seed of every random stream.
    pub seed: u64,
    /// Environment steps per run.
    pub steps: usize,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// The Gaussian policies' variance head (the network's depth follows it); absent from
    /// the recorded configuration when it is the default, `softplus`.
    #[serde(default, skip_serializing_if = "VarianceHead::is_softplus")]
    pub variance_head: VarianceHead,
}

/// A checked `rl` request.
#[derive(Clone, Debug, PartialEq)]
pub struct RlSpec {
    pub grid: RlGrid,
    pub run: RunOptions,
}

impl RlGrid {
    /// The step-size scalings of the grid, in order.
    pub fn scaling_variants(&self) -> Vec<Scaling> {
        self.scalings
            .iter()
            .map(|name| Scaling::new(name, self.delta).expect("checked"))
            .collect()
    }

    /// The grid's axes, in canonical order (the seed varying fastest): the scaling axis
    /// holds the [`RlGrid::scaling_variants`].
    pub fn axes(&self) -> [Axis; 6] {
        [
            Axis::new(&["envs"], self.envs.len()),
            Axis::new(&["agents"], self.agents.len()),
            Axis::new(&["optimizers"], self.optimizers.len()),
            Axis::new(&["scalings"], self.scalings.len()),
            Axis::new(&["lrs"], self.lrs.len()),
            Axis::new(&["seeds"], self.seeds),
        ]
    }

    /// The number of runs (saturating).
    pub fn n_cells(&self) -> usize {
        grid::count(&self.axes())
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

    /// Check every value (`origin` names where the grid came from): non-empty axes,
    /// optimizers that apply to policy losses, positive step sizes and δ, enough steps for
    /// every task's episode limit, and a grid of at most [`MAX_CELLS`] runs.
    pub fn check(&self, origin: &str) -> Result<()> {
        let field = |key: &str| format!("{origin}{key}");
        check_nonempty(
            origin,
            &[
                ("envs", self.envs.is_empty()),
                ("agents", self.agents.is_empty()),
                ("optimizers", self.optimizers.is_empty()),
                ("scalings", self.scalings.is_empty()),
                ("lrs", self.lrs.is_empty()),
            ],
        )?;
        check_optimizers(field("optimizers"), &self.optimizers)?;
        for name in &self.scalings {
            Scaling::new(name, self.delta)
                .map_err(|e| Error::input(format!("{}: {e}", field("scalings"))))?;
        }
        for &lr in &self.lrs {
            if !(lr.is_finite() && lr > 0.0) {
                return Err(Error::input(format!(
                    "{}: a step size of {lr} is not a finite number > 0",
                    field("lrs")
                )));
            }
        }
        self.hyperparameters(1.0)
            .check()
            .map_err(|e| Error::input(format!("{origin}{e}")))?;
        check_range(field("seeds"), "a seed count", self.seeds, MAX_SEEDS)?;
        check_range(field("steps"), "a step count", self.steps, MAX_STEPS)?;
        check_steps(field("steps"), self.steps, &self.envs)?;
        let cells = self.n_cells();
        if cells == 0 || cells > MAX_CELLS {
            return Err(Error::input(format!(
                "{origin}the grid has {cells} runs; it must have between 1 and {MAX_CELLS}"
            )));
        }
        Ok(())
    }

    /// The grid as recorded under `config` in `rl.meta.json`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a grid serialises")
    }

    /// A grid recorded by [`RlGrid::to_json`], read back and checked.
    pub fn from_json(config: &Value) -> Result<RlGrid> {
        let grid: RlGrid = serde_json::from_value(config.clone())
            .map_err(|e| Error::input(format!("config: {e}")))?;
        grid.check("config: ")?;
        Ok(grid)
    }
}

/// The optimizers given by `origin` apply to policy losses: each one's curvature method
/// serves them, as its declaration says ([`Optimizer::serves`]).
fn check_optimizers(origin: impl std::fmt::Display, optimizers: &[Optimizer]) -> Result<()> {
    for optimizer in optimizers {
        optimizer
            .serves(&Policy)
            .map_err(|e| Error::input(format!("{origin}: {e}")))?;
    }
    Ok(())
}

/// The steps given by `origin` finish at least one episode of every task (so every run
/// that does not diverge has a return).
fn check_steps(origin: impl std::fmt::Display, steps: usize, envs: &[Task]) -> Result<()> {
    match envs
        .iter()
        .find(|task| task.make().max_episode_steps() > steps)
    {
        Some(task) => Err(Error::input(format!(
            "{origin}: {steps} steps do not finish one {task} episode ({} steps)",
            task.make().max_episode_steps()
        ))),
        None => Ok(()),
    }
}

/// A preset of `rl`: any option but `--preset` and `--resume`, plus a description.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RlPreset {
    /// Free text for the reader of the file.
    #[serde(rename = "description")]
    _description: Option<String>,
    envs: Option<Value>,
    agents: Option<Value>,
    optimizers: Option<Value>,
    #[serde(alias = "scalings")]
    scaling: Option<Value>,
    delta: Option<Value>,
    lrs: Option<Value>,
    seeds: Option<Whole>,
    seed: Option<Whole>,
    steps: Option<Whole>,
    variance_head: Option<String>,
    threads: Option<Whole>,
    out_dir: Option<PathBuf>,
    shard: Option<String>,
}

/// The names of a list parsed (`all` for every value of `all`), each once.
fn named<T: std::str::FromStr<Err = Error> + PartialEq + std::fmt::Display + Copy>(
    origin: &Origin,
    names: &[String],
    all: &[T],
) -> Result<Vec<T>> {
    let mut list = Vec::new();
    for name in names {
        if name == "all" {
            list.extend_from_slice(all);
        } else {
            list.push(
                name.parse()
                    .map_err(|e| Error::input(format!("{origin}: {e}")))?,
            );
        }
    }
    distinct(origin, list)
}

impl TryFrom<RlArgs> for RlSpec {
    type Error = Error;

    fn try_from(args: RlArgs) -> Result<Self> {
        let preset: RlPreset = match &args.run.preset {
            Some(path) => preset::read(path)?,
            None => RlPreset::default(),
        };
        let path = args.run.preset.as_deref();
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();

        let (names, origin) = list_option(
            args.envs,
            "envs",
            preset.envs.as_ref(),
            path,
            "envs",
            strings(&["pendulum", "cartpole"]),
        )?;
        let envs = named(&origin, &names, Task::ALL)?;
        let (names, origin) = list_option(
            args.agents,
            "agents",
            preset.agents.as_ref(),
            path,
            "agents",
            strings(&["all"]),
        )?;
        let agents = named(&origin, &names, &AgentKind::ALL)?;
        let (names, origin) = list_option(
            args.optimizers,
            "optimizers",
            preset.optimizers.as_ref(),
            path,
            "optimizers",
            DEFAULT_OPTIMIZERS.map(|o| o.name().to_string()).to_vec(),
        )?;
        let optimizers = named(&origin, &names, &DEFAULT_OPTIMIZERS)?;
        check_optimizers(&origin, &optimizers)?;
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
            args.delta.map(|d| vec![d]),
            "delta",
            preset.delta.as_ref(),
            path,
            "delta",
            vec![DEFAULT_DELTA],
        )?;
        let delta = match deltas.as_slice() {
            [delta] if delta.is_finite() && *delta > 0.0 => *delta,
            _ => {
                return Err(Error::input(format!(
                    "{origin}: give one delta, a finite number > 0"
                )))
            }
        };
        let (lrs, origin) = numbers_option(
            args.lrs,
            "lrs",
            preset.lrs.as_ref(),
            path,
            "lrs",
            DEFAULT_LRS.to_vec(),
        )?;
        if let Some(bad) = lrs.iter().find(|lr| !(lr.is_finite() && **lr > 0.0)) {
            return Err(Error::input(format!(
                "{origin}: a step size of {bad} is not a finite number > 0"
            )));
        }
        let lrs = distinct(&origin, lrs)?;
        let (seeds, origin) = count_option(args.seeds, "seeds", preset.seeds, path, "seeds", 3);
        let seeds = check_range(&origin, "a seed count", seeds, MAX_SEEDS)?;
        let seed = args
            .seed
            .or(preset.seed.map(|Whole(seed)| seed))
            .unwrap_or(0);
        let (steps, origin) =
            count_option(args.steps, "steps", preset.steps, path, "steps", 20_000);
        let steps = check_range(&origin, "a step count", steps, MAX_STEPS)?;
        check_steps(&origin, steps, &envs)?;
        let preset_head = match (preset.variance_head, path) {
            (Some(name), Some(path)) => {
                let origin = Origin::preset(path, "variance_head");
                let head = name
                    .parse::<VarianceHead>()
                    .map_err(|e| Error::input(format!("{origin}: {e}")))?;
                Some((head, origin))
            }
            _ => None,
        };
        let (variance_head, _) = preset::choose(
            args.variance_head,
            "variance-head",
            preset_head,
            VarianceHead::default,
        );
        let grid = RlGrid {
            envs,
            agents,
            optimizers,
            scalings,
            delta,
            lrs,
            seeds,
            seed,
            steps,
            beta1: Hyperparameters::BETA1,
            beta2: Hyperparameters::BETA2,
            eps: DEFAULT_EPS,
            variance_head,
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
        Ok(RlSpec { grid, run })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(variance_head: VarianceHead) -> RlGrid {
        RlGrid {
            envs: vec![Task::Pendulum],
            agents: vec![AgentKind::Ppo],
            optimizers: vec![Optimizer::Adam],
            scalings: vec!["none".into()],
            delta: DEFAULT_DELTA,
            lrs: vec![1e-3],
            seeds: 1,
            seed: 0,
            steps: 1000,
            beta1: Hyperparameters::BETA1,
            beta2: Hyperparameters::BETA2,
            eps: DEFAULT_EPS,
            variance_head,
        }
    }

    /// The default head is not recorded, so the configuration of an out-dir written before
    /// the option existed reads back as the same grid (and resumes); `exp` is recorded and
    /// read back.
    #[test]
    fn the_variance_head_is_recorded_only_when_not_the_default() {
        let softplus = grid(VarianceHead::Softplus).to_json();
        assert!(softplus.get("variance_head").is_none());
        assert_eq!(
            RlGrid::from_json(&softplus).unwrap(),
            grid(VarianceHead::Softplus)
        );
        let exp = grid(VarianceHead::Exp).to_json();
        assert_eq!(exp["variance_head"], "exp");
        assert_eq!(RlGrid::from_json(&exp).unwrap(), grid(VarianceHead::Exp));
        let mut bad = exp.clone();
        bad["variance_head"] = "relu".into();
        assert_eq!(
            RlGrid::from_json(&bad).unwrap_err().to_string(),
            "config: unknown variance head 'relu' (expected one of: softplus, exp)"
        );
    }
}
