//! The optimize study (SPEC §9) on the engine: a cell is one training run (a data set,
//! network, optimizer, step-size scaling, step size and seed); it appends its learning
//! curve to `optimize_curves.csv` and its timing to `optimize_timing.csv`; the summary over
//! seeds (with the best step size of each optimizer) and the timing summary are computed
//! from those rows at the end.

pub mod rows;
pub mod run;
pub mod summary;

use std::sync::Arc;

use serde_json::Value;

use crate::config::grid;
use crate::config::optimize::OptimizeGrid;
use crate::data::{load_shared, Mnist};
use crate::error::{Error, Result};
use crate::io::format::number;
use crate::io::table::{self, Row};
use crate::nn::Activation;
use crate::rng::stream_id;
use crate::study::engine::{Study, Table};
use crate::study::estimate::{evaluation_work, training_step_work};
use crate::study::meta::DataDigests;
use crate::study::SummaryFile;
use crate::train::{Optimizer, OptimizerConfig, Scaling};
use rows::{
    CurveRow, RunKey, SummaryRow, TimingRow, CURVES_FILE, SUMMARY_FILE, TIMING_FILE,
    TIMING_SUMMARY_FILE,
};

/// One cell of the optimize grid: one training run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cell {
    /// The position of the data set in the grid's `data`.
    pub data: usize,
    pub activation: Activation,
    /// Hidden layers.
    pub depth: usize,
    /// Hidden width.
    pub width: usize,
    pub optimizer: Optimizer,
    pub scaling: Scaling,
    /// The step size α.
    pub lr: f64,
    /// The seed index, 0..seeds.
    pub seed: usize,
}

impl Cell {
    /// The stable key of the run's random streams (SPEC §5): the data set's contents
    /// (`data`, [`crate::data::DataDigest::stream_name`]: copies of one data set share
    /// their streams, wherever they lie), the network, the batch size and the seed, and
    /// nothing of the optimizer, so that every optimizer, scaling and step size of a seed
    /// starts from the same network and draws the same minibatches (paired comparisons),
    /// and adding one changes no other run's numbers.
    pub fn stream_key(&self, grid: &OptimizeGrid, data: &str) -> u64 {
        stream_id(&format!(
            "optimize/{data}/{}/{}/{}/{}/{}",
            self.activation, self.depth, self.width, grid.batch_size, self.seed
        ))
    }

    /// The scaling's name and δ as in the key: `none` or `hesscale:δ`.
    fn scaling_label(&self) -> String {
        match self.scaling {
            Scaling::None => "none".to_string(),
            Scaling::HesScale { delta } => format!("hesscale:{}", number(delta)),
        }
    }
}

/// The study's name: its subcommand and its files `optimize.meta.json`,
/// `optimize.ledger.csv`.
pub const NAME: &str = "optimize";

/// The files the study writes whole at the end.
pub const SUMMARIES: [SummaryFile; 2] = [
    SummaryFile {
        file: SUMMARY_FILE,
        header: SUMMARY_HEADER,
        what: "an optimize summary",
    },
    SummaryFile {
        file: TIMING_SUMMARY_FILE,
        header: TIMING_SUMMARY_HEADER,
        what: "an optimize timing summary",
    },
];

/// The optimize study of a grid, with its data sets once loaded ([`OptimizeStudy::load_data`]).
pub struct OptimizeStudy {
    pub grid: OptimizeGrid,
    /// The grid's data sets, in its order, each held once however many names it has;
    /// empty until loaded (a merge needs none).
    data: Vec<Arc<Mnist>>,
}

impl OptimizeStudy {
    /// The study of `grid`, its data not yet loaded.
    pub fn new(grid: OptimizeGrid) -> OptimizeStudy {
        OptimizeStudy {
            grid,
            data: Vec::new(),
        }
    }

    /// Read every data set of the grid (before running cells). A data set that cannot be
    /// read is an input error naming it.
    pub fn load_data(&mut self) -> Result<()> {
        self.data = load_shared(&self.grid.data)?;
        Ok(())
    }

    /// The key columns of a cell's rows.
    pub fn run_key(&self, cell: &Cell) -> RunKey {
        RunKey {
            data: self.grid.data[cell.data].to_string(),
            activation: cell.activation,
            depth: cell.depth,
            width: cell.width,
            batch_size: self.grid.batch_size,
            optimizer: cell.optimizer,
            scaling: cell.scaling.name().to_string(),
            delta: match cell.scaling {
                Scaling::None => None,
                Scaling::HesScale { delta } => Some(delta),
            },
            lr: cell.lr,
            seed: cell.seed,
        }
    }

