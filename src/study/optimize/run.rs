//! One run of the optimize study (SPEC §8, §9): a PyTorch-initialised MLP trained on the
//! training part of a data set by one optimizer with one step size and scaling, evaluated
//! on the whole test part at step 0, every `eval_every` steps and after the last step.
//!
//! Randomness (SPEC §5): the network is drawn from the problem stream, the minibatches and
//! the stochastic curvature from the trainer's streams, all keyed by the run's network,
//! batch size and seed only ([`super::Cell::stream_key`]). Every optimizer and step size
//! of a seed therefore starts from the same network and sees the same minibatches, and
//! adding an optimizer or a step size changes no other run's numbers.
//!
//! A run diverges when a minibatch loss, an update or a test loss is not finite: it then
//! stops, its rows so far are kept, and a last row marks the step.

use std::time::Instant;

use crate::config::optimize::OptimizeGrid;
use crate::data::Mnist;
use crate::error::Result;
use crate::rng::{stream_rng, PROBLEM_STREAM};
use crate::study::optimize::rows::{CurveRow, RunKey, TimingRow};
use crate::study::optimize::Cell;
use crate::study::stats::mean;
use crate::train::{evaluate, OptimizerConfig, StepOutcome, Trainer, TrainerConfig};

/// The mean of the minibatch losses since the last row, if there are any and it is finite.
fn mean_loss(losses: &[f64]) -> Option<f64> {
    let mean = mean(losses);
    mean.is_finite().then_some(mean)
}

/// Train one cell and return its curve rows and its timing row. The timing covers the
/// optimizer steps and the evaluations separately; it never enters the curve rows.
pub fn run_cell(
    grid: &OptimizeGrid,
    cell: &Cell,
    key: &RunKey,
    data: &Mnist,
) -> Result<(Vec<CurveRow>, TimingRow)> {
    let stream = cell.stream_key(grid, &data.digest.stream_name());
    let mlp = grid
        .network(cell.activation, cell.depth, cell.width)
        .init(&mut stream_rng(grid.seed, stream, PROBLEM_STREAM))?;
    let config = TrainerConfig {
        optimizer: OptimizerConfig {
            optimizer: cell.optimizer,
            hyperparameters: grid.hyperparameters(cell.lr),
            scaling: cell.scaling,
        },
        loss: grid.loss,
        batch_size: grid.batch_size,
        seed: grid.seed,
        cell: stream,
    };
    let mut trainer = Trainer::new(mlp, &data.train, &config)?;
    let test: Vec<usize> = (0..data.test.len()).collect();
    let (mut step_seconds, mut evaluation_seconds) = (0.0, 0.0);
    let mut evaluations = 0;
    let mut evaluate_now = |trainer: &Trainer| -> Result<Option<(f64, f64)>> {
        let start = Instant::now();
        let evaluation = evaluate(trainer.model(), grid.loss, &data.test, &test)?;
        evaluation_seconds += start.elapsed().as_secs_f64();
        evaluations += 1;
        Ok(evaluation
            .loss
            .is_finite()
            .then_some((evaluation.loss, evaluation.accuracy)))
    };
    let mut rows = Vec::new();
    let mut losses = Vec::new();
    let mut steps = 0;
    for &target in &grid.evaluation_steps() {
        while steps < target {
            let start = Instant::now();
            let outcome = trainer.step()?;
            step_seconds += start.elapsed().as_secs_f64();
            steps += 1;
            match outcome {
                StepOutcome::Taken { loss, .. } => losses.push(loss),
                StepOutcome::Diverged { loss } => {
                    losses.push(loss);
                    rows.push(CurveRow::new(key, steps, mean_loss(&losses), None));
                    break;
                }
            }
        }
        if trainer.diverged() {
            break;
        }
        let evaluation = evaluate_now(&trainer)?;
        rows.push(CurveRow::new(key, steps, mean_loss(&losses), evaluation));
        losses.clear();
        if evaluation.is_none() {
            break;
        }
    }
    let timing = TimingRow::new(key, steps, step_seconds, evaluations, evaluation_seconds);
    Ok((rows, timing))
}
