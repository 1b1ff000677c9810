//! The rl study (the ICML 2024 RL study) on the engine: a cell is one agent run (a task, an agent, an
//! optimizer for every network, a step-size scaling, a step size and a seed). It appends
//! its finished episodes to `rl_curves.csv`, one row to `rl_runs.csv` (steps, episodes,
//! divergence) and one to `rl_timing.csv`; `rl_summary.csv` is computed from the curve and
//! run rows at the end.
//!
//! Randomness (SPEC §5): a run's streams are keyed by its task, agent and seed only
//! ([`Cell::stream_key`]), so every optimizer, scaling and step size of a seed starts from
//! the same networks and the same environment and action streams (paired comparisons).

pub mod rows;

use std::time::Instant;

use serde_json::Value;

use crate::config::grid;
use crate::config::rl::RlGrid;
use crate::envs::{ActionSpace, Task};
use crate::error::{Error, Result};
use crate::io::format::number;
use crate::io::table;
use crate::rl::{Agent, AgentConfig, AgentKind};
use crate::rng::stream_id;
use crate::study::engine::{Study, Table};
use crate::study::estimate::agent_network_work;
use crate::study::SummaryFile;
use crate::train::{Optimizer, OptimizerConfig, Scaling};
use rows::{
    CurveRow, RunKey, RunRow, SummaryRow, TimingRow, CURVES_FILE, RUNS_FILE, SUMMARY_FILE,
    SUMMARY_HEADER, TIMING_FILE,
};

/// One cell of the rl grid: one agent run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cell {
    pub env: Task,
    pub agent: AgentKind,
    pub optimizer: Optimizer,
    pub scaling: Scaling,
    pub lr: f64,
    /// The seed index, 0..seeds.
    pub seed: usize,
}

impl Cell {
    /// The stable key of the run's random streams: the task, the agent and the seed.
    pub fn stream_key(&self) -> u64 {
        stream_id(&format!("rl/{}/{}/{}", self.env, self.agent, self.seed))
    }
}

/// The study's name: its subcommand and its files `rl.meta.json`, `rl.ledger.csv`.
pub const NAME: &str = "rl";

/// The files the study writes whole at the end.
pub const SUMMARIES: [SummaryFile; 1] = [SummaryFile {
    file: SUMMARY_FILE,
    header: SUMMARY_HEADER,
    what: "an rl summary",
}];

/// The rl study of a grid.
pub struct RlStudy {
    pub grid: RlGrid,
}

impl RlStudy {
    /// The study of `grid`.
    pub fn new(grid: RlGrid) -> RlStudy {
        RlStudy { grid }
    }

    /// The settings of a cell's agent: its kind's, with the grid's variance head.
    pub fn agent_config(&self, cell: &Cell) -> AgentConfig {
        AgentConfig {
            variance_head: self.grid.variance_head,
            ..cell.agent.config()
        }
    }

    /// The key columns of a cell's rows.
    pub fn run_key(&self, cell: &Cell) -> RunKey {
        RunKey {
            env: cell.env,
            agent: cell.agent,
            optimizer: cell.optimizer,
            scaling: cell.scaling.name().to_string(),
            lr: cell.lr,
            seed: cell.seed,
        }
    }

    /// A block's rows, each of `key`.
    fn keyed<R: table::Row>(
        block: &str,
        key: &RunKey,
        key_of: impl Fn(&R) -> RunKey,
    ) -> std::result::Result<Vec<R>, String> {
        let rows: Vec<R> = table::parse(block, 1)?;
        match rows.iter().find(|row| key_of(row) != *key) {
            Some(row) => Err(format!(
                "a row of another run ({}), expected {}",
                key_of(row),
                key
            )),
            None => Ok(rows),
        }
    }
}

/// A key for the example rows the headers are made from.
fn example_key() -> RunKey {
    RunKey {
        env: Task::Pendulum,
        agent: AgentKind::A2c,
        optimizer: Optimizer::Adam,
        scaling: String::new(),
        lr: 1.0,
        seed: 0,
    }
}

