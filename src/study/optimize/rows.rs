//! The rows of the optimize study's files, one type per file, written and read through
//! serde ([`crate::io::table`]). Every row starts with the key of its run (the cell): data
//! set, network, optimizer, scaling, δ, step size and seed.

use serde::{Deserialize, Serialize};

use crate::io::format::number;
use crate::io::table::{float, non_negative, optional_float, Row};
use crate::nn::Activation;
use crate::train::Optimizer;

/// `optimize_curves.csv`: one row per run and evaluation.
pub const CURVES_FILE: &str = "optimize_curves.csv";
/// `optimize_timing.csv`: one row per run, its seconds per optimizer step.
pub const TIMING_FILE: &str = "optimize_timing.csv";
/// `optimize_summary.csv`: one row per grid point but the seed, over seeds.
pub const SUMMARY_FILE: &str = "optimize_summary.csv";
/// `optimize_timing_summary.csv`: seconds per step per network, optimizer and scaling.
pub const TIMING_SUMMARY_FILE: &str = "optimize_timing_summary.csv";

/// The identity of one run, the leading columns of its rows (written inline: the `csv`
/// crate writes no nested structs).
#[derive(Clone, Debug, PartialEq)]
pub struct RunKey {
    pub data: String,
    pub activation: Activation,
    pub depth: usize,
    pub width: usize,
    pub batch_size: usize,
    pub optimizer: Optimizer,
    pub scaling: String,
    pub delta: Option<f64>,
    pub lr: f64,
    pub seed: usize,
}

impl std::fmt::Display for RunKey {
    /// `data mnist, tanh, depth 3, width 64, batch 32, adam, hesscale δ 0.0001, lr 0.01, seed 2`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scaling = match self.delta {
            Some(delta) => format!("{} δ {}", self.scaling, number(delta)),
            None => self.scaling.clone(),
        };
        write!(
            f,
            "data {}, {}, depth {}, width {}, batch {}, {}, {scaling}, lr {}, seed {}",
            self.data,
            self.activation,
            self.depth,
            self.width,
            self.batch_size,
            self.optimizer,
            number(self.lr),
            self.seed
        )
    }
}

impl RunKey {
    /// Check the numbers a key holds: α > 0, δ > 0 exactly for the `hesscale` scaling.
    fn validate(&self) -> Result<(), String> {
        positive("lr", self.lr)?;
        match (self.scaling.as_str(), self.delta) {
            ("none", None) => Ok(()),
            ("hesscale", Some(delta)) => positive("delta", delta),
            (scaling, delta) => Err(format!(
                "scaling '{scaling}' with delta {}",
                delta.map_or_else(|| "(none)".to_string(), number)
            )),
        }
    }
}

/// A finite number > 0, else a message naming `column`.
fn positive(column: &str, value: f64) -> Result<(), String> {
    non_negative(column, value)?;
    if value == 0.0 {
        return Err(format!("{column} is 0"));
    }
    Ok(())
}

/// A fraction in [0, 1], else a message naming `column`.
fn fraction(column: &str, value: f64) -> Result<(), String> {
    non_negative(column, value)?;
    if value > 1.0 {
        return Err(format!("{column} {value} is above 1"));
    }
    Ok(())
}

/// One row of `optimize_curves.csv`: the state of a run after `step` steps, or (with
/// `diverged`) the step at which its loss or its parameters stopped being finite.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurveRow {
    /// `mnist` or `mnist:DIR`.
    pub data: String,
    pub activation: Activation,
    /// Hidden layers.
    pub depth: usize,
    /// Hidden width.
    pub width: usize,
    pub batch_size: usize,
    pub optimizer: Optimizer,
    /// `none` or `hesscale`.
    pub scaling: String,
    /// δ of the `hesscale` scaling; empty without scaling.
    #[serde(with = "optional_float")]
    pub delta: Option<f64>,
    /// The step size α.
    #[serde(with = "float")]
    pub lr: f64,
    /// The seed index, 0..seeds.
    pub seed: usize,
    /// Steps taken (for a diverged row, the step that diverged).
    pub step: usize,
    /// The mean minibatch loss of the steps since the previous row (each loss measured
    /// before its step); empty at step 0 and where it is not finite.
    #[serde(with = "optional_float")]
    pub train_loss: Option<f64>,
    /// The mean loss on the test part; empty on a diverged row.
    #[serde(with = "optional_float")]
    pub test_loss: Option<f64>,
    /// The fraction of the test part classified correctly; empty on a diverged row.
    #[serde(with = "optional_float")]
    pub test_accuracy: Option<f64>,
    /// Whether the run diverged at this step (its last row).
    pub diverged: bool,
}