    /// Parse the rows of one table (its lines without header).
    fn parse<R: Row>(text: &str) -> Result<Vec<R>> {
        table::parse(text, 2).map_err(Error::input)
    }
}

/// Check a run's curve rows: its key on every row, an evaluation at every scheduled step in
/// order, and, if the run diverged, one last row marking a step after the last evaluation
/// and no later than the next.
fn check_curve(rows: &[CurveRow], key: &RunKey, schedule: &[usize]) -> Result<(), String> {
    if let Some(row) = rows.iter().find(|row| row.key() != *key) {
        return Err(format!(
            "a row of another run ({}), expected {key}",
            row.key()
        ));
    }
    let (evaluations, last) = match rows.split_last() {
        Some((last, before)) if last.diverged => (before, Some(last)),
        _ => (rows, None),
    };
    if evaluations.iter().any(|row| row.diverged) {
        return Err("a diverged row before the run's last".to_string());
    }
    let steps: Vec<usize> = evaluations.iter().map(|row| row.step).collect();
    if steps.len() > schedule.len() || steps != schedule[..steps.len()] {
        return Err(format!(
            "evaluations at steps {steps:?}, expected {schedule:?} or, for a diverged run, a prefix"
        ));
    }
    match last {
        None if steps.len() == schedule.len() => Ok(()),
        None => Err(format!(
            "the run stops at step {} without having diverged",
            steps.last().map_or(0, |s| *s)
        )),
        Some(row) => {
            let after = steps.last().map_or(0, |s| s + 1);
            match schedule.get(steps.len()) {
                Some(&next) if (after..=next).contains(&row.step) => Ok(()),
                _ => Err(format!(
                    "diverged at step {} after evaluations at {steps:?} (schedule {schedule:?})",
                    row.step
                )),
            }
        }
    }
}

impl Study for OptimizeStudy {
    type Cell = Cell;

    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> Vec<Table> {
        let key = example_key();
        vec![
            Table {
                file: CURVES_FILE,
                header: table::header(&CurveRow::new(&key, 0, None, None)),
                timing: false,
            },
            Table {
                file: TIMING_FILE,
                header: table::header(&TimingRow::new(&key, 0, 0.0, 0, 0.0)),
                timing: true,
            },
        ]
    }

