//! The summaries of the optimize study, computed from the rows of `optimize_curves.csv` and
//! `optimize_timing.csv` only, so that a run, a resumed run and a merge of shards give the
//! same files. Pure functions of their inputs.

use crate::data::CLASSES;
use crate::study::optimize::rows::{CurveRow, RunKey, SummaryRow, TimingRow, TimingSummaryRow};
use crate::study::stats::{best_step_sizes, consecutive, mean, standard_error};

/// The accuracy a diverged run counts at from its divergence on: chance, `1 / classes`
/// (a network whose outputs are not finite predicts no better than a guess).
pub const CHANCE_ACCURACY: f64 = 1.0 / CLASSES as f64;

/// What one run contributes to its grid point.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutcome {
    pub key: RunKey,
    pub diverged: bool,
    /// The test loss after the last step (none for a diverged run).
    pub final_test_loss: Option<f64>,
    /// The test accuracy after the last step ([`CHANCE_ACCURACY`] for a diverged run).
    pub final_test_accuracy: f64,
    /// The mean test accuracy over the scheduled evaluations after step 0, each one the
    /// run did not reach (it diverged) counted at [`CHANCE_ACCURACY`].
    pub mean_test_accuracy: f64,
}

/// The outcome of one run from its rows (in step order) and the number of evaluations
/// scheduled after step 0.
pub fn run_outcome(rows: &[CurveRow], scheduled: usize) -> RunOutcome {
    let last = rows.last().expect("a run has rows");
    let reached: Vec<f64> = rows
        .iter()
        .filter(|row| row.step > 0)
        .filter_map(|row| row.test_accuracy)
        .collect();
    let missing = scheduled.saturating_sub(reached.len());
    let mean_test_accuracy =
        (reached.iter().sum::<f64>() + missing as f64 * CHANCE_ACCURACY) / scheduled.max(1) as f64;
    RunOutcome {
        key: last.key(),
        diverged: last.diverged,
        final_test_loss: last.test_loss,
        final_test_accuracy: last.test_accuracy.unwrap_or(CHANCE_ACCURACY),
        mean_test_accuracy,
    }
}

/// The key of a run without its seed (its grid point).
fn point(key: &RunKey) -> RunKey {
    RunKey {
        seed: 0,
        ..key.clone()
    }
}

/// `optimize_summary.csv` from the curve rows of every run in canonical order (the seed
/// varying fastest, then the step size) and the evaluations scheduled after step 0.
pub fn summarize(curves: &[CurveRow], scheduled: usize, steps: usize) -> Vec<SummaryRow> {
    let outcomes: Vec<RunOutcome> = consecutive(curves, CurveRow::key)
        .into_iter()
        .map(|rows| run_outcome(rows, scheduled))
        .collect();
    let mut summary: Vec<SummaryRow> = consecutive(&outcomes, |o| point(&o.key))
        .into_iter()
        .map(|runs| {
            let key = &runs[0].key;
            let losses: Vec<f64> = runs.iter().filter_map(|r| r.final_test_loss).collect();
            let finals: Vec<f64> = runs.iter().map(|r| r.final_test_accuracy).collect();
            let means: Vec<f64> = runs.iter().map(|r| r.mean_test_accuracy).collect();
            SummaryRow {
                data: key.data.clone(),
                activation: key.activation,
                depth: key.depth,
                width: key.width,
                batch_size: key.batch_size,
                optimizer: key.optimizer,
                scaling: key.scaling.clone(),
                delta: key.delta,
                lr: key.lr,
                seeds: runs.len(),
                diverged: runs.iter().filter(|r| r.diverged).count(),
                steps,
                final_test_loss: (!losses.is_empty()).then(|| mean(&losses)),
                final_test_loss_se: standard_error(&losses),
                final_test_accuracy: mean(&finals),
                final_test_accuracy_se: standard_error(&finals),
                mean_test_accuracy: mean(&means),
                mean_test_accuracy_se: standard_error(&means),
                best_lr: false,
            }
        })
        .collect();
    mark_best(&mut summary);
    summary
}

/// Mark the best step size of each optimizer and scaling on each network (consecutive
/// rows of one family): the highest `mean_test_accuracy`, the smaller step size on a tie.
fn mark_best(summary: &mut [SummaryRow]) {
    let family_of = |row: &SummaryRow| {
        (
            row.data.clone(),
            row.activation,
            row.depth,
            row.width,
            row.batch_size,
            row.optimizer,
            row.scaling.clone(),
            row.delta,
        )
    };
    for best in best_step_sizes(
        summary,
        family_of,
        |row| row.mean_test_accuracy,
        |row| row.lr,
    ) {
        summary[best].best_lr = true;
    }
}

