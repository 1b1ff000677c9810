//! Summary statistics over seeds (SPEC §3), computed from the rows of `quality_runs.csv`
//! only, so a run, a resumed run and a merge of shards give the same summary. Pure
//! functions of their inputs; timing is aggregated here too, from per-cell timings.

use std::collections::HashMap;

use crate::data::DataSource;
use crate::nn::{Activation, Loss, Reduction};
use crate::study::quality::rows::{
    Point, RunRow, SummaryRow, TimingCellRow, TimingRow, TrainingRow, TrainingSummaryRow,
};
use crate::study::stats::median;
use crate::study::stats::{mean, standard_error};

/// The method every `normalized_l1` and ratio is relative to.
pub const REFERENCE_METHOD: &str = "hesscale";

/// `numerator / denominator`, or `None` when the denominator is 0.
fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator != 0.0).then(|| numerator / denominator)
}

/// Errors of the reference at most this fraction of `Σ|exact|` are round-off: hesscale is
/// exact there (SPEC §2.2: last layer, and layer L−1 for mse), so ratios to it are
/// undefined rather than quotients of rounding noise.
pub const ROUNDOFF: f64 = 1e-12;

/// `numerator / reference_l1`, or `None` when the reference's error is round-off
/// (at most [`ROUNDOFF`] · `reference_sum_abs_exact`, which includes 0).
fn ratio_to_reference(
    numerator: f64,
    reference_l1: f64,
    reference_sum_abs_exact: f64,
) -> Option<f64> {
    (reference_l1 > ROUNDOFF * reference_sum_abs_exact).then(|| numerator / reference_l1)
}

/// The key of a summary row: the point (grid point and step), the method and the layer.
type GroupKey = (Point, String, String);

/// The per-seed values of one group, in the order the seeds appear.
#[derive(Default)]
struct SeedValues {
    seeds: Vec<usize>,
    l1: Vec<f64>,
    sum_abs_exact: Vec<f64>,
}

/// One summary row per (grid point, step, method, layer), from the `param = all` rows, in
/// the order the groups first appear in `rows`. `samples` is the samples per seed of the run.
///
/// * `mean_l1`, `se_l1`: mean and standard error over seeds of the per-seed `l1`;
/// * `normalized_l1`: `mean_l1` over hesscale's `mean_l1` at the same point and layer
///   (empty when hesscale's is 0 up to round-off, see [`ROUNDOFF`], or hesscale did not run);
/// * `ratio_mean`, `ratio_se`: mean and standard error over seeds of the per-seed ratio
///   `l1 / l1_hesscale` (empty when hesscale did not run or is 0 up to round-off for some
///   seed);
/// * `relative_l1`: `mean_l1` over the mean of `sum_abs_exact` (empty when that is 0).
pub fn summarize(rows: &[RunRow], samples: usize) -> Vec<SummaryRow> {
    let mut order: Vec<GroupKey> = Vec::new();
    let mut groups: HashMap<GroupKey, SeedValues> = HashMap::new();
    for row in rows.iter().filter(|row| row.param == "all") {
        let key = (row.point(), row.method.clone(), row.layer.clone());
        let values = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            SeedValues::default()
        });
        values.seeds.push(row.seed);
        values.l1.push(row.l1);
        values.sum_abs_exact.push(row.sum_abs_exact);
    }
    order
        .iter()
        .map(|key| {
            let values = &groups[key];
            let mut reference_key = key.clone();
            reference_key.1 = REFERENCE_METHOD.to_string();
            summary_row(key, values, groups.get(&reference_key), samples)
        })
        .collect()
}

/// The summary row of one group, given the reference method's values in the same group.
fn summary_row(
    key: &GroupKey,
    values: &SeedValues,
    reference: Option<&SeedValues>,
    samples: usize,
) -> SummaryRow {
    let mean_l1 = mean(&values.l1);
    let normalized_l1 =
        reference.and_then(|r| ratio_to_reference(mean_l1, mean(&r.l1), mean(&r.sum_abs_exact)));
    let ratios: Option<Vec<f64>> = reference.and_then(|r| {
        values
            .seeds
            .iter()
            .zip(&values.l1)
            .map(|(seed, l1)| {
                let at = r.seeds.iter().position(|s| s == seed)?;
                ratio_to_reference(*l1, r.l1[at], r.sum_abs_exact[at])
            })
            .collect()
    });
    let (point, method, layer) = key.clone();
    SummaryRow {
        activation: point.activation,
        loss: point.loss,
        reduction: point.reduction,
        data: point.data,
        depth: point.depth,
        width: point.width,
        inputs: point.inputs,
        outputs: point.outputs,
        n_params: point.n_params,
        batch_size: point.batch_size,
        step: point.step,
        method,
        layer,
        seeds: values.l1.len(),
        samples,
        mean_l1,
        se_l1: standard_error(&values.l1),
        normalized_l1,
        ratio_mean: ratios.as_deref().map(mean),
        ratio_se: ratios.as_deref().and_then(standard_error),
        relative_l1: ratio(mean_l1, mean(&values.sum_abs_exact)),
    }
}

