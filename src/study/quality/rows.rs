//! The rows of the quality study's files, one type per file, written and read through
//! serde and the `csv` crate ([`crate::io::table`]). The key columns of a row are its
//! leading fields up to `method`/`layer`/`param`; a cell's rows are checked against the
//! keys it writes when read back.

use serde::{Deserialize, Serialize};

use crate::io::table::{finite, float, non_negative, optional_float, Row};
use crate::nn::{Activation, Loss, Reduction};
use crate::study::quality::cell::{CellResult, TensorError};
use crate::study::quality::Cell;

/// `quality_runs.csv`: one row per (cell, method, layer, param).
pub const RUNS_FILE: &str = "quality_runs.csv";
/// `quality_timing_cells.csv`: the total time of each timed subject in each cell.
pub const TIMING_CELLS_FILE: &str = "quality_timing_cells.csv";
/// `quality_summary.csv`: one row per (grid point, method, layer), over seeds.
pub const SUMMARY_FILE: &str = "quality_summary.csv";
/// `quality_timing.csv`: mean seconds per sample of each subject, per grid point.
pub const TIMING_FILE: &str = "quality_timing.csv";

/// The parameter tensors of one layer, in file order.
pub const PARAMS: [&str; 2] = ["weight", "bias"];

/// One row of `quality_runs.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub activation: Activation,
    pub loss: Loss,
    pub reduction: Reduction,
    /// Hidden layers.
    pub depth: usize,
    /// Hidden width.
    pub width: usize,
    pub batch_size: usize,
    pub seed: usize,
    pub method: String,
    /// `1`..`L` or `all`.
    pub layer: String,
    /// `weight`, `bias` or `all`.
    pub param: String,
    /// Mean over the seed's batches of `Σ|exact − estimate|` over the tensor(s).
    #[serde(with = "float")]
    pub l1: f64,
    /// Mean over the seed's batches of `Σ|exact|` over the same tensor(s).
    #[serde(with = "float")]
    pub sum_abs_exact: f64,
}

impl Row for RunRow {
    fn validate(&self) -> Result<(), String> {
        non_negative("l1", self.l1)?;
        non_negative("sum_abs_exact", self.sum_abs_exact)
    }
}

/// One row of `quality_timing_cells.csv`: a subject's total time over a cell's samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimingCellRow {
    pub activation: Activation,
    pub loss: Loss,
    pub reduction: Reduction,
    pub depth: usize,
    pub width: usize,
    pub batch_size: usize,
    pub seed: usize,
    /// `gradient`, `linearization` or a method.
    pub method: String,
    /// Samples timed: the cell's batches × batch size.
    pub samples: usize,
    /// The subject's total wall time over them.
    #[serde(with = "float")]
    pub seconds: f64,
}

impl Row for TimingCellRow {
    fn validate(&self) -> Result<(), String> {
        non_negative("seconds", self.seconds)
    }
}

/// One row of `quality_summary.csv`; `None` is an empty field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub activation: Activation,
    pub loss: Loss,
    pub reduction: Reduction,
    pub depth: usize,
    pub width: usize,
    pub batch_size: usize,
    pub method: String,
    pub layer: String,
    /// Seeds averaged over.
    pub seeds: usize,
    /// Batches per seed (the `--samples` option counts batches).
    pub samples: usize,
    #[serde(with = "float")]
    pub mean_l1: f64,
    #[serde(with = "optional_float")]
    pub se_l1: Option<f64>,
    #[serde(with = "optional_float")]
    pub normalized_l1: Option<f64>,
    #[serde(with = "optional_float")]
    pub ratio_mean: Option<f64>,
    #[serde(with = "optional_float")]
    pub ratio_se: Option<f64>,
    #[serde(with = "optional_float")]
    pub relative_l1: Option<f64>,
}

impl Row for SummaryRow {
    fn validate(&self) -> Result<(), String> {
        finite("mean_l1", self.mean_l1)
    }
}

/// One row of `quality_timing.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimingRow {
    pub activation: Activation,
    pub loss: Loss,
    pub depth: usize,
    pub width: usize,
    pub batch_size: usize,
    pub method: String,
    /// Samples timed (batches × batch size, over every seed and reduction of the grid
    /// point).
    pub samples: usize,
    /// The mean wall time per sample: the total time over `samples`.
    #[serde(with = "float")]
    pub seconds_per_sample: f64,
}

impl Row for TimingRow {}

/// The `(layer, param)` labels of a method's rows for `layers` Linear layers, in file
/// order: each layer `1..L` then `all`, each with `weight`, `bias`, `all`. `None` means
/// `all`.
fn row_selectors(layers: usize) -> Vec<(Option<usize>, Option<usize>)> {
    (0..layers)
        .map(Some)
        .chain([None])
        .flat_map(|layer| [Some(0), Some(1), None].map(|param| (layer, param)))
        .collect()
}

