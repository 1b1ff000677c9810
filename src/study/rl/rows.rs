//! The rows of the rl study's files, one type per file, and the summary computed from the
//! rows alone (so a run, a resumed run and a merge of shards give the same summary). Every
//! row starts with the key of its run: task, agent, optimizer, scaling, step size, seed.

use serde::{Deserialize, Serialize};

use crate::envs::Task;
use crate::io::table::{finite, float, non_negative, optional_float, Row};
use crate::rl::AgentKind;
use crate::study::stats::{best_step_sizes, consecutive, mean, standard_error};
use crate::train::Optimizer;

/// `rl_curves.csv`: one row per finished episode.
pub const CURVES_FILE: &str = "rl_curves.csv";
/// `rl_runs.csv`: one row per run, its steps, episodes and whether it diverged.
pub const RUNS_FILE: &str = "rl_runs.csv";
/// `rl_timing.csv`: one row per run, its seconds per environment step.
pub const TIMING_FILE: &str = "rl_timing.csv";
/// `rl_summary.csv`: one row per grid point but the seed, over seeds.
pub const SUMMARY_FILE: &str = "rl_summary.csv";

/// The identity of one run, the leading columns of its rows.
#[derive(Clone, Debug, PartialEq)]
pub struct RunKey {
    pub env: Task,
    pub agent: AgentKind,
    pub optimizer: Optimizer,
    /// `none` or `hesscale`.
    pub scaling: String,
    pub lr: f64,
    pub seed: usize,
}

impl std::fmt::Display for RunKey {
    /// `pendulum, a2c, adam, scaling none, lr 0.001, seed 2`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, {}, {}, scaling {}, lr {}, seed {}",
            self.env,
            self.agent,
            self.optimizer,
            self.scaling,
            crate::io::format::number(self.lr),
            self.seed
        )
    }
}

