//! The approximation-quality study (SPEC §3) on the engine: a cell is one random network
//! (an activation, loss, reduction, depth, width and seed of the grid) and its batches;
//! it appends its per-seed errors to `quality_runs.csv` and its timings to
//! `quality_timing_cells.csv`; the summary and the timing table are computed from those
//! rows at the end.

pub mod cell;
pub mod report;
pub mod rows;
pub mod summary;

use serde_json::Value;

use crate::config::quality::QualityGrid;
use crate::error::Result;
use crate::io::table::{self, Row};
use crate::nn::{Activation, Loss, Reduction};
use crate::rng::stream_id;
use crate::study::engine::{Study, Table};
use rows::{
    check_keys, run_row_keys, run_rows, timing_cell_rows, timing_row_keys, RunRow, SummaryRow,
    TimingCellRow, TimingRow, RUNS_FILE, SUMMARY_FILE, TIMING_CELLS_FILE, TIMING_FILE,
};

/// One cell of the quality grid: a grid point and a seed, i.e. one random network and its
/// batches. The batch size, input and output widths are the same for every cell of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cell {
    pub activation: Activation,
    pub loss: Loss,
    pub reduction: Reduction,
    /// Hidden layers.
    pub depth: usize,
    /// Hidden width.
    pub width: usize,
    /// The seed index, 0..seeds.
    pub seed: usize,
}

impl Cell {
    /// The cell's identity: `activation/loss/reduction/depth/width/seed`.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}/{}/{}",
            self.activation, self.loss, self.reduction, self.depth, self.width, self.seed
        )
    }

    /// The stable key of the cell's random streams (SPEC §5), from its content only, so
    /// adding another width, activation or seed never changes this cell's numbers.
    pub fn stream_key(&self, batch_size: usize) -> u64 {
        stream_id(&format!(
            "{}/{}/{}/{}/{}/{}/{}",
            self.activation,
            self.loss,
            self.reduction,
            self.depth,
            self.width,
            batch_size,
            self.seed
        ))
    }

    /// A short human-readable name, for error messages.
    pub fn label(&self) -> String {
        format!(
            "{} {} {} depth {} width {} seed {}",
            self.activation, self.loss, self.reduction, self.depth, self.width, self.seed
        )
    }
}

/// The quality study of a grid.
pub struct QualityStudy {
    pub grid: QualityGrid,
}

impl QualityStudy {
    /// The names of the grid's methods, in file order.
    fn method_names(&self) -> Vec<String> {
        self.grid.methods.iter().map(|m| m.to_string()).collect()
    }

    /// Parse the rows of one table (its lines without header).
    fn parse<R: Row>(text: &str) -> Result<Vec<R>> {
        table::parse(text, 2).map_err(crate::error::Error::input)
    }
}

/// One example row of each file, for the headers.
fn example_run() -> RunRow {
    RunRow {
        activation: Activation::Tanh,
        loss: Loss::CrossEntropy,
        reduction: Reduction::Mean,
        depth: 0,
        width: 0,
        batch_size: 0,
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
        depth: 0,
        width: 0,
        batch_size: 0,
        seed: 0,
        method: String::new(),
        samples: 0,
        seconds: 0.0,
    }
}

impl Study for QualityStudy {
    type Cell = Cell;

