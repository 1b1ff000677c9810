//! The files of `hesscale-cli cost`: `cost.csv`, one row per (sweep, size, method) with
//! the gradient as a row too, and `cost.meta.json`, the run's machine and configuration.
//! Rendering is a pure function of the rows, so it is tested without timing anything.

use crate::io::format::optional_number;

/// The timings file, under `--out-dir`.
pub const COST_CSV: &str = "cost.csv";
/// The metadata file, under `--out-dir`.
pub const COST_META: &str = "cost.meta.json";

/// The columns of `cost.csv`, in order.
pub const COST_HEADER: [&str; 12] = [
    "sweep",
    "depth",
    "width",
    "inputs",
    "outputs",
    "batch_size",
    "n_params",
    "method",
    "reps",
    "median_seconds",
    "ratio_to_gradient",
    "skipped",
];

/// The method name of the reference rows.
pub const GRADIENT: &str = "gradient";

/// One row of `cost.csv`. A skipped method has no timings (`None`), `reps` 0 and the
/// reason in `skipped`; a timed one has an empty `skipped`.
#[derive(Clone, Debug, PartialEq)]
pub struct CostRow {
    pub sweep: String,
    /// Hidden layers.
    pub depth: usize,
    /// Hidden width.
    pub width: usize,
    pub inputs: usize,
    pub outputs: usize,
    pub batch_size: usize,
    pub n_params: usize,
    /// A method name, or [`GRADIENT`].
    pub method: String,
    /// Timed rounds behind the medians (0 when skipped).
    pub reps: usize,
    pub median_seconds: Option<f64>,
    pub ratio_to_gradient: Option<f64>,
    /// Why the method was not timed; empty when it was.
    pub skipped: String,
}

/// The rows as CSV text: the header of [`COST_HEADER`], then one line per row. Floats
/// are in shortest round-trip form; a missing value is an empty field.
pub fn cost_csv(rows: &[CostRow]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(COST_HEADER)
        .expect("writing to memory cannot fail");
    for row in rows {
        writer
            .write_record([
                row.sweep.clone(),
                row.depth.to_string(),
                row.width.to_string(),
                row.inputs.to_string(),
                row.outputs.to_string(),
                row.batch_size.to_string(),
                row.n_params.to_string(),
                row.method.clone(),
                row.reps.to_string(),
                optional_number(row.median_seconds),
                optional_number(row.ratio_to_gradient),
                row.skipped.clone(),
            ])
            .expect("writing to memory cannot fail");
    }
    String::from_utf8(writer.into_inner().expect("writing to memory cannot fail"))
        .expect("every field is UTF-8")
}

#[cfg(test)]
mod tests {

    use super::*;

    fn row(method: &str, median: Option<f64>, ratio: Option<f64>, skipped: &str) -> CostRow {
        CostRow {
            sweep: "depth".into(),
            depth: 2,
            width: 512,
            inputs: 64,
            outputs: 100,
            batch_size: 1,
            n_params: 347_236,
            method: method.into(),
            reps: if median.is_some() { 30 } else { 0 },
            median_seconds: median,
            ratio_to_gradient: ratio,
            skipped: skipped.into(),
        }
    }

    #[test]
    fn csv_has_the_header_and_one_line_per_row() {
        let text = cost_csv(&[
            row(GRADIENT, Some(0.00025), Some(1.0), ""),
            row("hesscale", Some(0.0003), Some(1.2), ""),
            row("exact", None, None, "size cap: about 1.0e10, say"),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "sweep,depth,width,inputs,outputs,batch_size,n_params,method,reps,median_seconds,ratio_to_gradient,skipped",
                "depth,2,512,64,100,1,347236,gradient,30,0.00025,1.0,",
                "depth,2,512,64,100,1,347236,hesscale,30,0.0003,1.2,",
                "depth,2,512,64,100,1,347236,exact,0,,,\"size cap: about 1.0e10, say\"",
            ]
        );
    }

    #[test]
    fn floats_round_trip() {
        let value = 1.0 / 3.0;
        let text = cost_csv(&[row(GRADIENT, Some(value), Some(1.0), "")]);
        let field = text.lines().nth(1).unwrap().split(',').nth(9).unwrap();
        assert_eq!(field.parse::<f64>().unwrap(), value);
    }
}