    fn summary_files(&self) -> Vec<&'static str> {
        SUMMARIES.iter().map(|summary| summary.file).collect()
    }

    /// Canonical order: data set, activation, depth, width, optimizer, scaling (each
    /// `hesscale` once per δ), step size, seed, each axis in the order given, the seed
    /// varying fastest.
    fn grid_cells(&self) -> Vec<Cell> {
        let grid = &self.grid;
        let scalings = grid.scaling_variants();
        grid::points(&grid.axes())
            .map(|point| Cell {
                data: point[0],
                activation: grid.activations[point[1]],
                depth: grid.depths[point[2]],
                width: grid.widths[point[3]],
                optimizer: grid.optimizers[point[4]],
                scaling: scalings[point[5]],
                lr: grid.lrs[point[6]],
                seed: point[7],
            })
            .collect()
    }

    /// `data/activation/depth/width/optimizer/scaling/lr/seed`, e.g.
    /// `mnist/tanh/3/64/adam/hesscale:0.0001/0.01/2`.
    fn cell_key(&self, cell: &Cell) -> String {
        format!(
            "{}/{}/{}/{}/{}/{}/{}/{}",
            self.grid.data[cell.data],
            cell.activation,
            cell.depth,
            cell.width,
            cell.optimizer,
            cell.scaling_label(),
            number(cell.lr),
            cell.seed
        )
    }

    /// The estimated work of the run ([`crate::study::estimate`]): per step a training
    /// step with the curvature methods the optimizer and its scaling compute; per
    /// evaluation the test part.
    fn cell_work(&self, cell: &Cell) -> f64 {
        let grid = &self.grid;
        let widths = grid
            .network(cell.activation, cell.depth, cell.width)
            .widths();
        let config = OptimizerConfig {
            scaling: cell.scaling,
            ..OptimizerConfig::new(cell.optimizer, cell.lr)
        };
        let methods: Vec<_> = [config.curvature(), config.scaling_curvature()]
            .into_iter()
            .flatten()
            .collect();
        let test = self.data.get(cell.data).map_or(0, |data| data.test.len());
        grid.steps as f64 * training_step_work(&widths, grid.batch_size, &methods)
            + grid.evaluation_steps().len() as f64 * evaluation_work(&widths, test)
    }

    fn run_cell(&self, cell: &Cell) -> Result<Vec<String>> {
        let data = self
            .data
            .get(cell.data)
            .ok_or_else(|| Error::runtime("the study's data sets were not loaded"))?;
        let (curves, timing) = run::run_cell(&self.grid, cell, &self.run_key(cell), data)?;
        Ok(vec![table::lines(&curves), table::lines(&[timing])])
    }

    fn check_block(
        &self,
        table: usize,
        cell: &Cell,
        block: &str,
    ) -> std::result::Result<(), String> {
        let key = self.run_key(cell);
        let schedule = self.grid.evaluation_steps();
        match table {
            0 => check_curve(&table::parse::<CurveRow>(block, 1)?, &key, &schedule),
            _ => {
                let rows: Vec<TimingRow> = table::parse(block, 1)?;
                match rows.as_slice() {
                    [row] if row.key() != key => Err(format!(
                        "a row of another run ({}), expected {key}",
                        row.key()
                    )),
                    [row] if row.steps > self.grid.steps || row.evaluations > schedule.len() => {
                        Err(format!(
                            "{} steps and {} evaluations, more than the run makes",
                            row.steps, row.evaluations
                        ))
                    }
                    [_] => Ok(()),
                    _ => Err(format!("{} timing rows, expected 1", rows.len())),
                }
            }
        }
    }

    /// The timing row took the steps the curve ends at and made the evaluations it holds
    /// (and one more where a run diverged in an evaluation: a diverged last row at a
    /// scheduled step).
    fn check_cell(&self, _cell: &Cell, blocks: &[String]) -> std::result::Result<(), String> {
        let curves: Vec<CurveRow> = table::parse(&blocks[0], 1)?;
        let timings: Vec<TimingRow> = table::parse(&blocks[1], 1)?;
        let (Some(last), Some(timing)) = (curves.last(), timings.first()) else {
            return Err("no curve or timing row".to_string());
        };
        if timing.steps != last.step {
            return Err(format!(
                "{TIMING_FILE} records {} steps, but the curve ends at step {}",
                timing.steps, last.step
            ));
        }
        let evaluated = curves.iter().filter(|row| !row.diverged).count();
        let in_evaluation = last.diverged && self.grid.evaluation_steps().contains(&last.step);
        if timing.evaluations != evaluated
            && !(in_evaluation && timing.evaluations == evaluated + 1)
        {
            return Err(format!(
                "{TIMING_FILE} records {} evaluations, but the curve holds {evaluated}",
                timing.evaluations
            ));
        }
        Ok(())
    }

    fn data_digests(&self) -> DataDigests {
        self.grid
            .data
            .iter()
            .zip(&self.data)
            .map(|(set, data)| (set.to_string(), data.digest.clone()))
            .collect()
    }

    fn cell_data(&self, cell: &Cell) -> Option<String> {
        Some(self.grid.data[cell.data].to_string())
    }

    fn summaries(&self, tables: &[String]) -> Result<Vec<(&'static str, Vec<u8>)>> {
        let curves: Vec<CurveRow> = Self::parse(&tables[0])?;
        let timings: Vec<TimingRow> = Self::parse(&tables[1])?;
        let scheduled = self.grid.evaluation_steps().len() - 1;
        let summary = summary::summarize(&curves, scheduled, self.grid.steps);
        let timing = summary::aggregate_timing(&timings);
        Ok(vec![
            (
                SUMMARY_FILE,
                table::file_text(SUMMARY_HEADER, &table::lines(&summary)).into_bytes(),
            ),
            (
                TIMING_SUMMARY_FILE,
                table::file_text(TIMING_SUMMARY_HEADER, &table::lines(&timing)).into_bytes(),
            ),
        ])
    }

    fn config(&self) -> Value {
        self.grid.to_json()
    }

    fn grid_keys(&self) -> Vec<&'static str> {
        grid::keys(&self.grid.axes())
    }

    /// The best step size of each optimizer and scaling: its mean test accuracy over the
    /// run and final test accuracy, and how many of its runs diverged at any step size.
    fn report(&self, summaries: &[(&'static str, Vec<u8>)]) -> Option<String> {
        let (_, bytes) = summaries.iter().find(|(file, _)| *file == SUMMARY_FILE)?;
        let text = String::from_utf8_lossy(bytes);
        let body = text.split_once('\n')?.1;
        let rows: Vec<SummaryRow> = table::parse(body, 2).ok()?;
        let mut out = format!(
            "{:<30} {:<15} {:<17} {:>8} {:>13} {:>14} {:>9}\n",
            "data set and network",
            "optimizer",
            "scaling",
            "best lr",
            "mean test acc",
            "final test acc",
            "diverged"
        );
        for best in rows.iter().filter(|row| row.best_lr) {
            let family = rows.iter().filter(|row| {
                (&row.data, row.activation, row.depth, row.width)
                    == (&best.data, best.activation, best.depth, best.width)
                    && (row.optimizer, &row.scaling, row.delta)
                        == (best.optimizer, &best.scaling, best.delta)
            });
            let (diverged, runs) =
                family.fold((0, 0), |(d, n), row| (d + row.diverged, n + row.seeds));
            let scaling = match best.delta {
                Some(delta) => format!("hesscale δ={}", number(delta)),
                None => best.scaling.clone(),
            };
            out += &format!(
                "{:<30} {:<15} {:<17} {:>8} {:>13.4} {:>14.4} {:>9}\n",
                format!(
                    "{} {} {}x{}",
                    best.data, best.activation, best.depth, best.width
                ),
                best.optimizer,
                scaling,
                number(best.lr),
                best.mean_test_accuracy,
                best.final_test_accuracy,
                format!("{diverged}/{runs}")
            );
        }
        Some(out)
    }
}

/// A key for the example rows the headers are made from.
fn example_key() -> RunKey {
    RunKey {
        data: String::new(),
        activation: Activation::Tanh,
        depth: 0,
        width: 0,
        batch_size: 0,
        optimizer: Optimizer::Sgd,
        scaling: String::new(),
        delta: None,
        lr: 1.0,
        seed: 0,
    }
}

/// The header of `optimize_summary.csv` (the field names of [`SummaryRow`]).
pub const SUMMARY_HEADER: &str = "data,activation,depth,width,batch_size,optimizer,scaling,delta,\
     lr,seeds,diverged,steps,final_test_loss,final_test_loss_se,final_test_accuracy,\
     final_test_accuracy_se,mean_test_accuracy,mean_test_accuracy_se,best_lr";
/// The header of `optimize_timing_summary.csv` (the field names of [`rows::TimingSummaryRow`]).
pub const TIMING_SUMMARY_HEADER: &str =
    "data,activation,depth,width,batch_size,optimizer,scaling,runs,steps,seconds_per_step";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DataSet;
    use crate::nn::Loss;
    use crate::train::Hyperparameters;

    fn grid() -> OptimizeGrid {
        OptimizeGrid {
            data: vec![DataSet::Mnist],
            activations: vec![Activation::Tanh],
            depths: vec![1],
            widths: vec![4],
            optimizers: vec![Optimizer::Sgd, Optimizer::AdaHesScale],
            scalings: vec!["none".into(), "hesscale".into()],
            deltas: vec![1e-3],
            lrs: vec![0.1, 1e308],
            seeds: 2,
            seed: 0,
            steps: 3,
            eval_every: 2,
            batch_size: 4,
            loss: Loss::CrossEntropy,
            beta1: Hyperparameters::BETA1,
            beta2: Hyperparameters::BETA2,
            eps: Hyperparameters::EPS,
            arch: None,
        }
    }

    fn loaded() -> OptimizeStudy {
        let mut study = OptimizeStudy::new(grid());
        study.load_data().unwrap();
        study
    }

    #[test]
    fn cells_come_in_canonical_order_with_the_seed_fastest() {
        let study = OptimizeStudy::new(grid());
        let keys: Vec<String> = study
            .grid_cells()
            .iter()
            .map(|cell| study.cell_key(cell))
            .collect();
        assert_eq!(keys.len(), 2 * 2 * 2 * 2);
        assert_eq!(
            keys[..6],
            [
                "mnist/tanh/1/4/sgd/none/0.1/0",
                "mnist/tanh/1/4/sgd/none/0.1/1",
                "mnist/tanh/1/4/sgd/none/1e308/0",
                "mnist/tanh/1/4/sgd/none/1e308/1",
                "mnist/tanh/1/4/sgd/hesscale:0.001/0.1/0",
                "mnist/tanh/1/4/sgd/hesscale:0.001/0.1/1",
            ]
        );
        assert_eq!(
            keys[15],
            "mnist/tanh/1/4/adahesscale/hesscale:0.001/1e308/1"
        );
    }

    #[test]
    fn the_headers_are_the_row_types_field_names() {
        let study = OptimizeStudy::new(grid());
        let tables = study.tables();
        assert_eq!(
            tables[0].header,
            "data,activation,depth,width,batch_size,optimizer,scaling,delta,lr,seed,step,\
             train_loss,test_loss,test_accuracy,diverged"
        );
        assert_eq!(
            tables[1].header,
            "data,activation,depth,width,batch_size,optimizer,scaling,delta,lr,seed,steps,\
             seconds_per_step,evaluations,seconds_per_evaluation"
        );
        let rows = [CurveRow::new(&example_key(), 0, None, Some((0.0, 0.0)))];
        assert_eq!(
            table::header(&summary::summarize(&rows, 1, 0)[0]),
            SUMMARY_HEADER
        );
        let timing = summary::aggregate_timing(&[TimingRow::new(&example_key(), 0, 0.0, 0, 0.0)]);
        assert_eq!(table::header(&timing[0]), TIMING_SUMMARY_HEADER);
    }

    /// Every optimizer, scaling and step size of a seed starts from the same network and
    /// minibatches; the seed and the network change them.
    #[test]
    fn the_streams_depend_on_the_network_and_seed_only() {
        let grid = grid();
        let cells = OptimizeStudy::new(grid.clone()).grid_cells();
        let of_seed = |seed| {
            cells
                .iter()
                .filter(|c| c.seed == seed)
                .map(|c| c.stream_key(&grid, "mnist"))
                .collect::<Vec<_>>()
        };
        let (zero, one) = (of_seed(0), of_seed(1));
        assert!(zero.iter().all(|&k| k == zero[0]));
        assert!(one.iter().all(|&k| k == one[0]));
        assert_ne!(zero[0], one[0]);
        let wider = Cell {
            width: 5,
            ..cells[0]
        };
        assert_ne!(wider.stream_key(&grid, "mnist"), zero[0]);
        assert_ne!(cells[0].stream_key(&grid, "mnist@00"), zero[0]);
    }

    #[test]
    fn a_run_writes_its_schedule_and_a_huge_step_size_diverges_and_keeps_its_rows() {
        let study = loaded();
        let cells = study.grid_cells();
        let blocks = study.run_cell(&cells[0]).unwrap();
        let rows: Vec<CurveRow> = table::parse(&blocks[0], 2).unwrap();
        assert_eq!(rows.iter().map(|r| r.step).collect::<Vec<_>>(), [0, 2, 3]);
        assert!(rows
            .iter()
            .all(|r| !r.diverged && r.test_accuracy.is_some()));
        assert_eq!(rows[0].train_loss, None);
        assert!(rows[1].train_loss.is_some());
        assert_eq!(
            study.run_cell(&cells[0]).unwrap()[0],
            blocks[0],
            "reproducible"
        );
        assert!(study.check_block(0, &cells[0], &blocks[0]).is_ok());
        assert!(study.check_block(1, &cells[0], &blocks[1]).is_ok());
        assert!(study.check_block(0, &cells[1], &blocks[0]).is_err());
        assert!(study.check_block(1, &cells[1], &blocks[1]).is_err());

        let huge = &cells[2];
        assert_eq!(huge.lr, 1e308);
        let blocks = study.run_cell(huge).unwrap();
        let rows: Vec<CurveRow> = table::parse(&blocks[0], 2).unwrap();
        let last = rows.last().unwrap();
        assert!(last.diverged, "{rows:?}");
        assert!(rows.len() >= 2 && rows[0].step == 0 && !rows[0].diverged);
        assert!(study.check_block(0, huge, &blocks[0]).is_ok());
        let timing: Vec<TimingRow> = table::parse(&blocks[1], 2).unwrap();
        assert_eq!(timing[0].steps, last.step);
    }

    #[test]
    fn a_curve_is_checked_against_the_schedule() {
        let key = example_key();
        let evaluated = |step| CurveRow::new(&key, step, None, Some((1.0, 0.5)));
        let diverged = |step| CurveRow::new(&key, step, None, None);
        let schedule = [0, 2, 3];
        let check = |rows: &[CurveRow]| check_curve(rows, &key, &schedule);
        assert!(check(&[evaluated(0), evaluated(2), evaluated(3)]).is_ok());
        assert!(check(&[evaluated(0), diverged(1)]).is_ok());
        assert!(check(&[evaluated(0), diverged(2)]).is_ok());
        assert!(check(&[diverged(0)]).is_ok());
        assert!(check(&[evaluated(0), evaluated(2)]).is_err(), "stops early");
        assert!(check(&[evaluated(0), diverged(3)]).is_err(), "skips step 2");
        assert!(check(&[evaluated(0), evaluated(3), evaluated(2)]).is_err());
        assert!(check(&[evaluated(0), diverged(1), evaluated(2)]).is_err());
        let other = CurveRow::new(
            &RunKey {
                seed: 1,
                ..key.clone()
            },
            0,
            None,
            Some((1.0, 0.5)),
        );
        assert!(check(&[other]).is_err());
    }
}
