//! The approximation-quality study (SPEC §3, §8) on the engine: a cell is one network (an
//! activation, loss, reduction, data, depth, width and seed of the grid), trained first
//! when its data is a data set, and its batches; it appends its per-seed errors to
//! `quality_runs.csv`, its timings to `quality_timing_cells.csv` and, when trained, how
//! far it learned to `quality_training.csv`; the summaries are computed from those rows
//! at the end.

pub mod cell;
pub mod report;
pub mod rows;
pub mod summary;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::config::grid;
use crate::config::quality::QualityGrid;
use crate::data::{load_shared, DataSet, DataSource, Mnist};
use crate::error::{Error, Result};
use crate::io::table::{self, Row};
use crate::nn::{Activation, Loss, Reduction};
use crate::rng::stream_id;
use crate::study::engine::{Study, Table};
use crate::study::estimate::{evaluation_work, training_step_work};
use crate::study::meta::DataDigests;
use crate::study::SummaryFile;
use rows::{
    check_keys, run_row_keys, run_rows, timing_cell_rows, timing_row_keys, training_row_keys,
    training_rows, RunRow, SummaryRow, TimingCellRow, TimingRow, TrainingRow, TrainingSummaryRow,
    RUNS_FILE, SUMMARY_FILE, TIMING_CELLS_FILE, TIMING_FILE, TRAINING_FILE, TRAINING_SUMMARY_FILE,
};

/// The study's name: its subcommand and its files `quality.meta.json`, `quality.ledger.csv`.
pub const NAME: &str = "quality";

/// The files the study writes whole at the end.
pub const SUMMARIES: [SummaryFile; 3] = [
    SummaryFile {
        file: SUMMARY_FILE,
        header: SUMMARY_HEADER,
        what: "a quality summary",
    },
    SummaryFile {
        file: TIMING_FILE,
        header: TIMING_HEADER,
        what: "a quality timing summary",
    },
    SummaryFile {
        file: TRAINING_SUMMARY_FILE,
        header: TRAINING_SUMMARY_HEADER,
        what: "a quality training summary",
    },
];

/// One cell of the quality grid: a grid point and a seed, i.e. one network, its training
/// and its batches. The batch size, input and output widths and the training settings
/// are the same for every cell of a run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cell {
    pub activation: Activation,
    pub loss: Loss,
    pub reduction: Reduction,
    pub data: DataSource,
    /// Hidden layers.
    pub depth: usize,
    /// Hidden width.
    pub width: usize,
    /// The seed index, 0..seeds.
    pub seed: usize,
}

impl Cell {
    /// The cell's identity: `activation/loss/reduction/data/depth/width/seed`.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}/{}/{}/{}",
            self.activation,
            self.loss,
            self.reduction,
            self.data,
            self.depth,
            self.width,
            self.seed
        )
    }

    /// The stable key of the cell's random streams (SPEC §5), from its content only, so
    /// adding another width, activation or seed never changes this cell's numbers. A
    /// `random` cell's key has no data part (the streams of the first releases); a cell on
    /// a data set names the data by its contents, `data`
    /// ([`crate::data::DataDigest::stream_name`]), so that where the files lie changes
    /// nothing and other data never shares the streams.
    pub fn stream_key(&self, batch_size: usize, data: Option<&str>) -> u64 {
        let point = format!(
            "{}/{}/{}/{}/{}/{}/{}",
            self.activation,
            self.loss,
            self.reduction,
            self.depth,
            self.width,
            batch_size,
            self.seed
        );
        match data {
            None => stream_id(&point),
            Some(data) => stream_id(&format!("{data}/{point}")),
        }
    }

    /// A short human-readable name, for error messages.
    pub fn label(&self) -> String {
        format!(
            "{} {} {} {} depth {} width {} seed {}",
            self.activation,
            self.loss,
            self.reduction,
            self.data,
            self.depth,
            self.width,
            self.seed
        )
    }
}

/// The quality study of a grid, with its data sets loaded.
pub struct QualityStudy {
    pub grid: QualityGrid,
    /// Each data set of the grid, read once and shared by every cell.
    data: HashMap<DataSet, Arc<Mnist>>,
}

