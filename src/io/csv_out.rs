//! The CSV files of `quality`: row types, their exact bytes, appending finished cells,
//! and reading files back for `--resume` and `merge`.
//!
//! Every field is a plain identifier or number (no commas, quotes or newlines), so a row
//! is its fields joined by commas. Floats use Rust's `{}` (shortest round-trip), so a row
//! read back and written again gives the same bytes; an undefined value is empty.

use crate::io::format::{number, optional_number};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::study::quality::{CellResult, TensorError, PARAMS};
use crate::study::Cell;

/// `quality_runs.csv`: one row per (cell, method, layer, param).
pub const RUNS_FILE: &str = "quality_runs.csv";
/// `quality_summary.csv`: one row per (grid point, method, layer), over seeds.
pub const SUMMARY_FILE: &str = "quality_summary.csv";
/// `quality_timing.csv`: mean seconds per sample of each method, per grid point.
pub const TIMING_FILE: &str = "quality_timing.csv";
/// `quality_timing_cells.csv`: the raw time of each method in each cell, appended as
/// cells finish; `quality_timing.csv` is computed from it.
pub const TIMING_CELLS_FILE: &str = "quality_timing_cells.csv";

/// The header of [`RUNS_FILE`].
pub const RUNS_HEADER: &str =
    "activation,loss,reduction,depth,width,batch_size,seed,method,layer,param,l1,sum_abs_exact";
/// The header of [`SUMMARY_FILE`].
pub const SUMMARY_HEADER: &str = "activation,loss,reduction,depth,width,batch_size,method,layer,\
     seeds,samples,mean_l1,se_l1,normalized_l1,ratio_mean,ratio_se,relative_l1";
/// The header of [`TIMING_FILE`].
pub const TIMING_HEADER: &str =
    "activation,loss,depth,width,batch_size,method,samples,seconds_per_sample";
/// The header of [`TIMING_CELLS_FILE`].
pub const TIMING_CELLS_HEADER: &str =
    "activation,loss,reduction,depth,width,batch_size,seed,method,samples,seconds";

/// One row of `quality_runs.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRow {
    pub activation: String,
    pub loss: String,
    pub reduction: String,
    pub depth: usize,
    pub width: usize,
    pub batch_size: usize,
    pub seed: usize,
    pub method: String,
    /// `1`..`L` or `all`.
    pub layer: String,
    /// `weight`, `bias` or `all`.
    pub param: String,
    /// Mean over the seed's samples of `Σ|exact − estimate|` over the tensor(s).
    pub l1: f64,
    /// Mean over the seed's samples of `Σ|exact|` over the same tensor(s).
    pub sum_abs_exact: f64,
}

/// One row of `quality_summary.csv`; `None` is written as an empty field.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    pub activation: String,
    pub loss: String,
    pub reduction: String,
    pub depth: usize,
    pub width: usize,
    pub batch_size: usize,
    pub method: String,
    pub layer: String,
    pub seeds: usize,
    pub samples: usize,
    pub mean_l1: f64,
    pub se_l1: Option<f64>,
    pub normalized_l1: Option<f64>,
    pub ratio_mean: Option<f64>,
    pub ratio_se: Option<f64>,
    pub relative_l1: Option<f64>,
}

/// One row of `quality_timing_cells.csv`: a method's total time over a cell's samples.
#[derive(Clone, Debug, PartialEq)]
pub struct TimingCellRow {
    pub activation: String,
    pub loss: String,
    pub reduction: String,
    pub depth: usize,
    pub width: usize,
    pub batch_size: usize,
    pub seed: usize,
    pub method: String,
    /// Samples timed: the cell's batches × batch size.
    pub samples: usize,
    /// The method's total wall time over them.
    pub seconds: f64,
}

