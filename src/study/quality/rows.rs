//! The rows of the quality study's files, one type per file, written and read through
//! serde and the `csv` crate ([`crate::io::table`]). The key columns of a row are its
//! leading fields up to `method`/`layer`/`param`; a cell's rows are checked against the
//! keys it writes when read back.

use serde::{Deserialize, Serialize};

use crate::config::quality::QualityGrid;
use crate::data::DataSource;
use crate::io::table::{self, finite, float, non_negative, optional_float, Row};
use crate::nn::{Activation, Loss, Reduction};
use crate::study::quality::cell::{CellResult, Evaluation, TensorError, TRAINING};
use crate::study::quality::Cell;

/// `quality_runs.csv`: one row per (cell, step, method, layer, param).
pub const RUNS_FILE: &str = "quality_runs.csv";
/// `quality_timing_cells.csv`: the total time of each timed subject in each cell.
pub const TIMING_CELLS_FILE: &str = "quality_timing_cells.csv";
/// `quality_training.csv`: how far each trained network had learned at each step.
pub const TRAINING_FILE: &str = "quality_training.csv";
/// `quality_summary.csv`: one row per (grid point, step, method, layer), over seeds.
pub const SUMMARY_FILE: &str = "quality_summary.csv";
/// `quality_timing.csv`: mean seconds per sample of each subject, per grid point.
pub const TIMING_FILE: &str = "quality_timing.csv";
/// `quality_training_summary.csv`: the training rows per (grid point, step), over seeds.
pub const TRAINING_SUMMARY_FILE: &str = "quality_training_summary.csv";

/// The parameter tensors of one layer, in file order.
pub const PARAMS: [&str; 2] = ["weight", "bias"];

/// What the rows of `quality_runs.csv` and `quality_summary.csv` are about besides the
/// method: the network (grid point), its data, the sizes that tell files of different
/// runs apart, and the training step it was measured at. These are the leading columns of
/// both files, in this order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Point {
    pub activation: Activation,
    pub loss: Loss,
    pub reduction: Reduction,
    pub data: DataSource,
    /// Hidden layers.
    pub depth: usize,
    /// Hidden width.
    pub width: usize,
    pub inputs: usize,
    pub outputs: usize,
    /// Weights and biases of the network.
    pub n_params: usize,
    /// Samples per evaluation batch.
    pub batch_size: usize,
    /// Optimizer steps taken before measuring (0: untrained).
    pub step: usize,
}

impl Point {
    /// The point of a cell of `grid` at training step `step`.
    pub fn new(grid: &QualityGrid, cell: &Cell, step: usize) -> Point {
        Point {
            activation: cell.activation,
            loss: cell.loss,
            reduction: cell.reduction,
            data: cell.data.clone(),
            depth: cell.depth,
            width: cell.width,
            inputs: grid.inputs,
            outputs: grid.outputs,
            n_params: grid
                .network(cell.activation, cell.depth, cell.width)
                .n_params(),
            batch_size: grid.batch_size,
            step,
        }
    }
}

/// One row of `quality_runs.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub activation: Activation,
    pub loss: Loss,
    pub reduction: Reduction,
    pub data: DataSource,
    pub depth: usize,
    pub width: usize,
    pub inputs: usize,
    pub outputs: usize,
    pub n_params: usize,
    pub batch_size: usize,
    pub step: usize,
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

impl RunRow {
    /// The row's point (its leading columns).
    pub fn point(&self) -> Point {
        Point {
            activation: self.activation,
            loss: self.loss,
            reduction: self.reduction,
            data: self.data.clone(),
            depth: self.depth,
            width: self.width,
            inputs: self.inputs,
            outputs: self.outputs,
            n_params: self.n_params,
            batch_size: self.batch_size,
            step: self.step,
        }
    }
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
    pub data: DataSource,
    pub depth: usize,
    pub width: usize,
    pub batch_size: usize,
    pub seed: usize,
    /// `gradient`, `linearization`, `training` or a method.
    pub method: String,
    /// Samples timed: the cell's batches × batch size × steps measured at (training: the
    /// training images processed).
    pub samples: usize,
    /// The subject's total wall time over them.
    #[serde(with = "float")]
    pub seconds: f64,
    /// The gradient's and each method's cost in backward-pass equivalents: the median over
    /// the cell's cost rounds of its time (on its own, forward pass included) over the
    /// gradient's (`crate::study::quality::cell::Timing`); empty for the linearization
    /// and training.
    #[serde(with = "optional_float")]
    pub backward_equivalents: Option<f64>,
}