/// `optimize_timing_summary.csv` from the timing rows of every run in canonical order:
/// per network, optimizer and scaling (every δ, step size and seed pooled), the total
/// step time over the total steps.
pub fn aggregate_timing(timings: &[TimingRow]) -> Vec<TimingSummaryRow> {
    let pooled = |row: &TimingRow| RunKey {
        delta: None,
        lr: 1.0,
        ..point(&row.key())
    };
    consecutive(timings, pooled)
        .into_iter()
        .map(|runs| {
            let first = &runs[0];
            let steps: usize = runs.iter().map(|r| r.steps).sum();
            let seconds: f64 = runs
                .iter()
                .map(|r| r.seconds_per_step * r.steps as f64)
                .sum();
            TimingSummaryRow {
                data: first.data.clone(),
                activation: first.activation,
                depth: first.depth,
                width: first.width,
                batch_size: first.batch_size,
                optimizer: first.optimizer,
                scaling: first.scaling.clone(),
                runs: runs.len(),
                steps,
                seconds_per_step: if steps == 0 {
                    0.0
                } else {
                    seconds / steps as f64
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Activation;
    use crate::train::Optimizer;

    fn key(lr: f64, seed: usize) -> RunKey {
        RunKey {
            data: "mnist".into(),
            activation: Activation::Tanh,
            depth: 1,
            width: 4,
            batch_size: 2,
            optimizer: Optimizer::Adam,
            scaling: "none".into(),
            delta: None,
            lr,
            seed,
        }
    }

    /// A run evaluated at steps 0, 10, 20 with the given accuracies (loss 1 − accuracy).
    fn run(lr: f64, seed: usize, accuracies: &[f64]) -> Vec<CurveRow> {
        accuracies
            .iter()
            .enumerate()
            .map(|(i, &a)| CurveRow::new(&key(lr, seed), 10 * i, None, Some((1.0 - a, a))))
            .collect()
    }

    #[test]
    fn a_diverged_run_counts_at_chance_from_its_divergence_on() {
        let mut rows = run(0.1, 0, &[0.1, 0.6]);
        rows.push(CurveRow::new(&key(0.1, 0), 13, Some(7.0), None));
        // Two evaluations scheduled after step 0 (steps 10 and 20): 0.6 reached, one missed.
        let outcome = run_outcome(&rows, 2);
        assert!(outcome.diverged);
        assert_eq!(outcome.final_test_loss, None);
        assert_eq!(outcome.final_test_accuracy, CHANCE_ACCURACY);
        assert_eq!(outcome.mean_test_accuracy, (0.6 + 0.1) / 2.0);
        let finished = run_outcome(&run(0.1, 0, &[0.1, 0.6, 0.8]), 2);
        assert!(!finished.diverged);
        assert_eq!(finished.final_test_loss, Some(1.0 - 0.8));
        assert_eq!(finished.mean_test_accuracy, (0.6 + 0.8) / 2.0);
    }

    #[test]
    fn seeds_are_summarised_and_the_best_step_size_marked() {
        let mut curves = Vec::new();
        for (lr, finals) in [(0.01, [0.5, 0.7]), (0.1, [0.9, 0.7]), (1.0, [0.9, 0.7])] {
            for (seed, last) in finals.into_iter().enumerate() {
                curves.extend(run(lr, seed, &[0.1, last, last]));
            }
        }
        let mut diverged = run(1.0, 1, &[0.1]);
        diverged.push(CurveRow::new(&key(1.0, 1), 3, None, None));
        curves.truncate(curves.len() - 3);
        curves.extend(diverged);
        let summary = summarize(&curves, 2, 20);
        assert_eq!(summary.len(), 3);
        let row = &summary[0];
        assert_eq!(
            (row.lr, row.seeds, row.diverged, row.steps),
            (0.01, 2, 0, 20)
        );
        assert!((row.mean_test_accuracy - 0.6).abs() < 1e-15);
        assert!((row.final_test_loss.unwrap() - 0.4).abs() < 1e-15);
        assert!((row.final_test_accuracy_se.unwrap() - 0.1).abs() < 1e-15);
        // lr 0.1 and 1 tie before the divergence; with it lr 1 falls to (0.9 + 0.1) / 2.
        assert_eq!(summary[2].diverged, 1);
        assert_eq!(summary[2].final_test_loss, Some(1.0 - 0.9));
        assert_eq!(summary[2].final_test_loss_se, None);
        assert!((summary[2].mean_test_accuracy - 0.5).abs() < 1e-15);
        let best: Vec<f64> = summary.iter().filter(|r| r.best_lr).map(|r| r.lr).collect();
        assert_eq!(best, [0.1]);
    }

    #[test]
    fn a_tie_goes_to_the_smaller_step_size() {
        let mut curves = run(1.0, 0, &[0.1, 0.5]);
        curves.extend(run(0.1, 0, &[0.1, 0.5]));
        let summary = summarize(&curves, 1, 10);
        assert_eq!(
            summary
                .iter()
                .map(|r| (r.lr, r.best_lr))
                .collect::<Vec<_>>(),
            [(1.0, false), (0.1, true)]
        );
    }

    #[test]
    fn timing_pools_step_sizes_seeds_and_deltas_by_total_time() {
        let rows = [
            TimingRow::new(&key(0.1, 0), 10, 1.0, 2, 0.5),
            TimingRow::new(&key(1.0, 1), 30, 6.0, 2, 0.5),
        ];
        let pooled = aggregate_timing(&rows);
        assert_eq!(pooled.len(), 1);
        assert_eq!((pooled[0].runs, pooled[0].steps), (2, 40));
        assert!((pooled[0].seconds_per_step - 7.0 / 40.0).abs() < 1e-15);
    }
}