/// One row of `quality_timing.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct TimingRow {
    pub activation: String,
    pub loss: String,
    pub depth: usize,
    pub width: usize,
    pub batch_size: usize,
    pub method: String,
    /// Samples timed (batches × batch size, over every seed and reduction of the grid
    /// point).
    pub samples: usize,
    /// The mean wall time per sample: the total time over `samples`.
    pub seconds_per_sample: f64,
}

impl RunRow {
    /// The fields that identify the row (everything before `l1`), comma-separated: what
    /// `--resume` and `merge` expect each line of a cell to start with.
    pub fn key(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{},{}",
            self.activation,
            self.loss,
            self.reduction,
            self.depth,
            self.width,
            self.batch_size,
            self.seed,
            self.method,
            self.layer,
            self.param
        )
    }

    /// The row as one CSV line, with its newline: the key, then `l1`, `sum_abs_exact`.
    pub fn to_line(&self) -> String {
        format!(
            "{},{},{}\n",
            self.key(),
            number(self.l1),
            number(self.sum_abs_exact)
        )
    }

    /// Parse a line (without its newline).
    pub fn parse(line: &str) -> std::result::Result<RunRow, String> {
        let f = Fields::split(line, 12)?;
        Ok(RunRow {
            activation: f.text(0),
            loss: f.text(1),
            reduction: f.text(2),
            depth: f.whole(3, "depth")?,
            width: f.whole(4, "width")?,
            batch_size: f.whole(5, "batch_size")?,
            seed: f.whole(6, "seed")?,
            method: f.text(7),
            layer: f.text(8),
            param: f.text(9),
            l1: f.number(10, "l1")?,
            sum_abs_exact: f.number(11, "sum_abs_exact")?,
        })
    }
}

impl SummaryRow {
    /// The row as one CSV line, with its newline.
    pub fn to_line(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            self.activation,
            self.loss,
            self.reduction,
            self.depth,
            self.width,
            self.batch_size,
            self.method,
            self.layer,
            self.seeds,
            self.samples,
            number(self.mean_l1),
            optional_number(self.se_l1),
            optional_number(self.normalized_l1),
            optional_number(self.ratio_mean),
            optional_number(self.ratio_se),
            optional_number(self.relative_l1)
        )
    }
}

impl TimingCellRow {
    /// The fields that identify the row (everything before `samples`), comma-separated.
    pub fn key(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{}",
            self.activation,
            self.loss,
            self.reduction,
            self.depth,
            self.width,
            self.batch_size,
            self.seed,
            self.method
        )
    }

    /// The row as one CSV line, with its newline: the key, then `samples`, `seconds`.
    pub fn to_line(&self) -> String {
        format!("{},{},{}\n", self.key(), self.samples, number(self.seconds))
    }

    /// Parse a line (without its newline).
    pub fn parse(line: &str) -> std::result::Result<TimingCellRow, String> {
        let f = Fields::split(line, 10)?;
        Ok(TimingCellRow {
            activation: f.text(0),
            loss: f.text(1),
            reduction: f.text(2),
            depth: f.whole(3, "depth")?,
            width: f.whole(4, "width")?,
            batch_size: f.whole(5, "batch_size")?,
            seed: f.whole(6, "seed")?,
            method: f.text(7),
            samples: f.whole(8, "samples")?,
            seconds: f.number(9, "seconds")?,
        })
    }
}

impl TimingRow {
    /// The row as one CSV line, with its newline.
    pub fn to_line(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{}\n",
            self.activation,
            self.loss,
            self.depth,
            self.width,
            self.batch_size,
            self.method,
            self.samples,
            number(self.seconds_per_sample)
        )
    }
}

/// The fields of one line, split on commas and counted.
struct Fields<'a>(Vec<&'a str>);

