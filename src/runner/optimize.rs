//! `hesscale-cli optimize`: the optimize study of a checked spec on the study engine.

use crate::config::optimize::OptimizeSpec;
use crate::error::Result;
use crate::study::engine::{self, Study};
use crate::study::optimize::OptimizeStudy;

/// Load the data sets, run the study a spec describes; print one line of what was done on
/// stderr and the best step size of each optimizer on stdout (unless `--quiet`).
pub fn run(spec: &OptimizeSpec) -> Result<()> {
    let mut study = OptimizeStudy::new(spec.grid.clone());
    study.load_data()?;
    let report = engine::run(&study, &spec.run)?;
    crate::io::console::line(&format!(
        "optimize: {} runs ({} run now) of {} in the grid -> {}",
        report.cells,
        report.run_now,
        report.grid_cells,
        spec.run.out_dir.display()
    ));
    if !spec.run.quiet {
        if let Some(table) = study.report(&report.summaries) {
            crate::io::console::show(&table);
        }
    }
    Ok(())
}
