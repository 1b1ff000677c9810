//! The results table `quality` prints at the end of a run: the normalized L1 error of
//! every method (rows) at every grid point (columns), over all layers — the papers' bar
//! heights — so that a user sees the result without opening a CSV. Without hesscale in
//! the grid, the relative L1 error instead.

use std::collections::BTreeSet;

use crate::nn::{Activation, Loss, Reduction};
use crate::study::quality::rows::{SummaryRow, SUMMARY_FILE};

/// The grid points a results table shows at most.
pub const COLUMNS: usize = 8;

/// A grid point.
type Point = (Activation, Loss, Reduction, usize, usize);

fn point(row: &SummaryRow) -> Point {
    (
        row.activation,
        row.loss,
        row.reduction,
        row.depth,
        row.width,
    )
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
/// `relu mse d3`), or `all` when there is one point.
fn labels(points: &[Point]) -> Vec<String> {
    let axes: [fn(&Point) -> String; 5] = [
        |p| p.0.to_string(),
        |p| p.1.to_string(),
        |p| p.2.to_string(),
        |p| format!("d{}", p.3),
        |p| format!("w{}", p.4),
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

/// The table of the summary's `layer = all` rows.
pub fn table(rows: &[SummaryRow]) -> String {
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
    let mut text = if normalized {
        "normalized L1 error (each method's mean L1 over seeds and all layers, divided by \
         hesscale's; - where undefined)\n"
            .to_string()
    } else {
        "relative L1 error (each method's mean L1 over seeds and all layers, divided by the \
         size of the exact diagonal)\n"
            .to_string()
    };
    text += &format!("{:name_width$}", "method");
    for label in &labels {
        text += &format!("  {label:>8}");
    }
    text.push('\n');
    for method in &methods {
        text += &format!("{method:name_width$}");
        for (p, label) in columns.iter().zip(&labels) {
            let value = all
                .iter()
                .find(|r| point(r) == *p && r.method == *method)
                .and_then(|r| {
                    if normalized {
                        r.normalized_l1
                    } else {
                        r.relative_l1
                    }
                });
            let cell = value.map_or_else(|| "-".to_string(), short);
            text += &format!("  {cell:>w$}", w = label.len().max(8));
        }
        text.push('\n');
    }
    if points.len() > columns.len() {
        text += &format!(
            "({} more grid points in {SUMMARY_FILE})\n",
            points.len() - columns.len()
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(method: &str, width: usize, normalized: Option<f64>) -> SummaryRow {
        SummaryRow {
            activation: Activation::Tanh,
            loss: Loss::CrossEntropy,
            reduction: Reduction::Mean,
            depth: 3,
            width,
            batch_size: 1,
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
        let text = table(&rows);
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
}