impl<'a> Fields<'a> {
    fn split(line: &'a str, expected: usize) -> std::result::Result<Self, String> {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != expected {
            return Err(format!("has {} fields, expected {expected}", fields.len()));
        }
        Ok(Fields(fields))
    }

    fn text(&self, i: usize) -> String {
        self.0[i].to_string()
    }

    fn whole(&self, i: usize, name: &str) -> std::result::Result<usize, String> {
        self.0[i]
            .parse()
            .map_err(|_| format!("{name} '{}' is not a whole number", self.0[i]))
    }

    fn number(&self, i: usize, name: &str) -> std::result::Result<f64, String> {
        self.0[i]
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{name} '{}' is not a finite number", self.0[i]))
    }
}

/// The `(layer, param)` labels of a method's rows for `layers` Linear layers, in file
/// order: each layer `1..L` then `all`, each with `weight`, `bias`, `all`. `None` means
/// `all`.
pub fn row_selectors(layers: usize) -> Vec<(Option<usize>, Option<usize>)> {
    (0..layers)
        .map(Some)
        .chain([None])
        .flat_map(|layer| [Some(0), Some(1), None].map(|param| (layer, param)))
        .collect()
}

/// The label of a selector: `1`..`L` / `all`, and `weight` / `bias` / `all`.
fn labels(layer: Option<usize>, param: Option<usize>) -> (String, &'static str) {
    (
        layer.map_or_else(|| "all".to_string(), |l| (l + 1).to_string()),
        param.map_or("all", |p| PARAMS[p]),
    )
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

/// The runs rows of one method in a cell, in file order: each layer `1..L` then `all`,
/// each with `weight`, `bias`, `all`. `layers` holds the method's `[weight, bias]` errors
/// per layer.
fn method_run_rows<'a>(
    cell: &'a Cell,
    batch_size: usize,
    method: &'a str,
    layers: &'a [[TensorError; 2]],
) -> impl Iterator<Item = RunRow> + 'a {
    row_selectors(layers.len())
        .into_iter()
        .map(move |(layer, param)| {
            let value = select(layers, layer, param);
            let (layer, param) = labels(layer, param);
            RunRow {
                activation: cell.activation.to_string(),
                loss: cell.loss.to_string(),
                reduction: cell.reduction.to_string(),
                depth: cell.depth,
                width: cell.width,
                batch_size,
                seed: cell.seed,
                method: method.to_string(),
                layer,
                param: param.to_string(),
                l1: value.l1,
                sum_abs_exact: value.sum_abs_exact,
            }
        })
}

/// The runs rows of a finished cell, in file order: each method, then as
/// [`method_run_rows`].
pub fn run_rows(result: &CellResult, batch_size: usize) -> Vec<RunRow> {
    result
        .errors
        .iter()
        .flat_map(|errors| {
            let method = errors.method.to_string();
            method_run_rows(&result.cell, batch_size, &method, &errors.layers).collect::<Vec<_>>()
        })
        .collect()
}

/// The runs rows of a finished cell, as bytes.
pub fn runs_bytes(result: &CellResult, batch_size: usize) -> String {
    run_rows(result, batch_size)
        .iter()
        .map(RunRow::to_line)
        .collect()
}

/// The key (see [`RunRow::key`]) of each runs row a cell writes, in order: the rows
/// [`run_rows`] builds, with the values left out.
pub fn run_row_keys(cell: &Cell, batch_size: usize, methods: &[String]) -> Vec<String> {
    let layers = vec![[TensorError::default(); 2]; cell.depth + 1];
    methods
        .iter()
        .flat_map(|method| method_run_rows(cell, batch_size, method, &layers).map(|row| row.key()))
        .collect()
}

/// The timing row of one method in a cell: `samples` samples timed, `seconds` in total.
fn timing_cell_row(
    cell: &Cell,
    batch_size: usize,
    method: String,
    samples: usize,
    seconds: f64,
) -> TimingCellRow {
    TimingCellRow {
        activation: cell.activation.to_string(),
        loss: cell.loss.to_string(),
        reduction: cell.reduction.to_string(),
        depth: cell.depth,
        width: cell.width,
        batch_size,
        seed: cell.seed,
        method,
        samples,
        seconds,
    }
}