/// One timing row per (activation, loss, data, depth, width, batch size, method), in the
/// order the groups first appear: every seed, reduction and step of the grid point pooled, so
/// `samples` is the number of samples timed (each cell's row counts batches × batch size)
/// and `seconds_per_sample` is the total time over it: the mean wall time per sample;
/// `backward_equivalents` is the median over the cells of theirs.
pub fn aggregate_timing(cells: &[TimingCellRow]) -> Vec<TimingRow> {
    type Key = (Activation, Loss, DataSource, usize, usize, usize, String);
    let mut order: Vec<Key> = Vec::new();
    let mut totals: HashMap<Key, (usize, f64, Vec<f64>)> = HashMap::new();
    for row in cells {
        let key = (
            row.activation,
            row.loss,
            row.data.clone(),
            row.depth,
            row.width,
            row.batch_size,
            row.method.clone(),
        );
        let total = totals.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            (0, 0.0, Vec::new())
        });
        total.0 += row.samples;
        total.1 += row.seconds;
        total.2.extend(row.backward_equivalents);
    }
    order
        .into_iter()
        .map(|key| {
            let (samples, seconds, ref costs) = totals[&key];
            let (activation, loss, data, depth, width, batch_size, method) = key;
            TimingRow {
                activation,
                loss,
                data,
                depth,
                width,
                batch_size,
                method,
                samples,
                seconds_per_sample: seconds / samples as f64,
                backward_equivalents: (!costs.is_empty()).then(|| median(costs)),
            }
        })
        .collect()
}