/// Rows that start with a run's key.
macro_rules! keyed_row {
    ($(#[$doc:meta])* $name:ident { $($(#[$field_doc:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            pub env: Task,
            pub agent: AgentKind,
            pub optimizer: Optimizer,
            pub scaling: String,
            #[serde(with = "float")]
            pub lr: f64,
            pub seed: usize,
            $($(#[$field_doc])* pub $field: $ty,)*
        }

        impl $name {
            /// The run the row belongs to.
            pub fn key(&self) -> RunKey {
                RunKey {
                    env: self.env,
                    agent: self.agent,
                    optimizer: self.optimizer,
                    scaling: self.scaling.clone(),
                    lr: self.lr,
                    seed: self.seed,
                }
            }

            /// The row of run `key` with the given values.
            pub fn new(key: &RunKey, $($field: $ty),*) -> Self {
                $name {
                    env: key.env,
                    agent: key.agent,
                    optimizer: key.optimizer,
                    scaling: key.scaling.clone(),
                    lr: key.lr,
                    seed: key.seed,
                    $($field,)*
                }
            }
        }
    };
}

keyed_row!(
    /// One row of `rl_curves.csv`: an episode that ended after `step` environment steps of
    /// the run, with its return (the sum of the environment's rewards).
    CurveRow {
        step: u64,
        #[serde(with = "float")]
        episode_return: f64,
    }
);

keyed_row!(
    /// One row of `rl_runs.csv`: the environment steps a run took, the episodes it
    /// finished, and whether it diverged (a network's loss or parameters stopped being
    /// finite, or its policy became unusable), which ended it.
    RunRow {
        steps: u64,
        episodes: usize,
        diverged: bool,
    }
);

keyed_row!(
    /// One row of `rl_timing.csv`: the wall time per environment step of a run (acting
    /// and updating).
    TimingRow {
        steps: u64,
        #[serde(with = "float")]
        seconds_per_step: f64,
    }
);

/// A step size > 0 and a known scaling, else a message.
fn check_key(key: &RunKey) -> Result<(), String> {
    non_negative("lr", key.lr)?;
    if key.lr == 0.0 {
        return Err("lr is 0".to_string());
    }
    match key.scaling.as_str() {
        "none" | "hesscale" => Ok(()),
        other => Err(format!("unknown scaling '{other}'")),
    }
}

impl Row for CurveRow {
    fn validate(&self) -> Result<(), String> {
        check_key(&self.key())?;
        finite("episode_return", self.episode_return)
    }
}

impl Row for RunRow {
    fn validate(&self) -> Result<(), String> {
        check_key(&self.key())
    }
}

impl Row for TimingRow {
    fn validate(&self) -> Result<(), String> {
        check_key(&self.key())?;
        non_negative("seconds_per_step", self.seconds_per_step)
    }
}

/// One row of `rl_summary.csv`: a grid point over its seeds.
///
/// A run's return is the mean return of the episodes it finished. Returns are normalised
/// per task over the study: `(R − R_min)/(R_max − R_min)` with the lowest and highest run
/// return of the task among the runs that did not diverge (1 where they are all equal).
/// A diverged run counts at the task's lowest run return (normalised 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub env: Task,
    pub agent: AgentKind,
    pub optimizer: Optimizer,
    pub scaling: String,
    #[serde(with = "float")]
    pub lr: f64,
    /// Runs (seeds) summarised.
    pub seeds: usize,
    /// Of them, the runs that diverged.
    pub diverged: usize,
    /// Environment steps per run.
    pub steps: u64,
    /// Mean over the seeds of the run's return (empty when no run of the task finished
    /// without diverging).
    #[serde(with = "optional_float")]
    pub mean_return: Option<f64>,
    /// Its standard error (n − 1 in the deviation; empty for fewer than two runs).
    #[serde(with = "optional_float")]
    pub mean_return_se: Option<f64>,
    /// Mean over the seeds of the run's normalised return.
    #[serde(with = "float")]
    pub normalized_return: f64,
    #[serde(with = "optional_float")]
    pub normalized_return_se: Option<f64>,
    /// Whether this is the best step size of its task, agent, optimizer and scaling: the
    /// highest `normalized_return`, the smaller step size on a tie.
    pub best_lr: bool,
}

impl Row for SummaryRow {}

/// The header of `rl_summary.csv` (the field names of [`SummaryRow`]).
pub const SUMMARY_HEADER: &str = "env,agent,optimizer,scaling,lr,seeds,diverged,steps,\
     mean_return,mean_return_se,normalized_return,normalized_return_se,best_lr";

/// `rl_summary.csv` from the run rows (one per run, canonical order: the seed fastest, then
/// the step size) and the curve rows (the episodes of those runs, in the same order).
pub fn summarize(runs: &[RunRow], curves: &[CurveRow], steps: u64) -> Vec<SummaryRow> {
    // Each run's return, from its own episodes (which follow in the curve rows).
    let mut episodes = curves.iter();
    let returns: Vec<Option<f64>> = runs
        .iter()
        .map(|run| {
            let own: Vec<f64> = episodes
                .by_ref()
                .take(run.episodes)
                .map(|row| row.episode_return)
                .collect();
            (!run.diverged && !own.is_empty()).then(|| mean(&own))
        })
        .collect();
    let range = |task: Task| {
        let of_task = runs
            .iter()
            .zip(&returns)
            .filter(|(run, _)| run.env == task)
            .filter_map(|(_, r)| *r);
        of_task.fold(None, |range: Option<(f64, f64)>, r| match range {
            None => Some((r, r)),
            Some((lo, hi)) => Some((lo.min(r), hi.max(r))),
        })
    };
    let point = |(run, _): &(&RunRow, Option<f64>)| RunKey {
        seed: 0,
        ..run.key()
    };
    let runs: Vec<(&RunRow, Option<f64>)> = runs.iter().zip(returns.iter().copied()).collect();
    let mut summary: Vec<SummaryRow> = consecutive(&runs, point)
        .into_iter()
        .map(|seeds| {
            let key = point(&seeds[0]);
            let range = range(key.env);
            let (raw, normalized): (Vec<f64>, Vec<f64>) = seeds
                .iter()
                .map(|(_, r)| match (r, range) {
                    (Some(r), Some((lo, hi))) if hi > lo => (*r, (r - lo) / (hi - lo)),
                    (Some(r), _) => (*r, 1.0),
                    (None, Some((lo, _))) => (lo, 0.0),
                    (None, None) => (f64::NAN, 0.0),
                })
                .unzip();
            let raw: Vec<f64> = raw.into_iter().filter(|r| !r.is_nan()).collect();
            SummaryRow {
                env: key.env,
                agent: key.agent,
                optimizer: key.optimizer,
                scaling: key.scaling.clone(),
                lr: key.lr,
                seeds: seeds.len(),
                diverged: seeds.iter().filter(|(run, _)| run.diverged).count(),
                steps,
                mean_return: (!raw.is_empty()).then(|| mean(&raw)),
                mean_return_se: standard_error(&raw),
                normalized_return: mean(&normalized),
                normalized_return_se: standard_error(&normalized),
                best_lr: false,
            }
        })
        .collect();
    mark_best(&mut summary);
    summary
}

/// Mark the best step size of each task, agent, optimizer and scaling (consecutive rows):
/// the highest `normalized_return`, the smaller step size on a tie.
fn mark_best(summary: &mut [SummaryRow]) {
    let family = |row: &SummaryRow| (row.env, row.agent, row.optimizer, row.scaling.clone());
    for best in best_step_sizes(summary, family, |row| row.normalized_return, |row| row.lr) {
        summary[best].best_lr = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(optimizer: Optimizer, lr: f64, seed: usize) -> RunKey {
        RunKey {
            env: Task::CartPole,
            agent: AgentKind::A2c,
            optimizer,
            scaling: "none".to_string(),
            lr,
            seed,
        }
    }

    /// Four runs at two step sizes: returns 10 and 30 at lr 0.1; at lr 1 one run of
    /// return 50 and one diverged run (counted at the lowest run return, 10). So the task's
    /// range is [10, 50]: normalised 0 and 0.5 at lr 0.1, 1 and 0 at lr 1.
    #[test]
    fn the_summary_by_hand() {
        let runs = [
            RunRow::new(&key(Optimizer::Adam, 0.1, 0), 100, 2, false),
            RunRow::new(&key(Optimizer::Adam, 0.1, 1), 100, 1, false),
            RunRow::new(&key(Optimizer::Adam, 1.0, 0), 100, 1, false),
            RunRow::new(&key(Optimizer::Adam, 1.0, 1), 40, 1, true),
        ];
        let curves = [
            CurveRow::new(&key(Optimizer::Adam, 0.1, 0), 40, 5.0),
            CurveRow::new(&key(Optimizer::Adam, 0.1, 0), 90, 15.0),
            CurveRow::new(&key(Optimizer::Adam, 0.1, 1), 30, 30.0),
            CurveRow::new(&key(Optimizer::Adam, 1.0, 0), 50, 50.0),
            CurveRow::new(&key(Optimizer::Adam, 1.0, 1), 20, 20.0),
        ];
        let summary = summarize(&runs, &curves, 100);
        assert_eq!(summary.len(), 2);
        assert_eq!(summary[0].mean_return, Some(20.0));
        assert_eq!(summary[0].normalized_return, 0.25);
        assert_eq!(summary[0].mean_return_se, Some(10.0));
        assert_eq!(summary[1].mean_return, Some(30.0));
        assert_eq!(summary[1].normalized_return, 0.5);
        assert_eq!(summary[1].diverged, 1);
        assert!(summary[1].best_lr && !summary[0].best_lr);
        assert_eq!(
            crate::io::table::header(&summary[0]),
            SUMMARY_HEADER,
            "the header constant is the row's"
        );
    }
}
