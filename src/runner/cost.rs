//! `hesscale-cli cost`: the cost study of a checked spec on the study engine.

use crate::config::cost::CostSpec;
use crate::error::Result;
use crate::study::cost::CostStudy;
use crate::study::engine;

/// Time every case of the spec and write `cost.csv` and `cost.meta.json`.
pub fn run(spec: &CostSpec) -> Result<()> {
    let report = engine::run(&CostStudy { spec: spec.clone() }, &spec.run)?;
    crate::io::console::line(&format!(
        "cost: {} networks ({} timed now) -> {}",
        report.cells,
        report.run_now,
        spec.run.out_dir.display()
    ));
    Ok(())
}
