//! The comparison behind `hesscale-cli check`: two summary CSVs of one layout (a header
//! whose first columns are the row's key and the rest numeric values, like
//! `quality_summary.csv`) are matched row by row on their key columns and every value is
//! compared within a tolerance, like `numpy.isclose`:
//! `|current − baseline| ≤ atol + rtol·|baseline|`.
//!
//! The outcome maps onto exit codes: [`Comparison::exit_code`] is 0 when nothing moved and
//! 1 when some value moved; any trouble (a missing file, different columns or keys, an
//! unparsable number) is an [`Error::input`](crate::Error::input), exit code 2.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use crate::config::check::Tolerance;
use crate::{Error, Result};

/// The layout of the files compared: the header, whose first `key_columns` columns
/// identify a row and must match exactly as text; the numeric value columns follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The file the layout is of, for messages (`quality_summary.csv`).
    pub file: &'static str,
    pub header: &'static str,
    pub key_columns: usize,
}

impl Layout {
    /// The header's column names, in order.
    fn columns(&self) -> Vec<&'static str> {
        self.header.split(',').collect()
    }
}

/// One value that moved beyond the tolerance.
#[derive(Debug, Clone, PartialEq)]
pub struct MovedValue {
    /// The row's key, as `column=value` pairs joined by commas.
    pub key: String,
    /// The value column that moved.
    pub column: String,
    /// The baseline value; `None` when the cell was empty.
    pub baseline: Option<f64>,
    /// The current value; `None` when the cell was empty.
    pub current: Option<f64>,
    /// `|current − baseline| / |baseline|` (infinite when the baseline is 0); `None` when
    /// one side is empty.
    pub relative_difference: Option<f64>,
}

/// The outcome of comparing two summary CSVs whose columns and keys agree.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The tolerance the values were compared with.
    pub tolerance: Tolerance,
    /// The number of rows compared (the same in both files).
    pub rows: usize,
    /// The number of values compared (rows × value columns).
    pub values: usize,
    /// The values that moved beyond the tolerance, in baseline row order, then column order.
    pub moved: Vec<MovedValue>,
}

impl Comparison {
    /// Whether every value is within tolerance.
    pub fn passed(&self) -> bool {
        self.moved.is_empty()
    }

    /// The process exit code for this outcome: 0 when nothing moved, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.passed() {
            0
        } else {
            1
        }
    }

    /// The number of distinct rows with at least one moved value.
    pub fn moved_rows(&self) -> usize {
        self.moved
            .iter()
            .map(|m| m.key.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    }
}

/// One parsed data row of a summary CSV.
struct Row {
    key: String,
    values: Vec<Option<f64>>,
}

/// Reads `baseline` and `current`, checks that both have the summary header and the same
/// set of keys (no duplicates), and compares every value column within `tolerance`.
///
/// Returns an input error (exit code 2) naming the file, column or row for a missing or
/// unreadable file, a wrong header, a duplicate or unmatched key, or a cell that is not a
/// finite number (NaN and infinities count as unparsable).
pub fn compare_summaries(
    baseline: &Path,
    current: &Path,
    tolerance: Tolerance,
    layout: Layout,
) -> Result<Comparison> {
    tolerance.validate()?;
    let base_rows = read_summary(baseline, "baseline", layout)?;
    let cur_rows = read_summary(current, "current", layout)?;

    let cur_by_key: HashMap<&str, &Row> = cur_rows.iter().map(|r| (r.key.as_str(), r)).collect();
    let base_keys: BTreeSet<&str> = base_rows.iter().map(|r| r.key.as_str()).collect();
    let only_base: Vec<&str> = base_rows
        .iter()
        .map(|r| r.key.as_str())
        .filter(|k| !cur_by_key.contains_key(k))
        .collect();
    let only_cur: Vec<&str> = cur_rows
        .iter()
        .map(|r| r.key.as_str())
        .filter(|k| !base_keys.contains(k))
        .collect();
    if !only_base.is_empty() || !only_cur.is_empty() {
        let describe = |keys: &[&str], side: &str| match keys.first() {
            None => format!("none only in {side}"),
            Some(first) => format!("{} only in {side}, first ({first})", keys.len()),
        };
        return Err(Error::input(format!(
            "baseline {} and current {} have different keys: {}; {}",
            baseline.display(),
            current.display(),
            describe(&only_base, "baseline"),
            describe(&only_cur, "current")
        )));
    }

    let mut moved = Vec::new();
    let columns = layout.columns();
    for base in &base_rows {
        let cur = cur_by_key[base.key.as_str()];
        for (i, column) in columns[layout.key_columns..].iter().enumerate() {
            let (b, c) = (base.values[i], cur.values[i]);
            let relative_difference = match (b, c) {
                (None, None) => continue,
                (Some(b), Some(c)) if tolerance.is_close(b, c) => continue,
                (Some(b), Some(c)) => Some(relative_difference(b, c)),
                _ => None,
            };
            moved.push(MovedValue {
                key: base.key.clone(),
                column: (*column).to_string(),
                baseline: b,
                current: c,
                relative_difference,
            });
        }
    }

    Ok(Comparison {
        tolerance,
        rows: base_rows.len(),
        values: base_rows.len() * (columns.len() - layout.key_columns),
        moved,
    })
}

