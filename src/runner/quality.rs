//! `hesscale-cli quality`: the quality study of a checked spec on the study engine.

use crate::config::quality::QualitySpec;
use crate::error::Result;
use crate::study::engine::{self, Study};
use crate::study::quality::QualityStudy;

/// Run the study a spec describes; print one line of what was done on stderr and the
/// results table on stdout (unless `--quiet`).
pub fn run(spec: &QualitySpec) -> Result<()> {
    let study = QualityStudy::new(spec.grid.clone())?;
    let report = engine::run(&study, &spec.run)?;
    crate::io::console::line(&format!(
        "quality: {} cells ({} run now) of {} in the grid -> {}",
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