/// The error of the tensors a selector picks: a layer's weight or bias, their sum, or
/// the sum over layers (summed in layer order, weight before bias).
fn select(layers: &[[TensorError; 2]], layer: Option<usize>, param: Option<usize>) -> TensorError {
    let of_layer = |pair: &[TensorError; 2]| match param {
        Some(p) => pair[p],
        None => pair[0].plus(pair[1]),
    };
    match layer {
        Some(l) => of_layer(&layers[l]),
        None => layers
            .iter()
            .fold(TensorError::default(), |sum, pair| sum.plus(of_layer(pair))),
    }
}

/// The runs rows of one method in a cell, in file order.
fn method_rows(
    cell: &Cell,
    batch_size: usize,
    method: &str,
    layers: &[[TensorError; 2]],
) -> Vec<RunRow> {
    row_selectors(layers.len())
        .into_iter()
        .map(|(layer, param)| {
            let value = select(layers, layer, param);
            RunRow {
                activation: cell.activation,
                loss: cell.loss,
                reduction: cell.reduction,
                depth: cell.depth,
                width: cell.width,
                batch_size,
                seed: cell.seed,
                method: method.to_string(),
                layer: layer.map_or_else(|| "all".to_string(), |l| (l + 1).to_string()),
                param: param.map_or("all", |p| PARAMS[p]).to_string(),
                l1: value.l1,
                sum_abs_exact: value.sum_abs_exact,
            }
        })
        .collect()
}

/// The runs rows of a finished cell, in file order: each method, then each layer and
/// param.
pub fn run_rows(result: &CellResult, batch_size: usize) -> Vec<RunRow> {
    result
        .errors
        .iter()
        .flat_map(|errors| {
            method_rows(
                &result.cell,
                batch_size,
                &errors.method.to_string(),
                &errors.layers,
            )
        })
        .collect()
}

/// The runs rows a cell writes with its values left at zero: what its rows are checked
/// against when read back.
pub fn run_row_keys(cell: &Cell, batch_size: usize, methods: &[String]) -> Vec<RunRow> {
    let layers = vec![[TensorError::default(); 2]; cell.depth + 1];
    methods
        .iter()
        .flat_map(|method| method_rows(cell, batch_size, method, &layers))
        .collect()
}

/// The timing row of one subject in a cell: `samples` samples timed, `seconds` in total.
fn timing_row(
    cell: &Cell,
    batch_size: usize,
    subject: &str,
    samples: usize,
    seconds: f64,
) -> TimingCellRow {
    TimingCellRow {
        activation: cell.activation,
        loss: cell.loss,
        reduction: cell.reduction,
        depth: cell.depth,
        width: cell.width,
        batch_size,
        seed: cell.seed,
        method: subject.to_string(),
        samples,
        seconds,
    }
}

/// The timing rows of a finished cell, one per timed subject, each over `samples` samples.
pub fn timing_cell_rows(
    result: &CellResult,
    batch_size: usize,
    samples: usize,
) -> Vec<TimingCellRow> {
    result
        .timings
        .iter()
        .map(|t| timing_row(&result.cell, batch_size, &t.subject, samples, t.seconds))
        .collect()
}

/// The timing rows a cell writes, with zero times: what its rows are checked against.
pub fn timing_row_keys(
    cell: &Cell,
    batch_size: usize,
    subjects: &[String],
    samples: usize,
) -> Vec<TimingCellRow> {
    subjects
        .iter()
        .map(|subject| timing_row(cell, batch_size, subject, samples, 0.0))
        .collect()
}

/// Check rows read back against the rows a cell writes (`expected`, values aside):
/// the same number, each with the same key fields (`same_key`).
pub fn check_keys<R: std::fmt::Debug>(
    rows: &[R],
    expected: &[R],
    same_key: impl Fn(&R, &R) -> bool,
) -> Result<(), String> {
    if rows.len() != expected.len() {
        return Err(format!(
            "{} rows where the cell writes {}",
            rows.len(),
            expected.len()
        ));
    }
    match rows
        .iter()
        .zip(expected)
        .position(|(row, key)| !same_key(row, key))
    {
        Some(i) => Err(format!(
            "row {} is {:?}, expected the key of {:?}",
            i + 1,
            rows[i],
            expected[i]
        )),
        None => Ok(()),
    }
}

impl RunRow {
    /// Whether two rows have the same key (everything but `l1` and `sum_abs_exact`).
    pub fn same_key(&self, other: &RunRow) -> bool {
        RunRow {
            l1: 0.0,
            sum_abs_exact: 0.0,
            ..self.clone()
        } == RunRow {
            l1: 0.0,
            sum_abs_exact: 0.0,
            ..other.clone()
        }
    }
}