/// The timing rows of a finished cell, one per timed method, each over `samples` samples.
pub fn timing_cell_rows(
    result: &CellResult,
    batch_size: usize,
    samples: usize,
) -> Vec<TimingCellRow> {
    result
        .timings
        .iter()
        .map(|t| {
            timing_cell_row(
                &result.cell,
                batch_size,
                t.subject.clone(),
                samples,
                t.seconds,
            )
        })
        .collect()
}

/// The timing rows of a finished cell, as bytes.
pub fn timing_cells_bytes(result: &CellResult, batch_size: usize, samples: usize) -> String {
    timing_cell_rows(result, batch_size, samples)
        .iter()
        .map(TimingCellRow::to_line)
        .collect()
}

/// The key (see [`TimingCellRow::key`]) of each timing row a cell writes, in order.
pub fn timing_row_keys(cell: &Cell, batch_size: usize, methods: &[String]) -> Vec<String> {
    methods
        .iter()
        .map(|method| timing_cell_row(cell, batch_size, method.clone(), 0, 0.0).key())
        .collect()
}

/// A whole file's bytes: header line, then the rows.
pub fn file_bytes(header: &str, lines: impl IntoIterator<Item = String>) -> Vec<u8> {
    let mut text = format!("{header}\n");
    for line in lines {
        text += &line;
    }
    text.into_bytes()
}

/// A CSV file that finished cells are appended to: one `write_all` + flush per cell, so
/// the file always ends on a complete cell unless the process dies mid-write.
pub struct Appender {
    path: PathBuf,
    file: File,
}

impl Appender {
    /// Open `path` for appending (it must exist, holding at least its header).
    pub fn open(path: &Path) -> Result<Appender> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| Error::runtime(format!("cannot open '{}': {e}", path.display())))?;
        Ok(Appender {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Append `text` in one write and flush it.
    pub fn append(&mut self, text: &str) -> Result<()> {
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|e| Error::runtime(format!("cannot write '{}': {e}", self.path.display())))
    }

    /// Flush the file to disk.
    pub fn sync(&self) -> Result<()> {
        self.file
            .sync_all()
            .map_err(|e| Error::runtime(format!("cannot write '{}': {e}", self.path.display())))
    }
}

/// The complete lines of a CSV file after its header, each with the byte offset just
/// past its newline. A trailing line without a newline (a write cut short) is left out.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvLines {
    /// Where the header line ends (the file can be cut back to here).
    pub header_end: u64,
    /// `(line without newline, offset past its newline)`.
    pub lines: Vec<(String, u64)>,
}

/// Read a CSV file back, checking that its first line is `header`.
pub fn read_csv_lines(path: &Path, header: &str) -> Result<CsvLines> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::input(format!("cannot read '{}': {e}", path.display())))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::input(format!("'{}' is not UTF-8 text", path.display())))?;
    let mut offset = 0u64;
    let mut lines = Vec::new();
    let mut pieces = text.split_inclusive('\n');
    match pieces.next() {
        Some(first) if first.trim_end_matches('\n') == header && first.ends_with('\n') => {
            offset += first.len() as u64;
        }
        _ => {
            return Err(Error::input(format!(
                "'{}' does not start with the header '{header}'",
                path.display()
            )))
        }
    }
    let header_end = offset;
    for piece in pieces {
        offset += piece.len() as u64;
        if let Some(line) = piece.strip_suffix('\n') {
            lines.push((line.to_string(), offset));
        }
    }
    Ok(CsvLines { header_end, lines })
}

/// The leading cells of a file that are complete, as found by [`complete_cells`], with
/// each row parsed into a `T`.
#[derive(Clone, Debug, PartialEq)]
pub struct CompleteCells<T> {
    /// The text (rows with their newlines) of each complete cell, in order.
    pub blocks: Vec<String>,
    /// The parsed rows of each complete cell, in order.
    pub rows: Vec<Vec<T>>,
    /// The byte offset just past each complete cell.
    pub ends: Vec<u64>,
    /// The byte offset just past the header.
    pub header_end: u64,
}

