//! `hesscale-cli check`: compare a summary with its baseline and print the report.

use crate::compare::{compare_summaries, render_report, Comparison, Layout};
use crate::config::check::CheckSpec;
use crate::error::{Error, Result};
use crate::io::format::sha256_hex;
use crate::io::output::{read_bounded, Output, MAX_RESULT_BYTES};
use crate::study::meta::Meta;
use crate::study::quality::{rows::SUMMARY_FILE, SUMMARY_HEADER};

/// The layout of `quality_summary.csv`: its first fifteen columns (`activation` …
/// `samples`) identify a row.
const QUALITY_SUMMARY: Layout = Layout {
    file: SUMMARY_FILE,
    header: SUMMARY_HEADER,
    key_columns: 15,
};

/// Verify a summary against the digest its run recorded, when it sits in a results
/// directory beside its `quality.meta.json`: a file changed after the run is refused.
fn verify_recorded_digest(path: &std::path::Path) -> Result<()> {
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    let meta_path = Meta::path_in(dir, "quality");
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    if !meta_path.exists() || name.as_deref() != Some(SUMMARY_FILE) {
        return Ok(());
    }
    let meta = Meta::read(&meta_path)?;
    let Some(recorded) = meta.summaries.get(SUMMARY_FILE) else {
        return Ok(());
    };
    if sha256_hex(&read_bounded(path, MAX_RESULT_BYTES)?) != *recorded {
        return Err(Error::input(format!(
            "'{}' does not match the digest its run recorded in '{}': the file was changed \
             after the run wrote it",
            path.display(),
            meta_path.display()
        )));
    }
    Ok(())
}

/// Compare, print the report on standard output, and hand the comparison back so that
/// `main` can pick the exit code (0 nothing moved, 1 something moved).
pub fn run(spec: &CheckSpec) -> Result<Comparison> {
    verify_recorded_digest(&spec.current)?;
    let comparison = compare_summaries(
        &spec.baseline,
        &spec.current,
        spec.tolerance,
        QUALITY_SUMMARY,
    )?;
    Output::Stdout.write(render_report(&comparison).as_bytes())?;
    Ok(comparison)
}