impl Row for TimingCellRow {
    fn validate(&self) -> Result<(), String> {
        non_negative("seconds", self.seconds)?;
        self.backward_equivalents
            .map_or(Ok(()), |cost| non_negative("backward_equivalents", cost))
    }
}

/// One row of `quality_training.csv`: a trained network at one step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingRow {
    pub activation: Activation,
    pub loss: Loss,
    pub reduction: Reduction,
    pub data: DataSource,
    pub depth: usize,
    pub width: usize,
    pub seed: usize,
    pub step: usize,
    /// The mean loss on the first (up to) 1,000 images of the training part.
    #[serde(with = "float")]
    pub train_loss: f64,
    /// The mean loss on the whole test part.
    #[serde(with = "float")]
    pub test_loss: f64,
    /// The fraction of the test part classified right.
    #[serde(with = "float")]
    pub test_accuracy: f64,
}

impl Row for TrainingRow {
    fn validate(&self) -> Result<(), String> {
        finite("train_loss", self.train_loss)?;
        finite("test_loss", self.test_loss)?;
        if !(0.0..=1.0).contains(&self.test_accuracy) {
            return Err(format!(
                "test_accuracy {} is not between 0 and 1",
                self.test_accuracy
            ));
        }
        Ok(())
    }
}

/// One row of `quality_summary.csv`; `None` is an empty field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub activation: Activation,
    pub loss: Loss,
    pub reduction: Reduction,
    pub data: DataSource,
    pub depth: usize,
    pub width: usize,
    pub inputs: usize,
    pub outputs: usize,
    pub n_params: usize,
    pub batch_size: usize,
    pub step: usize,
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

impl SummaryRow {
    /// The row's point (its leading columns).
    pub fn point(&self) -> Point {
        Point {
            activation: self.activation,
            loss: self.loss,
            reduction: self.reduction,
            data: self.data.clone(),
            depth: self.depth,
            width: self.width,
            inputs: self.inputs,
            outputs: self.outputs,
            n_params: self.n_params,
            batch_size: self.batch_size,
            step: self.step,
        }
    }
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
    pub data: DataSource,
    pub depth: usize,
    pub width: usize,
    pub batch_size: usize,
    pub method: String,
    /// Samples timed (batches × batch size × steps, over every seed and reduction of the
    /// grid point; training: the training images processed).
    pub samples: usize,
    /// The mean wall time per sample: the total time over `samples`.
    #[serde(with = "float")]
    pub seconds_per_sample: f64,
    /// The median over the grid point's cells of their `backward_equivalents`: the cost
    /// of the gradient (1) and of each method in gradients; empty for the linearization
    /// and training.
    #[serde(with = "optional_float")]
    pub backward_equivalents: Option<f64>,
}

impl Row for TimingRow {}

/// One row of `quality_training_summary.csv`: the training rows of a grid point and step,
/// averaged over seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummaryRow {
    pub activation: Activation,
    pub loss: Loss,
    pub reduction: Reduction,
    pub data: DataSource,
    pub depth: usize,
    pub width: usize,
    pub step: usize,
    pub seeds: usize,
    #[serde(with = "float")]
    pub train_loss: f64,
    #[serde(with = "float")]
    pub test_loss: f64,
    #[serde(with = "float")]
    pub test_accuracy: f64,
    /// The standard error over seeds of the test accuracy (empty for one seed).
    #[serde(with = "optional_float")]
    pub test_accuracy_se: Option<f64>,
}

impl Row for TrainingSummaryRow {}

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

/// The runs rows of one method at one point of a cell, in file order.
fn method_rows(
    point: &Point,
    seed: usize,
    method: &str,
    layers: &[[TensorError; 2]],
) -> Vec<RunRow> {
    row_selectors(layers.len())
        .into_iter()
        .map(|(layer, param)| {
            let value = select(layers, layer, param);
            RunRow {
                activation: point.activation,
                loss: point.loss,
                reduction: point.reduction,
                data: point.data.clone(),
                depth: point.depth,
                width: point.width,
                inputs: point.inputs,
                outputs: point.outputs,
                n_params: point.n_params,
                batch_size: point.batch_size,
                step: point.step,
                seed,
                method: method.to_string(),
                layer: layer.map_or_else(|| "all".to_string(), |l| (l + 1).to_string()),
                param: param.map_or("all", |p| PARAMS[p]).to_string(),
                l1: value.l1,
                sum_abs_exact: value.sum_abs_exact,
            }
        })
        .collect()
}