impl Study for RlStudy {
    type Cell = Cell;

    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> Vec<Table> {
        let key = example_key();
        vec![
            Table {
                file: CURVES_FILE,
                header: table::header(&CurveRow::new(&key, 0, 0.0)),
                timing: false,
            },
            Table {
                file: RUNS_FILE,
                header: table::header(&RunRow::new(&key, 0, 0, false)),
                timing: false,
            },
            Table {
                file: TIMING_FILE,
                header: table::header(&TimingRow::new(&key, 0, 0.0)),
                timing: true,
            },
        ]
    }

    fn summary_files(&self) -> Vec<&'static str> {
        SUMMARIES.iter().map(|summary| summary.file).collect()
    }

    /// Canonical order: task, agent, optimizer, scaling, step size, seed, each axis in
    /// the order given, the seed varying fastest.
    fn grid_cells(&self) -> Vec<Cell> {
        let grid = &self.grid;
        let scalings = grid.scaling_variants();
        grid::points(&grid.axes())
            .map(|point| Cell {
                env: grid.envs[point[0]],
                agent: grid.agents[point[1]],
                optimizer: grid.optimizers[point[2]],
                scaling: scalings[point[3]],
                lr: grid.lrs[point[4]],
                seed: point[5],
            })
            .collect()
    }

    /// `env/agent/optimizer/scaling/lr/seed`, e.g. `cartpole/ppo/adahesscale/hesscale/0.001/2`.
    fn cell_key(&self, cell: &Cell) -> String {
        format!(
            "{}/{}/{}/{}/{}/{}",
            cell.env,
            cell.agent,
            cell.optimizer,
            cell.scaling.name(),
            number(cell.lr),
            cell.seed
        )
    }

    /// The estimated work of the run ([`crate::study::estimate::agent_network_work`]): per
    /// environment step, every network acting, and (each sample being stepped on once per
    /// epoch) per epoch its gradient and the curvature methods the optimizer and its
    /// scaling compute.
    fn cell_work(&self, cell: &Cell) -> f64 {
        let config = OptimizerConfig {
            scaling: cell.scaling,
            ..OptimizerConfig::new(cell.optimizer, cell.lr)
        };
        let agent = self.agent_config(cell);
        let env = cell.env.make();
        // (hidden layers, outputs) of every network.
        let mut networks = match env.action_space() {
            ActionSpace::Continuous { low, .. } => {
                vec![(2, low.len()), (agent.variance_hidden_layers(), low.len())]
            }
            ActionSpace::Discrete(actions) => vec![(2, actions)],
        };
        networks.push((2, 1));
        let methods: Vec<_> = [config.curvature(), config.scaling_curvature()]
            .into_iter()
            .flatten()
            .collect();
        let per_step: f64 = networks
            .into_iter()
            .map(|(hidden, out)| {
                let mut widths = vec![env.observation_dim()];
                widths.extend(std::iter::repeat_n(agent.width, hidden));
                widths.push(out);
                agent_network_work(&widths, agent.epochs, &methods)
            })
            .sum();
        self.grid.steps as f64 * per_step
    }

    fn run_cell(&self, cell: &Cell) -> Result<Vec<String>> {
        let key = self.run_key(cell);
        let optimizer = OptimizerConfig {
            optimizer: cell.optimizer,
            hyperparameters: self.grid.hyperparameters(cell.lr),
            scaling: cell.scaling,
        };
        let agent = Agent::new(
            cell.env,
            self.agent_config(cell),
            optimizer,
            self.grid.seed,
            cell.stream_key(),
        )?;
        let start = Instant::now();
        let outcome = agent.run(self.grid.steps as u64)?;
        let seconds = start.elapsed().as_secs_f64();
        // A run diverged when it stopped before its last step; one whose networks broke
        // in the update after its last rollout earned every return it has.
        let diverged = outcome.diverged && outcome.steps < self.grid.steps as u64;
        let curves: Vec<CurveRow> = outcome
            .episodes
            .iter()
            .map(|e| CurveRow::new(&key, e.step, e.episode_return))
            .collect();
        let run = RunRow::new(&key, outcome.steps, curves.len(), diverged);
        let per_step = seconds / outcome.steps.max(1) as f64;
        let timing = TimingRow::new(&key, outcome.steps, per_step);
        Ok(vec![
            table::lines(&curves),
            table::lines(&[run]),
            table::lines(&[timing]),
        ])
    }

    fn check_block(
        &self,
        table: usize,
        cell: &Cell,
        block: &str,
    ) -> std::result::Result<(), String> {
        let key = self.run_key(cell);
        let steps = self.grid.steps as u64;
        match table {
            0 => {
                let rows = Self::keyed(block, &key, CurveRow::key)?;
                let mut last = 0;
                for row in &rows {
                    if row.step <= last || row.step > steps {
                        return Err(format!(
                            "an episode ending at step {} after one at {last} (a run takes {steps})",
                            row.step
                        ));
                    }
                    last = row.step;
                }
                Ok(())
            }
            1 => match Self::keyed(block, &key, RunRow::key)?.as_slice() {
                [row] if row.steps > steps => Err(format!("{} steps, over {steps}", row.steps)),
                [row] if !row.diverged && row.steps != steps => Err(format!(
                    "{} steps without diverging, not {steps}",
                    row.steps
                )),
                [row] if row.diverged && row.steps == steps => Err(format!(
                    "the run is marked diverged, but it took all {steps} steps"
                )),
                [_] => Ok(()),
                rows => Err(format!("{} run rows, expected 1", rows.len())),
            },
            _ => match Self::keyed(block, &key, TimingRow::key)?.as_slice() {
                [_] => Ok(()),
                rows => Err(format!("{} timing rows, expected 1", rows.len())),
            },
        }
    }

    /// The run row's episodes are the curve's rows, the last ending by its steps; the
    /// timing row took the run's steps.
    fn check_cell(&self, _cell: &Cell, blocks: &[String]) -> std::result::Result<(), String> {
        let curves: Vec<CurveRow> = table::parse(&blocks[0], 1)?;
        let runs: Vec<RunRow> = table::parse(&blocks[1], 1)?;
        let timings: Vec<TimingRow> = table::parse(&blocks[2], 1)?;
        let (Some(run), Some(timing)) = (runs.first(), timings.first()) else {
            return Err("no run or timing row".to_string());
        };
        if run.episodes != curves.len() {
            return Err(format!(
                "{RUNS_FILE} records {} episodes, but {CURVES_FILE} holds {}",
                run.episodes,
                curves.len()
            ));
        }
        if let Some(last) = curves.last().filter(|last| last.step > run.steps) {
            return Err(format!(
                "an episode ends at step {} of a run of {} steps",
                last.step, run.steps
            ));
        }
        if timing.steps != run.steps {
            return Err(format!(
                "{TIMING_FILE} records {} steps, but {RUNS_FILE} {}",
                timing.steps, run.steps
            ));
        }
        Ok(())
    }

    fn summaries(&self, tables: &[String]) -> Result<Vec<(&'static str, Vec<u8>)>> {
        let curves: Vec<CurveRow> = table::parse(&tables[0], 2).map_err(Error::input)?;
        let runs: Vec<RunRow> = table::parse(&tables[1], 2).map_err(Error::input)?;
        let summary = rows::summarize(&runs, &curves, self.grid.steps as u64);
        Ok(vec![(
            SUMMARY_FILE,
            table::file_text(SUMMARY_HEADER, &table::lines(&summary)).into_bytes(),
        )])
    }

    fn config(&self) -> Value {
        self.grid.to_json()
    }

    fn grid_keys(&self) -> Vec<&'static str> {
        grid::keys(&self.grid.axes())
    }

    /// The best step size of each task, agent, optimizer and scaling: its mean return
    /// (± s.e. over seeds), normalised return, and diverged runs over all step sizes.
    fn report(&self, summaries: &[(&'static str, Vec<u8>)]) -> Option<String> {
        let (_, bytes) = summaries.iter().find(|(file, _)| *file == SUMMARY_FILE)?;
        let text = String::from_utf8_lossy(bytes);
        let rows: Vec<SummaryRow> = table::parse(text.split_once('\n')?.1, 2).ok()?;
        let mut out = format!(
            "{:<24} {:<5} {:<15} {:<9} {:>8} {:>20} {:>10} {:>9}\n",
            "task",
            "agent",
            "optimizer",
            "scaling",
            "best lr",
            "mean return ± se",
            "normalised",
            "diverged"
        );
        for best in rows.iter().filter(|row| row.best_lr) {
            let (diverged, runs) = rows
                .iter()
                .filter(|row| {
                    (row.env, row.agent, row.optimizer, &row.scaling)
                        == (best.env, best.agent, best.optimizer, &best.scaling)
                })
                .fold((0, 0), |(d, n), row| (d + row.diverged, n + row.seeds));
            let mean = match (best.mean_return, best.mean_return_se) {
                (Some(mean), Some(se)) => format!("{mean:.1} ± {se:.1}"),
                (Some(mean), None) => format!("{mean:.1}"),
                _ => "-".to_string(),
            };
            out += &format!(
                "{:<24} {:<5} {:<15} {:<9} {:>8} {:>20} {:>10.3} {:>9}\n",
                best.env.to_string(),
                best.agent.to_string(),
                best.optimizer.to_string(),
                best.scaling,
                number(best.lr),
                mean,
                best.normalized_return,
                format!("{diverged}/{runs}")
            );
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Hyperparameters;

    fn study() -> RlStudy {
        RlStudy::new(RlGrid {
            envs: vec![Task::CartPole],
            agents: vec![AgentKind::A2c, AgentKind::Ppo],
            optimizers: vec![Optimizer::Adam],
            scalings: vec!["none".into(), "hesscale".into()],
            delta: 1e-8,
            lrs: vec![1e-3, 1e-2],
            seeds: 2,
            seed: 0,
            steps: 600,
            beta1: Hyperparameters::BETA1,
            beta2: Hyperparameters::BETA2,
            eps: 1e-5,
            variance_head: Default::default(),
        })
    }

    #[test]
    fn cells_come_in_canonical_order_with_the_seed_fastest() {
        let study = study();
        let keys: Vec<String> = study
            .grid_cells()
            .iter()
            .map(|cell| study.cell_key(cell))
            .collect();
        assert_eq!(keys.len(), 2 * 2 * 2 * 2);
        assert_eq!(
            keys[..5],
            [
                "cartpole/a2c/adam/none/0.001/0",
                "cartpole/a2c/adam/none/0.001/1",
                "cartpole/a2c/adam/none/0.01/0",
                "cartpole/a2c/adam/none/0.01/1",
                "cartpole/a2c/adam/hesscale/0.001/0",
            ]
        );
        assert_eq!(keys[15], "cartpole/ppo/adam/hesscale/0.01/1");
    }

    /// Every optimizer, scaling and step size of a seed shares its streams; the seed and
    /// the agent change them.
    #[test]
    fn the_streams_depend_on_the_task_agent_and_seed_only() {
        let cells = study().grid_cells();
        let key = |agent, seed| {
            let keys: Vec<u64> = cells
                .iter()
                .filter(|c| c.agent == agent && c.seed == seed)
                .map(Cell::stream_key)
                .collect();
            assert!(keys.iter().all(|&k| k == keys[0]));
            keys[0]
        };
        assert_ne!(key(AgentKind::A2c, 0), key(AgentKind::A2c, 1));
        assert_ne!(key(AgentKind::A2c, 0), key(AgentKind::Ppo, 0));
    }

    /// A cell's blocks read back; another cell's, or episodes out of order, are refused.
    #[test]
    fn blocks_are_checked_against_their_cell() {
        let study = study();
        let cells = study.grid_cells();
        let blocks = study.run_cell(&cells[0]).unwrap();
        assert_eq!(
            study.run_cell(&cells[0]).unwrap()[..2],
            blocks[..2],
            "reproducible"
        );
        for (table, block) in blocks.iter().enumerate() {
            assert!(study.check_block(table, &cells[0], block).is_ok());
            assert!(study.check_block(table, &cells[1], block).is_err());
        }
        let lines: Vec<&str> = blocks[0].lines().collect();
        assert!(lines.len() >= 2, "cartpole episodes are short at first");
        let swapped = format!("{}\n{}\n", lines[1], lines[0]);
        assert!(study.check_block(0, &cells[0], &swapped).is_err());
        let run: Vec<RunRow> = table::parse(&blocks[1], 2).unwrap();
        assert_eq!((run[0].steps, run[0].episodes), (600, lines.len()));
        assert!(!run[0].diverged);
    }
}