/// One row per (grid point, step) of the training rows, in the order the groups first
/// appear: the means over seeds of the losses and the test accuracy, and the standard
/// error of the accuracy.
pub fn summarize_training(rows: &[TrainingRow]) -> Vec<TrainingSummaryRow> {
    type Key = (Activation, Loss, Reduction, DataSource, usize, usize, usize);
    let mut order: Vec<Key> = Vec::new();
    let mut groups: HashMap<Key, Vec<&TrainingRow>> = HashMap::new();
    for row in rows {
        let key = (
            row.activation,
            row.loss,
            row.reduction,
            row.data.clone(),
            row.depth,
            row.width,
            row.step,
        );
        groups
            .entry(key.clone())
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push(row);
    }
    order
        .into_iter()
        .map(|key| {
            let group = &groups[&key];
            let column = |value: fn(&TrainingRow) -> f64| -> Vec<f64> {
                group.iter().map(|row| value(row)).collect()
            };
            let accuracy = column(|row| row.test_accuracy);
            let (activation, loss, reduction, data, depth, width, step) = key;
            TrainingSummaryRow {
                activation,
                loss,
                reduction,
                data,
                depth,
                width,
                step,
                seeds: group.len(),
                train_loss: mean(&column(|row| row.train_loss)),
                test_loss: mean(&column(|row| row.test_loss)),
                test_accuracy: mean(&accuracy),
                test_accuracy_se: standard_error(&accuracy),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn run(method: &str, layer: &str, param: &str, seed: usize, l1: f64, exact: f64) -> RunRow {
        RunRow {
            activation: Activation::Tanh,
            loss: Loss::CrossEntropy,
            reduction: Reduction::Mean,
            data: DataSource::Random,
            depth: 3,
            width: 16,
            inputs: 6,
            outputs: 10,
            n_params: 730,
            batch_size: 1,
            step: 0,
            seed,
            method: method.into(),
            layer: layer.into(),
            param: param.into(),
            l1,
            sum_abs_exact: exact,
        }
    }

    #[test]
    fn summary_by_hand() {
        // Two seeds. hesscale: 2, 4 (mean 3); ggn: 4, 12 (mean 8); sum_abs_exact 10, 30.
        let rows = vec![
            run("hesscale", "all", "all", 0, 2.0, 10.0),
            run("hesscale", "all", "weight", 0, 99.0, 99.0), // not param=all: ignored
            run("ggn", "all", "all", 0, 4.0, 10.0),
            run("hesscale", "all", "all", 1, 4.0, 30.0),
            run("ggn", "all", "all", 1, 12.0, 30.0),
        ];
        let summary = summarize(&rows, 7);
        assert_eq!(summary.len(), 2);
        let (hesscale, ggn) = (&summary[0], &summary[1]);
        assert_eq!(
            (hesscale.method.as_str(), ggn.method.as_str()),
            ("hesscale", "ggn")
        );
        assert_eq!((ggn.seeds, ggn.samples), (2, 7));
        assert_eq!(ggn.mean_l1, 8.0);
        // sample std of (4, 12) = sqrt(32), se = sqrt(32)/sqrt(2) = 4.
        assert_relative_eq!(ggn.se_l1.unwrap(), 4.0);
        assert_relative_eq!(ggn.normalized_l1.unwrap(), 8.0 / 3.0);
        // per-seed ratios 2 and 3: mean 2.5, se = sqrt(0.5)/sqrt(2) = 0.5.
        assert_relative_eq!(ggn.ratio_mean.unwrap(), 2.5);
        assert_relative_eq!(ggn.ratio_se.unwrap(), 0.5);
        assert_relative_eq!(ggn.relative_l1.unwrap(), 8.0 / 20.0);
        assert_eq!(hesscale.normalized_l1, Some(1.0));
        assert_eq!(hesscale.ratio_mean, Some(1.0));
        assert_eq!(hesscale.ratio_se, Some(0.0));
    }

    #[test]
    fn undefined_values_are_empty() {
        // hesscale exact in the last layer (error 0), one seed, a zero exact diagonal.
        let rows = vec![
            run("hesscale", "4", "all", 0, 0.0, 0.0),
            run("zero", "4", "all", 0, 0.0, 0.0),
            run("zero", "1", "all", 0, 1.5, 3.0),
        ];
        let summary = summarize(&rows, 1);
        let zero_last = &summary[1];
        assert_eq!(zero_last.se_l1, None);
        assert_eq!(zero_last.normalized_l1, None);
        assert_eq!(zero_last.ratio_mean, None);
        assert_eq!(zero_last.relative_l1, None);
        // No hesscale in layer 1: no ratios, but the relative error is defined.
        let zero_first = &summary[2];
        assert_eq!(zero_first.normalized_l1, None);
        assert_eq!(zero_first.relative_l1, Some(0.5));
    }

    #[test]
    fn a_reference_error_at_round_off_level_gives_no_ratios() {
        // hesscale exact up to rounding (1e-17 of a diagonal of size 2) in layer 3.
        let rows = vec![
            run("hesscale", "3", "all", 0, 2e-17, 2.0),
            run("bl89", "3", "all", 0, 0.5, 2.0),
            run("hesscale", "2", "all", 0, 1e-3, 2.0),
            run("bl89", "2", "all", 0, 0.5, 2.0),
        ];
        let summary = summarize(&rows, 1);
        let (bl89_last, bl89_below) = (&summary[1], &summary[3]);
        assert_eq!(bl89_last.normalized_l1, None);
        assert_eq!(bl89_last.ratio_mean, None);
        assert_eq!(bl89_last.relative_l1, Some(0.25));
        assert_eq!(bl89_below.normalized_l1, Some(500.0));
        assert_eq!(bl89_below.ratio_mean, Some(500.0));
    }

    #[test]
    fn timing_pools_seeds_and_reductions() {
        let timing = |reduction: Reduction, seed, seconds: f64| TimingCellRow {
            activation: Activation::Tanh,
            loss: Loss::Mse,
            data: DataSource::Random,
            reduction,
            depth: 3,
            width: 8,
            batch_size: 1,
            seed,
            method: "exact".into(),
            samples: 10,
            seconds,
            backward_equivalents: Some(10.0 * seconds),
        };
        let rows = aggregate_timing(&[
            timing(Reduction::Mean, 0, 1.0),
            timing(Reduction::Mean, 1, 2.0),
            timing(Reduction::Sum, 0, 3.0),
        ]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].samples, 30);
        assert_relative_eq!(rows[0].seconds_per_sample, 0.2);
        assert_eq!(
            rows[0].backward_equivalents,
            Some(20.0),
            "the median over cells"
        );
    }

    #[test]
    fn training_rows_average_over_seeds_per_step() {
        let row = |seed, step, accuracy| TrainingRow {
            activation: Activation::Relu,
            loss: Loss::CrossEntropy,
            reduction: Reduction::Mean,
            data: "mnist".parse().unwrap(),
            depth: 3,
            width: 64,
            seed,
            step,
            train_loss: 1.0 + seed as f64,
            test_loss: 2.0,
            test_accuracy: accuracy,
        };
        let rows = summarize_training(&[
            row(0, 0, 0.1),
            row(0, 100, 0.8),
            row(1, 0, 0.2),
            row(1, 100, 0.9),
        ]);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].step, rows[0].seeds), (0, 2));
        assert_relative_eq!(rows[1].test_accuracy, 0.85);
        assert_relative_eq!(rows[1].test_accuracy_se.unwrap(), 0.05);
        assert_relative_eq!(rows[0].train_loss, 1.5);
        assert_eq!(
            summarize_training(&[row(0, 0, 0.5)])[0].test_accuracy_se,
            None
        );
    }
}
