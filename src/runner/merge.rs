//! `hesscale-cli merge DIR... --out-dir OUT`: combine the out-dirs of one study (shards
//! of one run, or runs of different grids of one protocol) into one.

use crate::config::merge::MergeSpec;
use crate::error::Result;
use crate::study;

/// Merge the directories a spec names (out-dirs of the study the first one holds) into its
/// out-dir; print what the merge notes and one
/// line of what it did on stderr.
pub fn run(spec: &MergeSpec) -> Result<()> {
    let name = study::mergeable_study(&spec.dirs[0])?;
    let report = study::merge_dirs(name, &spec.dirs, &spec.out_dir, spec.partial)?;
    for note in &report.notes {
        crate::io::console::line(note);
    }
    crate::io::console::line(&format!(
        "merge: {} directories, {} cells -> {}",
        spec.dirs.len(),
        report.cells,
        spec.out_dir.display()
    ));
    Ok(())
}
