//! `hesscale-cli quality`, `optimize` and `rl`: a study of a checked spec on the study
//! engine, reported alike.

use crate::config::optimize::OptimizeSpec;
use crate::config::quality::QualitySpec;
use crate::config::rl::RlSpec;
use crate::config::run::RunOptions;
use crate::error::Result;
use crate::study::engine::{self, Study};
use crate::study::optimize::OptimizeStudy;
use crate::study::quality::QualityStudy;
use crate::study::rl::RlStudy;

/// The quality study: per grid point and seed, every method against the exact diagonal.
pub fn quality(spec: &QualitySpec) -> Result<()> {
    run(&QualityStudy::new(spec.grid.clone())?, &spec.run, "cells")
}

/// The optimize study, once its data sets are loaded.
pub fn optimize(spec: &OptimizeSpec) -> Result<()> {
    let mut study = OptimizeStudy::new(spec.grid.clone());
    study.load_data()?;
    run(&study, &spec.run, "runs")
}

/// The rl study.
pub fn rl(spec: &RlSpec) -> Result<()> {
    run(&RlStudy::new(spec.grid.clone()), &spec.run, "runs")
}

/// Run `study`; print one line of what was done on stderr (its cells counted as `unit`)
/// and the study's results table on stdout (unless `--quiet`).
fn run<S: Study>(study: &S, options: &RunOptions, unit: &str) -> Result<()> {
    let report = engine::run(study, options)?;
    crate::io::console::line(&format!(
        "{}: {} {unit} ({} run now) of {} in the grid -> {}",
        study.name(),
        report.cells,
        report.run_now,
        report.grid_cells,
        options.out_dir.display()
    ));
    if !options.quiet {
        if let Some(table) = study.report(&report.summaries) {
            crate::io::console::show(&table);
        }
    }
    Ok(())
}