/// The key fields of a row type that starts with them, read back as a [`RunKey`].
macro_rules! run_key {
    ($row:ty) => {
        impl $row {
            /// The run the row belongs to.
            pub fn key(&self) -> RunKey {
                RunKey {
                    data: self.data.clone(),
                    activation: self.activation,
                    depth: self.depth,
                    width: self.width,
                    batch_size: self.batch_size,
                    optimizer: self.optimizer,
                    scaling: self.scaling.clone(),
                    delta: self.delta,
                    lr: self.lr,
                    seed: self.seed,
                }
            }
        }
    };
}

run_key!(CurveRow);
run_key!(TimingRow);

impl CurveRow {
    /// The row of run `key` after `step` steps.
    pub fn new(
        key: &RunKey,
        step: usize,
        train_loss: Option<f64>,
        test: Option<(f64, f64)>,
    ) -> Self {
        CurveRow {
            data: key.data.clone(),
            activation: key.activation,
            depth: key.depth,
            width: key.width,
            batch_size: key.batch_size,
            optimizer: key.optimizer,
            scaling: key.scaling.clone(),
            delta: key.delta,
            lr: key.lr,
            seed: key.seed,
            step,
            train_loss,
            test_loss: test.map(|(loss, _)| loss),
            test_accuracy: test.map(|(_, accuracy)| accuracy),
            diverged: test.is_none(),
        }
    }
}

impl TimingRow {
    /// The timing row of run `key`: `steps` steps in `step_seconds`, `evaluations`
    /// evaluations in `evaluation_seconds`.
    pub fn new(
        key: &RunKey,
        steps: usize,
        step_seconds: f64,
        evaluations: usize,
        evaluation_seconds: f64,
    ) -> Self {
        let per = |seconds: f64, count: usize| {
            if count == 0 {
                0.0
            } else {
                seconds / count as f64
            }
        };
        TimingRow {
            data: key.data.clone(),
            activation: key.activation,
            depth: key.depth,
            width: key.width,
            batch_size: key.batch_size,
            optimizer: key.optimizer,
            scaling: key.scaling.clone(),
            delta: key.delta,
            lr: key.lr,
            seed: key.seed,
            steps,
            seconds_per_step: per(step_seconds, steps),
            evaluations,
            seconds_per_evaluation: per(evaluation_seconds, evaluations),
        }
    }
}

impl Row for CurveRow {
    fn validate(&self) -> Result<(), String> {
        self.key().validate()?;
        for (column, value) in [
            ("train_loss", self.train_loss),
            ("test_loss", self.test_loss),
        ] {
            if let Some(value) = value {
                non_negative(column, value)?;
            }
        }
        if let Some(accuracy) = self.test_accuracy {
            fraction("test_accuracy", accuracy)?;
        }
        match (self.diverged, self.test_loss, self.test_accuracy) {
            (true, None, None) | (false, Some(_), Some(_)) => Ok(()),
            (true, ..) => Err("a diverged row has no test loss or accuracy".to_string()),
            (false, ..) => Err("an evaluation without a test loss or accuracy".to_string()),
        }
    }
}