/// `|current − baseline| / |baseline|`: infinite when the baseline is 0 and the values differ.
fn relative_difference(baseline: f64, current: f64) -> f64 {
    let diff = (current - baseline).abs();
    if diff == 0.0 {
        0.0
    } else {
        diff / baseline.abs()
    }
}

/// Reads one summary CSV (`role` is "baseline" or "current", for messages) into rows.
fn read_summary(path: &Path, role: &str, layout: Layout) -> Result<Vec<Row>> {
    let bytes = crate::io::output::read_bounded(path, crate::io::output::MAX_RESULT_BYTES)
        .map_err(|e| Error::input(format!("{role}: {e}")))?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let csv_error = |e: csv::Error| Error::input(format!("{role} {}: {e}", path.display()));

    let header = reader.headers().map_err(csv_error)?.clone();
    check_header(&header, layout)
        .map_err(|m| Error::input(format!("{role} {}: {m}", path.display())))?;
    let columns = layout.columns();
    let (key_columns, value_columns) = columns.split_at(layout.key_columns);

    let mut rows = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line());
        let key = key_columns
            .iter()
            .enumerate()
            .map(|(i, name)| format!("{name}={}", &record[i]))
            .collect::<Vec<_>>()
            .join(",");
        if let Some(first) = seen.insert(key.clone(), line) {
            return Err(Error::input(format!(
                "{role} {}: line {line}: duplicate key ({key}), first on line {first}",
                path.display()
            )));
        }
        let mut values = vec![None; value_columns.len()];
        for (offset, (slot, name)) in values.iter_mut().zip(value_columns).enumerate() {
            let i = layout.key_columns + offset;
            *slot = parse_value(&record[i]).map_err(|()| {
                Error::input(format!(
                    "{role} {}: line {line}: column {name}: `{}` is not a finite number",
                    path.display(),
                    &record[i]
                ))
            })?;
        }
        rows.push(Row { key, values });
    }
    Ok(rows)
}

/// Checks that `header` is exactly the layout's, else says which column is wrong.
fn check_header(header: &csv::StringRecord, layout: Layout) -> std::result::Result<(), String> {
    let found: Vec<&str> = header.iter().collect();
    let expected = layout.columns();
    if found == expected {
        return Ok(());
    }
    if let Some(file) = crate::study::summary_with_header(&found.join(",")) {
        return Err(format!(
            "this is {file} (its columns are that file's), not a file with the columns of {}",
            layout.file
        ));
    }
    if let Some(missing) = expected.iter().find(|c| !found.contains(c)) {
        return Err(format!("missing column {missing}"));
    }
    if let Some(extra) = found.iter().find(|c| !expected.contains(c)) {
        return Err(format!("unexpected column {extra}"));
    }
    Err(format!(
        "columns must be exactly {} (in this order, once each), found {}",
        layout.header,
        found.join(",")
    ))
}

/// Parses a value cell: empty is `None`, a finite number is `Some`, anything else (NaN and
/// infinities included) is an error.
fn parse_value(text: &str) -> std::result::Result<Option<f64>, ()> {
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(()),
    }
}