/// The runs rows of a finished cell of `grid`, in file order: each step, then each
/// method, then each layer and param.
pub fn run_rows(grid: &QualityGrid, result: &CellResult) -> Vec<RunRow> {
    result
        .steps
        .iter()
        .flat_map(|at| {
            let point = Point::new(grid, &result.cell, at.step);
            at.errors
                .iter()
                .flat_map(|errors| {
                    method_rows(
                        &point,
                        result.cell.seed,
                        &errors.method.to_string(),
                        &errors.layers,
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The runs rows a cell writes with its values left at zero: what its rows are checked
/// against when read back.
pub fn run_row_keys(grid: &QualityGrid, cell: &Cell, methods: &[String]) -> Vec<RunRow> {
    let layers = vec![[TensorError::default(); 2]; cell.depth + 1];
    grid.steps_of(&cell.data)
        .iter()
        .flat_map(|&step| {
            let point = Point::new(grid, cell, step);
            methods
                .iter()
                .flat_map(|method| method_rows(&point, cell.seed, method, &layers))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The timing row of one subject in a cell: `samples` samples timed, `seconds` in total.
fn timing_row(
    cell: &Cell,
    batch_size: usize,
    subject: &str,
    samples: usize,
    seconds: f64,
    backward_equivalents: Option<f64>,
) -> TimingCellRow {
    TimingCellRow {
        activation: cell.activation,
        loss: cell.loss,
        reduction: cell.reduction,
        data: cell.data.clone(),
        depth: cell.depth,
        width: cell.width,
        batch_size,
        seed: cell.seed,
        method: subject.to_string(),
        samples,
        seconds,
        backward_equivalents,
    }
}

/// The subjects a cell of `grid` times, in the order of its rows, each with the samples
/// it is timed over: [`QualityGrid::timed_subjects`] over the measured samples, then
/// [`TRAINING`] over the training images when the cell trains.
pub fn timed_subjects(grid: &QualityGrid, cell: &Cell) -> Vec<(String, usize)> {
    let measured = grid.samples_per_cell(&cell.data);
    let mut subjects: Vec<(String, usize)> = grid
        .timed_subjects()
        .into_iter()
        .map(|subject| (subject, measured))
        .collect();
    let steps = grid.steps_of(&cell.data).last().copied().unwrap_or(0);
    if steps > 0 {
        subjects.push((TRAINING.to_string(), steps * grid.train_batch_size));
    }
    subjects
}

/// The timing rows of a finished cell of `grid`, one per timed subject.
pub fn timing_cell_rows(grid: &QualityGrid, result: &CellResult) -> Vec<TimingCellRow> {
    timed_subjects(grid, &result.cell)
        .iter()
        .zip(&result.timings)
        .map(|((subject, samples), timing)| {
            debug_assert_eq!(subject, &timing.subject);
            timing_row(
                &result.cell,
                grid.batch_size,
                subject,
                *samples,
                timing.seconds,
                timing.backward_equivalents,
            )
        })
        .collect()
}

/// The timing rows a cell writes, with zero times: what its rows are checked against.
pub fn timing_row_keys(grid: &QualityGrid, cell: &Cell) -> Vec<TimingCellRow> {
    timed_subjects(grid, cell)
        .iter()
        .map(|(subject, samples)| timing_row(cell, grid.batch_size, subject, *samples, 0.0, None))
        .collect()
}

/// The training row of a cell at one step.
fn training_row(cell: &Cell, step: usize, evaluation: Evaluation) -> TrainingRow {
    TrainingRow {
        activation: cell.activation,
        loss: cell.loss,
        reduction: cell.reduction,
        data: cell.data.clone(),
        depth: cell.depth,
        width: cell.width,
        seed: cell.seed,
        step,
        train_loss: evaluation.train_loss,
        test_loss: evaluation.test_loss,
        test_accuracy: evaluation.test_accuracy,
    }
}

/// The training rows of a finished cell: one per step of a data set's cell, none for
/// `random`.
pub fn training_rows(result: &CellResult) -> Vec<TrainingRow> {
    result
        .steps
        .iter()
        .filter_map(|at| Some(training_row(&result.cell, at.step, at.evaluation?)))
        .collect()
}

/// The training rows a cell writes, with zero values: what its rows are checked against.
pub fn training_row_keys(grid: &QualityGrid, cell: &Cell) -> Vec<TrainingRow> {
    match cell.data {
        DataSource::Random => Vec::new(),
        DataSource::Set(_) => grid
            .steps_of(&cell.data)
            .iter()
            .map(|&step| training_row(cell, step, Evaluation::default()))
            .collect(),
    }
}

/// Check rows read back against the rows a cell writes (`expected`, values aside):
/// the same number, each with the same key fields (`same_key`).
pub fn check_keys<R: Row>(
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
        Some(i) => {
            let shown = |row: &R| {
                table::lines(std::slice::from_ref(row))
                    .trim_end()
                    .to_string()
            };
            Err(format!(
                "row {} is '{}', where the cell writes a row starting like '{}'",
                i + 1,
                shown(&rows[i]),
                shown(&expected[i])
            ))
        }
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
    /// Whether two rows have the same key and sample count (everything but the times).
    pub fn same_key(&self, other: &TimingCellRow) -> bool {
        let key = |row: &TimingCellRow| TimingCellRow {
            seconds: 0.0,
            backward_equivalents: None,
            ..row.clone()
        };
        key(self) == key(other)
    }
}

impl TrainingRow {
    /// Whether two rows have the same key (everything but the losses and accuracy).
    pub fn same_key(&self, other: &TrainingRow) -> bool {
        let key = |row: &TrainingRow| TrainingRow {
            train_loss: 0.0,
            test_loss: 0.0,
            test_accuracy: 0.0,
            ..row.clone()
        };
        key(self) == key(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DataSet;
    use crate::io::table::{header, lines, parse};
    use crate::study::quality::cell::{MethodErrors, StepResult, Timing};

    fn grid() -> QualityGrid {
        QualityGrid {
            activations: vec![Activation::Tanh],
            losses: vec![Loss::Mse],
            reductions: vec![Reduction::Sum],
            depths: vec![1],
            widths: vec![4],
            inputs: 3,
            outputs: 2,
            methods: vec!["hesscale".parse().unwrap()],
            batches: 10,
            ..QualityGrid::default()
        }
    }

    fn cell() -> Cell {
        Cell {
            activation: Activation::Tanh,
            loss: Loss::Mse,
            reduction: Reduction::Sum,
            data: DataSource::Random,
            depth: 1,
            width: 4,
            seed: 2,
        }
    }

    fn error(l1: f64, sum_abs_exact: f64) -> TensorError {
        TensorError { l1, sum_abs_exact }
    }

    fn timing(subject: &str, seconds: f64) -> Timing {
        Timing {
            subject: subject.to_string(),
            seconds,
            backward_equivalents: None,
        }
    }

    #[test]
    fn a_cell_writes_every_layer_and_param_with_the_keys_it_promises() {
        let grid = grid();
        let result = CellResult {
            cell: cell(),
            steps: vec![StepResult {
                step: 0,
                errors: vec![MethodErrors {
                    method: "hesscale".parse().unwrap(),
                    layers: vec![
                        [error(1.0, 2.0), error(0.5, 1.0)],
                        [error(0.25, 3.0), error(0.0, 0.125)],
                    ],
                }],
                evaluation: None,
            }],
            timings: ["gradient", "linearization", "exact", "hesscale"]
                .iter()
                .map(|s| timing(s, 0.5))
                .collect(),
        };
        let rows = run_rows(&grid, &result);
        assert_eq!(
            header(&rows[0]),
            "activation,loss,reduction,data,depth,width,inputs,outputs,n_params,batch_size,step,\
             seed,method,layer,param,l1,sum_abs_exact"
        );
        let text = lines(&rows);
        // 3 inputs -> 4 -> 2 outputs: 16 + 10 parameters.
        let expected = "\
tanh,mse,sum,random,1,4,3,2,26,1,0,2,hesscale,1,weight,1.0,2.0
tanh,mse,sum,random,1,4,3,2,26,1,0,2,hesscale,1,bias,0.5,1.0
tanh,mse,sum,random,1,4,3,2,26,1,0,2,hesscale,1,all,1.5,3.0
tanh,mse,sum,random,1,4,3,2,26,1,0,2,hesscale,2,weight,0.25,3.0
tanh,mse,sum,random,1,4,3,2,26,1,0,2,hesscale,2,bias,0.0,0.125
tanh,mse,sum,random,1,4,3,2,26,1,0,2,hesscale,2,all,0.25,3.125
tanh,mse,sum,random,1,4,3,2,26,1,0,2,hesscale,all,weight,1.25,5.0
tanh,mse,sum,random,1,4,3,2,26,1,0,2,hesscale,all,bias,0.5,1.125
tanh,mse,sum,random,1,4,3,2,26,1,0,2,hesscale,all,all,1.75,6.125
";
        assert_eq!(text, expected);
        let back: Vec<RunRow> = parse(&text, 2).unwrap();
        assert_eq!(lines(&back), text);
        let keys = run_row_keys(&grid, &cell(), &["hesscale".to_string()]);
        assert!(check_keys(&back, &keys, RunRow::same_key).is_ok());
        let timings = timing_cell_rows(&grid, &result);
        assert_eq!(
            lines(&timings[3..]),
            "tanh,mse,sum,random,1,4,1,2,hesscale,10,0.5,\n"
        );
        let keys = timing_row_keys(&grid, &cell());
        assert!(check_keys(&timings, &keys, TimingCellRow::same_key).is_ok());
        assert!(training_rows(&result).is_empty());
        assert!(training_row_keys(&grid, &cell()).is_empty());
    }

    #[test]
    fn a_trained_cell_writes_each_step_and_times_its_training() {
        let grid = QualityGrid {
            data: vec![DataSource::Set(DataSet::Mnist)],
            inputs: 784,
            outputs: 10,
            train_steps: vec![0, 5],
            train_batch_size: 3,
            ..grid()
        };
        let cell = Cell {
            data: DataSource::Set(DataSet::Mnist),
            ..cell()
        };
        let keys = run_row_keys(&grid, &cell, &["hesscale".to_string()]);
        assert_eq!(keys.len(), 2 * 9);
        assert_eq!((keys[0].step, keys[9].step), (0, 5));
        assert_eq!(keys[0].n_params, 785 * 4 + 5 * 10);
        let timings = timing_row_keys(&grid, &cell);
        let last = timings.last().unwrap();
        assert_eq!((last.method.as_str(), last.samples), (TRAINING, 15));
        // Every method is timed over the batches of both steps.
        assert_eq!(timings[0].samples, 20);
        let training = training_row_keys(&grid, &cell);
        assert_eq!(training.iter().map(|r| r.step).collect::<Vec<_>>(), [0, 5]);
        let line = "tanh,mse,sum,mnist,1,4,2,5,0.5,0.6,0.9\n";
        let rows: Vec<TrainingRow> = parse(line, 2).unwrap();
        assert!(check_keys(&rows, &training[1..], TrainingRow::same_key).is_ok());
        let bad = "tanh,mse,sum,mnist,1,4,2,5,0.5,0.6,1.5\n";
        assert!(parse::<TrainingRow>(bad, 2)
            .unwrap_err()
            .contains("test_accuracy 1.5 is not between 0 and 1"));
    }

    #[test]
    fn rows_of_another_cell_or_count_are_refused() {
        let keys = run_row_keys(&grid(), &cell(), &["ggn".to_string()]);
        let mut other = keys.clone();
        other[3].seed = 7;
        let error = check_keys(&other, &keys, RunRow::same_key).unwrap_err();
        assert!(error.starts_with("row 4 is"), "{error}");
        let error = check_keys(&keys[1..], &keys, RunRow::same_key).unwrap_err();
        assert!(error.contains("8 rows where the cell writes 9"), "{error}");
        let mut other = keys.clone();
        other[0].data = DataSource::Set(DataSet::Mnist);
        assert!(check_keys(&other, &keys, RunRow::same_key).is_err());
    }

    #[test]
    fn bad_values_are_refused_when_read_back() {
        let line = "tanh,mse,sum,random,1,4,3,2,26,1,0,2,hesscale,1,weight,-1.0,2.0\n";
        assert!(parse::<RunRow>(line, 2)
            .unwrap_err()
            .contains("l1 -1 is negative"));
        let line = "tanh,mse,sum,random,1,4,1,2,exact,10,-5.0,\n";
        assert!(parse::<TimingCellRow>(line, 2)
            .unwrap_err()
            .contains("seconds -5 is negative"));
        let line = "tanh,mse,sum,random,1,4,1,2,exact,10,5.0,-2.0\n";
        assert!(parse::<TimingCellRow>(line, 2)
            .unwrap_err()
            .contains("backward_equivalents -2 is negative"));
        let line = "swish,mse,sum,random,1,4,1,2,exact,10,5.0,\n";
        assert!(parse::<TimingCellRow>(line, 2).is_err());
        let line = "tanh,mse,sum,cifar,1,4,1,2,exact,10,5.0,\n";
        assert!(parse::<TimingCellRow>(line, 2).is_err());
    }

    #[test]
    fn empty_values_are_empty_fields() {
        let row = SummaryRow {
            activation: Activation::Tanh,
            loss: Loss::Mse,
            reduction: Reduction::Mean,
            data: DataSource::Random,
            depth: 3,
            width: 16,
            inputs: 6,
            outputs: 10,
            n_params: 730,
            batch_size: 1,
            step: 0,
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
            "tanh,mse,mean,random,3,16,6,10,730,1,0,zero,all,1,5,0.1,,2.5,,,1.0\n"
        );
    }
}