impl QualityStudy {
    /// The study of `grid`, with its data sets read, each held once however many names
    /// it has ([`load_shared`]; an unreadable or corrupt data set is an input error,
    /// before any work).
    pub fn new(grid: QualityGrid) -> Result<QualityStudy> {
        let sets: Vec<DataSet> = grid
            .data
            .iter()
            .filter_map(DataSource::data_set)
            .cloned()
            .collect();
        let data = sets.iter().cloned().zip(load_shared(&sets)?).collect();
        Ok(QualityStudy { grid, data })
    }

    /// The study of `grid` without its data sets: enough to check, summarise and merge
    /// rows already written, not to run a cell on a data set.
    pub fn without_data(grid: QualityGrid) -> QualityStudy {
        QualityStudy {
            grid,
            data: HashMap::new(),
        }
    }

    /// The names of the grid's methods, in file order.
    fn method_names(&self) -> Vec<String> {
        self.grid.methods.iter().map(|m| m.to_string()).collect()
    }

    /// Parse the rows of one table (its lines without header).
    fn parse<R: Row>(text: &str) -> Result<Vec<R>> {
        table::parse(text, 2).map_err(Error::input)
    }
}

/// One example row of each file, for the headers.
fn example_run() -> RunRow {
    RunRow {
        activation: Activation::Tanh,
        loss: Loss::CrossEntropy,
        reduction: Reduction::Mean,
        data: DataSource::Random,
        depth: 0,
        width: 0,
        inputs: 0,
        outputs: 0,
        n_params: 0,
        batch_size: 0,
        step: 0,
        seed: 0,
        method: String::new(),
        layer: String::new(),
        param: String::new(),
        l1: 0.0,
        sum_abs_exact: 0.0,
    }
}

fn example_timing() -> TimingCellRow {
    TimingCellRow {
        activation: Activation::Tanh,
        loss: Loss::CrossEntropy,
        reduction: Reduction::Mean,
        data: DataSource::Random,
        depth: 0,
        width: 0,
        batch_size: 0,
        seed: 0,
        method: String::new(),
        samples: 0,
        seconds: 0.0,
        backward_equivalents: None,
    }
}

fn example_training() -> TrainingRow {
    TrainingRow {
        activation: Activation::Tanh,
        loss: Loss::CrossEntropy,
        reduction: Reduction::Mean,
        data: DataSource::Random,
        depth: 0,
        width: 0,
        seed: 0,
        step: 0,
        train_loss: 0.0,
        test_loss: 0.0,
        test_accuracy: 0.0,
    }
}

impl Study for QualityStudy {
    type Cell = Cell;

    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> Vec<Table> {
        vec![
            Table {
                file: RUNS_FILE,
                header: table::header(&example_run()),
                timing: false,
            },
            Table {
                file: TIMING_CELLS_FILE,
                header: table::header(&example_timing()),
                timing: true,
            },
            Table {
                file: TRAINING_FILE,
                header: table::header(&example_training()),
                timing: false,
            },
        ]
    }