/// Match the rows of a CSV file against the row keys each cell writes (`expected`, one
/// list of keys per cell, in order): every complete line must start with its expected
/// key and a comma and satisfy `parse`. Returns the complete cells, text and parsed rows
/// (the rows of a cell cut short are left out). A row that does not match, or more rows
/// than cells, is an input error naming the file and line.
pub fn complete_cells<T>(
    path: &Path,
    header: &str,
    expected: &[Vec<String>],
    parse: impl Fn(&str) -> std::result::Result<T, String>,
) -> Result<CompleteCells<T>> {
    let read = read_csv_lines(path, header)?;
    let mut cells = CompleteCells {
        blocks: Vec::new(),
        rows: Vec::new(),
        ends: Vec::new(),
        header_end: read.header_end,
    };
    let mut lines = read.lines.iter().enumerate();
    for keys in expected {
        let mut block = String::new();
        let mut rows = Vec::with_capacity(keys.len());
        let mut block_end = cells.end_of(cells.ends.len());
        for key in keys {
            let Some((index, (line, offset))) = lines.next() else {
                return Ok(cells);
            };
            let bad = |why: String| {
                Error::input(format!(
                    "'{}' line {}: {why} (this file does not belong to the run's configuration)",
                    path.display(),
                    index + 2
                ))
            };
            let matches = line
                .strip_prefix(key.as_str())
                .is_some_and(|rest| rest.starts_with(','));
            if !matches {
                return Err(bad(format!("expected a row starting '{key}'")));
            }
            rows.push(parse(line).map_err(bad)?);
            block.push_str(line);
            block.push('\n');
            block_end = *offset;
        }
        cells.blocks.push(block);
        cells.rows.push(rows);
        cells.ends.push(block_end);
    }
    if let Some((index, _)) = lines.next() {
        return Err(Error::input(format!(
            "'{}' line {}: more rows than the run's cells",
            path.display(),
            index + 2
        )));
    }
    Ok(cells)
}

impl<T> CompleteCells<T> {
    /// The byte offset just past the first `cells` cells.
    pub fn end_of(&self, cells: usize) -> u64 {
        match cells {
            0 => self.header_end,
            n => self.ends[n - 1],
        }
    }
}

