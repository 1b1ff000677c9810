//! `hesscale-cli rl`: the rl study of a checked spec on the study engine.

use crate::config::rl::RlSpec;
use crate::error::Result;
use crate::study::engine::{self, Study};
use crate::study::rl::RlStudy;

/// Run the study a spec describes; print one line of what was done on stderr and the best
/// step size of each agent, optimizer and scaling on stdout (unless `--quiet`).
pub fn run(spec: &RlSpec) -> Result<()> {
    let study = RlStudy::new(spec.grid.clone());
    let report = engine::run(&study, &spec.run)?;
    crate::io::console::line(&format!(
        "rl: {} runs ({} run now) of {} in the grid -> {}",
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