    fn summary_files(&self) -> Vec<&'static str> {
        SUMMARIES.iter().map(|summary| summary.file).collect()
    }

    /// Canonical order: activation, loss, reduction, data, depth, width, seed, each axis
    /// in the order given, the seed varying fastest.
    fn grid_cells(&self) -> Vec<Cell> {
        let grid = &self.grid;
        grid::points(&grid.axes())
            .map(|point| Cell {
                activation: grid.activations[point[0]],
                loss: grid.losses[point[1]],
                reduction: grid.reductions[point[2]],
                data: grid.data[point[3]].clone(),
                depth: grid.depths[point[4]],
                width: grid.widths[point[5]],
                seed: point[6],
            })
            .collect()
    }

    fn cell_key(&self, cell: &Cell) -> String {
        cell.key()
    }

    /// The estimated multiply-adds of the exact diagonal and every method on one batch,
    /// times the batches and steps measured at; for a data set's cell, its training steps
    /// (with the optimizer's curvature) and, at each measured step, the evaluation of the
    /// training loss and the test part ([`crate::study::estimate`]).
    fn cell_work(&self, cell: &Cell) -> f64 {
        let grid = &self.grid;
        let widths = grid
            .network(cell.activation, cell.depth, cell.width)
            .widths();
        let per_batch: f64 = grid
            .timed_methods()
            .iter()
            .map(|m| m.work(&widths, grid.batch_size))
            .sum();
        let steps = grid.steps_of(&cell.data);
        let measuring = per_batch * (grid.batches * steps.len()) as f64;
        let trained = steps.last().copied().unwrap_or(0) as f64;
        let methods: Vec<_> = grid.optimizer_config().curvature().into_iter().collect();
        let training = trained * training_step_work(&widths, grid.train_batch_size, &methods);
        let evaluated = cell
            .data
            .data_set()
            .and_then(|set| self.data.get(set))
            .map_or(0, |data| {
                data.train.len().min(cell::TRAIN_LOSS_IMAGES) + data.test.len()
            });
        let evaluations = steps.len() as f64 * evaluation_work(&widths, evaluated);
        measuring + training + evaluations
    }

    fn run_cell(&self, cell: &Cell) -> Result<Vec<String>> {
        let data = cell.data.data_set().and_then(|set| self.data.get(set));
        let result = cell::run_cell(&self.grid, cell, data.map(Arc::as_ref))?;
        Ok(vec![
            table::lines(&run_rows(&self.grid, &result)),
            table::lines(&timing_cell_rows(&self.grid, &result)),
            table::lines(&training_rows(&result)),
        ])
    }

    fn check_block(
        &self,
        table: usize,
        cell: &Cell,
        block: &str,
    ) -> std::result::Result<(), String> {
        match table {
            0 => {
                let rows: Vec<RunRow> = table::parse(block, 1)?;
                let keys = run_row_keys(&self.grid, cell, &self.method_names());
                check_keys(&rows, &keys, RunRow::same_key)
            }
            1 => {
                let rows: Vec<TimingCellRow> = table::parse(block, 1)?;
                let keys = timing_row_keys(&self.grid, cell);
                check_keys(&rows, &keys, TimingCellRow::same_key)
            }
            _ => {
                let rows: Vec<TrainingRow> = table::parse(block, 1)?;
                let keys = training_row_keys(&self.grid, cell);
                check_keys(&rows, &keys, TrainingRow::same_key)
            }
        }
    }

    /// The runs and the training rows of a data set's cell are at the same steps; each
    /// timing row counts the samples its subject was timed over.
    fn check_cell(&self, cell: &Cell, blocks: &[String]) -> std::result::Result<(), String> {
        let runs: Vec<RunRow> = table::parse(&blocks[0], 1)?;
        let training: Vec<TrainingRow> = table::parse(&blocks[2], 1)?;
        let mut run_steps: Vec<usize> = runs.iter().map(|row| row.step).collect();
        run_steps.dedup();
        let training_steps: Vec<usize> = training.iter().map(|row| row.step).collect();
        if cell.data.data_set().is_some() && run_steps != training_steps {
            return Err(format!(
                "errors measured at steps {run_steps:?} but training recorded at {training_steps:?}"
            ));
        }
        let timings: Vec<TimingCellRow> = table::parse(&blocks[1], 1)?;
        let expected = rows::timed_subjects(&self.grid, cell);
        match timings
            .iter()
            .zip(&expected)
            .find(|(row, (_, samples))| row.samples != *samples)
        {
            Some((row, (subject, samples))) => Err(format!(
                "{subject} timed over {} samples, but the cell measures {samples}",
                row.samples
            )),
            None => Ok(()),
        }
    }

    fn data_digests(&self) -> DataDigests {
        self.data
            .iter()
            .map(|(set, data)| (set.to_string(), data.digest.clone()))
            .collect()
    }

    fn cell_data(&self, cell: &Cell) -> Option<String> {
        cell.data.data_set().map(DataSet::to_string)
    }

    /// `train_steps` may grow on `--resume` (a data set's cells are then trained again).
    fn resumable_keys(&self) -> &'static [&'static str] {
        &["train_steps"]
    }

    /// A data set's cell is trained again when the measured training steps changed.
    fn recompute(&self, recorded: &Value, cell: &Cell) -> bool {
        cell.data.data_set().is_some()
            && recorded.get("train_steps") != self.config().get("train_steps")
    }

    fn summaries(&self, tables: &[String]) -> Result<Vec<(&'static str, Vec<u8>)>> {
        let runs: Vec<RunRow> = Self::parse(&tables[0])?;
        let timings: Vec<TimingCellRow> = Self::parse(&tables[1])?;
        let training: Vec<TrainingRow> = Self::parse(&tables[2])?;
        let summary: Vec<SummaryRow> = summary::summarize(&runs, self.grid.batches);
        let timing: Vec<TimingRow> = summary::aggregate_timing(&timings);
        let training: Vec<TrainingSummaryRow> = summary::summarize_training(&training);
        Ok(vec![
            (
                SUMMARY_FILE,
                table::file_text(SUMMARY_HEADER, &table::lines(&summary)).into_bytes(),
            ),
            (
                TIMING_FILE,
                table::file_text(TIMING_HEADER, &table::lines(&timing)).into_bytes(),
            ),
            (
                TRAINING_SUMMARY_FILE,
                table::file_text(TRAINING_SUMMARY_HEADER, &table::lines(&training)).into_bytes(),
            ),
        ])
    }

    fn config(&self) -> Value {
        self.grid.to_json()
    }

    fn grid_keys(&self) -> Vec<&'static str> {
        grid::keys(&self.grid.axes())
    }

    /// The normalized L1 error of every method at every grid point and step, its cost in
    /// backward-pass equivalents, and the test accuracy of trained networks
    /// ([`report::table`]).
    fn report(&self, summaries: &[(&'static str, Vec<u8>)]) -> Option<String> {
        let rows = |file: &str| {
            let (_, bytes) = summaries.iter().find(|(name, _)| *name == file)?;
            let text = std::str::from_utf8(bytes).ok()?;
            Some(text.split_once('\n')?.1.to_string())
        };
        let summary: Vec<SummaryRow> = table::parse(&rows(SUMMARY_FILE)?, 2).ok()?;
        let training: Vec<TrainingSummaryRow> =
            table::parse(&rows(TRAINING_SUMMARY_FILE)?, 2).ok()?;
        let timing: Vec<TimingRow> = rows(TIMING_FILE)
            .and_then(|text| table::parse(&text, 2).ok())
            .unwrap_or_default();
        Some(report::table(&summary, &timing, &training))
    }
}

/// The header of `quality_summary.csv` (the field names of [`SummaryRow`]).
pub const SUMMARY_HEADER: &str = "activation,loss,reduction,data,depth,width,inputs,outputs,\
     n_params,batch_size,step,method,layer,seeds,samples,mean_l1,se_l1,normalized_l1,\
     ratio_mean,ratio_se,relative_l1";
/// The header of `quality_timing.csv` (the field names of [`TimingRow`]).
pub const TIMING_HEADER: &str =
    "activation,loss,data,depth,width,batch_size,method,samples,seconds_per_sample,\
     backward_equivalents";
/// The header of `quality_training_summary.csv` (the field names of
/// [`TrainingSummaryRow`]).
pub const TRAINING_SUMMARY_HEADER: &str = "activation,loss,reduction,data,depth,width,step,\
     seeds,train_loss,test_loss,test_accuracy,test_accuracy_se";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::Method;

    fn study() -> QualityStudy {
        QualityStudy::without_data(QualityGrid {
            activations: vec![Activation::Tanh, Activation::Relu],
            losses: vec![Loss::Mse],
            depths: vec![1],
            widths: vec![3, 2],
            inputs: 2,
            outputs: 2,
            batches: 2,
            seeds: 2,
            methods: vec![Method::exact()],
            ..QualityGrid::default()
        })
    }

    #[test]
    fn cells_come_in_canonical_order_with_the_seed_fastest() {
        let keys: Vec<String> = study().grid_cells().iter().map(Cell::key).collect();
        assert_eq!(
            keys,
            [
                "tanh/mse/mean/random/1/3/0",
                "tanh/mse/mean/random/1/3/1",
                "tanh/mse/mean/random/1/2/0",
                "tanh/mse/mean/random/1/2/1",
                "relu/mse/mean/random/1/3/0",
                "relu/mse/mean/random/1/3/1",
                "relu/mse/mean/random/1/2/0",
                "relu/mse/mean/random/1/2/1"
            ]
        );
    }

    #[test]
    fn the_summary_headers_are_the_row_types_field_names() {
        let summary = SummaryRow {
            activation: Activation::Tanh,
            loss: Loss::Mse,
            reduction: Reduction::Mean,
            data: DataSource::Random,
            depth: 0,
            width: 0,
            inputs: 0,
            outputs: 0,
            n_params: 0,
            batch_size: 0,
            step: 0,
            method: String::new(),
            layer: String::new(),
            seeds: 0,
            samples: 0,
            mean_l1: 0.0,
            se_l1: None,
            normalized_l1: None,
            ratio_mean: None,
            ratio_se: None,
            relative_l1: None,
        };
        assert_eq!(table::header(&summary), SUMMARY_HEADER);
        let timing = TimingRow {
            activation: Activation::Tanh,
            loss: Loss::Mse,
            data: DataSource::Random,
            depth: 0,
            width: 0,
            batch_size: 0,
            method: String::new(),
            samples: 0,
            seconds_per_sample: 0.0,
            backward_equivalents: None,
        };
        assert_eq!(table::header(&timing), TIMING_HEADER);
        let training = TrainingSummaryRow {
            activation: Activation::Tanh,
            loss: Loss::Mse,
            reduction: Reduction::Mean,
            data: DataSource::Random,
            depth: 0,
            width: 0,
            step: 0,
            seeds: 0,
            train_loss: 0.0,
            test_loss: 0.0,
            test_accuracy: 0.0,
            test_accuracy_se: None,
        };
        assert_eq!(table::header(&training), TRAINING_SUMMARY_HEADER);
    }

    #[test]
    fn a_cell_checks_its_own_rows_and_refuses_another_cells() {
        let study = study();
        let cells = study.grid_cells();
        let blocks = study.run_cell(&cells[0]).unwrap();
        assert!(study.check_block(0, &cells[0], &blocks[0]).is_ok());
        assert!(study.check_block(1, &cells[0], &blocks[1]).is_ok());
        assert!(study.check_block(2, &cells[0], &blocks[2]).is_ok());
        assert!(study.check_block(0, &cells[1], &blocks[0]).is_err());
    }

    #[test]
    fn random_cells_keep_their_streams_and_data_sets_get_their_own() {
        let random = study().grid_cells()[0].clone();
        // The key of the first releases, which had no data axis.
        assert_eq!(
            random.stream_key(1, None),
            stream_id("tanh/mse/mean/1/3/1/0")
        );
        let mnist = Cell {
            data: "mnist".parse().unwrap(),
            ..random.clone()
        };
        // The shipped set keeps the key of the first releases.
        assert_eq!(
            mnist.stream_key(1, Some("mnist")),
            stream_id("mnist/tanh/mse/mean/1/3/1/0")
        );
        assert_ne!(
            mnist.stream_key(1, Some("mnist@00")),
            mnist.stream_key(1, Some("mnist"))
        );
    }

    #[test]
    fn a_study_reads_its_data_sets_once_and_refuses_missing_ones() {
        let grid = QualityGrid {
            data: vec![DataSource::Random, "mnist".parse().unwrap()],
            inputs: 784,
            outputs: 10,
            ..QualityGrid::default()
        };
        assert_eq!(QualityStudy::new(grid.clone()).unwrap().data.len(), 1);
        let missing = QualityGrid {
            data: vec!["mnist:/nonexistent/mnist".parse().unwrap()],
            ..grid
        };
        let error = QualityStudy::new(missing).err().unwrap();
        assert_eq!(error.exit_code(), 2, "{error}");
    }
}