/// One row of `optimize_timing.csv`: the wall time of a run's optimizer steps (each a
/// minibatch, its gradient and curvature, and the update) and of its evaluations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimingRow {
    /// `mnist` or `mnist:DIR`.
    pub data: String,
    pub activation: Activation,
    /// Hidden layers.
    pub depth: usize,
    /// Hidden width.
    pub width: usize,
    pub batch_size: usize,
    pub optimizer: Optimizer,
    /// `none` or `hesscale`.
    pub scaling: String,
    /// δ of the `hesscale` scaling; empty without scaling.
    #[serde(with = "optional_float")]
    pub delta: Option<f64>,
    /// The step size α.
    #[serde(with = "float")]
    pub lr: f64,
    /// The seed index, 0..seeds.
    pub seed: usize,
    /// The steps timed (a diverging step included).
    pub steps: usize,
    #[serde(with = "float")]
    pub seconds_per_step: f64,
    /// The evaluations timed.
    pub evaluations: usize,
    #[serde(with = "float")]
    pub seconds_per_evaluation: f64,
}

impl Row for TimingRow {
    fn validate(&self) -> Result<(), String> {
        self.key().validate()?;
        non_negative("seconds_per_step", self.seconds_per_step)?;
        non_negative("seconds_per_evaluation", self.seconds_per_evaluation)
    }
}

/// One row of `optimize_summary.csv`: a grid point (every key column but the seed) over
/// its seeds. A diverged run counts at chance accuracy from its divergence on; its final
/// test loss is undefined and left out of the loss columns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub data: String,
    pub activation: Activation,
    pub depth: usize,
    pub width: usize,
    pub batch_size: usize,
    pub optimizer: Optimizer,
    pub scaling: String,
    #[serde(with = "optional_float")]
    pub delta: Option<f64>,
    #[serde(with = "float")]
    pub lr: f64,
    /// Runs (seeds) summarised.
    pub seeds: usize,
    /// Of them, the runs that diverged.
    pub diverged: usize,
    /// Steps per run.
    pub steps: usize,
    /// Mean over the runs that did not diverge of the test loss after the last step.
    #[serde(with = "optional_float")]
    pub final_test_loss: Option<f64>,
    /// Its standard error (n − 1 in the deviation; empty for fewer than two runs).
    #[serde(with = "optional_float")]
    pub final_test_loss_se: Option<f64>,
    /// Mean over the seeds of the test accuracy after the last step.
    #[serde(with = "float")]
    pub final_test_accuracy: f64,
    #[serde(with = "optional_float")]
    pub final_test_accuracy_se: Option<f64>,
    /// Mean over the seeds of the run's mean test accuracy over its evaluations after
    /// step 0 (the area under its accuracy curve, per evaluation).
    #[serde(with = "float")]
    pub mean_test_accuracy: f64,
    #[serde(with = "optional_float")]
    pub mean_test_accuracy_se: Option<f64>,
    /// Whether this is the best step size of its optimizer and scaling on this network:
    /// the highest `mean_test_accuracy`, the smaller step size on a tie.
    pub best_lr: bool,
}

impl Row for SummaryRow {
    fn validate(&self) -> Result<(), String> {
        positive("lr", self.lr)?;
        for (column, value) in [
            ("final_test_loss", self.final_test_loss),
            ("final_test_loss_se", self.final_test_loss_se),
            ("final_test_accuracy_se", self.final_test_accuracy_se),
            ("mean_test_accuracy_se", self.mean_test_accuracy_se),
        ] {
            if let Some(value) = value {
                non_negative(column, value)?;
            }
        }
        fraction("final_test_accuracy", self.final_test_accuracy)?;
        fraction("mean_test_accuracy", self.mean_test_accuracy)
    }
}

/// One row of `optimize_timing_summary.csv`: all runs of a network, optimizer and
/// scaling pooled (every δ, step size and seed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimingSummaryRow {
    pub data: String,
    pub activation: Activation,
    pub depth: usize,
    pub width: usize,
    pub batch_size: usize,
    pub optimizer: Optimizer,
    pub scaling: String,
    /// Runs pooled.
    pub runs: usize,
    /// Steps timed over those runs.
    pub steps: usize,
    /// Their total time over their number.
    #[serde(with = "float")]
    pub seconds_per_step: f64,
}

impl Row for TimingSummaryRow {}