    fn name(&self) -> &'static str {
        "quality"
    }

    fn tables(&self) -> Vec<Table> {
        vec![
            Table {
                file: RUNS_FILE,
                header: table::header(&example_run()),
            },
            Table {
                file: TIMING_CELLS_FILE,
                header: table::header(&example_timing()),
            },
        ]
    }

    fn summary_files(&self) -> Vec<&'static str> {
        vec![SUMMARY_FILE, TIMING_FILE]
    }

    /// Canonical order: activation, loss, reduction, depth, width, seed, each axis in the
    /// order given, the seed varying fastest.
    fn grid_cells(&self) -> Vec<Cell> {
        let grid = &self.grid;
        let mut cells = Vec::with_capacity(grid.n_cells());
        for &activation in &grid.activations {
            for &loss in &grid.losses {
                for &reduction in &grid.reductions {
                    for &depth in &grid.depths {
                        for &width in &grid.widths {
                            for seed in 0..grid.seeds {
                                cells.push(Cell {
                                    activation,
                                    loss,
                                    reduction,
                                    depth,
                                    width,
                                    seed,
                                });
                            }
                        }
                    }
                }
            }
        }
        cells
    }

    fn cell_key(&self, cell: &Cell) -> String {
        cell.key()
    }

    /// The estimated multiply-adds of the exact diagonal and every method on one batch,
    /// times the batches.
    fn cell_work(&self, cell: &Cell) -> f64 {
        let widths = self
            .grid
            .architecture(cell.activation, cell.depth, cell.width)
            .widths();
        let per_batch: f64 = self
            .grid
            .timed_methods()
            .iter()
            .map(|m| m.work(&widths, self.grid.batch_size))
            .sum();
        per_batch * self.grid.batches as f64
    }

    fn run_cell(&self, cell: &Cell) -> Result<Vec<String>> {
        let result = cell::run_cell(&self.grid, cell)?;
        Ok(vec![
            table::lines(&run_rows(&result, self.grid.batch_size)),
            table::lines(&timing_cell_rows(
                &result,
                self.grid.batch_size,
                self.grid.samples_per_cell(),
            )),
        ])
    }

    fn check_block(
        &self,
        table: usize,
        cell: &Cell,
        block: &str,
    ) -> std::result::Result<(), String> {
        let batch = self.grid.batch_size;
        match table {
            0 => {
                let rows: Vec<RunRow> = table::parse(block, 1)?;
                check_keys(
                    &rows,
                    &run_row_keys(cell, batch, &self.method_names()),
                    RunRow::same_key,
                )
            }
            _ => {
                let rows: Vec<TimingCellRow> = table::parse(block, 1)?;
                let keys = timing_row_keys(
                    cell,
                    batch,
                    &self.grid.timed_subjects(),
                    self.grid.samples_per_cell(),
                );
                check_keys(&rows, &keys, TimingCellRow::same_key)
            }
        }
    }

    fn summaries(&self, tables: &[String]) -> Result<Vec<(&'static str, Vec<u8>)>> {
        let runs: Vec<RunRow> = Self::parse(&tables[0])?;
        let timings: Vec<TimingCellRow> = Self::parse(&tables[1])?;
        let summary: Vec<SummaryRow> = summary::summarize(&runs, self.grid.batches);
        let timing: Vec<TimingRow> = summary::aggregate_timing(&timings);
        let summary_header = SUMMARY_HEADER;
        let timing_header = TIMING_HEADER;
        Ok(vec![
            (
                SUMMARY_FILE,
                table::file_text(summary_header, &table::lines(&summary)).into_bytes(),
            ),
            (
                TIMING_FILE,
                table::file_text(timing_header, &table::lines(&timing)).into_bytes(),
            ),
        ])
    }

    fn config(&self) -> Value {
        self.grid.to_json()
    }

    fn grid_keys(&self) -> &'static [&'static str] {
        &[
            "activations",
            "losses",
            "reductions",
            "depths",
            "widths",
            "seeds",
        ]
    }

    /// The normalized L1 error of every method at every grid point ([`report::table`]).
    fn report(&self, summaries: &[(&'static str, Vec<u8>)]) -> Option<String> {
        let (_, bytes) = summaries.iter().find(|(file, _)| *file == SUMMARY_FILE)?;
        let text = std::str::from_utf8(bytes).ok()?;
        let rows: Vec<SummaryRow> = table::parse(text.split_once('\n')?.1, 2).ok()?;
        Some(report::table(&rows))
    }
}

/// The header of `quality_summary.csv` (the field names of [`SummaryRow`]).
pub const SUMMARY_HEADER: &str = "activation,loss,reduction,depth,width,batch_size,method,layer,\
     seeds,samples,mean_l1,se_l1,normalized_l1,ratio_mean,ratio_se,relative_l1";
/// The header of `quality_timing.csv` (the field names of [`TimingRow`]).
pub const TIMING_HEADER: &str =
    "activation,loss,depth,width,batch_size,method,samples,seconds_per_sample";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::Method;

    fn study() -> QualityStudy {
        QualityStudy {
            grid: QualityGrid {
                activations: vec![Activation::Tanh, Activation::Relu],
                losses: vec![Loss::Mse],
                reductions: vec![Reduction::Mean],
                depths: vec![1],
                widths: vec![3, 2],
                inputs: 2,
                outputs: 2,
                batch_size: 1,
                batches: 2,
                seeds: 2,
                seed: 0,
                methods: vec![Method::exact()],
            },
        }
    }

    #[test]
    fn cells_come_in_canonical_order_with_the_seed_fastest() {
        let keys: Vec<String> = study().grid_cells().iter().map(Cell::key).collect();
        assert_eq!(
            keys,
            [
                "tanh/mse/mean/1/3/0",
                "tanh/mse/mean/1/3/1",
                "tanh/mse/mean/1/2/0",
                "tanh/mse/mean/1/2/1",
                "relu/mse/mean/1/3/0",
                "relu/mse/mean/1/3/1",
                "relu/mse/mean/1/2/0",
                "relu/mse/mean/1/2/1"
            ]
        );
    }

    #[test]
    fn the_summary_headers_are_the_row_types_field_names() {
        let summary = SummaryRow {
            activation: Activation::Tanh,
            loss: Loss::Mse,
            reduction: Reduction::Mean,
            depth: 0,
            width: 0,
            batch_size: 0,
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
            depth: 0,
            width: 0,
            batch_size: 0,
            method: String::new(),
            samples: 0,
            seconds_per_sample: 0.0,
        };
        assert_eq!(table::header(&timing), TIMING_HEADER);
    }

    #[test]
    fn a_cell_checks_its_own_rows_and_refuses_another_cells() {
        let study = study();
        let cells = study.grid_cells();
        let blocks = study.run_cell(&cells[0]).unwrap();
        assert!(study.check_block(0, &cells[0], &blocks[0]).is_ok());
        assert!(study.check_block(1, &cells[0], &blocks[1]).is_ok());
        assert!(study.check_block(0, &cells[1], &blocks[0]).is_err());
    }
}
