//! The results table `quality` prints at the end of a run: the normalized L1 error of
//! every method (rows) at every grid point and step (columns), over all layers — the
//! papers' bar heights — so that a user sees the result without opening a CSV. Without
//! hesscale in the grid, the relative L1 error instead. Trained networks add a line per
//! grid point and step with the test accuracy they reached.

use std::collections::BTreeSet;

use crate::study::quality::rows::{
    Point, SummaryRow, TimingRow, TrainingSummaryRow, SUMMARY_FILE, TIMING_FILE,
};

/// The grid points a results table shows at most.
pub const COLUMNS: usize = 8;

/// The column of a row: its grid point and step.
fn point(row: &SummaryRow) -> Point {
    row.point()
}

/// A value to about three significant digits.
fn short(value: f64) -> String {
    if value == 0.0 {
        return "0".to_string();
    }
    match value.abs() {
        v if v >= 100.0 => format!("{value:.0}"),
        v if v >= 10.0 => format!("{value:.1}"),
        v if v >= 0.01 => format!("{value:.2}"),
        _ => format!("{value:.1e}"),
    }
}

/// The name of each grid point from the axes that differ between them (`w16`,
/// `relu mse d3`, `mnist step10000`), or `all` when there is one point.
fn labels(points: &[Point]) -> Vec<String> {
    let axes: [fn(&Point) -> String; 8] = [
        |p| p.activation.to_string(),
        |p| p.loss.to_string(),
        |p| p.reduction.to_string(),
        |p| p.data.to_string(),
        |p| format!("d{}", p.depth),
        |p| format!("w{}", p.width),
        |p| format!("b{}", p.batch_size),
        |p| format!("step{}", p.step),
    ];
    let varying: Vec<fn(&Point) -> String> = axes
        .into_iter()
        .filter(|axis| points.iter().map(axis).collect::<BTreeSet<_>>().len() > 1)
        .collect();
    points
        .iter()
        .map(|p| {
            if varying.is_empty() {
                "all".to_string()
            } else {
                varying
                    .iter()
                    .map(|axis| axis(p))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        })
        .collect()
}

/// The table of the summary's `layer = all` rows, then each method's cost in
/// backward-pass equivalents at the same grid points (from `timing`, where it has them),
/// then the test accuracy of each trained grid point and step (`training`).
pub fn table(rows: &[SummaryRow], timing: &[TimingRow], training: &[TrainingSummaryRow]) -> String {
    let all: Vec<&SummaryRow> = rows.iter().filter(|r| r.layer == "all").collect();
    let mut points: Vec<Point> = Vec::new();
    let mut methods: Vec<&str> = Vec::new();
    for row in &all {
        if !points.contains(&point(row)) {
            points.push(point(row));
        }
        if !methods.contains(&row.method.as_str()) {
            methods.push(&row.method);
        }
    }
    let normalized = methods.contains(&"hesscale");
    let columns = &points[..points.len().min(COLUMNS)];
    let labels = labels(columns);
    let name_width = methods.iter().map(|m| m.len()).max().unwrap_or(6).max(6);
    let block = |title: &str, value: &dyn Fn(&Point, &str) -> Option<f64>| {
        let mut text = format!("{title}\n{:name_width$}", "method");
        for label in &labels {
            text += &format!("  {label:>8}");
        }
        text.push('\n');
        for method in &methods {
            text += &format!("{method:name_width$}");
            for (p, label) in columns.iter().zip(&labels) {
                let cell = value(p, method).map_or_else(|| "-".to_string(), short);
                text += &format!("  {cell:>w$}", w = label.len().max(8));
            }
            text.push('\n');
        }
        text
    };
    let error = |p: &Point, method: &str| {
        all.iter()
            .find(|r| point(r) == *p && r.method == method)
            .and_then(|r| {
                if normalized {
                    r.normalized_l1
                } else {
                    r.relative_l1
                }
            })
    };
    let mut text = if normalized {
        block(
            "normalized L1 error (each method's mean L1 over seeds and all layers, divided by \
             hesscale's; - where undefined)",
            &error,
        )
    } else {
        block(
            "relative L1 error (each method's mean L1 over seeds and all layers, divided by the \
             size of the exact diagonal)",
            &error,
        )
    };
    let cost = |p: &Point, method: &str| {
        timing
            .iter()
            .find(|t| {
                t.method == method
                    && (
                        t.activation,
                        t.loss,
                        &t.data,
                        t.depth,
                        t.width,
                        t.batch_size,
                    ) == (
                        p.activation,
                        p.loss,
                        &p.data,
                        p.depth,
                        p.width,
                        p.batch_size,
                    )
            })
            .and_then(|t| t.backward_equivalents)
    };
    if timing.iter().any(|t| t.backward_equivalents.is_some()) {
        text += &block(
            &format!(
                "cost in backward-pass equivalents (median over cells of each method's time on \
                 its own, forward pass included, over the gradient's; {TIMING_FILE})"
            ),
            &cost,
        );
    }
    if points.len() > columns.len() {
        text += &format!(
            "({} more grid points in {SUMMARY_FILE})\n",
            points.len() - columns.len()
        );
    }
    text + &accuracies(training)
}

/// One line per trained grid point and step: the mean test accuracy and losses over
/// seeds.
fn accuracies(training: &[TrainingSummaryRow]) -> String {
    if training.is_empty() {
        return String::new();
    }
    let mut text = "trained networks (mean over seeds)\n".to_string();
    for row in training {
        let accuracy = match row.test_accuracy_se {
            Some(se) => format!("{:.4} ± {:.4}", row.test_accuracy, se),
            None => format!("{:.4}", row.test_accuracy),
        };
        text += &format!(
            "  {} {} {} d{} w{} step {}: test accuracy {accuracy}, train loss {}, test loss {}\n",
            row.activation,
            row.loss,
            row.data,
            row.depth,
            row.width,
            row.step,
            short(row.train_loss),
            short(row.test_loss)
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DataSource;
    use crate::nn::{Activation, Loss, Reduction};

    fn row(method: &str, width: usize, normalized: Option<f64>) -> SummaryRow {
        SummaryRow {
            activation: Activation::Tanh,
            loss: Loss::CrossEntropy,
            reduction: Reduction::Mean,
            data: DataSource::Random,
            depth: 3,
            width,
            inputs: 6,
            outputs: 10,
            n_params: 0,
            batch_size: 1,
            step: 0,
            method: method.to_string(),
            layer: "all".to_string(),
            seeds: 2,
            samples: 5,
            mean_l1: 1.0,
            se_l1: None,
            normalized_l1: normalized,
            ratio_mean: None,
            ratio_se: None,
            relative_l1: Some(0.5),
        }
    }

    #[test]
    fn one_row_per_method_one_column_per_grid_point() {
        let rows = vec![
            row("hesscale", 16, Some(1.0)),
            row("ggn", 16, Some(17.68)),
            row("hesscale", 32, Some(1.0)),
            row("ggn", 32, None),
        ];
        let text = table(&rows, &[], &[]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("normalized L1 error"));
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["method", "w16", "w32"]
        );
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            ["hesscale", "1.00", "1.00"]
        );
        assert_eq!(
            lines[3].split_whitespace().collect::<Vec<_>>(),
            ["ggn", "17.7", "-"]
        );
        assert_eq!(short(813.9), "814");
        assert_eq!(short(0.004), "4.0e-3");
    }

    #[test]
    fn steps_are_columns_and_trained_networks_report_their_accuracy() {
        let at = |method: &str, step: usize, normalized: f64| SummaryRow {
            data: "mnist".parse().unwrap(),
            step,
            ..row(method, 64, Some(normalized))
        };
        let rows = vec![
            at("hesscale", 0, 1.0),
            at("ggn", 0, 2.0),
            at("hesscale", 100, 1.0),
            at("ggn", 100, 3.0),
        ];
        let training = [TrainingSummaryRow {
            activation: Activation::Tanh,
            loss: Loss::CrossEntropy,
            reduction: Reduction::Mean,
            data: "mnist".parse().unwrap(),
            depth: 3,
            width: 64,
            step: 100,
            seeds: 2,
            train_loss: 0.25,
            test_loss: 0.5,
            test_accuracy: 0.9,
            test_accuracy_se: Some(0.01),
        }];
        let text = table(&rows, &[], &training);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["method", "step0", "step100"]
        );
        assert_eq!(
            lines[3].split_whitespace().collect::<Vec<_>>(),
            ["ggn", "2.00", "3.00"]
        );
        assert_eq!(lines[4], "trained networks (mean over seeds)");
        assert_eq!(
            lines[5],
            "  tanh cross_entropy mnist d3 w64 step 100: test accuracy 0.9000 ± 0.0100, train loss 0.25, test loss 0.50"
        );
    }
}