/// Renders the human report of a comparison: one line saying all values agree, or a
/// summary line followed by a table of the moved values (key, column, baseline, current,
/// relative difference). Empty cells show as `(empty)`.
pub fn render_report(comparison: &Comparison) -> String {
    let Tolerance { rtol, atol } = comparison.tolerance;
    let mut out = String::new();
    if comparison.passed() {
        let _ = writeln!(
            out,
            "OK: all {} values in {} rows are within tolerance (rtol {rtol:e}, atol {atol:e})",
            comparison.values, comparison.rows
        );
        return out;
    }
    let _ = writeln!(
        out,
        "MOVED: {} of {} values in {} of {} rows are outside tolerance (rtol {rtol:e}, atol {atol:e})",
        comparison.moved.len(),
        comparison.values,
        comparison.moved_rows(),
        comparison.rows
    );

    let headings = ["key", "column", "baseline", "current", "rel_diff"];
    let cells: Vec<[String; 5]> = comparison
        .moved
        .iter()
        .map(|m| {
            [
                m.key.clone(),
                m.column.clone(),
                format_value(m.baseline),
                format_value(m.current),
                m.relative_difference
                    .map_or_else(|| "-".to_string(), |r| format!("{r:.3e}")),
            ]
        })
        .collect();
    let mut widths = headings.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut push_line = |fields: [&str; 5]| {
        let line = fields
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (f, w))| {
                if i < 2 {
                    format!("{f:<w$}")
                } else {
                    format!("{f:>w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ");
        let _ = writeln!(out, "{}", line.trim_end());
    };
    push_line(headings);
    for row in &cells {
        push_line([&row[0], &row[1], &row[2], &row[3], &row[4]].map(String::as_str));
    }
    out
}

/// A value as it round-trips (shortest exact form), or `(empty)`.
fn format_value(value: Option<f64>) -> String {
    value.map_or_else(|| "(empty)".to_string(), |v| format!("{v:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use std::path::PathBuf;
    use tempfile::TempDir;

    const HEADER: &str = "activation,loss,reduction,depth,width,batch_size,method,layer,\
                          seeds,samples,mean_l1,se_l1,normalized_l1,ratio_mean,ratio_se,relative_l1";

    /// The quality summary's layout, written out independently of the study's.
    const QUALITY: Layout = Layout {
        file: "quality_summary.csv",
        header: "activation,loss,reduction,depth,width,batch_size,method,layer,seeds,samples,mean_l1,se_l1,normalized_l1,ratio_mean,ratio_se,relative_l1",
        key_columns: 10,
    };

    /// A small, valid summary: three methods, layer=all and layer=1.
    fn baseline_text() -> String {
        [
            HEADER,
            "tanh,cross_entropy,mean,3,16,1,exact,all,5,1000,0,0,0,0,0,0",
            "tanh,cross_entropy,mean,3,16,1,hesscale,all,5,1000,0.0125,0.0011,1,1,0,0.31",
            "tanh,cross_entropy,mean,3,16,1,hesscale,1,5,1000,0.004,0.0002,1,1,0,0.2",
            "tanh,cross_entropy,mean,3,16,1,hutchinson:1,all,5,1000,3.5,0.25,280,281.5,12.5,87.5",
        ]
        .join("\n")
            + "\n"
    }

    fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn compare_texts(baseline: &str, current: &str) -> Result<Comparison> {
        let dir = TempDir::new().unwrap();
        let b = write(&dir, "baseline.csv", baseline);
        let c = write(&dir, "current.csv", current);
        compare_summaries(&b, &c, Tolerance::default(), QUALITY)
    }

    #[test]
    fn tolerance_follows_numpy_isclose() {
        let t = Tolerance {
            rtol: 1e-3,
            atol: 1e-6,
        };
        let cases: &[(&str, f64, f64, bool)] = &[
            ("equal", 1.0, 1.0, true),
            ("inside rtol", 1000.0, 1000.9, true),
            ("outside rtol", 1000.0, 1001.1, false),
            ("zero baseline inside atol", 0.0, 5e-7, true),
            ("zero baseline outside atol", 0.0, 2e-6, false),
            ("negative values", -2.0, -2.001, true),
        ];
        for &(name, base, cur, close) in cases {
            assert_eq!(t.is_close(base, cur), close, "case {name}");
        }
    }

    #[test]
    fn invalid_tolerances_are_input_errors() {
        let cases: &[(&str, f64, f64)] = &[
            ("negative rtol", -1.0, 0.0),
            ("negative atol", 0.0, -1e-12),
            ("nan rtol", f64::NAN, 0.0),
            ("infinite atol", 0.0, f64::INFINITY),
        ];
        for &(name, rtol, atol) in cases {
            let err = Tolerance::new(rtol, atol).expect_err(name);
            assert_eq!(err.exit_code(), 2, "case {name}");
        }
        assert!(Tolerance::new(1e-9, 1e-12).is_ok());
    }

    #[test]
    fn identical_files_have_no_moved_values() {
        let text = baseline_text();
        let cmp = compare_texts(&text, &text).unwrap();
        assert!(cmp.passed());
        assert_eq!(cmp.exit_code(), 0);
        assert_eq!(cmp.rows, 4);
        assert_eq!(cmp.values, 4 * 6);
        assert!(render_report(&cmp).starts_with("OK: all 24 values in 4 rows"));
    }

    #[test]
    fn row_order_does_not_matter() {
        let text = baseline_text();
        let mut lines: Vec<&str> = text.lines().collect();
        lines[1..].reverse();
        let cmp = compare_texts(&text, &(lines.join("\n") + "\n")).unwrap();
        assert!(cmp.passed());
    }

    #[test]
    fn a_nudged_value_is_reported_alone() {
        let base = baseline_text();
        // ratio_mean of hutchinson:1 moves by 1e-6 relative: 281.5 → 281.5002815.
        let cur = base.replace(
            "3.5,0.25,280,281.5,12.5,87.5",
            "3.5,0.25,280,281.5002815,12.5,87.5",
        );
        let cmp = compare_texts(&base, &cur).unwrap();
        assert_eq!(cmp.exit_code(), 1);
        assert_eq!(cmp.moved.len(), 1);
        let moved = &cmp.moved[0];
        assert_eq!(moved.column, "ratio_mean");
        assert!(moved.key.contains("method=hutchinson:1"));
        assert!(moved.key.contains("layer=all"));
        assert_eq!(moved.baseline, Some(281.5));
        assert_eq!(moved.current, Some(281.5002815));
        assert_relative_eq!(
            moved.relative_difference.unwrap(),
            1e-6,
            max_relative = 1e-6
        );
        assert_eq!(cmp.moved_rows(), 1);

        let report = render_report(&cmp);
        assert!(report.starts_with("MOVED: 1 of 24 values in 1 of 4 rows"));
        assert!(report.contains("ratio_mean"));
        assert!(report.contains("281.5002815"));
        assert!(report.contains("1.000e-6"));
    }

    #[test]
    fn a_nudge_within_tolerance_passes() {
        let base = baseline_text();
        let cur = base.replace(",281.5,", ",281.50000000001,");
        assert!(compare_texts(&base, &cur).unwrap().passed());
    }

    #[test]
    fn empty_cells_compare_as_values() {
        let base = baseline_text().replace(",0.0125,0.0011,1,", ",0.0125,0.0011,,");
        let cases: &[(&str, &str, Option<Option<f64>>)] = &[
            ("empty vs empty", ",0.0125,0.0011,,", None),
            ("empty vs number", ",0.0125,0.0011,1,", Some(Some(1.0))),
        ];
        for &(name, current_cells, expected) in cases {
            let cur = baseline_text().replace(",0.0125,0.0011,1,", current_cells);
            let cmp = compare_texts(&base, &cur).unwrap();
            match expected {
                None => assert!(cmp.passed(), "case {name}"),
                Some(current) => {
                    assert_eq!(cmp.moved.len(), 1, "case {name}");
                    let moved = &cmp.moved[0];
                    assert_eq!(moved.column, "normalized_l1", "case {name}");
                    assert_eq!(moved.baseline, None, "case {name}");
                    assert_eq!(moved.current, current, "case {name}");
                    assert_eq!(moved.relative_difference, None, "case {name}");
                    assert!(render_report(&cmp).contains("(empty)"), "case {name}");
                }
            }
        }
        // And the other way round: a number that became empty.
        let cmp = compare_texts(&baseline_text(), &base).unwrap();
        assert_eq!(cmp.moved.len(), 1);
        assert_eq!(cmp.moved[0].baseline, Some(1.0));
        assert_eq!(cmp.moved[0].current, None);
    }

    #[test]
    fn a_zero_baseline_that_moved_has_infinite_relative_difference() {
        let base = baseline_text();
        let cur = base.replace(
            "exact,all,5,1000,0,0,0,0,0,0",
            "exact,all,5,1000,1e-3,0,0,0,0,0",
        );
        let cmp = compare_texts(&base, &cur).unwrap();
        assert_eq!(cmp.moved.len(), 1);
        assert_eq!(cmp.moved[0].relative_difference, Some(f64::INFINITY));
        assert!(render_report(&cmp).contains("inf"));
    }

    /// Trouble cases: (name, baseline, current, text the one-line message must contain).
    #[test]
    fn trouble_is_an_input_error_naming_the_culprit() {
        let base = baseline_text();
        let without_se = |t: &str| -> String {
            t.lines()
                .map(|l| {
                    let mut cells: Vec<&str> = l.split(',').collect();
                    cells.remove(11);
                    cells.join(",")
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let with_extra_column = |t: &str| -> String {
            t.lines()
                .enumerate()
                .map(|(i, l)| format!("{l},{}", if i == 0 { "extra" } else { "0" }))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let cases: Vec<(&str, String, String, &str)> = vec![
            (
                "missing column in current",
                base.clone(),
                without_se(&base),
                "missing column se_l1",
            ),
            (
                "extra column in baseline",
                with_extra_column(&base),
                base.clone(),
                "baseline",
            ),
            (
                "extra column named",
                base.clone(),
                with_extra_column(&base),
                "unexpected column extra",
            ),
            (
                "columns out of order",
                base.replacen("activation,loss", "loss,activation", 1),
                base.clone(),
                "in this order",
            ),
            (
                "key only in current",
                base.clone(),
                base.clone() + "tanh,cross_entropy,mean,3,16,1,hesscale,2,5,1000,1,1,1,1,1,1\n",
                "different keys: none only in baseline; 1 only in current, first \
                 (activation=tanh,loss=cross_entropy,reduction=mean,depth=3,width=16,\
                 batch_size=1,method=hesscale,layer=2,seeds=5,samples=1000)",
            ),
            (
                "key changed",
                base.replace(",hesscale,1,", ",hesscale,2,"),
                base.clone(),
                "1 only in baseline, first (activation=tanh,loss=cross_entropy,\
                 reduction=mean,depth=3,width=16,batch_size=1,method=hesscale,layer=2,\
                 seeds=5,samples=1000); 1 only in current, first (activation=tanh,\
                 loss=cross_entropy,reduction=mean,depth=3,width=16,batch_size=1,\
                 method=hesscale,layer=1,seeds=5,samples=1000)",
            ),
            (
                "row missing in current",
                base.clone(),
                base.lines()
                    .filter(|l| !l.contains("hutchinson"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                "1 only in baseline, first (activation=tanh,loss=cross_entropy,\
                 reduction=mean,depth=3,width=16,batch_size=1,method=hutchinson:1,\
                 layer=all,seeds=5,samples=1000); none only in current",
            ),
            (
                "seeds differ",
                base.clone(),
                base.replace(",exact,all,5,", ",exact,all,6,"),
                "method=exact,layer=all,seeds=6,samples=1000)",
            ),
            (
                "unparsable number",
                base.clone(),
                base.replace(",0.0125,", ",0.01x5,"),
                "line 3: column mean_l1: `0.01x5` is not a finite number",
            ),
            (
                "nan is unparsable",
                base.replace(",87.5", ",NaN"),
                base.clone(),
                "column relative_l1: `NaN` is not a finite number",
            ),
            (
                "inf is unparsable",
                base.clone(),
                base.replace(",12.5,", ",inf,"),
                "column ratio_se: `inf` is not a finite number",
            ),
            (
                "duplicate key",
                base.clone(),
                base.clone() + "tanh,cross_entropy,mean,3,16,1,exact,all,5,1000,0,0,0,0,0,0\n",
                "line 6: duplicate key",
            ),
            (
                "ragged row",
                base.clone(),
                base.replace(",87.5", ""),
                "current",
            ),
            ("empty file", String::new(), base.clone(), "missing column"),
        ];
        for (name, b, c, needle) in cases {
            let err = compare_texts(&b, &c).expect_err(name);
            let message = err.to_string();
            assert_eq!(err.exit_code(), 2, "case {name}: {message}");
            assert!(
                message.contains(needle),
                "case {name}: `{message}` lacks `{needle}`"
            );
            assert!(
                !message.contains('\n'),
                "case {name}: multi-line `{message}`"
            );
        }
    }

    #[test]
    fn a_missing_file_is_an_input_error_naming_it() {
        let dir = TempDir::new().unwrap();
        let present = write(&dir, "present.csv", &baseline_text());
        let absent = dir.path().join("absent.csv");
        let cases = [
            ("missing baseline", &absent, &present, "baseline"),
            ("missing current", &present, &absent, "current"),
        ];
        for (name, b, c, role) in cases {
            let err = compare_summaries(b, c, Tolerance::default(), QUALITY).expect_err(name);
            assert_eq!(err.exit_code(), 2, "case {name}");
            let message = err.to_string();
            assert!(message.contains("absent.csv"), "case {name}: {message}");
            assert!(
                message.starts_with(&format!("{role}: cannot read")),
                "case {name}: {message}"
            );
        }
    }
}