impl TimingCellRow {
    /// Whether two rows have the same key and sample count (everything but `seconds`).
    pub fn same_key(&self, other: &TimingCellRow) -> bool {
        TimingCellRow {
            seconds: 0.0,
            ..self.clone()
        } == TimingCellRow {
            seconds: 0.0,
            ..other.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::table::{header, lines, parse};
    use crate::study::quality::cell::{MethodErrors, Timing};

    fn cell() -> Cell {
        Cell {
            activation: Activation::Tanh,
            loss: Loss::Mse,
            reduction: Reduction::Sum,
            depth: 1,
            width: 4,
            seed: 2,
        }
    }

    fn error(l1: f64, sum_abs_exact: f64) -> TensorError {
        TensorError { l1, sum_abs_exact }
    }

    #[test]
    fn a_cell_writes_every_layer_and_param_with_the_keys_it_promises() {
        let result = CellResult {
            cell: cell(),
            errors: vec![MethodErrors {
                method: "hesscale".parse().unwrap(),
                layers: vec![
                    [error(1.0, 2.0), error(0.5, 1.0)],
                    [error(0.25, 3.0), error(0.0, 0.125)],
                ],
            }],
            timings: vec![Timing {
                subject: "exact".to_string(),
                seconds: 0.5,
            }],
        };
        let rows = run_rows(&result, 1);
        assert_eq!(
            header(&rows[0]),
            "activation,loss,reduction,depth,width,batch_size,seed,method,layer,param,l1,sum_abs_exact"
        );
        let text = lines(&rows);
        let expected = "\
tanh,mse,sum,1,4,1,2,hesscale,1,weight,1.0,2.0
tanh,mse,sum,1,4,1,2,hesscale,1,bias,0.5,1.0
tanh,mse,sum,1,4,1,2,hesscale,1,all,1.5,3.0
tanh,mse,sum,1,4,1,2,hesscale,2,weight,0.25,3.0
tanh,mse,sum,1,4,1,2,hesscale,2,bias,0.0,0.125
tanh,mse,sum,1,4,1,2,hesscale,2,all,0.25,3.125
tanh,mse,sum,1,4,1,2,hesscale,all,weight,1.25,5.0
tanh,mse,sum,1,4,1,2,hesscale,all,bias,0.5,1.125
tanh,mse,sum,1,4,1,2,hesscale,all,all,1.75,6.125
";
        assert_eq!(text, expected);
        let back: Vec<RunRow> = parse(&text, 2).unwrap();
        assert_eq!(lines(&back), text);
        let keys = run_row_keys(&cell(), 1, &["hesscale".to_string()]);
        assert!(check_keys(&back, &keys, RunRow::same_key).is_ok());
        let timing = timing_cell_rows(&result, 1, 10);
        assert_eq!(lines(&timing), "tanh,mse,sum,1,4,1,2,exact,10,0.5\n");
        let keys = timing_row_keys(&cell(), 1, &["exact".to_string()], 10);
        assert!(check_keys(&timing, &keys, TimingCellRow::same_key).is_ok());
    }

    #[test]
    fn rows_of_another_cell_or_count_are_refused() {
        let keys = run_row_keys(&cell(), 1, &["ggn".to_string()]);
        let mut other = keys.clone();
        other[3].seed = 7;
        let error = check_keys(&other, &keys, RunRow::same_key).unwrap_err();
        assert!(error.starts_with("row 4 is"), "{error}");
        let error = check_keys(&keys[1..], &keys, RunRow::same_key).unwrap_err();
        assert!(error.contains("8 rows where the cell writes 9"), "{error}");
    }

    #[test]
    fn bad_values_are_refused_when_read_back() {
        let line = "tanh,mse,sum,1,4,1,2,hesscale,1,weight,-1.0,2.0\n";
        assert!(parse::<RunRow>(line, 2)
            .unwrap_err()
            .contains("l1 -1 is negative"));
        let line = "tanh,mse,sum,1,4,1,2,exact,10,-5.0\n";
        assert!(parse::<TimingCellRow>(line, 2)
            .unwrap_err()
            .contains("seconds -5 is negative"));
        let line = "swish,mse,sum,1,4,1,2,exact,10,5.0\n";
        assert!(parse::<TimingCellRow>(line, 2).is_err());
    }

    #[test]
    fn empty_values_are_empty_fields() {
        let row = SummaryRow {
            activation: Activation::Tanh,
            loss: Loss::Mse,
            reduction: Reduction::Mean,
            depth: 3,
            width: 16,
            batch_size: 1,
            method: "zero".into(),
            layer: "all".into(),
            seeds: 1,
            samples: 5,
            mean_l1: 0.1,
            se_l1: None,
            normalized_l1: Some(2.5),
            ratio_mean: None,
            ratio_se: None,
            relative_l1: Some(1.0),
        };
        assert_eq!(
            lines(&[row]),
            "tanh,mse,mean,3,16,1,zero,all,1,5,0.1,,2.5,,,1.0\n"
        );
    }
}