/// Cut a file back to its first `length` bytes.
pub fn truncate(path: &Path, length: u64) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|file| file.set_len(length))
        .map_err(|e| Error::runtime(format!("cannot truncate '{}': {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Loss, Reduction};
    use crate::study::quality::{MethodErrors, Timing};

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
        let text = runs_bytes(&result, 1);
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
        let keys = run_row_keys(&cell(), 1, &["hesscale".to_string()]);
        assert_eq!(keys.len(), text.lines().count());
        for (line, key) in text.lines().zip(&keys) {
            assert!(line.starts_with(&format!("{key},")), "{line} vs {key}");
            assert_eq!(RunRow::parse(line).unwrap().to_line(), format!("{line}\n"));
        }
        assert_eq!(
            timing_cells_bytes(&result, 1, 10),
            "tanh,mse,sum,1,4,1,2,exact,10,0.5\n"
        );
        let timing_keys = timing_row_keys(&cell(), 1, &["exact".to_string()]);
        assert_eq!(timing_keys, vec!["tanh,mse,sum,1,4,1,2,exact".to_string()]);
    }

    #[test]
    fn the_bytes_and_the_keys_come_from_the_row_types() {
        let result = CellResult {
            cell: cell(),
            errors: vec![MethodErrors {
                method: "ggn".parse().unwrap(),
                layers: vec![[error(0.1, 0.3); 2], [error(2e-17, 7.0); 2]],
            }],
            timings: vec![
                Timing {
                    subject: "exact".to_string(),
                    seconds: 0.25,
                },
                Timing {
                    subject: "ggn".to_string(),
                    seconds: 1e-5,
                },
            ],
        };
        let rows = run_rows(&result, 3);
        let lines: String = rows.iter().map(RunRow::to_line).collect();
        assert_eq!(runs_bytes(&result, 3), lines);
        let keys: Vec<String> = rows.iter().map(RunRow::key).collect();
        assert_eq!(run_row_keys(&cell(), 3, &["ggn".to_string()]), keys);
        for (row, key) in rows.iter().zip(&keys) {
            assert!(row.to_line().starts_with(&format!("{key},")));
        }

        let timings = timing_cell_rows(&result, 3, 12);
        let lines: String = timings.iter().map(TimingCellRow::to_line).collect();
        assert_eq!(timing_cells_bytes(&result, 3, 12), lines);
        let keys: Vec<String> = timings.iter().map(TimingCellRow::key).collect();
        let methods = ["exact".to_string(), "ggn".to_string()];
        assert_eq!(timing_row_keys(&cell(), 3, &methods), keys);
        for (row, line) in timings.iter().zip(lines.lines()) {
            assert_eq!(TimingCellRow::parse(line).as_ref(), Ok(row));
        }
    }

    #[test]
    fn reading_back_drops_a_cut_off_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, "a,b\n1,2\n3,").unwrap();
        let read = read_csv_lines(&path, "a,b").unwrap();
        assert_eq!(read.header_end, 4);
        assert_eq!(read.lines, vec![("1,2".to_string(), 8)]);
        assert!(read_csv_lines(&path, "a,c").is_err());
        truncate(&path, 8).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a,b\n1,2\n");
    }

    #[test]
    fn complete_cells_stop_before_a_cell_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        let keys = vec![
            vec!["a,1".to_string(), "a,2".to_string()],
            vec!["b,1".to_string(), "b,2".to_string()],
        ];
        let any = |_: &str| Ok(());
        std::fs::write(&path, "h\na,1,x\na,2,y\nb,1,z\nb,2").unwrap();
        let third_field = |line: &str| Ok(line.split(',').nth(2).unwrap_or("").to_string());
        let cells = complete_cells(&path, "h", &keys, third_field).unwrap();
        assert_eq!(cells.blocks, vec!["a,1,x\na,2,y\n".to_string()]);
        assert_eq!(cells.rows, vec![vec!["x".to_string(), "y".to_string()]]);
        assert_eq!((cells.end_of(0), cells.end_of(1)), (2, 14));
        std::fs::write(&path, "h\na,1,x\nb,2,y\n").unwrap();
        let error = complete_cells(&path, "h", &keys, any).unwrap_err();
        assert!(error
            .to_string()
            .contains("line 3: expected a row starting 'a,2'"));
        std::fs::write(&path, "h\na,1,x\na,2,y\nb,1,z\nb,2,w\nc\n").unwrap();
        let error = complete_cells(&path, "h", &keys, any).unwrap_err();
        assert!(error.to_string().contains("line 6: more rows"));
    }

    #[test]
    fn bad_fields_are_reported() {
        assert!(RunRow::parse("a,b").unwrap_err().contains("2 fields"));
        let line = "tanh,mse,sum,1,4,1,x,hesscale,1,weight,1,2";
        assert!(RunRow::parse(line).unwrap_err().contains("seed 'x'"));
        let line = "tanh,mse,sum,1,4,1,2,hesscale,1,weight,NaN,2";
        assert!(RunRow::parse(line).unwrap_err().contains("l1 'NaN'"));
    }

    #[test]
    fn empty_values_are_empty_fields() {
        let row = SummaryRow {
            activation: "tanh".into(),
            loss: "mse".into(),
            reduction: "mean".into(),
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
            row.to_line(),
            "tanh,mse,mean,3,16,1,zero,all,1,5,0.1,,2.5,,,1.0\n"
        );
    }
}
